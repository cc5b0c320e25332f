//! MMA (Wang et al., NeurIPS 2020): maximize each neuron's angle to its nearest neighbour.
//!
//! `E = -mean_i min_{j != i} theta_ij`. The released code takes the largest cosine of each row
//! with the diagonal masked, then `acos`; so does this one. The gradient flows through each
//! row's nearest neighbour (a subgradient where two neighbours tie).

use burn::tensor::{Bool, IndexingUpdateOp, Tensor};

use crate::kernel::{SIN2_FLOOR, accurate_acos};

/// The MMA loss of unit rows `units` (`[N, d]`) and its gradient with respect to them.
pub(crate) fn value_and_grad(units: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let [n, _] = units.dims();
    let cosines = units.clone().matmul(units.clone().transpose());
    let on_diagonal = Tensor::<2, Bool>::diag_mask([n, n], 0, &units.device()).bool_not();
    let (nearest, neighbour) = cosines
        .clone()
        .mask_fill(on_diagonal, -2.0)
        .max_dim_with_indices(1);
    let nearest = nearest.clamp(-1.0, 1.0);
    let value = accurate_acos(nearest.clone()).mean().neg();
    // d(-acos c)/dc = 1 / sin; the sine is floored so that coincident neurons stay finite.
    let slope = nearest
        .powi_scalar(2)
        .neg()
        .add_scalar(1.0)
        .clamp_min(SIN2_FLOOR)
        .sqrt()
        .recip()
        .div_scalar(n as f64);
    let coupling = cosines
        .zeros_like()
        .scatter(1, neighbour, slope, IndexingUpdateOp::Add);
    let grad = (coupling.clone() + coupling.transpose()).matmul(units);
    (value, grad)
}
