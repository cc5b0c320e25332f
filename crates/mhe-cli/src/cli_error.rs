//! Every way a command can fail before or while it runs; each maps to exit code 2.

use thiserror::Error;

use crate::npy::NpyError;

/// A failure the user can fix: bad input file, bad option value, missing backend.
#[derive(Debug, Error)]
pub enum CliError {
    /// A `.npy` file could not be read or written.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// The weights or the configuration are not valid for an energy.
    #[error(transparent)]
    Mhe(#[from] burn_mhe::MheError),
    /// A training job or an experiment could not start or finish.
    #[error(transparent)]
    Job(#[from] mhe_experiments::JobError),
    /// An option value that cannot be used.
    #[error("{0}")]
    Usage(String),
}

impl From<burn_mhe_train::TrainError> for CliError {
    fn from(error: burn_mhe_train::TrainError) -> Self {
        Self::Job(error.into())
    }
}
