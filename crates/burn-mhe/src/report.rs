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

/// One line: path, role, `N`, `d`, energy and minimum angle, e.g.
/// `classifier.weight    Output N = 10, d =  32: energy 0.45002, min angle 96.4 deg`.
impl core::fmt::Display for LayerReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:<20} {:?} N = {:>2}, d = {:>3}: energy {:.5}, min angle {:.1} deg",
            self.path,
            self.role,
            self.neurons,
            self.dim,
            self.energy,
            self.min_angle_deg.unwrap_or(f64::NAN)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_prints_as_one_line() {
        let report = LayerReport {
            path: "classifier.weight".into(),
            role: LayerRole::Output,
            neurons: 10,
            dim: 32,
            energy: 0.450017,
            weighted_energy: 4.50017,
            min_angle_deg: Some(96.38),
            mean_angle_deg: Some(96.38),
        };
        assert_eq!(
            report.to_string(),
            "classifier.weight    Output N = 10, d =  32: energy 0.45002, min angle 96.4 deg"
        );
    }
}
