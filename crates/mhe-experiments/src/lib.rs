#![warn(missing_docs)]
//! # mhe-experiments
//!
//! The image-classification job behind `mhe train`, and the MHE paper's experiments built on it.
//! It trains through [`burn_mhe_train::fit`]; nothing here is needed to use MHE in a model of
//! your own.
//!
//! - [`IdxDataset`], [`DataSplits`]: MNIST-format files (raw or gzip) as burn datasets, with a
//!   validation split, a size limit and class imbalance.
//! - [`ImageClassifierConfig`]: MLP, paper-style CNN, and a CNN with 2-D features.
//! - [`train`], [`resume`]: one run of an image classifier in a run folder, with the test
//!   evaluation, `predictions.json` and `results.json` ([`JobFiles`]).
//! - [`experiment`]: the paper's experiments as sweeps of runs with summaries and figures.

mod batcher;
mod data;
mod dataset;
mod download;
mod error;
mod evaluate;
pub mod experiment;
mod host;
mod idx;
mod job;
mod model;
mod results;

pub use batcher::ImageBatcher;
pub use data::{DataSplits, Imbalance, SplitPlan, Subset};
pub use dataset::{CLASSES, DatasetChoice, FASHION_MNIST_DIR, mnist_subset};
pub use download::download_mnist;
pub use error::JobError;
pub use evaluate::{Predictions, TestScores, evaluate};
pub use idx::{IdxDataset, IdxError, ImageItem};
pub use job::{
    ClassWeighting, ImageModel, MheMode, TrainJobConfig, TrainedRun, WeightParameterization,
    resume, train,
};
pub use model::{Architecture, ImageClassifier, ImageClassifierConfig};
pub use results::{JobFiles, TrainResults};
