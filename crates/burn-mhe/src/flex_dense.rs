//! The dense energy on burn's `flex` backend, computed on its buffers: two matrix products and
//! one pass over the `N x N` matrix, with nothing else of size `N x d` read or written.
//!
//! The tensor path (`energy.rs`) normalizes the rows, multiplies them, and then runs a dozen
//! elementwise tensor operations over the `N x N` cosines, each a pass over memory with a fresh
//! buffer. Here, on float32 `flex` tensors:
//! 1. `G = W W^T` of the raw rows, lower triangle only, in row panels of one product each
//!    (about 0.56 of a full product's work); the row norms are its diagonal, so the rows are
//!    never normalized in memory: `c_ij = G_ij / (r_i r_j)`.
//! 2. One pass per row turns `G` in place into `M` with `dE/dW = M W`: the pair kernel, the
//!    energy sum, the radial term of the normalization and both `1/r` factors folded in.
//! 3. One product `M W`: the gradient.
//!
//! Layers whose squared norms leave `[2^-100, 2^100]` (or are not finite), and zero rows with
//! `eps = 0`, take the tensor path, which normalizes first: `G` of the raw rows would lose
//! precision or overflow in float32.

use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use crate::kernel::PairKernel;
use crate::unit::NORM_FLOOR;

/// `[2^-100, 2^100]`: squared row norms (and `||w||^2 + eps`) this path accepts. Outside,
/// float32 products of raw rows would overflow or lose precision.
const SQUARED_NORM_RANGE: (f64, f64) = (7.888_609_052_210_118e-31, 1.267_650_600_228_229_4e30);

/// What the dense path needs of the energy's configuration.
pub(crate) struct DenseEnergy<'a> {
    /// The pair kernel `f`, `f'`.
    pub kernel: &'a PairKernel,
    /// Half-space MHE (the `2N` points `[W; -W]`).
    pub half_space: bool,
    /// `eps` of the normalization `r = sqrt(||w||^2 + eps)`.
    pub eps: f64,
    /// The reduction's factor: `1 / pairs` or 1.
    pub scale: f64,
}

impl DenseEnergy<'_> {
    /// The energies (`[B]`) and gradients (`[B, N, d]`) of `[B, N, d]` neurons, or `None` where
    /// this path does not apply: not a float32 `flex` tensor, or norms out of range.
    pub(crate) fn value_and_grad(&self, neurons: &Tensor<3>) -> Option<(Tensor<1>, Tensor<3>)> {
        let [b, n, d] = neurons.dims();
        let flex: FlexTensor = neurons.clone().try_into_primitive::<Flex>().ok()?;
        if flex.dtype() != DType::F32 || !flex.is_contiguous() {
            return None;
        }
        let start = flex.layout().start_offset();
        let rows = &flex.storage::<f32>()[start..start + b * n * d];
        let mut gram = vec![0.0f32; n * n];
        let mut grads = vec![0.0f32; b * n * d];
        let mut energies = Vec::with_capacity(b);
        // Small layers stay on this thread: waking the others costs more than they save.
        let parallel = n * n * d >= PARALLEL_WORK;
        for (layer, grad) in rows.chunks_exact(n * d).zip(grads.chunks_exact_mut(n * d)) {
            if parallel {
                lower_gram(layer, n, d, &mut gram);
                mirror_lower(&mut gram, n);
            } else {
                gram_rows(layer, d, 0..n, &mut gram);
            }
            let inv_norms = self.inv_norms(&gram, n)?;
            energies.push(self.couple(&mut gram, &inv_norms, parallel) as f32);
            // SAFETY: `gram` is `n x n`, `layer` and `grad` are `n x d`, all row-major.
            unsafe {
                gemm(
                    n,
                    d,
                    n,
                    grad.as_mut_ptr(),
                    1,
                    d as isize,
                    false,
                    gram.as_ptr(),
                    1,
                    n as isize,
                    layer.as_ptr(),
                    1,
                    d as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    if parallel {
                        Parallelism::Rayon(rayon::current_num_threads())
                    } else {
                        Parallelism::None
                    },
                );
            }
        }
        let device = neurons.device();
        Some((
            Tensor::from_data(TensorData::new(energies, [b]), &device),
            Tensor::from_data(TensorData::new(grads, [b, n, d]), &device),
        ))
    }

    /// `1 / r_i = 1 / sqrt(G_ii + eps)`, or `None` if a squared norm or `r_i^2` is out of
    /// range (a zero row is fine with `eps > 0`: its cosines are all 0).
    fn inv_norms(&self, gram: &[f32], n: usize) -> Option<Vec<f32>> {
        let (low, high) = SQUARED_NORM_RANGE;
        (0..n)
            .map(|i| {
                let squared = f64::from(gram[i * n + i]);
                let radius2 = squared + self.eps;
                let fits = squared <= high && (low..=high).contains(&radius2);
                fits.then(|| (1.0 / radius2.sqrt().max(NORM_FLOOR)) as f32)
            })
            .collect()
    }

    /// Turns the full Gram matrix into `M` with `dE/dW = M W` and returns the scaled energy.
    ///
    /// With `A_ij = dE/dc_ij` (unscaled) and `rad_i = sum_j A_ij c_ij`:
    /// `dE/dw_i = s / r_i (sum_j A_ij u_j - rad_i u_i)` and `u_j = w_j / r_j`, so
    /// `M_ij = s A_ij / (r_i r_j)` off the diagonal and `M_ii = s (A_ii - rad_i) / r_i^2`.
    fn couple(&self, gram: &mut [f32], inv_norms: &[f32], parallel: bool) -> f64 {
        let n = inv_norms.len();
        let row_energy = |(i, (row, &inv_i)): (usize, (&mut [f32], &f32))| {
            let row_scale = self.scale as f32 * inv_i;
            let cosine_ii = row[i] * inv_i * inv_i;
            let (mut sum, mut radial) = (0.0f32, 0.0f32);
            let (before, after) = row.split_at_mut(i);
            for (entry, &inv_j) in before
                .iter_mut()
                .chain(after[1..].iter_mut())
                .zip(inv_norms[..i].iter().chain(&inv_norms[i + 1..]))
            {
                let cosine = *entry * inv_i * inv_j;
                let (value, slope) = self.off_diagonal(cosine);
                sum += value;
                radial += slope * cosine;
                *entry = slope * inv_j * row_scale;
            }
            let (value, slope) = self.diagonal(cosine_ii);
            radial += slope * cosine_ii;
            row[i] = (slope - radial) * inv_i * row_scale;
            f64::from(sum + value)
        };
        let sum: f64 = if parallel {
            let rows = gram.par_chunks_mut(n).zip(inv_norms.par_iter());
            rows.enumerate().map(row_energy).sum()
        } else {
            let rows = gram.chunks_mut(n).zip(inv_norms);
            rows.enumerate().map(row_energy).sum()
        };
        // Full space: every unordered pair was counted twice.
        let value_factor = if self.half_space { 1.0 } else { 0.5 };
        sum * value_factor * self.scale
    }

    /// The energy and `A_ij` of an ordered pair `i != j`: `f(c)`, `f'(c)` in full space;
    /// `f(c) + f(-c)`, `2 (f'(c) - f'(-c))` with the mirrored points.
    #[inline]
    fn off_diagonal(&self, cosine: f32) -> (f32, f32) {
        let (value, slope) = self.kernel.pair(cosine);
        if self.half_space {
            let (mirror_value, mirror_slope) = self.kernel.pair(-cosine);
            (value + mirror_value, 2.0 * (slope - mirror_slope))
        } else {
            (value, slope)
        }
    }

    /// The same for `i = j`: only half space has a pair there, `u_i` and `-u_i`.
    #[inline]
    fn diagonal(&self, cosine: f32) -> (f32, f32) {
        if self.half_space {
            let (value, slope) = self.kernel.pair(-cosine);
            (value, -2.0 * slope)
        } else {
            (0.0, 0.0)
        }
    }
}

/// Multiply-adds of the Gram matrix (`N^2 d`) from which a layer is spread over the threads.
const PARALLEL_WORK: usize = 1 << 24;

/// Rows of one product of the lower-triangle Gram: about two panels per thread (fewer, wider
/// products run faster in gemm; more balance the threads better).
fn panel_rows(n: usize) -> usize {
    (n / (2 * rayon::current_num_threads())).clamp(64, 512)
}

/// `G_ij = <w_i, w_j>` for `j <= i` (and some `j > i` beside the diagonal), one single-threaded
/// product per panel of rows. Panel `p` costs in proportion to its last row, so the panels are
/// dealt to the threads largest first, each to the least loaded (rayon's splitting in halves
/// would give one thread most of the large ones).
fn lower_gram(rows: &[f32], n: usize, d: usize, gram: &mut [f32]) {
    let panel = panel_rows(n);
    let threads = rayon::current_num_threads();
    let mut loads: Vec<(usize, Vec<_>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for (p, block) in gram.chunks_mut(panel * n).enumerate().rev() {
        let range = p * panel..((p + 1) * panel).min(n);
        let (load, panels) = loads
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one thread");
        *load += range.len() * range.end;
        panels.push((range, block));
    }
    loads.into_par_iter().for_each(|(_, panels)| {
        for (range, block) in panels {
            gram_rows(rows, d, range, block);
        }
    });
}

/// `G_ij = <w_i, w_j>` for the rows `i` in `range` and the columns `j < range.end`, into `out`
/// (those rows of the `n x n` matrix), on this thread.
fn gram_rows(rows: &[f32], d: usize, range: std::ops::Range<usize>, out: &mut [f32]) {
    let n = rows.len() / d;
    assert!(range.end <= n && out.len() >= range.len() * n);
    // SAFETY: `out` holds `range.len()` rows of `n`, of which columns `0..range.end` are
    // written; `rows` is `n x d`, row-major, and `range` lies within it (checked above).
    unsafe {
        gemm(
            range.len(),
            range.end,
            d,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            rows.as_ptr().add(range.start * d),
            1,
            d as isize,
            rows.as_ptr(),
            d as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// A pointer shared by threads that write disjoint entries of one matrix.
#[derive(Clone, Copy)]
struct SharedMatrix(*mut f32);
// SAFETY: used only by `mirror_lower`, whose tiles write disjoint entries.
unsafe impl Send for SharedMatrix {}
unsafe impl Sync for SharedMatrix {}

/// Copies the lower triangle of the `n x n` matrix onto its upper triangle, in tiles.
fn mirror_lower(gram: &mut [f32], n: usize) {
    const TILE: usize = 64;
    assert_eq!(gram.len(), n * n);
    let matrix = SharedMatrix(gram.as_mut_ptr());
    let tiles: Vec<(usize, usize)> = (0..n)
        .step_by(TILE)
        .flat_map(|i| (i..n).step_by(TILE).map(move |j| (i, j)))
        .collect();
    tiles.into_par_iter().for_each(move |(row0, col0)| {
        let matrix = matrix;
        for i in row0..(row0 + TILE).min(n) {
            for j in col0.max(i + 1)..(col0 + TILE).min(n) {
                // SAFETY: `i < j < n`: each task writes the upper entries of its own tile and
                // reads lower entries, which no task writes.
                unsafe { *matrix.0.add(i * n + j) = *matrix.0.add(j * n + i) };
            }
        }
    });
}
