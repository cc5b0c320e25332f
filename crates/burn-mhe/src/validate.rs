//! Checks that a matrix of neurons is fit for an energy: the `try_*` entry points and the CLI.

use burn::tensor::{Bool, DType, Tensor};

use crate::error::{MheError, Result};
use crate::unit::direction_cosines;

/// Two unit neurons whose cosine is within this of 1 count as duplicates (float64 input).
const DUPLICATE_TOLERANCE_F64: f64 = 1e-12;
/// The same for lower-precision input, where an exact duplicate's cosine rounds near 1.
const DUPLICATE_TOLERANCE_F32: f64 = 1e-6;

/// Checks `neurons` (one neuron a row) for everything an energy cannot give a meaning to:
/// an empty layer, NaN or infinite values, a zero neuron (no direction), or two neurons with the
/// same direction (cosine within `1e-6` of 1, or `1e-12` for float64). Errors name the first offending row.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use burn_mhe::{check_neurons, MheError};
///
/// let device = Device::flex();
/// let good = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 2.0]], &device);
/// assert!(check_neurons(&good).is_ok());
/// let twins = Tensor::<2>::from_data([[1.0, 1.0], [0.0, 2.0], [3.0, 3.0]], &device);
/// assert_eq!(check_neurons(&twins), Err(MheError::DuplicateNeurons { first: 0, second: 2 }));
/// ```
pub fn check_neurons(neurons: &Tensor<2>) -> Result<()> {
    let [n, d] = neurons.dims();
    if n == 0 || d == 0 {
        return Err(MheError::EmptyLayer { neurons: n, dim: d });
    }
    let values: Vec<f64> = neurons.to_data().iter::<f64>().collect();
    for (index, row) in values.chunks_exact(d).enumerate() {
        if row.iter().any(|x| !x.is_finite()) {
            return Err(MheError::NonFinite { index });
        }
        if row.iter().all(|&x| x == 0.0) {
            return Err(MheError::ZeroNeuron { index });
        }
    }
    duplicate_pairs(neurons)
        .first()
        .map_or(Ok(()), |&(first, second)| {
            Err(MheError::DuplicateNeurons { first, second })
        })
}

/// Every zero neuron and every neuron with a later twin of the same direction (tolerances as
/// [`check_neurons`]), in row order: the layers a pruned or sparse network has, where the
/// energy is still defined through `eps` (the released code's energy stays finite) but the
/// neurons have no direction of their own. Assumes finite values.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use burn_mhe::{degenerate_neurons, MheError};
///
/// let pruned = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]], &Device::flex());
/// assert_eq!(
///     degenerate_neurons(&pruned),
///     [MheError::ZeroNeuron { index: 1 }, MheError::DuplicateNeurons { first: 0, second: 2 }]
/// );
/// ```
pub fn degenerate_neurons(neurons: &Tensor<2>) -> Vec<MheError> {
    let [_, d] = neurons.dims();
    let values: Vec<f64> = neurons.to_data().iter::<f64>().collect();
    let zeros = values
        .chunks_exact(d.max(1))
        .enumerate()
        .filter(|(_, row)| row.iter().all(|&x| x == 0.0))
        .map(|(index, _)| MheError::ZeroNeuron { index });
    let twins = duplicate_pairs(neurons)
        .into_iter()
        .map(|(first, second)| MheError::DuplicateNeurons { first, second });
    zeros.chain(twins).collect()
}

/// Each row `i` with a later row `j` of the same direction, paired with its closest such `j`.
fn duplicate_pairs(neurons: &Tensor<2>) -> Vec<(usize, usize)> {
    let [n, _] = neurons.dims();
    if n < 2 {
        return Vec::new();
    }
    let tolerance = if neurons.dtype() == DType::F64 {
        DUPLICATE_TOLERANCE_F64
    } else {
        DUPLICATE_TOLERANCE_F32
    };
    let lower_and_diagonal = Tensor::<2, Bool>::triu_mask([n, n], 1, &neurons.device());
    let cosines = direction_cosines(neurons).mask_fill(lower_and_diagonal, -2.0);
    let (best, partner) = cosines.max_dim_with_indices(1);
    let best: Vec<f64> = best.into_data().iter::<f64>().collect();
    let partner: Vec<i64> = partner.into_data().iter::<i64>().collect();
    best.iter()
        .enumerate()
        .filter(|&(_, &c)| c >= 1.0 - tolerance)
        .map(|(i, _)| (i, partner[i] as usize))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn neurons(rows: &[[f32; 3]]) -> Tensor<2> {
        let data: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(
            burn::tensor::TensorData::new(data, [rows.len(), 3]),
            &Device::flex(),
        )
    }

    #[test]
    fn names_the_first_offending_row() {
        let ok = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]];
        assert_eq!(check_neurons(&neurons(&ok)), Ok(()));
        let zero = [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        assert_eq!(
            check_neurons(&neurons(&zero)),
            Err(MheError::ZeroNeuron { index: 1 })
        );
        let nan = [[1.0, 0.0, 0.0], [0.0, f32::NAN, 0.0]];
        assert_eq!(
            check_neurons(&neurons(&nan)),
            Err(MheError::NonFinite { index: 1 })
        );
        let twins = [
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 5.0, 0.0],
        ];
        assert_eq!(
            check_neurons(&neurons(&twins)),
            Err(MheError::DuplicateNeurons {
                first: 0,
                second: 3
            })
        );
    }

    #[test]
    fn rejects_empty_layers() {
        let empty = Tensor::<2>::zeros([0, 3], &Device::flex());
        assert_eq!(
            check_neurons(&empty),
            Err(MheError::EmptyLayer { neurons: 0, dim: 3 })
        );
    }
}
