//! `mhe cross-check`: the same weights give the same energy and gradient on a device as on the
//! CPU, for every official variant, every other objective of the uniformity family and the
//! orthogonality controls (SO, SRIP).
//!
//! Both float32 results are compared with the CPU's float64 one. A device passes an objective
//! when its error is within the tolerance, or within [`ACCURACY_FACTOR`] times the CPU's own
//! float32 error where that is larger: an ill-conditioned objective (MGD factors a kernel
//! matrix whose condition grows with the neurons' crowding) loses digits in float32 on every
//! device, and a device whose kernels order their sums differently (fusion) loses others.

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, LayerObjective, OFFICIAL_VARIANTS, Objective, random_sphere_points};
use clap::Args;

use crate::cli_error::CliError;
use crate::device::DeviceChoice;

/// Options of `mhe cross-check`.
#[derive(Debug, Args)]
pub struct CrossCheckArgs {
    /// Backend to compare with the CPU (`flex`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Wgpu)]
    pub device: DeviceChoice,
    /// Number of neurons of the test layer.
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    /// Dimension of the test layer's neurons.
    #[arg(long, default_value_t = 128)]
    pub d: usize,
    /// Largest relative error from float64 accepted (raised, per objective, to
    /// `ACCURACY_FACTOR` times the CPU's own float32 error).
    #[arg(long, default_value_t = 1e-5)]
    pub tolerance: f64,
}

/// How much less accurate than the CPU's float32 result a device's may be.
pub const ACCURACY_FACTOR: f64 = 10.0;

/// `values` as a tensor of `dtype` (float32 or float64) on `device`.
fn tensor<const D: usize>(
    values: &[f64],
    shape: [usize; D],
    dtype: DType,
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), (device, dtype))
}

/// The energy and gradient of a result relative to `reference`'s: the larger of the energy's
/// relative difference and the gradient's largest difference over its largest entry.
fn relative_error(result: &(f64, Vec<f64>), reference: &(f64, Vec<f64>)) -> f64 {
    let (energy, grad) = result;
    let (energy_ref, grad_ref) = reference;
    let energy_error = (energy - energy_ref).abs() / energy_ref.abs().max(1e-30);
    let scale = grad_ref
        .iter()
        .fold(0.0f64, |m, g| m.max(g.abs()))
        .max(1e-30);
    let grad_error = grad
        .iter()
        .zip(grad_ref)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    energy_error.max(grad_error)
}

/// The error a device may have on an objective whose float32 CPU result has `cpu_error`.
fn allowed_error(tolerance: f64, cpu_error: f64) -> f64 {
    tolerance.max(ACCURACY_FACTOR * cpu_error)
}

/// The loss and gradient (neurons, then the pole of MHP and MHC) of `values` (`n x d`) in
/// `dtype` on `device`.
fn loss_and_gradient(
    objective: &LayerObjective,
    (values, pole): (&[f64], &[f64]),
    d: usize,
    dtype: DType,
    device: &Device,
) -> (f64, Vec<f64>) {
    let neurons = tensor(values, [values.len() / d, d], dtype, device);
    let pole = tensor(pole, [d], dtype, device);
    let pole = objective.objective().has_pole().then_some(pole);
    let grads = objective
        .value_and_grad(neurons, pole)
        .expect("a pole of the neurons' dimension");
    let mut grad: Vec<f64> = grads.neurons.into_data().iter::<f64>().collect();
    if let Some(pole) = grads.pole {
        grad.extend(pole.into_data().iter::<f64>());
    }
    (grads.value.into_scalar::<f64>(), grad)
}

/// Every official power in both spaces (as MHE), then the family's other objectives and the
/// orthogonality controls.
fn every_objective() -> Vec<(String, LayerObjective)> {
    let init = |objective: Objective, config: &EnergyConfig| objective.init(config);
    let energies = OFFICIAL_VARIANTS.iter().flat_map(|variant| {
        [false, true].map(|half_space| {
            let name = format!("{}{}", variant.name, if half_space { " half" } else { "" });
            let config = variant.energy().with_half_space(half_space);
            (name, init(Objective::Mhe, &config))
        })
    });
    let family = Objective::others().map(|objective| {
        (
            objective.label().to_string(),
            init(objective, &EnergyConfig::new()),
        )
    });
    energies.chain(family).collect()
}

/// Runs `mhe cross-check` and returns its table; an error when a difference is too large.
pub fn run(args: &CrossCheckArgs) -> Result<String, CliError> {
    let device = args.device.device().map_err(CliError::Usage)?;
    let cpu = DeviceChoice::Cpu.device().map_err(CliError::Usage)?;
    // Neurons of random directions and lengths between 0.5 and 1.5.
    let mut values = random_sphere_points(args.n, args.d, 1);
    for (row, length) in values
        .chunks_mut(args.d)
        .zip(random_sphere_points(args.n, 1, 2))
    {
        row.iter_mut().for_each(|x| *x *= 1.0 + 0.5 * length);
    }
    let mut lines = vec![format!(
        "{:<14} {:>14} {:>12} {:>12} {:>10}",
        "variant", "energy (f64)", "cpu f32 err", "device err", "allowed"
    )];
    let mut worst: f64 = 0.0;
    let pole = random_sphere_points(1, args.d, 3);
    let weights = (values.as_slice(), pole.as_slice());
    for (variant, objective) in every_objective() {
        let run =
            |precision, device| loss_and_gradient(&objective, weights, args.d, precision, device);
        let reference = run(DType::F64, &cpu);
        let cpu_error = relative_error(&run(DType::F32, &cpu), &reference);
        let device_error = relative_error(&run(DType::F32, &device), &reference);
        let allowed = allowed_error(args.tolerance, cpu_error);
        worst = worst.max(device_error / allowed);
        lines.push(format!(
            "{variant:<14} {:>14.8} {cpu_error:>12.2e} {device_error:>12.2e} {allowed:>10.0e}",
            reference.0
        ));
    }
    lines.push(format!(
        "largest device error {:.2} of the allowed (tolerance {:.0e}, or {ACCURACY_FACTOR} x the \
         CPU's float32 error)",
        worst, args.tolerance
    ));
    let table = lines.join("\n");
    if worst <= 1.0 {
        Ok(table)
    } else {
        Err(CliError::Usage(format!(
            "{table}\ndevices disagree beyond the tolerance"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_relative_to_the_reference_and_allowances_follow_the_cpu() {
        let reference = (2.0, vec![1.0, -4.0]);
        assert_eq!(relative_error(&reference, &reference), 0.0);
        // Energy off by 1e-6 relative; gradient off by 2e-6 of its largest entry (4).
        let result = (2.0 + 2e-6, vec![1.0 + 8e-6, -4.0]);
        assert!((relative_error(&result, &reference) - 2e-6).abs() < 1e-12);
        assert_eq!(allowed_error(1e-5, 1e-7), 1e-5);
        assert!((allowed_error(1e-5, 5e-6) - 5e-5).abs() < 1e-18);
    }
}
