//! The energy's pass over the `N x N` cosines (or a block of them) as one CubeCL kernel, for
//! the cubecl backends (wgpu): through burn's backend-extension API, so that under burn's fusion
//! it is queued like any other operation.
//!
//! The tensor path (`energy.rs`) evaluates the pair kernel, masks the diagonal, mirrors it for
//! half-space MHE, sums the values and folds the radial term into the diagonal in about a dozen
//! operations over `N x N`, each a kernel launch on a GPU. Here one launch does all of it: a
//! cube of threads per row `i`, each thread striding over the columns `j`, with the row's value
//! sum (and radial sum) reduced in shared memory. For cosines `[B, R, C]` it writes
//! - the coupling `A` (`[B, R, C]`), `a_ij = f'(c_ij)`, or `2 (f'(c_ij) - f'(-c_ij))` in half
//!   space, so that `dE/dU_left = A U_right`; on a diagonal block (the rows paired with
//!   themselves) the pairs `j = i` count only for their mirror; with the radial term folded in
//!   (a whole layer), `a_ii - sum_j a_ij c_ij` on the diagonal, so that the gradient through
//!   the normalization is `diag(s / r) A U`;
//! - each row's sum of pair values (`[B, R]`): `f(c_ij)`, plus `f(-c_ij)` in half space.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Device, Tensor as BurnTensor};
use burn_cubecl::cubecl::{self, calculate_cube_count_elemwise, prelude::*};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::{CubeBackend, tensor::CubeTensor};

use crate::kernel::{ACOS_POLYNOMIAL, D2_FLOOR, PairForm, PairKernel, SIN2_FLOOR, T_FLOOR};

/// Threads per row: the reduction over a row's columns runs in shared memory of this size.
const ROW_THREADS: usize = 128;

/// What one pass computes (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PairPass {
    /// The pair function `f`, `f'`.
    pub kernel: PairKernel,
    /// Half-space MHE: each pair's mirror `(u_i, -u_j)` too.
    pub half_space: bool,
    /// The block pairs rows with themselves: `j = i` is no pair (its mirror is).
    pub diagonal: bool,
    /// The block is the whole layer: the radial term is folded into the diagonal.
    pub fold_radial: bool,
}

/// The pair pass on every cubecl backend, queued lazily under fusion.
#[backend_extension(Cube, Fusion)]
pub(crate) trait PairPassBackend: Backend {
    /// The coupling and the row sums of pair values (see the module's documentation) of the
    /// cosines `[B, R, C]`.
    #[fusion(meta = pass_outputs)]
    fn pair_pass(
        cosines: FloatTensor<Self>,
        pass: PairPass,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The shapes of [`PairPassBackend::pair_pass`]'s outputs, known before it runs.
fn pass_outputs(cosines: &TensorSpec, _pass: &PairPass) -> (TensorSpec, TensorSpec) {
    let dims = &cosines.shape;
    let rows = TensorSpec::new([dims[0], dims[1]].into(), cosines.dtype);
    (cosines.clone(), rows)
}

impl PairPassBackend for CubeBackend {
    fn pair_pass(cosines: CubeTensor, pass: PairPass) -> (CubeTensor, CubeTensor) {
        let cosines = into_contiguous(cosines);
        let [b, rows, cols] = cosines.shape().dims::<3>();
        let dtype = cosines.dtype;
        let client = cosines.client.clone();
        let device = cosines.device.clone();
        let coupling = empty_device_dtype(
            client.clone(),
            device.clone(),
            [b, rows, cols].into(),
            dtype,
        );
        let row_values = empty_device_dtype(client.clone(), device, [b, rows].into(), dtype);
        // One cube per row.
        let cube_dim = CubeDim::new_1d(ROW_THREADS as u32);
        let cube_count = calculate_cube_count_elemwise(&client, b * rows * ROW_THREADS, cube_dim);
        let (s, log_factor, angle_eps) = pass.kernel.parameters();
        pair_pass_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            cosines.into_tensor_arg(),
            coupling.clone().into_tensor_arg(),
            row_values.clone().into_tensor_arg(),
            s as f32,
            log_factor as f32,
            angle_eps as f32,
            pass.kernel.form(),
            pass.half_space,
            pass.diagonal,
            pass.fold_radial,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (coupling, row_values)
    }
}

impl PairPass {
    /// The coupling `[B, R, C]` and the row sums of pair values `[B, R]` of the cosines
    /// `[B, R, C]`, on a cubecl device ([`applies`]).
    pub(crate) fn run(self, cosines: BurnTensor<3>) -> (BurnTensor<3>, BurnTensor<2>) {
        let (coupling, row_values) =
            <burn::backend::Dispatch as PairPassBackend>::pair_pass(cosines.into_dispatch(), self);
        (
            BurnTensor::from_dispatch(coupling),
            BurnTensor::from_dispatch(row_values),
        )
    }
}

/// Whether the pass runs on tensors of `device` in `dtype`: float32 on a cubecl device (other
/// precisions stay on the tensor path, which every device computes alike).
pub(crate) fn applies(device: &Device, dtype: DType) -> bool {
    let device = device.clone().without_autodiff();
    matches!(device.as_dispatch(), burn_dispatch::DispatchDevice::Cube(_)) && dtype == DType::F32
}

/// One pair's value `f(c)` and coupling slope `f'(c)`, in the form the kernel was compiled for.
#[cube]
fn pair_terms<F: Float>(
    c: F,
    s: F,
    log_factor: F,
    angle_eps: F,
    #[comptime] form: PairForm,
) -> (F, F) {
    let two = F::new(2.0);
    let one = F::new(1.0);
    if comptime!(form.is_angular()) {
        let c = clamp(c, -one, one);
        let sine = F::sqrt(max(one - c * c, F::new(comptime!(SIN2_FLOOR as f32))));
        let pi = F::new(core::f32::consts::PI);
        let t = max(
            accurate_acos::<F>(c) / pi + angle_eps,
            F::new(comptime!(T_FLOOR as f32)),
        );
        let (value, dvalue_dt) = if comptime!(form == PairForm::AngularLog) {
            (-F::ln(t), -one / t)
        } else {
            let value = F::powf(t, -s);
            (value, -s * value / t)
        };
        (value, -dvalue_dt / (pi * sine))
    } else {
        let d2 = max(two - two * c, F::new(comptime!(D2_FLOOR as f32)));
        if comptime!(form == PairForm::EuclideanLog) {
            (-log_factor * F::ln(d2), two * log_factor / d2)
        } else {
            let value = if comptime!(form == PairForm::EuclideanInverse) {
                one / d2
            } else if comptime!(form == PairForm::EuclideanInverseRoot) {
                one / F::sqrt(d2)
            } else {
                F::powf(d2, -s / two)
            };
            (value, s * value / d2)
        }
    }
}

/// `acos` of `c` in `[-1, 1]` by the polynomial of `kernel::accurate_acos` (some drivers'
/// float32 `acos` is off by `1e-5` relative).
#[cube]
fn accurate_acos<F: Float>(c: F) -> F {
    let x = F::abs(c);
    let mut polynomial = F::new(comptime!(ACOS_POLYNOMIAL[0] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[1] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[2] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[3] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[4] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[5] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[6] as f32));
    polynomial = polynomial * x + F::new(comptime!(ACOS_POLYNOMIAL[7] as f32));
    let positive = F::sqrt(max(F::new(1.0) - x, F::new(0.0))) * polynomial;
    if c < F::new(0.0) {
        F::new(core::f32::consts::PI) - positive
    } else {
        positive
    }
}

/// One cube per row `b * R + i` of the cosines `[B, R, C]`. (A `comptime!` condition is kept
/// apart from the runtime one it guards, and indexed writes spelled out, as cubecl expands
/// them.)
#[cube(launch)]
#[allow(
    clippy::too_many_arguments,
    clippy::collapsible_if,
    clippy::assign_op_pattern
)]
fn pair_pass_kernel<F: Float>(
    cosines: &Tensor<F>,
    coupling: &mut Tensor<F>,
    row_values: &mut Tensor<F>,
    s: f32,
    log_factor: f32,
    angle_eps: f32,
    #[comptime] form: PairForm,
    #[comptime] half_space: bool,
    #[comptime] diagonal: bool,
    #[comptime] fold_radial: bool,
    #[define(F)] _dtype: ElemType,
) {
    let row = CUBE_POS;
    if row >= row_values.len() {
        terminate!();
    }
    let cols = cosines.shape(2);
    let i = row % row_values.shape(1);
    let base = row * cols;
    let (s, log_factor, angle_eps) = (
        F::cast_from(s),
        F::cast_from(log_factor),
        F::cast_from(angle_eps),
    );
    let zero = F::new(0.0);
    let mut value_sum = zero;
    let mut radial = zero;
    // `CUBE_DIM_X` is `ROW_THREADS`, read as a runtime value (loop counters are variables).
    let threads = CUBE_DIM_X as usize;
    let mut j = UNIT_POS_X as usize;
    while j < cols {
        let c = cosines[base + j];
        let (mut value, mut slope) = pair_terms::<F>(c, s, log_factor, angle_eps, form);
        if comptime!(diagonal) {
            if j == i {
                value = zero;
                slope = zero;
            }
        }
        if comptime!(half_space) {
            let (mirror_value, mirror_slope) = pair_terms::<F>(-c, s, log_factor, angle_eps, form);
            value += mirror_value;
            slope = F::new(2.0) * (slope - mirror_slope);
        }
        value_sum += value;
        if comptime!(fold_radial) {
            radial += slope * c;
        }
        coupling[base + j] = slope;
        j += threads;
    }
    let mut values = Shared::<[F]>::new_slice(ROW_THREADS);
    let mut radials = Shared::<[F]>::new_slice(ROW_THREADS);
    let unit = UNIT_POS_X as usize;
    values[unit] = value_sum;
    radials[unit] = radial;
    sync_cube();
    let mut stride = threads / 2;
    while stride > 0 {
        if unit < stride {
            let value = values[unit] + values[unit + stride];
            let radial = radials[unit] + radials[unit + stride];
            values[unit] = value;
            radials[unit] = radial;
        }
        sync_cube();
        stride /= 2;
    }
    // The thread that wrote the diagonal's coupling subtracts the radial sum, complete after
    // the last barrier.
    if comptime!(fold_radial) {
        if unit == i % threads {
            coupling[base + i] = coupling[base + i] - radials[0];
        }
    }
    if unit == 0 {
        row_values[row] = values[0];
    }
}
