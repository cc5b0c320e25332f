//! `mhe cross-check`: the same weights give the same energy and gradient on a device as on the
//! CPU, for every official variant and every other objective of the uniformity family.

use burn::tensor::{Device, Tensor, TensorData};
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
    /// Largest relative difference accepted.
    #[arg(long, default_value_t = 1e-5)]
    pub tolerance: f64,
}

/// The loss and gradient (neurons, then the pole of MHP and MHC) of `values` (`n x d`,
/// float32) on `device`.
fn loss_and_gradient(
    objective: &LayerObjective,
    values: &[f64],
    pole: &[f64],
    d: usize,
    device: &Device,
) -> (f64, Vec<f64>) {
    let float32 = |values: &[f64]| -> Vec<f32> { values.iter().map(|&x| x as f32).collect() };
    let neurons = TensorData::new(float32(values), [values.len() / d, d]);
    let pole = TensorData::new(float32(pole), [d]);
    let pole = objective
        .objective()
        .has_pole()
        .then(|| Tensor::<1>::from_data(pole, device));
    let grads = objective
        .value_and_grad(Tensor::<2>::from_data(neurons, device), pole)
        .expect("a pole of the neurons' dimension");
    let mut grad: Vec<f64> = grads.neurons.into_data().iter::<f64>().collect();
    if let Some(pole) = grads.pole {
        grad.extend(pole.into_data().iter::<f64>());
    }
    (grads.value.into_scalar::<f64>(), grad)
}

/// Every official power in both spaces (as MHE), then the family's other objectives.
fn every_objective() -> Vec<(String, LayerObjective)> {
    let init = |objective: Objective, config: &EnergyConfig| objective.init(config);
    let energies = OFFICIAL_VARIANTS.iter().flat_map(|variant| {
        [false, true].map(|half_space| {
            let name = format!("{}{}", variant.name, if half_space { " half" } else { "" });
            let config = variant.energy().with_half_space(half_space);
            (name, init(Objective::Mhe, &config))
        })
    });
    let family = Objective::family().map(|objective| {
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
        "{:<14} {:>14} {:>14} {:>10} {:>10}",
        "variant", "energy cpu", "energy device", "rel diff", "grad diff"
    )];
    let mut worst: f64 = 0.0;
    let pole = random_sphere_points(1, args.d, 3);
    for (variant, objective) in every_objective() {
        let (e_cpu, g_cpu) = loss_and_gradient(&objective, &values, &pole, args.d, &cpu);
        let (e_dev, g_dev) = loss_and_gradient(&objective, &values, &pole, args.d, &device);
        let energy_diff = (e_dev - e_cpu).abs() / e_cpu.abs().max(1e-30);
        let scale = g_cpu.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let grad_diff = g_cpu
            .iter()
            .zip(&g_dev)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            / scale;
        worst = worst.max(energy_diff).max(grad_diff);
        lines.push(format!(
            "{variant:<14} {e_cpu:>14.8} {e_dev:>14.8} {energy_diff:>10.2e} {grad_diff:>10.2e}"
        ));
    }
    lines.push(format!(
        "largest relative difference {worst:.2e} (tolerance {:.0e})",
        args.tolerance
    ));
    let table = lines.join("\n");
    if worst <= args.tolerance {
        Ok(table)
    } else {
        Err(CliError::Usage(format!(
            "{table}\ndevices disagree beyond the tolerance"
        )))
    }
}
