//! Compressive MHE (CoMHE, Lin et al., CVPR 2020): the energy of projections of the neurons,
//! averaged over several projections, with new random projections at every call, optionally
//! refined by one inner step (the learned variants, `refine.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};

use crate::random::gaussian_values;

/// How CoMHE's projections are chosen.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ProjectionKind {
    /// Gaussian projections, new at every call.
    Random,
    /// The Gaussian draw after one descent step on `||cos(W P) - cos(W)||_F`: projections that
    /// keep the neurons' angles.
    AnglePreserving,
    /// The Gaussian draw after one ascent step on the projected energy: the projections under
    /// which the neurons look least spread.
    Adversarial,
}

/// Projection of the neurons before the energy: `W P` for the neurons `W` as rows (`[N, d]`)
/// and a Gaussian `P` of shape `[d, dims]`, averaged over `count` projections. The defaults are
/// CoMHE's (30 dimensions, 20 projections, random).
#[derive(Config, Debug, PartialEq)]
pub struct ProjectionConfig {
    /// Dimensions of each projection (`pd`).
    #[config(default = 30)]
    pub dims: usize,
    /// Projections averaged per call (`pn`).
    #[config(default = 20)]
    pub count: usize,
    /// Seed of the projections; call `k` of an energy uses the stream `(seed, k)`.
    #[config(default = 0)]
    pub seed: u64,
    /// Random, or refined by one inner step (angle-preserving or adversarial).
    #[config(default = "ProjectionKind::Random")]
    pub kind: ProjectionKind,
    /// Step size of the inner step of the learned kinds (the released code uses the network's
    /// learning rate, 0.1 at the start).
    #[config(default = 0.1)]
    pub inner_lr: f64,
}

/// The projections of one energy, resampled at every call from the seed and a call counter
/// shared by the energy's clones.
#[derive(Debug, Clone)]
pub struct RandomProjection {
    config: ProjectionConfig,
    calls: Arc<AtomicU64>,
}

impl RandomProjection {
    /// Projections from `config`, starting at call 0.
    pub fn new(config: ProjectionConfig) -> Self {
        Self {
            config,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProjectionConfig {
        &self.config
    }

    /// The projections of call number `call` for neurons of dimension `dim`, as the
    /// `[count, dim, dims]` values that multiply the neurons from the right (row-major).
    pub fn matrices(&self, call: u64, dim: usize) -> Vec<f64> {
        let seed = self.config.seed ^ call.wrapping_mul(0xD1B5_4A32_D192_ED03);
        gaussian_values(self.config.count * dim * self.config.dims, seed)
    }

    /// The next call's projections as a tensor like `like` (device and dtype).
    pub fn next(&self, dim: usize, like: &Tensor<2>) -> Tensor<3> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let data = TensorData::new(
            self.matrices(call, dim),
            [self.config.count, dim, self.config.dims],
        )
        .convert_dtype(like.dtype());
        Tensor::from_data(data, (&like.device(), like.dtype()))
    }
}
