#![warn(missing_docs)]
//! # burn-mhe-train
//!
//! Training with Minimum Hyperspherical Energy on burn's `Learner`:
//!
//! - [`WithMhe`]: wraps any [`SupervisedModel`] (your model, batch type, loss and output) so
//!   that burn's `SupervisedTraining` trains it with `loss + MHE penalty`; [`MheClassifier`] does
//!   the same for a [`Classifier`] with cross-entropy. [`EnergyMetric`] shows the hidden and
//!   output energies next to loss and accuracy in the TUI and CLI renderers.
//! - [`IdxDataset`], [`DataSplits`]: MNIST-format files (raw or gzip) as burn datasets, with a
//!   validation split, a size limit and class imbalance.
//! - [`ImageClassifierConfig`]: MLP, paper-style CNN, and a CNN with 2-D features.
//! - [`fit`]: any model (e.g. a [`WithMhe`]) trained in a run folder by burn's Learner, with
//!   atomic, sealed checkpoints, a per-epoch history, a stop on divergence, a bit-exact resume
//!   that falls back past a damaged checkpoint, and one trainer per folder ([`FolderLock`]).
//! - [`train`], [`resume`]: the job behind `mhe train` (an image classifier through [`fit`]),
//!   which adds the test evaluation, `predictions.json` and `results.json`.
//! - [`experiment`]: the paper's experiments as sweeps of runs with summaries and figures.

mod angles;
mod atomic;
mod batcher;
mod checkpoint;
mod classifier;
mod data;
mod dataset;
mod digest;
mod download;
mod error;
mod evaluate;
pub mod experiment;
mod fit;
mod history;
mod idx;
mod job;
mod loader;
mod lock;
mod metric;
mod model;
mod renderer;
mod run_folder;
mod seeded;
mod supervised;

pub use batcher::ImageBatcher;
pub use checkpoint::{AtomicFileCheckpointer, CheckpointState, checkpoint_path, checkpoint_state};
pub use classifier::{ClassBatch, Classifier, MheClassifier, MheOutput};
pub use data::{DataSplits, Imbalance, SplitPlan, Subset, permutation};
pub use dataset::{CLASSES, DatasetChoice, FASHION_MNIST_DIR, MNIST_SUBSET_DIR};
pub use digest::weights_digest;
pub use download::download_mnist;
pub use error::TrainError;
pub use evaluate::{Predictions, TestScores, evaluate};
pub use fit::{FitConfig, FitData, OptimizerChoice, fit};
pub use history::{EpochRecord, HistoryLogger, epoch_file};
pub use idx::{IdxDataset, IdxError, ImageItem};
pub use job::{MheMode, TrainJobConfig, TrainedRun, resume, train};
pub use loader::EpochOrderLoader;
pub use lock::FolderLock;
pub use metric::{EnergyInput, EnergyMetric, EnergyPart, HIDDEN_ENERGY, OUTPUT_ENERGY};
pub use model::{Architecture, ConvBlock, ImageClassifier, ImageClassifierConfig};
pub use renderer::EpochLineRenderer;
pub use run_folder::{RunFolder, TrainResults};
pub use seeded::init_seeded;
pub use supervised::{SupervisedModel, WithMhe, WithMheOutput};
