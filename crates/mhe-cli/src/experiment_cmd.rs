//! `mhe experiment`: the paper's experiments as sweeps of training runs with a summary and
//! figures.

use std::path::PathBuf;

use burn_mhe::{OFFICIAL_VARIANTS, Objective};
use clap::Args;
use mhe_experiments::DatasetChoice;
use mhe_experiments::experiment::{ExperimentConfig, ExperimentName, adopt_runs, run_experiment};

use crate::cli_error::CliError;
use crate::device::DeviceChoice;

/// The sizes `mhe experiment` runs at without options: each option's default is its field here
/// (the experiment itself is required).
fn defaults() -> ExperimentConfig {
    ExperimentConfig::new(ExperimentName::Width, DatasetChoice::MnistSubset)
}

/// Options of `mhe experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// Which experiment.
    #[arg(value_enum)]
    pub name: ExperimentName,
    /// The images.
    #[arg(long, value_enum, default_value_t = defaults().dataset)]
    pub dataset: DatasetChoice,
    /// Folder of the dataset's IDX files.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Runs per configuration (seeds 0, 1, ..., or from --first-seed).
    #[arg(long, default_value_t = defaults().seeds)]
    pub seeds: usize,
    /// The first seed (a replication on seeds not run before).
    #[arg(long, default_value_t = defaults().first_seed)]
    pub first_seed: usize,
    /// Epochs per run.
    #[arg(long, default_value_t = defaults().epochs)]
    pub epochs: usize,
    /// Train on at most this many items.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Share of the training files held out for validation (evaluated every epoch).
    #[arg(long, default_value_t = defaults().valid_fraction)]
    pub valid_fraction: f64,
    /// Items per batch.
    #[arg(long, default_value_t = defaults().batch_size)]
    pub batch_size: usize,
    /// Divide the learning rate by 10 every this many epochs (default: half the epochs).
    #[arg(long)]
    pub lr_step_epochs: Option<usize>,
    /// `variants`: the energies to run, e.g. `s=0,s=2,a2` (default: s=0,s=1,s=2,a0,a1,a2), and
    /// any of the family's objectives by name (`mma,mhs,mgd,mhp,mhc,r-mhp`) or the
    /// orthogonality controls (`so,srip`).
    #[arg(long, value_delimiter = ',')]
    pub powers: Vec<String>,
    /// `variants`: run the family's other objectives (MMA, MHS, MGD, MHP, MHC, r-MHP) beside
    /// MHE on the same seeds.
    #[arg(long)]
    pub family: bool,
    /// `width`: the width multipliers, e.g. `0.25,0.5,1` (default: 0.25,0.5,1,2).
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<f64>,
    /// `depth`: the conv layers per stage, e.g. `1` (default: 1,2,3). `controls`: the CNN's
    /// depth (default: 1). `width`: the CNN's depth (default: 2).
    #[arg(long, value_delimiter = ',')]
    pub depths: Vec<usize>,
    /// `controls`: multiples of the released MHE loss weights (default: 0.1,1,10).
    #[arg(long, value_delimiter = ',')]
    pub weight_scales: Vec<f64>,
    /// `controls`: weight decays of the extra baselines (default: 0.0001,0.002; the reference
    /// baseline keeps 0.0005).
    #[arg(long, value_delimiter = ',')]
    pub weight_decays: Vec<f64>,
    /// `controls`: initial learning rates of more extra baselines, e.g. `0.025,0.1` (default:
    /// none; the reference baseline keeps 0.05).
    #[arg(long, value_delimiter = ',')]
    pub learning_rates: Vec<f64>,
    /// `controls`: initial learning rates at which half-space MHE runs too, each compared with
    /// the baseline at that rate, so each must be among `--learning-rates` (default: none).
    #[arg(long, value_delimiter = ',')]
    pub half_mhe_learning_rates: Vec<f64>,
    /// Only these configurations, by their labels in the summary, and the baselines they are
    /// compared with, e.g. `"baseline lr 0.4,half-mhe lr 0.2"` (default: all).
    #[arg(long, value_delimiter = ',')]
    pub configurations: Vec<String>,
    /// `imbalance`: the class thinned out of the training split.
    #[arg(long, default_value_t = defaults().imbalance_class)]
    pub imbalance_class: usize,
    /// `imbalance`: the fractions of its training items kept, e.g. `0.05,0.1` (default: 0.02).
    #[arg(long, value_delimiter = ',')]
    pub imbalance_fractions: Vec<f64>,
    /// `imbalance`: add the CNN baseline trained with class-balanced loss weights.
    #[arg(long)]
    pub reweighted_baseline: bool,
    /// Backend to train on.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Output folder: runs/, summary.md, summary.json, figures. Rerunning with the same options
    /// reuses the finished runs and continues interrupted ones.
    #[arg(long)]
    pub out: PathBuf,
    /// Another sweep's folder: its finished runs of a configuration and seed this sweep trains
    /// are copied into `--out` instead of trained again (e.g. the controls' baseline, MHE and
    /// half-space MHE from a depth-1 sweep on the same seeds).
    #[arg(long)]
    pub adopt_runs_from: Option<PathBuf>,
}

impl ExperimentArgs {
    /// The tags of `--powers`, with every family objective after them under `--family` (all six
    /// official powers first when `--powers` names none).
    fn powers(&self) -> Vec<String> {
        if !self.family {
            return self.powers.clone();
        }
        let official = match self.powers.is_empty() {
            true => OFFICIAL_VARIANTS
                .iter()
                .map(|v| v.label.to_string())
                .collect(),
            false => self.powers.clone(),
        };
        let family = Objective::family().map(|objective| objective.label().to_string());
        official.into_iter().chain(family).collect()
    }
}

/// Runs `mhe experiment` and returns the summary table.
pub fn run(args: &ExperimentArgs) -> Result<String, CliError> {
    let device = args.device.device().map_err(CliError::Usage)?;
    let config = ExperimentConfig::new(args.name, args.dataset)
        .with_data_dir(args.data_dir.clone())
        .with_seeds(args.seeds)
        .with_first_seed(args.first_seed)
        .with_epochs(args.epochs)
        .with_train_limit(args.train_limit)
        .with_valid_fraction(args.valid_fraction)
        .with_batch_size(args.batch_size)
        .with_lr_step_epochs(args.lr_step_epochs)
        .with_powers(args.powers())
        .with_widths(args.widths.clone())
        .with_depths(args.depths.clone())
        .with_weight_scales(args.weight_scales.clone())
        .with_weight_decays(args.weight_decays.clone())
        .with_learning_rates(args.learning_rates.clone())
        .with_half_mhe_learning_rates(args.half_mhe_learning_rates.clone())
        .with_configurations(args.configurations.clone())
        .with_imbalance_class(args.imbalance_class)
        .with_imbalance_fractions(args.imbalance_fractions.clone())
        .with_reweighted_baseline(args.reweighted_baseline);
    if let Some(from) = &args.adopt_runs_from {
        let adopted = adopt_runs(&config, &args.out, from)?;
        println!("adopted {adopted} finished runs from {}", from.display());
    }
    let summary = run_experiment(&config, &args.out, &device)?;
    Ok(format!(
        "{}\nwritten to {}",
        summary.markdown(),
        args.out.join("summary.md").display()
    ))
}
