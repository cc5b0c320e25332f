//! SRIP, the spectral restricted isometry penalty (Bansal, Chen and Wang, NeurIPS 2018): the
//! spectral norm of the residual of SO, `sigma_max(G - I)` with `G` the Gram matrix of the
//! weight's smaller side (the neurons' `W W^T` for `N <= d`, which is what the released code
//! computes on its conv layers). It acts on the raw rows, norms included.
//!
//! The released code estimates `sigma_max` with two power-iteration steps from a fresh random
//! vector each step and differentiates through that estimate. Here the power iteration is run
//! to convergence from a fixed start, so the penalty is deterministic and equals the spectral
//! norm: `(G - I)^2` is squared [`SQUARINGS`] times (rescaled each time), which applies it
//! `2^SQUARINGS` times to the start vector in a few matrix products, then [`POLISH_STEPS`]
//! plain steps follow. The gradient is that of `sigma_max` at the vector `v` found:
//! `2 s v v^T W` (rows' side) or `2 s (W v) v^T` (columns' side), `s` the sign of the
//! eigenvalue `v^T (G - I) v`. Where the largest singular value is shared by two directions
//! this is the gradient along one of them.

use burn::tensor::{Tensor, TensorData};

use crate::random::gaussian_values;
use crate::unit::NORM_FLOOR;

use super::so::gram_residual;

/// Squarings of `(G - I)^2`: the start vector meets `(G - I)^(2^(SQUARINGS + 1))`, which shrinks
/// its error by `(sigma_2 / sigma_1)^128`.
pub(crate) const SQUARINGS: usize = 6;

/// Plain power-iteration steps on `(G - I)^2` after the squarings, which take the rounding of
/// the squared products out of the vector.
pub(crate) const POLISH_STEPS: usize = 2;

/// Seed of the fixed start vector (standard normal: orthogonal to the top singular vector with
/// probability zero).
const START_SEED: u64 = 0x5121_9000;

/// The SRIP loss of rows `neurons` (`[N, d]`) and its gradient.
pub(crate) fn value_and_grad(neurons: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let (residual, rows_side) = gram_residual(neurons.clone());
    let [size, _] = residual.dims();
    let squared = residual.clone().matmul(residual.clone());
    let mut power = squared.clone();
    for _ in 0..SQUARINGS {
        let norm = power
            .clone()
            .powi_scalar(2)
            .sum()
            .sqrt()
            .clamp_min(NORM_FLOOR);
        power = power.div(norm.unsqueeze());
        power = power.clone().matmul(power);
    }
    let start = TensorData::new(gaussian_values(size, START_SEED), [size, 1]);
    let start = Tensor::<2>::from_data(start, (&neurons.device(), neurons.dtype()));
    let mut vector = unit(power.matmul(start));
    for _ in 0..POLISH_STEPS {
        vector = unit(squared.clone().matmul(vector));
    }
    let image = residual.matmul(vector.clone());
    let value = image.clone().powi_scalar(2).sum().sqrt();
    let sign = (vector.clone() * image).sum().sign();
    let grad = match rows_side {
        true => vector.clone().matmul(vector.transpose().matmul(neurons)),
        false => neurons.matmul(vector.clone()).matmul(vector.transpose()),
    };
    (value, grad.mul(sign.unsqueeze()).mul_scalar(2.0))
}

/// `column` (`[m, 1]`) scaled to length 1; a zero column stays zero.
fn unit(column: Tensor<2>) -> Tensor<2> {
    let length = column.clone().powi_scalar(2).sum().sqrt();
    column.div(length.clamp_min(NORM_FLOOR).unsqueeze())
}
