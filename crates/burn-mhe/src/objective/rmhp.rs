//! r-MHP (Liu et al., AISTATS 2021): the length of the sum of the unnormalized neurons,
//! `E = ||sum_i w_i||`, small when the neurons balance around the origin.

use burn::tensor::Tensor;

use crate::unit::NORM_FLOOR;

/// The r-MHP loss of rows `neurons` (`[N, d]`, not normalized) and its gradient: every row gets
/// the direction of the sum (zero where the sum vanishes, a subgradient).
pub(crate) fn value_and_grad(neurons: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let [n, _] = neurons.dims();
    let total = neurons.sum_dim(0);
    let length = total.clone().powi_scalar(2).sum().sqrt();
    let direction = total.div(length.clone().clamp_min(NORM_FLOOR).unsqueeze());
    (length, direction.repeat_dim(0, n))
}
