//! Directions of neurons: the normalization floor and the cosine matrix that the energy, the
//! angle statistics and the input checks share. A leaf module: it uses no other module here.

use burn::tensor::Tensor;

/// Smallest normalizer `sqrt(||w||^2 + eps)`: with `eps = 0` a zero neuron maps to the zero
/// vector (cosine 0 with every other neuron) instead of NaN.
pub const NORM_FLOOR: f64 = 1e-30;

/// Cosines between the directions of the rows of `neurons` (`[N, N]`, without autodiff); a
/// zero row has cosine 0 with every row.
pub(crate) fn direction_cosines(neurons: &Tensor<2>) -> Tensor<2> {
    let neurons = neurons.clone().without_autodiff();
    let norms = neurons
        .clone()
        .powi_scalar(2)
        .sum_dim(1)
        .sqrt()
        .clamp_min(NORM_FLOOR);
    let units = neurons / norms;
    units.clone().matmul(units.transpose())
}
