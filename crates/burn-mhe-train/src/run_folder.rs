//! A run folder: where its files lie (configuration, checkpoints, history) and which epoch a
//! run continues after.

use std::path::{Path, PathBuf};

use crate::checkpoint::{CheckpointState, checkpoint_path, checkpoint_state};
use crate::error::TrainError;
use crate::history::{EpochRecord, epoch_file, read_history, recorded_epochs};
use crate::lock::FolderLock;

/// The files of a run folder.
#[derive(Debug, Clone)]
pub struct RunFolder {
    root: PathBuf,
}

impl RunFolder {
    /// The run folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// The checkpoints' folder.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// The checkpoint record `record` (`"model"`, `"optim"` or `"scheduler"`) of `epoch`.
    pub fn checkpoint(&self, record: &str, epoch: usize) -> PathBuf {
        checkpoint_path(&self.checkpoints(), record, epoch)
    }

    /// Whether the checkpoint of `epoch` is complete, incomplete or damaged: each record
    /// checked against its seal, or, for a record saved without one (by an earlier version),
    /// loaded by burn.
    pub fn checkpoint_state(&self, epoch: usize) -> CheckpointState {
        checkpoint_state(&self.checkpoints(), epoch)
    }

    /// The history record of `epoch`, `history/epoch-N.json`.
    pub fn history_record(&self, epoch: usize) -> PathBuf {
        epoch_file(&self.root, epoch)
    }

    /// The epoch to continue after: the newest whose history record and checkpoint are both
    /// intact (0: none, a new run). Damaged files above it (a history record or checkpoint
    /// record that is not as it was written) are named on standard error and trained again.
    ///
    /// # Errors
    /// [`TrainError::CorruptRunFile`] naming the newest damaged checkpoint record when no
    /// recorded epoch has an intact checkpoint left to continue from.
    pub fn last_intact_epoch(&self, epochs: usize) -> Result<usize, TrainError> {
        let (recorded, damaged_record) = recorded_epochs(&self.root);
        if let Some(error) = damaged_record {
            eprintln!("warning: {error}; epoch {} is trained again", recorded + 1);
        }
        let mut damaged: Vec<(PathBuf, String)> = Vec::new();
        for epoch in (1..=recorded.min(epochs)).rev() {
            match self.checkpoint_state(epoch) {
                CheckpointState::Complete => {
                    for (path, problem) in damaged {
                        eprintln!(
                            "warning: {}: {problem}; continuing after epoch {epoch}",
                            path.display()
                        );
                    }
                    return Ok(epoch);
                }
                CheckpointState::Incomplete => {}
                CheckpointState::Damaged { path, problem } => damaged.push((path, problem)),
            }
        }
        match damaged.into_iter().next() {
            Some((path, problem)) => Err(TrainError::CorruptRunFile {
                path,
                message: format!(
                    "{problem}, and no older intact checkpoint is left to continue from; delete \
                     {} to train the run again from the start",
                    self.checkpoints().display()
                ),
            }),
            None => Ok(0),
        }
    }

    /// The history records of epochs `1..=last`, in order.
    ///
    /// # Errors
    /// [`TrainError::Io`] for a missing record, [`TrainError::CorruptRunFile`] for a damaged one.
    pub fn read_history(&self, last: usize) -> Result<Vec<EpochRecord>, TrainError> {
        read_history(&self.root, last)
    }

    /// Whether `file` (a configuration file of this folder) holds `config`: `false` when it is
    /// absent. Compared as configurations, not as text: a field added to `T` since the file was
    /// written (absent there) reads as its default and is no difference, while any value that
    /// differs is an error. The one check of "is this folder's run the one asked for?".
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] when `file` holds another configuration;
    /// [`TrainError::CorruptRunFile`] when it is not a `T` in JSON.
    pub fn holds<T>(&self, file: &Path, config: &T) -> Result<bool, TrainError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        if !file.is_file() {
            return Ok(false);
        }
        let held: T = read_json(file)?;
        let as_json = |config: &T| serde_json::to_value(config).expect("configurations serialize");
        if as_json(&held) != as_json(config) {
            return Err(TrainError::InvalidConfig(format!(
                "{} holds a run of another configuration ({}); choose another folder",
                self.root.display(),
                file.display()
            )));
        }
        Ok(true)
    }

    /// Takes this folder for the calling process until the lock is dropped: one trainer per
    /// run folder.
    ///
    /// # Errors
    /// [`TrainError::Busy`] naming the holder while another trainer holds it.
    pub fn lock(&self) -> Result<FolderLock, TrainError> {
        FolderLock::acquire(&self.root)
    }

    /// `fit.json`: the `FitConfig` that `fit` trains this folder with.
    pub fn fit_config(&self) -> PathBuf {
        self.root.join("fit.json")
    }
}

/// Reads a JSON file of a run folder; a file that does not parse is a corrupt run file.
///
/// # Errors
/// [`TrainError::Io`] when it cannot be read, [`TrainError::CorruptRunFile`] when it is not a
/// `T` in JSON.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, TrainError> {
    let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::CorruptRunFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::FitConfig;

    #[test]
    fn holds_compares_configurations_not_text() {
        let run = RunFolder::new(
            std::env::temp_dir().join(format!("burn-mhe-holds-{}", std::process::id())),
        );
        std::fs::create_dir_all(run.root()).unwrap();
        let file = run.fit_config();
        let config = FitConfig::new().with_grad_clip(Some(1.0));
        assert!(!run.holds(&file, &config).unwrap(), "absent");

        let mut json = serde_json::to_value(&config).unwrap();
        std::fs::write(&file, serde_json::to_string(&json).unwrap()).unwrap();
        assert!(run.holds(&file, &config).unwrap());
        let other = run.holds(&file, &config.clone().with_epochs(7));
        assert!(
            matches!(other, Err(TrainError::InvalidConfig(_))),
            "{other:?}"
        );

        // Written before an optional field existed: it reads as its default.
        json.as_object_mut().unwrap().remove("grad_clip");
        std::fs::write(&file, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        assert!(run.holds(&file, &FitConfig::new()).unwrap());
        assert!(run.holds(&file, &config).is_err());

        std::fs::write(&file, "{\"epochs\": ").unwrap();
        let junk = run.holds(&file, &config);
        assert!(
            matches!(junk, Err(TrainError::CorruptRunFile { .. })),
            "{junk:?}"
        );
        std::fs::remove_dir_all(run.root()).unwrap();
    }
}
