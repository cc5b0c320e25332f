//! Any model trained in a run folder by burn's `Learner`, the machinery behind `mhe train`:
//! atomic checkpoints every epoch, a per-epoch history, a stop on divergence, and a resume that
//! ends bit for bit where the uninterrupted run ends.

use std::io::IsTerminal;
use std::sync::Arc;

use burn::config::Config;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::logger::FileMetricLogger;
use burn::train::metric::{Adaptor, LossInput, LossMetric};
use burn::train::{InferenceStep, Interrupter, Learner, LearnerModel, SupervisedTraining};
use burn::train::{TrainStep, metric::ItemLazy};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::checkpoint::AtomicFileCheckpointer;
use crate::error::TrainError;
use crate::history::{HistoryLogger, forget_after};
use crate::loader::EpochOrderLoader;
use crate::metric::{EnergyInput, EnergyMetric};
use crate::renderer::EpochLineRenderer;
use crate::run_folder::RunFolder;

/// The optimizer of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptimizerChoice {
    /// SGD with undamped momentum and weight decay (the paper's setup).
    Sgd,
    /// Adam with weight decay.
    Adam,
}

/// How [`fit`] trains: epochs, batches, optimizer, learning-rate schedule and the seed of the
/// batch order. Saved as `fit.json` in the run folder; a folder is resumed only with the same.
#[derive(Config, Debug)]
pub struct FitConfig {
    /// Number of epochs.
    #[config(default = 5)]
    pub epochs: usize,
    /// Items per batch.
    #[config(default = 64)]
    pub batch_size: usize,
    /// The optimizer.
    #[config(default = "OptimizerChoice::Sgd")]
    pub optimizer: OptimizerChoice,
    /// Initial learning rate.
    #[config(default = 0.05)]
    pub lr: f64,
    /// SGD momentum.
    #[config(default = 0.9)]
    pub momentum: f64,
    /// L2 weight decay.
    #[config(default = 5e-4)]
    pub weight_decay: f64,
    /// The learning rate is multiplied by `lr_gamma` every this many epochs (default: half the
    /// epochs, rounded up).
    #[config(default = "None")]
    pub lr_step_epochs: Option<usize>,
    /// Learning-rate decay factor.
    #[config(default = 0.1)]
    pub lr_gamma: f64,
    /// Clip each parameter's gradient to this L2 norm.
    #[config(default = "None")]
    pub grad_clip: Option<f64>,
    /// Seeds the batch order of every epoch.
    #[config(default = 42)]
    pub seed: u64,
}

impl FitConfig {
    /// Every value checked; the first bad one is the error.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |message: String| Err(TrainError::InvalidConfig(message));
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            let decay = self.weight_decay;
            return bad(format!("weight-decay must be finite and >= 0, got {decay}"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", self.momentum));
        }
        if !(self.lr_gamma > 0.0 && self.lr_gamma <= 1.0) {
            return bad(format!("lr-gamma must be in (0, 1], got {}", self.lr_gamma));
        }
        for (name, value) in [
            ("epochs", Some(self.epochs)),
            ("batch-size", Some(self.batch_size)),
            ("lr-step-epochs", self.lr_step_epochs),
        ] {
            if value == Some(0) {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if let Some(clip) = self.grad_clip
            && !(clip.is_finite() && clip > 0.0)
        {
            return bad(format!("grad-clip must be positive, got {clip}"));
        }
        Ok(())
    }

    /// The optimizer, with weight decay and gradient clipping.
    pub fn optimizer(&self) -> ModuleOptimizer {
        let clip = self
            .grad_clip
            .map(|norm| GradientClippingConfig::Norm(norm as f32));
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        match self.optimizer {
            OptimizerChoice::Sgd => SgdConfig::new()
                .with_momentum(
                    (self.momentum > 0.0)
                        // Undamped heavy-ball momentum, as TensorFlow's and PyTorch's SGD.
                        .then(|| {
                            MomentumConfig::new()
                                .with_momentum(self.momentum)
                                .with_dampening(0.0)
                        }),
                )
                .with_weight_decay(decay)
                .with_gradient_clipping(clip)
                .init(),
            OptimizerChoice::Adam => AdamConfig::new()
                .with_weight_decay(decay)
                .with_grad_clipping(clip)
                .init(),
        }
    }

    /// The step schedule: `lr`, times `lr_gamma` every `lr_step_epochs` epochs of
    /// `iterations_per_epoch` steps.
    pub fn lr_schedule(
        &self,
        iterations_per_epoch: usize,
    ) -> Result<ModuleLrScheduler, TrainError> {
        let epochs = self.lr_step_epochs.unwrap_or(self.epochs.div_ceil(2));
        StepLrSchedulerConfig::new(self.lr, epochs * iterations_per_epoch)
            .with_gamma(self.lr_gamma)
            .init()
            .map_err(TrainError::InvalidConfig)
    }
}

/// What [`fit`] trains and validates on: items of your own type and the batcher that makes
/// your model's batches of them.
pub struct FitData<I, Bt> {
    /// The training items; each epoch visits them in an order drawn from the seed and the
    /// epoch ([`EpochOrderLoader`]).
    pub train: Arc<dyn Dataset<I>>,
    /// The validation items, in order, after every epoch.
    pub valid: Arc<dyn Dataset<I>>,
    /// Items to batches.
    pub batcher: Bt,
}

/// Trains `model` (e.g. a [`WithMhe`](crate::WithMhe) of your model) for `config.epochs` with
/// burn's `SupervisedTraining` in the run folder `run`, and returns it trained (in inference
/// mode).
///
/// The folder receives `fit.json`, burn's metric logs, a history record per epoch
/// (`history/epoch-K.json`: loss, accuracy where a metric named `Accuracy` is registered,
/// energies) and atomic, sealed checkpoints of the last two epochs. If `run` already holds
/// epochs of this configuration, training resumes after the last one whose checkpoint and
/// history are both intact ([`RunFolder::last_intact_epoch`]: a damaged checkpoint falls back
/// to the one before it), and ends bit for bit where the uninterrupted run would have (same
/// weights, same history); a finished run is only loaded. A folder of another configuration is
/// refused, and so is a folder another process is training in ([`RunFolder::lock`]).
///
/// The `Loss` and both [`EnergyMetric`]s are registered here; `customize` adds the rest to
/// burn's `SupervisedTraining`: your metrics (e.g.
/// `|training| training.metrics((AccuracyMetric::new(),))`), a multi-device strategy, a
/// renderer. An epoch whose loss or energy is
/// not finite stops training with [`TrainError::Stopped`] and is not recorded.
///
/// # Errors
/// A bad `config`, a folder of another configuration or held by another process, a damaged
/// `fit.json`, damaged checkpoints with no intact one to fall back to, an unreadable folder,
/// and training that stopped early.
pub fn fit<LM, I, B, Bt>(
    model: LM,
    data: FitData<I, Bt>,
    config: &FitConfig,
    run: &RunFolder,
    device: &Device,
    customize: impl FnOnce(SupervisedTraining<LM>) -> SupervisedTraining<LM>,
) -> Result<LM, TrainError>
where
    LM: LearnerModel + TrainStep<Input = B> + InferenceStep<Input = B>,
    <LM as TrainStep>::Output: ItemLazy + Adaptor<LossInput> + Adaptor<EnergyInput>,
    <LM as InferenceStep>::Output: ItemLazy + Adaptor<LossInput> + Adaptor<EnergyInput>,
    I: Send + Sync + Clone + std::fmt::Debug + 'static,
    B: Send + Clone + std::fmt::Debug + 'static,
    Bt: Batcher<I, B> + Clone + 'static,
{
    config.check()?;
    let _lock = run.lock()?;
    let done = continue_after(run, config)?;
    // Epoch k's order depends on the seed and k alone: a resumed run trains on the batches the
    // uninterrupted run would have.
    let train_loader = Arc::new(
        EpochOrderLoader::new(
            data.train.clone(),
            Arc::new(data.batcher.clone()),
            config.batch_size,
            config.seed,
            device.clone(),
        )
        .starting_after(done),
    );
    let valid_loader = DataLoaderBuilder::new(data.batcher)
        .batch_size(config.batch_size)
        .set_device(device.clone())
        .build(data.valid);

    let checkpoints = run.checkpoints();
    let interrupter = Interrupter::new();
    let mut training = SupervisedTraining::new(run.root(), train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .metrics((EnergyMetric::hidden(), EnergyMetric::output()))
        .with_metric_logger(FileMetricLogger::new(run.root()))
        .with_metric_logger(HistoryLogger::new(run.root()).stop_on_divergence(interrupter.clone()))
        .with_custom_checkpointers(
            AtomicFileCheckpointer::new(&checkpoints, "model"),
            AtomicFileCheckpointer::new(&checkpoints, "optim"),
            AtomicFileCheckpointer::new(&checkpoints, "scheduler"),
        )
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
        .num_epochs(config.epochs)
        .with_interrupter(interrupter);
    if done > 0 {
        training = training.checkpoint(done);
    }
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(EpochLineRenderer::new()));
    }
    let training = customize(training);
    let iterations = data.train.len().div_ceil(config.batch_size);
    let learner = Learner::new(model, config.optimizer(), config.lr_schedule(iterations)?);
    let result = training.launch(learner);
    if let Some(error) = result.error {
        return Err(TrainError::Stopped(error.to_string()));
    }
    if let Some(interruption) = result.interrupted {
        let reason = interruption.reason.unwrap_or_else(|| "interrupted".into());
        return Err(TrainError::Stopped(reason));
    }
    Ok(result.model)
}

/// The epochs of `run` to keep (0 in a new folder); later partial epochs are forgotten. Writes
/// `fit.json` the first time and refuses a folder whose `fit.json` differs from `config`.
fn continue_after(run: &RunFolder, config: &FitConfig) -> Result<usize, TrainError> {
    let path = run.fit_config();
    if !run.holds(&path, config)? {
        std::fs::create_dir_all(run.root()).map_err(TrainError::io(run.root()))?;
        let json = serde_json::to_string_pretty(config).expect("configurations serialize");
        write_atomically(&path, &json)?;
    }
    let done = run.last_intact_epoch(config.epochs)?;
    forget_after(run.root(), done)?;
    Ok(done)
}
