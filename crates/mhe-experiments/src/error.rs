//! Every way the image job can fail: what [`fit`](burn_mhe_train::fit) reports, and its data.

use std::path::PathBuf;

use burn_mhe_train::TrainError;
use thiserror::Error;

use crate::idx::IdxError;

/// Why an image job or an experiment could not start, continue or finish.
#[derive(Debug, Error)]
pub enum JobError {
    /// Training, its configuration or its run folder failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The data folder does not exist.
    #[error("data folder {0} does not exist")]
    MissingDataDir(PathBuf),
    /// Downloading a dataset failed.
    #[error("{0}")]
    Download(String),
    /// A data file is missing or malformed.
    #[error(transparent)]
    Data(#[from] IdxError),
}

impl From<burn_mhe::MheError> for JobError {
    fn from(error: burn_mhe::MheError) -> Self {
        Self::Train(error.into())
    }
}

impl JobError {
    /// A [`TrainError::InvalidConfig`].
    pub(crate) fn invalid_config(message: String) -> Self {
        TrainError::InvalidConfig(message).into()
    }

    /// A [`TrainError::CorruptRunFile`].
    pub(crate) fn corrupt(path: PathBuf, message: String) -> Self {
        TrainError::CorruptRunFile { path, message }.into()
    }

    /// A [`TrainError::Io`] about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let io = TrainError::io(path);
        move |source| io(source).into()
    }
}
