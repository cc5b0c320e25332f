//! Pairwise angle statistics of a set of neurons: how spread out a layer is.

use burn::tensor::{Bool, Tensor};

use crate::unit::direction_cosines;

/// Minimum and mean pairwise angle between neurons, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AngleStats {
    /// The smallest angle between two neurons (`None` with fewer than two neurons).
    pub min_deg: Option<f64>,
    /// The mean angle over unordered pairs (`None` with fewer than two neurons).
    pub mean_deg: Option<f64>,
}

impl AngleStats {
    /// Angles between the rows of `neurons`, normalized to unit length (a zero row counts as
    /// 90 degrees from every other row).
    ///
    /// With `between_lines`, each angle is the one between the lines through the neurons,
    /// `min(theta, 180 - theta)`: the spread that half-space MHE maximizes.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use burn_mhe::AngleStats;
    ///
    /// let neurons = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 3.0], [-2.0, 0.0]], &Device::flex());
    /// let stats = AngleStats::of(&neurons, false);
    /// assert!((stats.min_deg.unwrap() - 90.0).abs() < 1e-4);
    /// assert!((stats.mean_deg.unwrap() - 120.0).abs() < 1e-4);
    /// assert!(AngleStats::of(&neurons, true).min_deg.unwrap().abs() < 1e-2);
    /// ```
    pub fn of(neurons: &Tensor<2>, between_lines: bool) -> Self {
        let [n, _] = neurons.dims();
        if n < 2 {
            return Self {
                min_deg: None,
                mean_deg: None,
            };
        }
        let mut cosines = direction_cosines(neurons).clamp(-1.0, 1.0);
        if between_lines {
            cosines = cosines.abs();
        }
        let diagonal = Tensor::<2, Bool>::diag_mask([n, n], 0, &cosines.device()).bool_not();
        let nearest = cosines.clone().mask_fill(diagonal.clone(), -1.0).max();
        let angles = cosines.acos().mask_fill(diagonal, 0.0);
        let mean = angles.sum().div_scalar((n * (n - 1)) as f64);
        let degrees = |t: Tensor<1>| t.into_scalar::<f64>().to_degrees();
        Self {
            min_deg: Some(degrees(nearest.acos())),
            mean_deg: Some(degrees(mean)),
        }
    }
}
