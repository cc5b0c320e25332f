//! `mhe train`: one training run with or without MHE, written to a run folder.

use std::fmt::Write;
use std::path::PathBuf;

use burn::config::Config;
use burn_mhe_train::{OptimizerChoice, RunFolder};
use clap::{Args, ValueEnum};
use mhe_experiments::{
    Architecture, ClassWeighting, DatasetChoice, ImageClassifierConfig, Imbalance, JobFiles,
    MheMode, TrainJobConfig, TrainResults, WeightParameterization,
};

use crate::cli_error::CliError;
use crate::device::DeviceChoice;
use burn_mhe::Distance;

/// Options of `mhe train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The images: the shipped MNIST subset, Fashion-MNIST, the full MNIST, or any MNIST-format
    /// folder.
    #[arg(long, value_enum, default_value_t = defaults().dataset)]
    pub dataset: DatasetChoice,
    /// Folder of the dataset's IDX files (raw or .gz); needed for `--dataset idx`.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// The network.
    #[arg(long, value_enum, default_value_t = defaults().model.architecture)]
    pub model: Architecture,
    /// Width multiplier: MLP layers have 256 x W units, CNN stages 16, 32, 64 x W channels.
    #[arg(long, default_value_t = defaults().model.width)]
    pub width: f64,
    /// Hidden layers (MLP) or conv layers per stage (CNN).
    #[arg(long, default_value_t = defaults().model.depth)]
    pub depth: usize,
    /// No penalty (energies still reported), MHE, half-space MHE on hidden layers, or another
    /// objective of the uniformity family (docs/objectives.md).
    #[arg(long, alias = "regularizer", value_enum, default_value_t = defaults().mhe)]
    pub mhe: MheMode,
    /// Distance on the sphere.
    #[arg(long, value_enum, default_value_t = defaults().distance)]
    pub distance: Distance,
    /// Power s >= 0 of the energy (0: logarithmic).
    #[arg(long, default_value_t = defaults().s, allow_negative_numbers = true)]
    pub s: f64,
    /// Weight of the hidden layers' energies (default: the released code's for `--mhe`, 1 for
    /// Euclidean MHE).
    #[arg(long, allow_negative_numbers = true)]
    pub lambda_hidden: Option<f64>,
    /// Weight of the output layer's energy (default: the released code's for `--mhe`, 10 for
    /// Euclidean MHE).
    #[arg(long, allow_negative_numbers = true)]
    pub lambda_output: Option<f64>,
    /// Number of epochs.
    #[arg(long, default_value_t = defaults().epochs)]
    pub epochs: usize,
    /// Items per batch.
    #[arg(long, default_value_t = defaults().batch_size)]
    pub batch_size: usize,
    /// SGD with momentum 0.9 (the paper's setup) or Adam.
    #[arg(long, value_enum, default_value_t = defaults().optimizer)]
    pub optimizer: OptimizerChoice,
    /// Initial learning rate.
    #[arg(long, default_value_t = defaults().lr, allow_negative_numbers = true)]
    pub lr: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = defaults().weight_decay, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Multiply the learning rate by 0.1 every this many epochs (default: half the epochs).
    #[arg(long)]
    pub lr_step_epochs: Option<usize>,
    /// Clip each parameter's gradient to this L2 norm.
    #[arg(long, allow_negative_numbers = true)]
    pub grad_clip: Option<f64>,
    /// Keep only a fraction of one class in the training split, e.g. `0:0.02`.
    #[arg(long)]
    pub imbalance: Option<Imbalance>,
    /// Train the weights through a reparameterization: `opt` (orthogonal over-parameterization
    /// of every conv and linear weight: `W = R W0`, `W0` frozen, `R` a learned rotation) or
    /// `opt-hidden` (the same on every layer but the classifier, as the released OPT code).
    #[arg(long, value_enum)]
    pub parameterization: Option<WeightParameterization>,
    /// Weight the classes in the training loss: `balanced` gives class `c` the weight
    /// `n / (C n_c)` (validation and test losses stay unweighted).
    #[arg(long, value_enum)]
    pub class_weighting: Option<ClassWeighting>,
    /// Train on at most this many items.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Seeds the weights, the validation split and the batch order.
    #[arg(long, default_value_t = defaults().seed)]
    pub seed: u64,
    /// Backend to train on [default: cpu; with --resume, the one the run was started on].
    #[arg(long, value_enum)]
    pub device: Option<DeviceChoice>,
    /// The new run folder: config.json, checkpoints, history, burn's logs, results.json.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the interrupted run in this folder with its saved configuration, on its own
    /// device unless --device says otherwise (the other options are ignored).
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

/// The job `mhe train` runs without options: each option's default is its field here.
fn defaults() -> TrainJobConfig {
    TrainJobConfig::new(
        DatasetChoice::MnistSubset,
        ImageClassifierConfig::new(Architecture::Mlp),
    )
}

impl TrainArgs {
    /// The job configuration these options describe.
    pub fn config(&self) -> TrainJobConfig {
        let model = ImageClassifierConfig::new(self.model)
            .with_width(self.width)
            .with_depth(self.depth);
        let (hidden, output) = self.mhe.official_weights(self.distance, self.s);
        TrainJobConfig::new(self.dataset, model)
            .with_data_dir(self.data_dir.clone())
            .with_mhe(self.mhe)
            .with_distance(self.distance)
            .with_s(self.s)
            .with_lambda_hidden(self.lambda_hidden.unwrap_or(hidden))
            .with_lambda_output(self.lambda_output.unwrap_or(output))
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_optimizer(self.optimizer)
            .with_lr(self.lr)
            .with_weight_decay(self.weight_decay)
            .with_lr_step_epochs(self.lr_step_epochs)
            .with_grad_clip(self.grad_clip)
            .with_imbalance(self.imbalance)
            .with_class_weighting(self.class_weighting)
            .with_parameterization(self.parameterization)
            .with_train_limit(self.train_limit)
            .with_seed(self.seed)
            .with_device(Some(self.device.unwrap_or(DeviceChoice::Cpu).name()))
    }
}

/// The device `run` was started on, as its `config.json` names it (`None` for runs of earlier
/// versions, or a folder without a readable configuration, which `resume` then reports).
fn started_on(run: &RunFolder) -> Option<DeviceChoice> {
    let config = TrainJobConfig::load(run.config()).ok()?;
    DeviceChoice::from_str(config.device.as_deref()?, true).ok()
}

/// Runs `mhe train` and returns the summary to print.
pub fn run(args: &TrainArgs) -> Result<String, CliError> {
    let device = |choice: Option<DeviceChoice>| {
        choice
            .unwrap_or(DeviceChoice::Cpu)
            .device()
            .map_err(CliError::Usage)
    };
    let (results, run) = match (&args.resume, &args.out) {
        (Some(folder), _) => {
            let run = RunFolder::new(folder);
            let device = device(args.device.or_else(|| started_on(&run)))?;
            (mhe_experiments::resume(&run, &device)?.results, run)
        }
        (None, Some(folder)) => {
            let run = RunFolder::new(folder);
            let device = device(args.device)?;
            (
                mhe_experiments::train(&args.config(), &run, &device)?.results,
                run,
            )
        }
        (None, None) => return Err(CliError::Usage("--out or --resume is needed".into())),
    };
    Ok(summary(&results, &run))
}

/// The per-epoch table and the final scores.
pub fn summary(results: &TrainResults, run: &RunFolder) -> String {
    let mut text = format!(
        "{:>5} {:>10} {:>10} {:>10} {:>10} {:>14} {:>14}\n",
        "epoch",
        "train loss",
        "train acc",
        "valid loss",
        "valid acc",
        "hidden energy",
        "output energy"
    );
    for e in &results.history {
        let _ = writeln!(
            text,
            "{:>5} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>14.6} {:>14.6}",
            e.epoch,
            e.train_loss,
            e.train_accuracy,
            e.valid_loss,
            e.valid_accuracy,
            e.hidden_energy,
            e.output_energy
        );
    }
    let _ = write!(
        text,
        "test accuracy {:.4}, test loss {:.4}, {:.1} s of training; results in {}",
        results.test_accuracy,
        results.test_loss,
        results.wall_seconds,
        run.results().display()
    );
    text
}
