//! MGD (Liu et al., AISTATS 2021): maximize the log-determinant of the neurons' Gaussian kernel.
//!
//! `E = -log det(K + jitter I)` with `K_ij = exp(-d_ij^2) = exp(2 c_ij - 2)` and `jitter =
//! 1e-6` as released. The log-determinant comes from a Cholesky factorization `LL^T`
//! (`2 sum log L_ii`), in float64 on the host; the gradient `dE/dK = -(K + jitter I)^-1` is
//! applied through two triangular solves with the same factor. burn-linalg 0.22.1 offers LU but
//! no triangular solve, hence the small factorization here. Where float32 cosines leave the
//! kernel not quite positive definite (duplicate neurons), the jitter grows tenfold until the
//! factorization succeeds.

use burn::tensor::{Tensor, TensorData};

/// The released code's diagonal jitter ([`Objective::MGD_JITTER`](crate::Objective::MGD_JITTER)).
pub(crate) const MGD_JITTER: f64 = 1e-6;

/// The MGD loss of unit rows `units` (`[N, d]`) and its gradient.
pub(crate) fn value_and_grad(units: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let [n, _] = units.dims();
    let (device, dtype) = (units.device(), units.dtype());
    let cosines = units.clone().matmul(units.clone().transpose());
    let kernel: Vec<f64> = cosines
        .into_data()
        .iter::<f64>()
        .map(|c| (2.0 * c - 2.0).exp())
        .collect();
    // Finite cosines give a factor at the latest once the jitter makes the kernel (entries in
    // (0, 1]) diagonally dominant; non-finite ones never do: their loss is NaN, as their input.
    let factor = (0..12)
        .map(|k| MGD_JITTER * 10f64.powi(k))
        .find_map(|jitter| {
            let mut jittered = kernel.clone();
            (0..n).for_each(|i| jittered[i * n + i] += jitter);
            cholesky(&jittered, n)
        });
    let (log_det, inverse) = match factor {
        Some(factor) => (
            (0..n).map(|i| 2.0 * factor[i * n + i].ln()).sum(),
            inverse_from_cholesky(&factor, n),
        ),
        None => (f64::NAN, vec![0.0; n * n]),
    };
    // dE/dc_ij = -inverse_ij * dK_ij/dc_ij = -2 inverse_ij K_ij; dE/dU = 2 (dE/dC) U (symmetric).
    let coupling: Vec<f64> = inverse
        .iter()
        .zip(&kernel)
        .map(|(m, k)| -4.0 * m * k)
        .collect();
    let coupling = Tensor::<2>::from_data(
        TensorData::new(coupling, [n, n]).convert_dtype(dtype),
        (&device, dtype),
    );
    let value = Tensor::<1>::from_data(
        TensorData::new(vec![-log_det], [1]).convert_dtype(dtype),
        (&device, dtype),
    );
    (value, coupling.matmul(units))
}

/// The lower Cholesky factor of a symmetric `n x n` matrix (row-major), or `None` if it is
/// not positive definite.
fn cholesky(matrix: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut factor = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| factor[i * n + k] * factor[j * n + k]).sum();
            let rest = matrix[i * n + j] - dot;
            if i == j {
                if rest <= 0.0 || !rest.is_finite() {
                    return None;
                }
                factor[i * n + i] = rest.sqrt();
            } else {
                factor[i * n + j] = rest / factor[j * n + j];
            }
        }
    }
    Some(factor)
}

/// `(L L^T)^-1` from the lower factor `L`: column by column, `L y = e_k` (zero above `k`), then
/// `L^T x = y`, reading `L^T` by rows for contiguous memory.
fn inverse_from_cholesky(factor: &[f64], n: usize) -> Vec<f64> {
    let mut upper = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            upper[j * n + i] = factor[i * n + j];
        }
    }
    let mut inverse = vec![0.0; n * n];
    let mut column = vec![0.0; n];
    for k in 0..n {
        column[..k].iter_mut().for_each(|y| *y = 0.0);
        for i in k..n {
            let dot: f64 = (k..i).map(|j| factor[i * n + j] * column[j]).sum();
            column[i] = (f64::from(u8::from(i == k)) - dot) / factor[i * n + i];
        }
        for i in (0..n).rev() {
            let dot: f64 = (i + 1..n).map(|j| upper[i * n + j] * column[j]).sum();
            column[i] = (column[i] - dot) / upper[i * n + i];
        }
        (0..n).for_each(|i| inverse[i * n + k] = column[i]);
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_factors_and_inverts_a_known_matrix() {
        // [[4, 2], [2, 3]] = L L^T with L = [[2, 0], [1, sqrt(2)]]; det 8, inverse [[3, -2], [-2, 4]] / 8.
        let factor = cholesky(&[4.0, 2.0, 2.0, 3.0], 2).unwrap();
        let expected = [2.0, 0.0, 1.0, 2f64.sqrt()];
        for (got, want) in factor.iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{factor:?}");
        }
        let inverse = inverse_from_cholesky(&factor, 2);
        for (got, want) in inverse.iter().zip([0.375, -0.25, -0.25, 0.5]) {
            assert!((got - want).abs() < 1e-15, "{inverse:?}");
        }
    }

    #[test]
    fn cholesky_refuses_a_matrix_that_is_not_positive_definite() {
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
