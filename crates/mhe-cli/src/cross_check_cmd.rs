//! `mhe cross-check`: the same weights give the same energy and gradient on a device as on the
//! CPU, for every official variant.

use burn::tensor::{Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, OFFICIAL_VARIANTS, random_sphere_points};
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

/// Energy and gradient of `values` (`n x d`, float32) on `device`.
fn energy_and_gradient(
    config: &EnergyConfig,
    values: &[f64],
    n: usize,
    d: usize,
    device: &Device,
) -> (f64, Vec<f64>) {
    let values: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    let neurons = Tensor::<2>::from_data(TensorData::new(values, [n, d]), device);
    let (value, grad) = config
        .init()
        .expect("official variants are valid")
        .value_and_grad(neurons);
    (
        value.into_scalar::<f64>(),
        grad.into_data().iter::<f64>().collect(),
    )
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
    for variant in OFFICIAL_VARIANTS {
        for half_space in [false, true] {
            let config = variant.energy().with_half_space(half_space);
            let name = variant.name;
            let (e_cpu, g_cpu) = energy_and_gradient(&config, &values, args.n, args.d, &cpu);
            let (e_dev, g_dev) = energy_and_gradient(&config, &values, args.n, args.d, &device);
            let energy_diff = (e_dev - e_cpu).abs() / e_cpu.abs().max(1e-30);
            let scale = g_cpu.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            let grad_diff = g_cpu
                .iter()
                .zip(&g_dev)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
                / scale;
            worst = worst.max(energy_diff).max(grad_diff);
            let variant = format!("{name}{}", if half_space { " half" } else { "" });
            lines.push(format!(
                "{variant:<14} {e_cpu:>14.8} {e_dev:>14.8} {energy_diff:>10.2e} {grad_diff:>10.2e}"
            ));
        }
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
