//! What a finished image job leaves in its run folder: `results.json` and `predictions.json`.

use std::path::PathBuf;

use burn_mhe::LayerReport;
use burn_mhe_train::{EpochRecord, RunFolder, TrainError, read_json};
use serde::{Deserialize, Serialize};

use crate::evaluate::Predictions;

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
    /// For each class, the length of its classifier neuron at the end (empty in runs made
    /// before it was recorded).
    #[serde(default)]
    pub classifier_norms: Vec<f64>,
    /// For each class, its classifier bias at the end (empty as above, or without a bias).
    #[serde(default)]
    pub classifier_biases: Vec<f64>,
    /// [`weights_digest`](burn_mhe_train::weights_digest) of the final model: equal digests, equal
    /// weights.
    #[serde(default)]
    pub weights_digest: String,
    /// Training wall time, summed over epochs (and over resumed runs).
    pub wall_seconds: f64,
}

impl TrainResults {
    /// The training accuracy of the last epoch (the running mean over its batches; `NaN`
    /// without epochs).
    pub fn last_train_accuracy(&self) -> f64 {
        self.history.last().map_or(f64::NAN, |e| e.train_accuracy)
    }

    /// The train-test gap: [`last_train_accuracy`](Self::last_train_accuracy) minus test
    /// accuracy.
    pub fn generalization_gap(&self) -> f64 {
        self.last_train_accuracy() - self.test_accuracy
    }

    /// A run of `history` and nothing else, for tests of what is computed from histories.
    #[cfg(test)]
    pub(crate) fn of_history(seed: u64, history: Vec<EpochRecord>) -> Self {
        Self {
            config: serde_json::json!({ "seed": seed }),
            device: String::new(),
            split_sizes: [0; 3],
            history,
            test_accuracy: 0.0,
            test_loss: 0.0,
            per_class_accuracy: Vec::new(),
            hidden_energy: 0.0,
            output_energy: 0.0,
            layers: Vec::new(),
            classifier_nearest_angles: Vec::new(),
            classifier_norms: Vec::new(),
            classifier_biases: Vec::new(),
            weights_digest: String::new(),
            wall_seconds: 0.0,
        }
    }
}

/// The files a finished job adds to a [`RunFolder`].
pub trait JobFiles {
    /// `results.json`.
    fn results(&self) -> PathBuf;
    /// `predictions.json`: each test item's label and predicted class.
    fn predictions(&self) -> PathBuf;
    /// Reads `results.json`.
    ///
    /// # Errors
    /// As [`read_json`].
    fn read_results(&self) -> Result<TrainResults, TrainError>;
    /// Reads `predictions.json`.
    ///
    /// # Errors
    /// As [`read_json`].
    fn read_predictions(&self) -> Result<Predictions, TrainError>;
}

impl JobFiles for RunFolder {
    fn results(&self) -> PathBuf {
        self.root().join("results.json")
    }

    fn predictions(&self) -> PathBuf {
        self.root().join("predictions.json")
    }

    fn read_results(&self) -> Result<TrainResults, TrainError> {
        read_json(&self.results())
    }

    fn read_predictions(&self) -> Result<Predictions, TrainError> {
        read_json(&self.predictions())
    }
}
