//! `mhe energy`: the hyperspherical energy (and gradient) of weights saved as `.npy`.

use std::path::PathBuf;

use burn::tensor::{DType, Tensor, TensorData};
use burn_mhe::{
    AngleStats, Convention, Distance, EnergyConfig, MheError, Objective, PairReduction,
    check_neurons, degenerate_neurons,
};
use clap::Args;

use crate::cli_error::CliError;
use crate::device::{DeviceChoice, check_fits};
use crate::npy::{Precision, read_floats, write_floats};

/// Options of `mhe energy`.
#[derive(Debug, Args)]
pub struct EnergyArgs {
    /// Weights as `.npy` (float32 or float64, rank >= 2), neurons along the first axis.
    #[arg(long)]
    pub weights: PathBuf,
    /// What to compute: MHE (shaped by the energy options) or another objective of the
    /// hyperspherical-uniformity family (which takes only `--eps` from them).
    #[arg(long, value_enum, default_value_t = Objective::Mhe)]
    pub objective: Objective,
    /// The pole of `mhp` and `mhc`: a `.npy` vector as long as a neuron.
    #[arg(long)]
    pub pole: Option<PathBuf>,
    #[command(flatten)]
    pub energy: EnergyOptions,
    /// Backend to compute on.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Print one JSON object instead of the bare energy.
    #[arg(long)]
    pub json: bool,
    /// Write the gradient (same shape and precision as the weights) to this `.npy` file.
    #[arg(long)]
    pub grad_out: Option<PathBuf>,
    /// Refuse layers with zero or duplicate neurons (exit code 2) instead of computing their
    /// eps-regularized energy with a warning.
    #[arg(long)]
    pub strict: bool,
}

/// The options of `mhe energy` that choose the energy (flattened into [`EnergyArgs`]).
#[derive(Debug, Args)]
pub struct EnergyOptions {
    /// Distance on the sphere.
    #[arg(long, value_enum, default_value_t = EnergyConfig::new().distance)]
    pub distance: Distance,
    /// Power s >= 0 (0 is the log energy).
    #[arg(long, default_value_t = EnergyConfig::new().s, allow_negative_numbers = true)]
    pub s: f64,
    /// Half-space MHE: the energy of the neurons and their negations.
    #[arg(long)]
    pub half_space: bool,
    /// Added to ||w||^2 inside the normalizing square root.
    #[arg(long, default_value_t = EnergyConfig::new().eps, allow_negative_numbers = true)]
    pub eps: f64,
    /// Added to theta/pi in the angular energy.
    #[arg(long, default_value_t = EnergyConfig::new().angle_eps, allow_negative_numbers = true)]
    pub angle_eps: f64,
    /// Factor of the Euclidean log energy.
    #[arg(long, value_enum, default_value_t = EnergyConfig::new().convention)]
    pub convention: Convention,
    /// Mean or sum over pairs.
    #[arg(long, value_enum, default_value_t = EnergyConfig::new().reduction)]
    pub reduction: PairReduction,
}

impl EnergyOptions {
    /// The energy configuration these options describe, checked.
    pub fn config(&self) -> Result<EnergyConfig, CliError> {
        let config = EnergyConfig::new()
            .with_distance(self.distance)
            .with_s(self.s)
            .with_half_space(self.half_space)
            .with_eps(self.eps)
            .with_angle_eps(self.angle_eps)
            .with_convention(self.convention)
            .with_reduction(self.reduction);
        config.validate()?;
        Ok(config)
    }
}

/// Runs `mhe energy` and returns what to print.
pub fn run(args: &EnergyArgs) -> Result<String, CliError> {
    let config = args.energy.config()?;
    let array = read_floats(&args.weights)?;
    if array.shape.len() < 2 {
        return Err(burn_mhe::MheError::RankTooLow {
            rank: array.shape.len(),
        }
        .into());
    }
    let (n, d) = (array.shape[0], array.shape[1..].iter().product::<usize>());
    let device = args.device.device().map_err(CliError::Usage)?;
    let dtype = match array.precision {
        Precision::F64 if device.supports_dtype(DType::F64) => DType::F64,
        _ => DType::F32,
    };
    check_fits(&device, "the weights", [n, d], dtype.size())?;
    let data = TensorData::new(array.values, [n, d]).convert_dtype(dtype);
    let neurons = Tensor::<2>::from_data(data, (&device, dtype));
    check_neurons(&neurons).or_else(|error| match error {
        MheError::ZeroNeuron { .. } | MheError::DuplicateNeurons { .. } if !args.strict => {
            for problem in degenerate_neurons(&neurons) {
                eprintln!("warning: {problem}");
            }
            eprintln!(
                "warning: computing the eps-regularized energy of the released code \
                 (--strict refuses such layers)"
            );
            Ok(())
        }
        error => Err(error),
    })?;

    let pole = match &args.pole {
        Some(path) => {
            let pole = read_floats(path)?;
            let data = TensorData::new(pole.values, [pole.shape.iter().product::<usize>()]);
            Some(Tensor::<1>::from_data(
                data.convert_dtype(dtype),
                (&device, dtype),
            ))
        }
        None => None,
    };
    let grads = args
        .objective
        .try_init(&config)?
        .value_and_grad(neurons.clone(), pole)?;
    let (value, grad) = (grads.value.into_scalar::<f64>(), grads.neurons);
    if let Some(path) = &args.grad_out {
        let grad: Vec<f64> = grad.into_data().iter::<f64>().collect();
        write_floats(path, &array.shape, &grad, array.precision)?;
    }
    if !args.json {
        return Ok(format!("{value}"));
    }
    let angles = AngleStats::of(&neurons, config.half_space);
    let report = serde_json::json!({
        "energy": value,
        "objective": args.objective.label(),
        "n": n,
        "d": d,
        "min_angle_deg": angles.min_deg,
        "mean_angle_deg": angles.mean_deg,
        "device": args.device,
        "config": config,
    });
    Ok(report.to_string())
}
