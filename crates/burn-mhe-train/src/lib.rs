#![warn(missing_docs)]
//! # burn-mhe-train
//!
//! Training with Minimum Hyperspherical Energy on burn: datasets for now (uncompressed IDX files
//! of MNIST and Fashion-MNIST as a burn `Dataset`); models, the Learner integration and the
//! training job build on them.

mod idx;

pub use idx::{IdxDataset, IdxError, ImageItem};
