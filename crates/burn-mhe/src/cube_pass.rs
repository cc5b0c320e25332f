//! The energy's pass over the `N x N` cosines as one CubeCL kernel, for the cubecl backends
//! (wgpu): through burn's backend-extension API, so that under burn's fusion it is queued like
//! any other operation.
//!
//! The tensor path (`energy.rs`) evaluates the pair kernel, masks the diagonal, mirrors it for
//! half-space MHE, sums the values, folds the radial term into the diagonal and scales the rows
//! in about a dozen operations over `N x N`, each a kernel launch on a GPU. Here one launch
//! does all of it: a cube of threads per row `i`, each thread striding over the columns `j`,
//! with the row's value sum and radial sum reduced in shared memory. It writes
//! - `M` (`[B, N, N]`), with `dE/dW = M U` for the unit rows `U`: `M_ij = r_i a_ij` off the
//!   diagonal and `M_ii = r_i (a_ii - sum_j a_ij c_ij)`, where `a_ij` is the pair's coupling
//!   (`f'(c_ij)`, or `2 (f'(c_ij) - f'(-c_ij))` in half space) and `r_i` the row's scale;
//! - each row's sum of pair values (`[B, N]`): `f(c_ij)` for `j != i`, plus `f(-c_ij)` for
//!   every `j` in half space.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::DType;
use burn_cubecl::cubecl::{self, calculate_cube_count_elemwise, prelude::*};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::{CubeBackend, tensor::CubeTensor};

use crate::kernel::{ACOS_POLYNOMIAL, D2_FLOOR, PairForm, PairKernel, SIN2_FLOOR, T_FLOOR};

/// Threads per row: the reduction over a row's columns runs in shared memory of this size.
const ROW_THREADS: usize = 128;

/// The pair pass on every cubecl backend, queued lazily under fusion.
#[backend_extension(Cube, Fusion)]
pub(crate) trait PairPassBackend: Backend {
    /// `M` and the row sums of pair values (see the module's documentation) of the cosines
    /// `[B, N, N]`, scaled by `row_scale` (`[B, N, 1]`).
    #[fusion(meta = pass_outputs)]
    fn pair_pass(
        cosines: FloatTensor<Self>,
        row_scale: FloatTensor<Self>,
        kernel: PairKernel,
        half_space: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The shapes of [`PairPassBackend::pair_pass`]'s outputs, known before it runs.
fn pass_outputs(
    cosines: &TensorSpec,
    _row_scale: &TensorSpec,
    _kernel: &PairKernel,
    _half_space: &bool,
) -> (TensorSpec, TensorSpec) {
    let dims = &cosines.shape;
    let rows = TensorSpec::new([dims[0], dims[1]].into(), cosines.dtype);
    (cosines.clone(), rows)
}

impl PairPassBackend for CubeBackend {
    fn pair_pass(
        cosines: CubeTensor,
        row_scale: CubeTensor,
        kernel: PairKernel,
        half_space: bool,
    ) -> (CubeTensor, CubeTensor) {
        let cosines = into_contiguous(cosines);
        let row_scale = into_contiguous(row_scale);
        let [b, n, _] = cosines.shape().dims::<3>();
        let dtype = cosines.dtype;
        let client = cosines.client.clone();
        let device = cosines.device.clone();
        let coupling = empty_device_dtype(client.clone(), device.clone(), [b, n, n].into(), dtype);
        let row_values = empty_device_dtype(client.clone(), device, [b, n].into(), dtype);
        // One cube per row.
        let cube_dim = CubeDim::new_1d(ROW_THREADS as u32);
        let cube_count = calculate_cube_count_elemwise(&client, b * n * ROW_THREADS, cube_dim);
        let (s, log_factor, angle_eps) = kernel.parameters();
        pair_pass_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            cosines.into_tensor_arg(),
            row_scale.into_tensor_arg(),
            coupling.clone().into_tensor_arg(),
            row_values.clone().into_tensor_arg(),
            s as f32,
            log_factor as f32,
            angle_eps as f32,
            kernel.form(),
            half_space,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (coupling, row_values)
    }
}

/// [`PairPassBackend::pair_pass`] on tensors of a cubecl device: `(M, row values)`.
pub(crate) fn pair_pass(
    cosines: burn::tensor::Tensor<3>,
    row_scale: burn::tensor::Tensor<3>,
    kernel: PairKernel,
    half_space: bool,
) -> (burn::tensor::Tensor<3>, burn::tensor::Tensor<2>) {
    let (coupling, row_values) = <burn::backend::Dispatch as PairPassBackend>::pair_pass(
        cosines.into_dispatch(),
        row_scale.into_dispatch(),
        kernel,
        half_space,
    );
    (
        burn::tensor::Tensor::from_dispatch(coupling),
        burn::tensor::Tensor::from_dispatch(row_values),
    )
}

/// Whether [`pair_pass`] runs on tensors of `device` in `dtype`: float32 on a cubecl device
/// (other precisions stay on the tensor path, which every device computes alike).
pub(crate) fn applies(device: &burn::tensor::Device, dtype: DType) -> bool {
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

/// One cube per row `b * N + i` of the cosines `[B, N, N]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn pair_pass_kernel<F: Float>(
    cosines: &Tensor<F>,
    row_scale: &Tensor<F>,
    coupling: &mut Tensor<F>,
    row_values: &mut Tensor<F>,
    s: f32,
    log_factor: f32,
    angle_eps: f32,
    #[comptime] form: PairForm,
    #[comptime] half_space: bool,
    #[define(F)] _dtype: ElemType,
) {
    let row = CUBE_POS;
    let n = row_values.shape(1);
    if row >= row_values.len() {
        terminate!();
    }
    let i = row % n;
    let base = row * n;
    let (s, log_factor, angle_eps) = (
        F::cast_from(s),
        F::cast_from(log_factor),
        F::cast_from(angle_eps),
    );
    let scale = row_scale[row];
    let zero = F::new(0.0);
    let mut value_sum = zero;
    let mut radial = zero;
    let mut own = zero;
    // `CUBE_DIM_X` is `ROW_THREADS`, read as a runtime value (loop counters are variables).
    let threads = CUBE_DIM_X as usize;
    let mut j = UNIT_POS_X as usize;
    while j < n {
        let c = cosines[base + j];
        let (mut value, mut slope) = pair_terms::<F>(c, s, log_factor, angle_eps, form);
        if j == i {
            value = zero;
            slope = zero;
        }
        if comptime!(half_space) {
            let (mirror_value, mirror_slope) = pair_terms::<F>(-c, s, log_factor, angle_eps, form);
            value += mirror_value;
            slope = F::new(2.0) * (slope - mirror_slope);
        }
        value_sum += value;
        radial += slope * c;
        if j == i {
            own = slope;
        } else {
            coupling[base + j] = slope * scale;
        }
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
    // The thread that met the diagonal holds its coupling; the sums are complete after the
    // last barrier.
    if unit == i % threads {
        coupling[base + i] = (own - radials[0]) * scale;
    }
    if unit == 0 {
        row_values[row] = values[0];
    }
}
