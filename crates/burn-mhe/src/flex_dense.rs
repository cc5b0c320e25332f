//! The dense energy on burn's `flex` backend, computed on its buffers: two matrix products and
//! one pass over the `N x N` matrix, with nothing else of size `N x d` read or written.
//!
//! The tensor path (`energy.rs`) normalizes the rows, multiplies them, and then runs a dozen
//! elementwise tensor operations over the `N x N` cosines, each a pass over memory with a fresh
//! buffer. Here, on float32 `flex` tensors:
//! 1. `G = W W^T` of the raw rows, upper triangle only, in column panels of one product each
//!    (about 0.56 of a full product's work at 1024 rows, mirrored after); the row norms are its
//!    diagonal, so the rows are never normalized in memory: `c_ij = G_ij / (r_i r_j)`.
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

use crate::kernel::{HostLoop, PairKernel};
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
        // Both buffers are written by gemm before anything reads them, so they are not zeroed
        // first (one more pass over `N x N` and `N x d` memory).
        let mut gram = Vec::with_capacity(n * n);
        let mut grads: Vec<f32> = Vec::with_capacity(b * n * d);
        let mut energies = Vec::with_capacity(b);
        // Small layers stay on this thread: waking the others costs more than they save.
        let parallel = n * n * d >= PARALLEL_WORK;
        let threads = if parallel {
            Parallelism::Rayon(rayon::current_num_threads())
        } else {
            Parallelism::None
        };
        let grads_out = &mut grads.spare_capacity_mut()[..b * n * d];
        for (layer, grad) in rows
            .chunks_exact(n * d)
            .zip(grads_out.chunks_exact_mut(n * d))
        {
            fill_gram(layer, d, parallel, &mut gram);
            let inv_norms = self.inv_norms(&gram, n)?;
            energies.push(self.couple(&mut gram, &inv_norms, parallel) as f32);
            // SAFETY: `gram` is `n x n`, `layer` and `grad` are `n x d`, all row-major, and
            // `grad` is this layer's alone.
            unsafe {
                multiply(
                    [n, n, d],
                    (grad.as_mut_ptr().cast(), d),
                    (gram.as_ptr(), n),
                    (layer.as_ptr(), [1, d as isize]),
                    threads,
                );
            }
        }
        // SAFETY: each layer's gemm wrote its `n x d` gradient.
        unsafe { grads.set_len(b * n * d) };
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
        let sum = self.kernel.host_loop(CouplePass {
            gram,
            inv_norms,
            parallel,
            scale: self.scale as f32,
            half_space: self.half_space,
        });
        // Full space: every unordered pair was counted twice.
        let value_factor = if self.half_space { 1.0 } else { 0.5 };
        sum * value_factor * self.scale
    }
}

/// The pass of [`DenseEnergy::couple`] over the rows of the Gram matrix.
struct CouplePass<'a> {
    gram: &'a mut [f32],
    inv_norms: &'a [f32],
    parallel: bool,
    scale: f32,
    half_space: bool,
}

impl HostLoop for CouplePass<'_> {
    type Output = f64;

    /// The energy and `A` of a pair: `f(c)`, `f'(c)` in full space, where `i = j` is no pair;
    /// with the mirrored points `f(c) + f(-c)`, `2 (f'(c) - f'(-c))`, and `f(-c)`, `-2 f'(-c)`
    /// for `i = j` (`u_i` and `-u_i`).
    fn run(self, pair: impl Fn(f32) -> (f32, f32) + Copy + Send + Sync) -> f64 {
        if self.half_space {
            let off_diagonal = move |c: f32| {
                let ((value, slope), (mirror_value, mirror_slope)) = (pair(c), pair(-c));
                (value + mirror_value, 2.0 * (slope - mirror_slope))
            };
            let diagonal = move |c: f32| {
                let (value, slope) = pair(-c);
                (value, -2.0 * slope)
            };
            self.rows(off_diagonal, diagonal)
        } else {
            self.rows(pair, |_| (0.0, 0.0))
        }
    }
}

impl CouplePass<'_> {
    /// Every row, in parallel or not, with the pair terms off and on the diagonal.
    fn rows(
        self,
        off_diagonal: impl Fn(f32) -> (f32, f32) + Copy + Send + Sync,
        diagonal: impl Fn(f32) -> (f32, f32) + Copy + Send + Sync,
    ) -> f64 {
        let (inv_norms, scale) = (self.inv_norms, self.scale);
        let n = inv_norms.len();
        let row_energy = move |(i, (row, &inv_i)): (usize, (&mut [f32], &f32))| {
            let row_scale = scale * inv_i;
            let cosine_ii = row[i] * inv_i * inv_i;
            let (before, after) = row.split_at_mut(i);
            let (sum_before, radial_before) =
                couple_entries(before, &inv_norms[..i], inv_i, row_scale, off_diagonal);
            let (sum_after, radial_after) = couple_entries(
                &mut after[1..],
                &inv_norms[i + 1..],
                inv_i,
                row_scale,
                off_diagonal,
            );
            let (value, slope) = diagonal(cosine_ii);
            let radial = radial_before + radial_after + slope * cosine_ii;
            row[i] = (slope - radial) * inv_i * row_scale;
            f64::from(sum_before + sum_after + value)
        };
        if self.parallel {
            let rows = self.gram.par_chunks_mut(n).zip(inv_norms.par_iter());
            rows.enumerate().map(row_energy).sum()
        } else {
            let rows = self.gram.chunks_mut(n).zip(inv_norms);
            rows.enumerate().map(row_energy).sum()
        }
    }
}

/// Turns the off-diagonal Gram entries `G_ij` of a row into `M_ij` in place; returns their
/// energy sum and `sum_j A_ij c_ij`. Eight running sums, one per SIMD lane: one sum would keep
/// the loop scalar (float additions are not reordered).
#[inline(always)]
fn couple_entries(
    entries: &mut [f32],
    inv_norms: &[f32],
    inv_i: f32,
    row_scale: f32,
    pair: impl Fn(f32) -> (f32, f32),
) -> (f32, f32) {
    const LANES: usize = 8;
    let couple = |entry: &mut f32, inv_j: f32| {
        let cosine = *entry * inv_i * inv_j;
        let (value, slope) = pair(cosine);
        *entry = slope * inv_j * row_scale;
        (value, slope * cosine)
    };
    let (mut sums, mut radials) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut chunks = entries.chunks_exact_mut(LANES);
    let mut norms = inv_norms.chunks_exact(LANES);
    for (chunk, norm) in (&mut chunks).zip(&mut norms) {
        for lane in 0..LANES {
            let (value, radial) = couple(&mut chunk[lane], norm[lane]);
            sums[lane] += value;
            radials[lane] += radial;
        }
    }
    let (mut sum, mut radial) = (sums.iter().sum::<f32>(), radials.iter().sum::<f32>());
    for (entry, &inv_j) in chunks.into_remainder().iter_mut().zip(norms.remainder()) {
        let (value, entry_radial) = couple(entry, inv_j);
        sum += value;
        radial += entry_radial;
    }
    (sum, radial)
}

/// Multiply-adds of the Gram matrix (`N^2 d`) from which a layer is spread over the threads.
const PARALLEL_WORK: usize = 1 << 24;

/// The full `n x n` Gram matrix of the rows `layer` (`n x d`) into `gram`, whose allocation is
/// reused and never zeroed.
fn fill_gram(layer: &[f32], d: usize, parallel: bool, gram: &mut Vec<f32>) {
    let n = layer.len() / d;
    gram.clear();
    let matrix = SharedMatrix(gram.spare_capacity_mut()[..n * n].as_mut_ptr().cast());
    if parallel {
        upper_gram(layer, d, matrix);
        mirror_upper(matrix, n);
    } else {
        // SAFETY: `matrix` has room for `n x n` entries, and only this thread writes them.
        unsafe { gram_columns(layer, d, 0..n, matrix) };
    }
    // SAFETY: every entry was written: `i <= j` by the panels and `i > j` by the mirror, or
    // all of them by one product.
    unsafe { gram.set_len(n * n) };
}

/// Columns of one product of the upper-triangle Gram: gemm runs fastest on these tall, narrow
/// products (`n x 128 x d`: one operand packed once); four or more per thread keep the threads
/// balanced.
fn panel_columns(n: usize) -> usize {
    (n / (4 * rayon::current_num_threads())).clamp(64, 128)
}

/// `G_ij = <w_i, w_j>` for `i <= j` (and some `i > j` beside the diagonal), one single-threaded
/// product per panel of columns. A panel costs in proportion to its last column, so the panels
/// are dealt to the threads largest first, each to the least loaded (rayon's splitting in
/// halves would give one thread most of the large ones).
fn upper_gram(rows: &[f32], d: usize, matrix: SharedMatrix) {
    let n = rows.len() / d;
    let panel = panel_columns(n);
    let threads = rayon::current_num_threads();
    let mut loads: Vec<(usize, Vec<_>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for first in (0..n).step_by(panel).rev() {
        let columns = first..(first + panel).min(n);
        let (load, panels) = loads
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one thread");
        *load += columns.len() * columns.end;
        panels.push(columns);
    }
    loads.into_par_iter().for_each(|(_, panels)| {
        for columns in panels {
            // SAFETY: the panels' column ranges are disjoint, so no two threads write the same
            // entry; `matrix` has room for `n x n`.
            unsafe { gram_columns(rows, d, columns, matrix) };
        }
    });
}

/// `G_ij = <w_i, w_j>` for the columns `j` in `columns` and the rows `i < columns.end`, into the
/// row-major `n x n` matrix at `matrix`, on this thread.
///
/// # Safety
///
/// `matrix` must have room for `n x n` entries (`n` rows of `rows`), and no other thread may
/// access those entries meanwhile.
unsafe fn gram_columns(
    rows: &[f32],
    d: usize,
    columns: std::ops::Range<usize>,
    matrix: SharedMatrix,
) {
    let n = rows.len() / d;
    assert!(columns.end <= n);
    // SAFETY: `rows` is `n x d`, row-major, and `columns` lies within it (checked above): the
    // product of its rows `0..columns.end` with the transposed rows `columns`; the caller
    // vouches for `matrix`.
    unsafe {
        multiply(
            [columns.end, d, columns.len()],
            (matrix.0.add(columns.start), n),
            (rows.as_ptr(), d),
            (rows.as_ptr().add(columns.start * d), [d as isize, 1]),
            Parallelism::None,
        );
    }
}

/// `dst = lhs rhs` for an `m x k` by `k x n` product (`[m, k, n]`) with gemm: `dst` and `lhs`
/// row-major with the given row strides, `rhs` with the given `[column, row]` strides; `dst` is
/// written without being read.
///
/// # Safety
///
/// Each pointer must cover the matrix its shape and strides describe, and no other thread may
/// access `dst`'s entries meanwhile.
unsafe fn multiply(
    [m, k, n]: [usize; 3],
    (dst, dst_row_stride): (*mut f32, usize),
    (lhs, lhs_row_stride): (*const f32, usize),
    (rhs, [rhs_column_stride, rhs_row_stride]): (*const f32, [isize; 2]),
    parallelism: Parallelism,
) {
    // SAFETY: the caller's.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row_stride as isize,
            false,
            lhs,
            1,
            lhs_row_stride as isize,
            rhs,
            rhs_column_stride,
            rhs_row_stride,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A pointer shared by threads that write disjoint entries of one matrix.
#[derive(Clone, Copy)]
struct SharedMatrix(*mut f32);
// SAFETY: every use says which entries each thread writes; they are disjoint.
unsafe impl Send for SharedMatrix {}
unsafe impl Sync for SharedMatrix {}

/// Copies the upper triangle of the `n x n` matrix at `matrix` (written) onto its lower
/// triangle, in tiles.
fn mirror_upper(matrix: SharedMatrix, n: usize) {
    const TILE: usize = 64;
    let tiles: Vec<(usize, usize)> = (0..n)
        .step_by(TILE)
        .flat_map(|i| (i..n).step_by(TILE).map(move |j| (i, j)))
        .collect();
    tiles.into_par_iter().for_each(move |(col0, row0)| {
        let matrix = matrix;
        for i in row0..(row0 + TILE).min(n) {
            for j in col0..(col0 + TILE).min(i) {
                // SAFETY: `j < i < n`: each task writes the lower entries of its own tile and
                // reads upper entries, which no task writes.
                unsafe { *matrix.0.add(i * n + j) = *matrix.0.add(j * n + i) };
            }
        }
    });
}
