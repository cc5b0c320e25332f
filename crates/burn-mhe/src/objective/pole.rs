//! MHP and MHC (Liu et al., AISTATS 2021): a learnable pole `p` probes the neurons.
//!
//! With `d_i^2 = ||p - u_i||^2 = 2 - 2 <p, u_i>` (floored at `D2_FLOOR`):
//! - MHP, `E = mean_i 1 / d_i^2`: the pole ascends towards where the neurons crowd, and the
//!   neurons descend away from it.
//! - MHC, `E = -(1/gamma) log(mean_i exp(-gamma d_i^2))` (a soft minimum of the distances,
//!   `gamma = 10` as released): the pole ascends to the largest hole among the neurons (the
//!   covering radius), and the neurons descend to close it.

use burn::tensor::Tensor;

use crate::kernel::D2_FLOOR;

/// MHC's sharpness `gamma`, the released code's value
/// ([`Objective::MHC_GAMMA`](crate::Objective::MHC_GAMMA)).
pub(crate) const MHC_GAMMA: f64 = 10.0;

/// Which pole objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoleKind {
    /// Hyperspherical potential: `mean_i 1 / d_i^2`.
    Potential,
    /// Hyperspherical covering: the soft minimum of `d_i^2`.
    Covering,
}

/// The loss of unit rows `units` (`[N, d]`) against the unit pole `pole` (`[1, d]`), and its
/// gradients with respect to both.
pub(crate) fn value_and_grad(
    kind: PoleKind,
    units: Tensor<2>,
    pole: Tensor<2>,
) -> (Tensor<1>, Tensor<2>, Tensor<2>) {
    let [n, _] = units.dims();
    let d2 = units
        .clone()
        .matmul(pole.clone().transpose())
        .mul_scalar(-2.0)
        .add_scalar(2.0)
        .clamp_min(D2_FLOOR);
    // `slope` is dE/d<p, u_i> = -2 dE/d(d_i^2), `[N, 1]`.
    let (value, slope) = match kind {
        PoleKind::Potential => {
            let inverse = d2.recip();
            let slope = inverse.clone().powi_scalar(2).mul_scalar(2.0 / n as f64);
            (inverse.mean(), slope)
        }
        PoleKind::Covering => {
            let scaled = d2.mul_scalar(-MHC_GAMMA);
            let peak = scaled.clone().max();
            let weights = (scaled - peak.clone().unsqueeze()).exp();
            let total = weights.clone().sum();
            // log mean exp(-gamma d^2) = peak + log(sum exp(. - peak)) - log N
            let log_mean = peak + total.clone().log() - (n as f64).ln();
            let softmax = weights.div(total.unsqueeze());
            (log_mean.div_scalar(-MHC_GAMMA), softmax.mul_scalar(-2.0))
        }
    };
    let grad_units = slope.clone() * pole;
    let grad_pole = slope.transpose().matmul(units);
    (value, grad_units, grad_pole)
}
