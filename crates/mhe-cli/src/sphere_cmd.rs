//! `mhe sphere`: points on a sphere of minimum energy (Thomson, Riesz, log and Tammes problems).

use std::path::PathBuf;

use burn_mhe::{Distance, SphereConfig};
use clap::Args;

use crate::cli_error::CliError;
use crate::device::DeviceChoice;
use crate::npy::{Precision, write_floats};

/// The problem `mhe sphere` solves without options (the points and dimension are required):
/// each option's default is its field here.
fn defaults() -> SphereConfig {
    SphereConfig::new(2, 2)
}

/// Options of `mhe sphere`.
#[derive(Debug, Args)]
pub struct SphereArgs {
    /// Number of points N.
    #[arg(long)]
    pub points: usize,
    /// Dimension D of the space (points lie on the sphere S^(D-1)).
    #[arg(long)]
    pub dim: usize,
    /// Distance on the sphere.
    #[arg(long, value_enum, default_value_t = defaults().distance)]
    pub distance: Distance,
    /// Power s >= 0 (0: log energy, 1: Thomson; large s approaches Tammes).
    #[arg(long, default_value_t = defaults().s, allow_negative_numbers = true)]
    pub s: f64,
    /// Place N lines (the points and their negations) instead of N points.
    #[arg(long)]
    pub half_space: bool,
    /// Random starts, run as one batch.
    #[arg(long, default_value_t = defaults().restarts)]
    pub restarts: usize,
    /// Most optimizer iterations per start.
    #[arg(long, default_value_t = defaults().steps)]
    pub steps: usize,
    /// Seed of the starting points.
    #[arg(long, default_value_t = defaults().seed)]
    pub seed: u64,
    /// Backend to compute on.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the best points (N x D, float64) to this `.npy` file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `mhe sphere` and returns what to print.
pub fn run(args: &SphereArgs) -> Result<String, CliError> {
    let config = SphereConfig::new(args.points, args.dim)
        .with_distance(args.distance)
        .with_s(args.s)
        .with_half_space(args.half_space)
        .with_restarts(args.restarts)
        .with_steps(args.steps)
        .with_seed(args.seed);
    config.validate()?;
    let device = args.device.device().map_err(CliError::Usage)?;
    let solution = config.solve(&device)?;
    if let Some(path) = &args.out {
        write_floats(
            path,
            &[args.points, args.dim],
            &solution.points,
            Precision::F64,
        )?;
    }
    let degrees = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{a:.7}"));
    Ok(if args.json {
        serde_json::json!({
            "energy": solution.energy,
            "min_angle_deg": solution.min_angle_deg,
            "mean_angle_deg": solution.mean_angle_deg,
            "restarts": args.restarts,
            "hits": solution.hits,
            "points": args.points,
            "dim": args.dim,
            "config": config,
        })
        .to_string()
    } else {
        format!(
            "{:.9}\nmin angle {} deg, mean angle {} deg, best reached by {} of {} restarts",
            solution.energy,
            degrees(solution.min_angle_deg),
            degrees(solution.mean_angle_deg),
            solution.hits,
            args.restarts
        )
    })
}
