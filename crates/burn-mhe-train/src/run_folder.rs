//! A run folder: where its files lie (configuration, checkpoints, history, results,
//! predictions) and what `results.json` holds.

use std::path::{Path, PathBuf};

use burn_mhe::LayerReport;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointState, checkpoint_state};
use crate::error::TrainError;
use crate::evaluate::Predictions;
use crate::history::{EpochRecord, recorded_epochs};
use crate::lock::FolderLock;

/// What a finished run wrote to `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainResults {
    /// The configuration.
    pub config: serde_json::Value,
    /// The device it ran on.
    pub device: String,
    /// Items in the training, validation and test splits.
    pub split_sizes: [usize; 3],
    /// One record per epoch, in order.
    pub history: Vec<EpochRecord>,
    /// Accuracy on the test split, a fraction in `[0, 1]`.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test split.
    pub test_loss: f64,
    /// Test accuracy of each class (`NaN` serialized as `null` for a class absent from it).
    pub per_class_accuracy: Vec<Option<f64>>,
    /// Final sum of the hidden layers' energies (unweighted).
    pub hidden_energy: f64,
    /// Final output layer energy (unweighted).
    pub output_energy: f64,
    /// Every regularized layer at the end: energy and pairwise angles.
    pub layers: Vec<LayerReport>,
    /// For each class, the angle in degrees from its classifier neuron to the nearest other
    /// class's neuron at the end.
    #[serde(default)]
    pub classifier_nearest_angles: Vec<f64>,
    /// [`weights_digest`](crate::weights_digest) of the final model: equal digests, equal
    /// weights.
    #[serde(default)]
    pub weights_digest: String,
    /// Training wall time, summed over epochs (and over resumed runs).
    pub wall_seconds: f64,
}

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

    /// `results.json`.
    pub fn results(&self) -> PathBuf {
        self.root.join("results.json")
    }

    /// The checkpoints' folder.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoint")
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
            match checkpoint_state(&self.checkpoints(), epoch) {
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

    /// `predictions.json`: each test item's label and predicted class.
    pub fn predictions(&self) -> PathBuf {
        self.root.join("predictions.json")
    }

    /// Reads `results.json`.
    pub fn read_results(&self) -> Result<TrainResults, TrainError> {
        read_json(&self.results())
    }

    /// Reads `predictions.json`.
    pub fn read_predictions(&self) -> Result<Predictions, TrainError> {
        read_json(&self.predictions())
    }
}

/// Reads a JSON file of a run folder; a file that does not parse is a corrupt run file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, TrainError> {
    let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::CorruptRunFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
