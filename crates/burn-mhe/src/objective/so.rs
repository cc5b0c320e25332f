//! Soft orthogonality, SO (Bansal, Chen and Wang, NeurIPS 2018; Xie et al. 2017): the squared
//! Frobenius distance of the Gram matrix of the weight's smaller side from the identity,
//! `||W W^T - I||_F^2` for `N <= d` rows, else `||W^T W - I||_F^2`. It acts on the raw rows,
//! norms included.

use burn::tensor::{Bool, Tensor};

/// The Gram matrix of the smaller side of `neurons` (`[N, d]`) minus the identity, `W W^T - I`
/// (`[N, N]`) where `N <= d`, else `W^T W - I` (`[d, d]`), and whether it is the rows' side.
pub(super) fn gram_residual(neurons: Tensor<2>) -> (Tensor<2>, bool) {
    let [n, d] = neurons.dims();
    let rows_side = n <= d;
    let gram = match rows_side {
        true => neurons.clone().matmul(neurons.transpose()),
        false => neurons.clone().transpose().matmul(neurons),
    };
    let size = n.min(d);
    let off_diagonal = Tensor::<2, Bool>::diag_mask([size, size], 0, &gram.device());
    let identity = gram.ones_like().mask_fill(off_diagonal, 0.0);
    (gram - identity, rows_side)
}

/// The SO loss of rows `neurons` (`[N, d]`) and its gradient, `4 (W W^T - I) W` or
/// `4 W (W^T W - I)`.
pub(crate) fn value_and_grad(neurons: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let (residual, rows_side) = gram_residual(neurons.clone());
    let value = residual.clone().powi_scalar(2).sum();
    let grad = match rows_side {
        true => residual.matmul(neurons),
        false => neurons.matmul(residual),
    };
    (value, grad.mul_scalar(4.0))
}
