//! MHS (Liu et al., AISTATS 2021): maximize the smallest distance between the neurons,
//! `E = -min_{i<j} d_ij^2 = 2 max_{i<j} c_ij - 2`. In half space (the released code's choice for
//! hidden layers) the neurons and their negations are the points, so lines, not directions,
//! are spread. The gradient flows through the closest pair (a subgradient).

use burn::tensor::{Bool, IndexingUpdateOp, Tensor};

/// The MHS loss of unit rows `units` (`[N, d]`, `N >= 2`) and its gradient.
pub(crate) fn value_and_grad(units: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let [n, _] = units.dims();
    let cosines = units.clone().matmul(units.clone().transpose());
    let on_diagonal = Tensor::<2, Bool>::diag_mask([n, n], 0, &units.device()).bool_not();
    let closest = cosines
        .clone()
        .mask_fill(on_diagonal, -2.0)
        .reshape([n * n])
        .argmax(0);
    let cosine = cosines.clone().reshape([n * n]).gather(0, closest.clone());
    let value = cosine.mul_scalar(2.0).sub_scalar(2.0);
    let coupling = cosines
        .zeros_like()
        .reshape([n * n])
        .scatter(
            0,
            closest,
            value.ones_like().mul_scalar(2.0),
            IndexingUpdateOp::Add,
        )
        .reshape([n, n]);
    let grad = (coupling.clone() + coupling.transpose()).matmul(units);
    (value, grad)
}
