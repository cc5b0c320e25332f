#![warn(missing_docs)]
//! # burn-mhe
//!
//! Minimum Hyperspherical Energy (MHE) regularization (Liu et al., "Learning towards Minimum
//! Hyperspherical Energy", NeurIPS 2018) for the [burn](https://burn.dev) deep-learning framework,
//! on any burn device: CPU (`flex`, `ndarray`) or GPU (`wgpu`).
//!
//! - [`EnergyConfig`] / [`HypersphericalEnergy`]: the energy of a layer's neurons (rows of a
//!   matrix), every variant of the paper and the released code, with an exact closed-form
//!   gradient injected into burn's autodiff.
//! - [`Objective`] / [`LayerObjective`]: the rest of the hyperspherical-uniformity family (MMA,
//!   MHS, MGD, MHP, MHC, r-MHP) beside MHE, with closed-form (sub)gradients.
//! - [`MheRegularizerConfig`] / [`MheRegularizer`]: the weighted energies of every hidden and
//!   output layer of any burn model, as a loss term.
//! - [`Neurons`], [`NeuronLayout`]: from burn layer weights to neurons as rows.
//! - [`check_neurons`], [`degenerate_neurons`], [`AngleStats`]: input checks and spread
//!   diagnostics.
//! - [`PrototypeHead`]: a classifier head of fixed class prototypes on the sphere
//!   (hyperspherical prototype networks).
//! - [`OrthogonalOverParameterization`]: OPT, `W = R W0` with a learned orthogonal `R`, as a
//!   burn reparameterization (the energy of `W` never changes).
//! - [`SphereConfig`]: points on a sphere of minimum energy (Thomson, Riesz, Tammes problems).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use burn_mhe::EnergyConfig;
//!
//! let device = Device::flex().autodiff();
//! let neurons = Tensor::<2>::from_data([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]], &device).require_grad();
//! let energy = EnergyConfig::new().init(); // Euclidean, s = 2, mean over pairs
//! let e = energy.forward(neurons.clone());
//! let grads = e.backward();
//! assert_eq!(neurons.grad(&grads).unwrap().dims(), [3, 2]);
//! ```

mod angles;
mod config;
#[cfg(feature = "wgpu")]
mod cube_pass;
mod energy;
mod error;
#[cfg(feature = "flex")]
mod flex_dense;
mod kernel;
mod layer_batch;
mod memory;
mod neurons;
mod objective;
mod official;
mod opt;
mod projection;
mod prototypes;
mod random;
mod refine;
mod regularizer;
mod report;
mod selection;
mod sphere;
mod unit;
mod validate;

pub use angles::{AngleStats, nearest_angles, pairwise_angles};
pub use config::{Convention, Distance, PairReduction};
pub use energy::{EnergyConfig, EnergyPath, HypersphericalEnergy};
pub use error::{MheError, Result};
pub use memory::{BudgetSource, DeviceMemory, MemoryBudget};
pub use neurons::{NeuronLayout, Neurons};
pub use objective::{LayerObjective, Objective, ObjectiveGradients};
pub use official::{
    FamilySetup, OFFICIAL_VARIANTS, OfficialVariant, official_family_setup, official_loss_weights,
};
pub use opt::{OrthogonalFactor, OrthogonalOverParameterization};
pub use projection::{ProjectionConfig, ProjectionKind, RandomProjection};
pub use prototypes::PrototypeHead;
#[doc(hidden)]
pub use random::split_mix64;
pub use regularizer::{MheRegularizer, MheRegularizerConfig, PenaltyGroupConfig, PenaltyParts};
pub use report::LayerReport;
pub use selection::{LayerInfo, LayerRole, OutputSelector, ParamRule, SelectedLayer};
pub use sphere::{SphereConfig, SphereSolution, random_sphere_points};
/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub use validate::{check_neurons, degenerate_neurons};
