//! Pairwise angle statistics of a set of neurons: how spread out a layer is.

use burn::tensor::{Bool, Tensor};

use crate::unit::{NORM_FLOOR, direction_cosines};

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

/// The angle in degrees between every two rows of `neurons` (`[N][N]`, 0 on the diagonal).
fn angle_matrix(neurons: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, d] = neurons.dims();
    let values: Vec<f64> = neurons
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor");
    let unit: Vec<Vec<f64>> = values
        .chunks(d)
        .map(|row| {
            let norm = row
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
                .max(NORM_FLOOR);
            row.iter().map(|v| v / norm).collect()
        })
        .collect();
    unit.iter()
        .map(|a| {
            unit.iter()
                .map(|b| {
                    let cos: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                    cos.clamp(-1.0, 1.0).acos().to_degrees()
                })
                .collect()
        })
        .collect()
}

/// Pairwise angles in degrees of the rows of `neurons`, pairs `i < j` in row order, computed
/// in float64 on the host (a zero row is 90 degrees from every other row).
pub fn pairwise_angles(neurons: Tensor<2>) -> Vec<f64> {
    let matrix = angle_matrix(neurons);
    matrix
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row[i + 1..].to_vec())
        .collect()
}

/// For each row of `neurons`, the angle in degrees to its nearest other row (empty below two
/// rows), in float64 on the host: how close each classifier neuron came to another class's.
pub fn nearest_angles(neurons: Tensor<2>) -> Vec<f64> {
    let matrix = angle_matrix(neurons);
    matrix
        .iter()
        .enumerate()
        .filter(|_| matrix.len() > 1)
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, angle)| *angle)
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;

    #[test]
    fn pairwise_angles_of_known_directions() {
        let device = Device::flex();
        let neurons = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]], &device);
        let angles = pairwise_angles(neurons);
        let expected = [90.0, 180.0, 90.0];
        for (a, e) in angles.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "{angles:?}");
        }
        let neurons = Tensor::<2>::from_data([[1.0, 0.0], [1.0, 1.0], [-3.0, 0.0]], &device);
        let nearest = nearest_angles(neurons);
        for (a, e) in nearest.iter().zip([45.0, 45.0, 135.0]) {
            assert!((a - e).abs() < 1e-9, "{nearest:?}");
        }
    }
}
