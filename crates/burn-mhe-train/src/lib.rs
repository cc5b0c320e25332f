#![warn(missing_docs)]
//! # burn-mhe-train
//!
//! Minimum Hyperspherical Energy in burn's `Learner`:
//!
//! - [`WithMhe`]: wraps any model that implements burn's `TrainStep` (your model, batch type,
//!   loss and output) so that burn's `SupervisedTraining` trains it with `loss + MHE penalty`;
//!   [`CrossEntropyClassifier`] gives a model of logits ([`Classifier`]) burn's `TrainStep` with
//!   cross-entropy. [`EnergyMetric`] shows the hidden and output energies next to loss and
//!   accuracy in the TUI and CLI renderers.
//! - [`fit`]: any model (e.g. a [`WithMhe`]) trained in a run folder by burn's Learner, with
//!   atomic, sealed checkpoints, a per-epoch history, a stop on divergence, a bit-exact resume
//!   that falls back past a damaged checkpoint, and one trainer per folder ([`FolderLock`]).
//! - [`EpochOrderLoader`]: batches in an order drawn from `(seed, epoch)`, so a resumed run sees
//!   the batches the uninterrupted run saw.
//!
//! The image job behind `mhe train` and the paper's experiments are the `mhe-experiments` crate.

mod atomic;
mod checkpoint;
mod classifier;
mod digest;
mod error;
mod fit;
mod history;
mod loader;
mod lock;
mod metric;
mod renderer;
mod run_folder;
mod seeded;
mod with_mhe;

#[doc(hidden)]
pub use atomic::write_atomically;
pub use checkpoint::CheckpointState;
pub use classifier::{ClassBatch, Classifier, CrossEntropyClassifier};
pub use digest::weights_digest;
pub use error::TrainError;
pub use fit::{FitConfig, FitData, OptimizerChoice, fit};
pub use history::EpochRecord;
pub use loader::EpochOrderLoader;
#[doc(hidden)]
pub use loader::permutation;
pub use lock::FolderLock;
pub use metric::{EnergyInput, EnergyMetric};
pub use renderer::EpochLineRenderer;
pub use run_folder::RunFolder;
#[doc(hidden)]
pub use run_folder::read_json;
pub use seeded::init_seeded;
pub use with_mhe::{WithMhe, WithMheOutput};
