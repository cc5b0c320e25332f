//! Directions of neurons: the normalization floor and the cosine matrix that the energy, the
//! angle statistics and the input checks share. A leaf module: it uses no other module here.

use burn::tensor::Tensor;

/// Smallest normalizer `sqrt(||w||^2 + eps)`: with `eps = 0` a zero neuron maps to the zero
/// vector (cosine 0 with every other neuron) instead of NaN.
pub(crate) const NORM_FLOOR: f64 = 1e-30;

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

/// Rows scaled to (nearly) unit length, `u = w / sqrt(||w||^2 + eps)`, and the inverse
/// normalizers `1 / sqrt(||w||^2 + eps)` (`[.., N, 1]`), of rows along the last axis.
pub(crate) fn normalize<const D: usize>(neurons: Tensor<D>, eps: f64) -> (Tensor<D>, Tensor<D>) {
    let inv_norms = neurons
        .clone()
        .powi_scalar(2)
        .sum_dim(D - 1)
        .add_scalar(eps)
        .sqrt()
        .clamp_min(NORM_FLOOR)
        .recip();
    (neurons * inv_norms.clone(), inv_norms)
}

/// A gradient with respect to the unit rows `u = w / r` taken back to the rows `w`:
/// `dE/dw = (g - u <u, g>) / r`, with `inv_norms = 1 / r` from [`normalize`].
pub(crate) fn through_normalization<const D: usize>(
    units: Tensor<D>,
    inv_norms: Tensor<D>,
    grad_units: Tensor<D>,
) -> Tensor<D> {
    let radial = (units.clone() * grad_units.clone()).sum_dim(D - 1);
    (grad_units - units * radial) * inv_norms
}

/// `value`, with `grad` as its gradient with respect to `input` in the autodiff graph of
/// `input` (a constant when `input` is not tracked). `input - input.detach()` is exactly zero,
/// so the value is untouched, while the gradient of `sum(zero * grad)` is exactly `grad`.
pub(crate) fn with_gradient<const D: usize>(
    value: Tensor<1>,
    input: Tensor<D>,
    grad: Tensor<D>,
) -> Tensor<1> {
    if !input.is_tracked() {
        return value;
    }
    let zero = input.clone() - input.detach();
    (zero * grad).sum() + value
}
