//! Per-layer diagnostics of a model's hyperspherical energy.

use serde::{Deserialize, Serialize};

use crate::selection::LayerRole;

/// One regularized layer as the regularizer sees it, without gradients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// Module path of the weight, e.g. `"blocks.1.conv.weight"`.
    pub path: String,
    /// Hidden or output.
    pub role: LayerRole,
    /// Number of neurons `N`.
    pub neurons: usize,
    /// Dimension `d` of each neuron.
    pub dim: usize,
    /// The layer's energy under its group's configuration, before the loss weight.
    pub energy: f64,
    /// `energy * weight`: the layer's share of the penalty.
    pub weighted_energy: f64,
    /// Smallest pairwise angle in degrees (between lines for half-space energies).
    pub min_angle_deg: Option<f64>,
    /// Mean pairwise angle in degrees (between lines for half-space energies).
    pub mean_angle_deg: Option<f64>,
}
