//! Angles between neurons on the host, in float64: the histograms' pairwise angles and each
//! classifier neuron's nearest neighbour.

use burn::tensor::Tensor;

/// The values of a float tensor, row-major, as f64 on the host.
pub(crate) fn host_values(tensor: Tensor<2>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor")
}

/// The angle in degrees between every two rows of `neurons` (`[N][N]`, 0 on the diagonal).
fn angle_matrix(neurons: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, d] = neurons.dims();
    let values = host_values(neurons);
    let unit: Vec<Vec<f64>> = values
        .chunks(d)
        .map(|row| {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
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

/// Pairwise angles in degrees of the rows of `neurons`, pairs `i < j` in row order.
pub fn pairwise_angles(neurons: Tensor<2>) -> Vec<f64> {
    let matrix = angle_matrix(neurons);
    matrix
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row[i + 1..].to_vec())
        .collect()
}

/// For each row of `neurons`, the angle in degrees to its nearest other row (empty below two
/// rows).
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
