//! Every way training in a run folder can fail; all are reported before or instead of a wrong
//! result.

use std::path::PathBuf;

use thiserror::Error;

/// Why training could not start, continue or finish.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A configuration value that cannot be used; nothing was trained.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The MHE configuration or a layer's neurons are not valid.
    #[error(transparent)]
    Mhe(#[from] burn_mhe::MheError),
    /// Reading or writing a file of the run folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the run folder is not what this job wrote.
    #[error("{path}: {message}")]
    CorruptRunFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Another trainer holds the folder (see [`FolderLock`](crate::FolderLock)).
    #[error(
        "{folder} is in use by {holder}; one trainer per folder: wait for it to end or stop it"
    )]
    Busy {
        /// The run or sweep folder.
        folder: PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// Training stopped before its last epoch.
    #[error("training stopped before its last epoch: {0}")]
    Stopped(String),
}

impl TrainError {
    /// An [`Io`](Self::Io) error about `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
