//! The training job behind `mhe train`: one configuration, one run folder, burn's Learner with
//! checkpoints every epoch, a history that survives interruption, and `results.json`.

use std::sync::Arc;
use std::time::Instant;

use burn::config::Config;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::tensor::Device;
use burn::train::metric::AccuracyMetric;
use burn_mhe::{
    Distance, EnergyConfig, MheRegularizer, MheRegularizerConfig, Objective,
    OrthogonalOverParameterization, official_family_setup, official_loss_weights,
};
use serde::{Deserialize, Serialize};

use crate::batcher::ImageBatcher;
use crate::data::{DataSplits, Imbalance, SplitPlan};
use crate::dataset::DatasetChoice;
use crate::error::JobError;
use crate::evaluate::{Predictions, TestScores, evaluate};
use crate::host::host_values;
use crate::model::{ImageClassifier, ImageClassifierConfig};
use crate::results::{JobFiles, TrainResults};
use burn_mhe_train::EpochRecord;
use burn_mhe_train::init_seeded;
use burn_mhe_train::write_atomically;
use burn_mhe_train::{CrossEntropyClassifier, WithMhe};
use burn_mhe_train::{FitConfig, FitData, OptimizerChoice, fit};
use burn_mhe_train::{RunFolder, read_json};

/// Which regularizer the job trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MheMode {
    /// No penalty: a baseline whose energies are still measured and reported.
    None,
    /// MHE on the neurons.
    Mhe,
    /// Half-space MHE on hidden layers (neurons and their negations); the output layer keeps
    /// full-space MHE, as in the released code.
    HalfMhe,
    /// Another objective of the hyperspherical-uniformity family, or an orthogonality control
    /// (SO, SRIP), on every layer, weighted by the job's lambdas, hidden layers in half space
    /// where the released code has them there ([`official_family_setup`]); on the command line
    /// by its name: `mma`, `mhs`, ..., `so`, `srip`.
    Family(Objective),
}

impl MheMode {
    /// Every mode: the baseline, MHE, half-space MHE, then the family's other objectives and
    /// the orthogonality controls.
    pub fn all() -> Vec<MheMode> {
        let family = Objective::others().map(MheMode::Family);
        [MheMode::None, MheMode::Mhe, MheMode::HalfMhe]
            .into_iter()
            .chain(family)
            .collect()
    }

    /// Its name in tables, figures and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MheMode::None => "baseline",
            MheMode::Mhe => "mhe",
            MheMode::HalfMhe => "half-mhe",
            MheMode::Family(objective) => objective.label(),
        }
    }

    /// The objective of its layers (MHE for the baseline's measured energies).
    pub fn objective(self) -> Objective {
        match self {
            MheMode::Family(objective) => objective,
            _ => Objective::Mhe,
        }
    }

    /// The released code's loss weights `(hidden, output)` for this mode and an MHE energy of
    /// `distance` and power `s` ([`official_loss_weights`] for MHE,
    /// [`official_family_setup`] for the family).
    pub fn official_weights(self, distance: Distance, s: f64) -> (f64, f64) {
        match self {
            MheMode::Family(objective) => {
                let setup = official_family_setup(objective);
                (setup.hidden_weight, setup.output_weight)
            }
            _ => official_loss_weights(&EnergyConfig::new().with_distance(distance).with_s(s)),
        }
    }
}

/// `none`, `mhe`, `half-mhe`, then the family by name (`mma`, `mhs`, `mgd`, `mhp`, `mhc`,
/// `r-mhp`) and the orthogonality controls (`so`, `srip`).
#[cfg(feature = "clap")]
impl clap::ValueEnum for MheMode {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: std::sync::LazyLock<Vec<MheMode>> = std::sync::LazyLock::new(MheMode::all);
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let name = match self {
            MheMode::None => "none",
            other => other.name(),
        };
        Some(clap::builder::PossibleValue::new(name))
    }
}

/// How the training loss weights the classes (validation and test losses stay unweighted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ClassWeighting {
    /// Class `c` weighted `n / (C n_c)` for `n` training items of `C` classes, `n_c` of class
    /// `c` ("balanced", as scikit-learn's): every class weighs as much in the loss, the usual
    /// baseline under class imbalance.
    Balanced,
}

impl ClassWeighting {
    /// The weight of each of `classes` classes for a training split of `labels`.
    ///
    /// # Errors
    /// A class without training items (its weight would be infinite) or a label past
    /// `classes`, named.
    ///
    /// ```
    /// use mhe_experiments::ClassWeighting;
    ///
    /// let weights = ClassWeighting::Balanced.weights(&[0, 1, 1, 1], 2).unwrap();
    /// assert_eq!(weights, [2.0, 2.0 / 3.0]);
    /// assert!(ClassWeighting::Balanced.weights(&[1, 1], 2).is_err());
    /// ```
    pub fn weights(self, labels: &[usize], classes: usize) -> Result<Vec<f32>, JobError> {
        let mut counts = vec![0usize; classes];
        for &label in labels {
            *counts.get_mut(label).ok_or_else(|| {
                JobError::invalid_config(format!("label {label} of a {classes}-class model"))
            })? += 1;
        }
        match counts.iter().position(|&count| count == 0) {
            Some(class) => Err(JobError::invalid_config(format!(
                "class {class} has no training items: it cannot be weighted"
            ))),
            None => Ok(counts
                .iter()
                .map(|&count| (labels.len() as f64 / (classes * count) as f64) as f32)
                .collect()),
        }
    }
}

/// How the model's weights are parameterized while it trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum WeightParameterization {
    /// Orthogonal over-parameterization (OPT, Liu et al., CVPR 2021): every conv and linear
    /// weight, the classifier's too, becomes `R W0`, its random initial weight frozen and `R` a
    /// learned rotation (`burn_mhe::OrthogonalOverParameterization`), so the angles between
    /// neurons, their lengths and their energy stay those of the initialization.
    Opt,
    /// OPT as the released code places it (wy1iu/OPT): every hidden conv and linear weight
    /// becomes `R W0`, and the classifier trains directly, so its neurons' lengths and angles
    /// (the logits' scale) are free to grow.
    OptHidden,
}

impl WeightParameterization {
    /// The reparameterizer that applies it to an [`ImageClassifier`].
    pub fn reparameterizer(self) -> OrthogonalOverParameterization {
        match self {
            WeightParameterization::Opt => OrthogonalOverParameterization::new(),
            WeightParameterization::OptHidden => {
                OrthogonalOverParameterization::new().exclude(ImageClassifier::CLASSIFIER_PATH)
            }
        }
    }
}

/// Everything that defines a training run; saved as `config.json` in the run folder.
#[derive(Config, Debug)]
pub struct TrainJobConfig {
    /// The images.
    pub dataset: DatasetChoice,
    /// The model.
    pub model: ImageClassifierConfig,
    /// Folder of the dataset's files (default: the dataset's own place).
    #[config(default = "None")]
    pub data_dir: Option<String>,
    /// Which MHE.
    #[config(default = "MheMode::Mhe")]
    pub mhe: MheMode,
    /// Euclidean or angular distance.
    #[config(default = "Distance::Euclidean")]
    pub distance: Distance,
    /// The energy's power `s` (`0`: logarithmic).
    #[config(default = 2.0)]
    pub s: f64,
    /// Weight of the hidden layers' energies.
    #[config(default = 1.0)]
    pub lambda_hidden: f64,
    /// Weight of the output layer's energy.
    #[config(default = 10.0)]
    pub lambda_output: f64,
    /// Number of epochs.
    #[config(default = "FitConfig::new().epochs")]
    pub epochs: usize,
    /// Items per batch.
    #[config(default = "FitConfig::new().batch_size")]
    pub batch_size: usize,
    /// The optimizer.
    #[config(default = "FitConfig::new().optimizer")]
    pub optimizer: OptimizerChoice,
    /// Initial learning rate.
    #[config(default = "FitConfig::new().lr")]
    pub lr: f64,
    /// SGD momentum.
    #[config(default = "FitConfig::new().momentum")]
    pub momentum: f64,
    /// L2 weight decay.
    #[config(default = "FitConfig::new().weight_decay")]
    pub weight_decay: f64,
    /// The learning rate is multiplied by `lr_gamma` every this many epochs (default: half the
    /// epochs, rounded up).
    #[config(default = "FitConfig::new().lr_step_epochs")]
    pub lr_step_epochs: Option<usize>,
    /// Learning-rate decay factor.
    #[config(default = "FitConfig::new().lr_gamma")]
    pub lr_gamma: f64,
    /// Keep only a fraction of one class in the training split.
    #[config(default = "None")]
    pub imbalance: Option<Imbalance>,
    /// Weight the classes in the training loss (`None`: unweighted).
    #[config(default = "None")]
    pub class_weighting: Option<ClassWeighting>,
    /// Train the weights through a reparameterization (`None`: directly).
    #[config(default = "None")]
    pub parameterization: Option<WeightParameterization>,
    /// Train on at most this many items.
    #[config(default = "None")]
    pub train_limit: Option<usize>,
    /// Clip each parameter's gradient to this L2 norm.
    #[config(default = "FitConfig::new().grad_clip")]
    pub grad_clip: Option<f64>,
    /// Share of the training files held out for validation.
    #[config(default = 0.1)]
    pub valid_fraction: f64,
    /// Seeds the weights, the validation split and the batch order.
    #[config(default = "FitConfig::new().seed")]
    pub seed: u64,
    /// The name of the device the run was started on, as its caller names it (`mhe train`
    /// records its `--device`, so that `--resume` continues there); the job trains on the
    /// `Device` it is given and only keeps this.
    #[config(default = "None")]
    pub device: Option<String>,
}

impl TrainJobConfig {
    /// This job with the regularizer `mode` at the released code's loss weights for it (for
    /// MHE, at the job's distance and power) times `scale`.
    pub fn with_released_weights(self, mode: MheMode, scale: f64) -> Self {
        let (hidden, output) = mode.official_weights(self.distance, self.s);
        self.with_mhe(mode)
            .with_lambda_hidden(hidden * scale)
            .with_lambda_output(output * scale)
    }

    /// Every value checked; the first bad one is the error. Nothing is trained before this.
    pub fn check(&self) -> Result<(), JobError> {
        let bad = |message: String| Err(JobError::invalid_config(message));
        for (name, value) in [
            ("lambda-hidden", self.lambda_hidden),
            ("lambda-output", self.lambda_output),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(format!("{name} must be finite and >= 0, got {value}"));
            }
        }
        self.fit_config().check()?;
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return bad(format!(
                "valid-fraction must be in (0, 1), got {}",
                self.valid_fraction
            ));
        }
        if self.train_limit == Some(0) {
            return bad("train-limit must be at least 1".into());
        }
        if let Some(imbalance) = &self.imbalance {
            imbalance.check().map_err(JobError::invalid_config)?;
        }
        self.model.check().map_err(JobError::invalid_config)?;
        self.regularizer_config().validate()?;
        Ok(())
    }

    /// How [`fit`] trains this job's model. (The job keeps these fields flat, as its
    /// `config.json` files have always held them.)
    pub fn fit_config(&self) -> FitConfig {
        FitConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            optimizer: self.optimizer,
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            lr_step_epochs: self.lr_step_epochs,
            lr_gamma: self.lr_gamma,
            grad_clip: self.grad_clip,
            seed: self.seed,
        }
    }

    /// The regularizer's configuration: trained on unless `mhe` is `None`, measured in every
    /// case.
    pub fn regularizer_config(&self) -> MheRegularizerConfig {
        let half_space = match self.mhe {
            MheMode::HalfMhe => true,
            MheMode::Family(objective) => official_family_setup(objective).hidden_half_space,
            MheMode::None | MheMode::Mhe => false,
        };
        let energy = EnergyConfig::new()
            .with_distance(self.distance)
            .with_s(self.s)
            .with_half_space(half_space);
        let mut config = MheRegularizerConfig::official(energy);
        for (group, weight) in [
            (config.hidden.as_mut(), self.lambda_hidden),
            (config.output.as_mut(), self.lambda_output),
        ] {
            if let Some(group) = group {
                group.weight = weight;
                group.objective = self.mhe.objective();
            }
        }
        config
    }

    /// The regularizer of `model` (with its poles for MHP and MHC).
    pub fn regularizer<M: Module>(&self, model: &M) -> Result<MheRegularizer, JobError> {
        Ok(self.regularizer_config().try_init(model)?)
    }

    /// How this job splits its data.
    pub fn split_plan(&self) -> SplitPlan {
        SplitPlan {
            valid_fraction: self.valid_fraction,
            train_limit: self.train_limit,
            imbalance: self.imbalance,
            seed: self.seed,
        }
    }
}

/// The image classifier as burn's Learner trains it: cross-entropy plus the MHE penalty (or
/// the energies measured only, for [`MheMode::None`]).
pub type ImageModel = WithMhe<CrossEntropyClassifier<ImageClassifier>>;

/// A finished run: what `results.json` holds and the trained model (in inference mode).
#[derive(Debug)]
pub struct TrainedRun {
    /// The results written to `results.json`.
    pub results: TrainResults,
    /// The test predictions written to `predictions.json`.
    pub predictions: Predictions,
    /// The model after the last epoch, without autodiff.
    pub model: ImageModel,
    /// The data it was trained, validated and tested on.
    pub splits: DataSplits,
}

/// Trains `config` from scratch on `device` into the new run folder `run`.
///
/// Fails before training if the configuration is bad, the data is missing, `run` already
/// holds a run (continue that one with [`resume`]), or another process holds `run`. The folder
/// is held ([`RunFolder::lock`]) until `results.json` is written.
pub fn train(
    config: &TrainJobConfig,
    run: &RunFolder,
    device: &Device,
) -> Result<TrainedRun, JobError> {
    config.check()?;
    let data = load_data(config)?;
    let _lock = run.lock()?;
    if run.config().exists() {
        return Err(JobError::invalid_config(format!(
            "{} already holds a run: resume it or choose another folder",
            run.root().display()
        )));
    }
    let json = serde_json::to_string_pretty(config).expect("configurations serialize");
    write_atomically(&run.config(), &json)?;
    fit_image_classifier(config, data, run, device)
}

/// Continues the run in `run` from its last complete epoch (checkpoint and history both
/// written); later partial epochs are dropped and trained again, so the history holds every
/// epoch exactly once. A finished run is only evaluated again. A damaged checkpoint falls back
/// to the one before it ([`RunFolder::last_intact_epoch`]); damaged files with nothing to
/// fall back to, and a folder another process holds, are errors that name the file or holder.
pub fn resume(run: &RunFolder, device: &Device) -> Result<TrainedRun, JobError> {
    let path = run.config();
    let _lock = run.root().is_dir().then(|| run.lock()).transpose()?;
    if !path.is_file() {
        return Err(JobError::invalid_config(format!(
            "{} holds no run (no config.json)",
            run.root().display()
        )));
    }
    let config =
        TrainJobConfig::load(&path).map_err(|e| JobError::corrupt(path.clone(), e.to_string()))?;
    config.check()?;
    let data = load_data(&config)?;
    fit_image_classifier(&config, data, run, device)
}

/// The finished run in `run` as its `results.json` and `predictions.json` hold it, checked
/// against `config.json` and each other: the results of that configuration, every epoch's
/// record, one prediction per test item, and the accuracy those predictions give.
///
/// # Errors
/// [`TrainError::CorruptRunFile`](burn_mhe_train::TrainError::CorruptRunFile) naming the file
/// that is unreadable or does not fit.
pub(crate) fn read_finished(run: &RunFolder) -> Result<(TrainResults, Predictions), JobError> {
    let config: serde_json::Value = read_json(&run.config())?;
    let results = run.read_results()?;
    let predictions = run.read_predictions()?;
    let corrupt = |path: std::path::PathBuf, message: String| Err(JobError::corrupt(path, message));
    if results.config != config {
        return corrupt(
            run.results(),
            "holds the results of another configuration".into(),
        );
    }
    let epochs = config["epochs"].as_u64().unwrap_or(0) as usize;
    if !results.history.iter().map(|e| e.epoch).eq(1..=epochs) {
        return corrupt(run.results(), format!("does not hold epochs 1 to {epochs}"));
    }
    let items = results.split_sizes[2];
    if predictions.labels.len() != items || predictions.predicted.len() != items {
        return corrupt(
            run.predictions(),
            format!("does not hold one prediction for each of the {items} test items"),
        );
    }
    let correct = predictions.correct().iter().filter(|&&c| c).count();
    let accuracy = correct as f64 / items.max(1) as f64;
    if (accuracy - results.test_accuracy).abs() > 1e-9 {
        return corrupt(
            run.predictions(),
            format!(
                "gives test accuracy {accuracy}, results.json says {}",
                results.test_accuracy
            ),
        );
    }
    Ok((results, predictions))
}

/// The job's data, checked before anything is written or trained: its splits and the class
/// weights of its training loss (`None` unweighted).
struct JobData {
    splits: DataSplits,
    class_weights: Option<Vec<f32>>,
}

fn load_data(config: &TrainJobConfig) -> Result<JobData, JobError> {
    let data_dir = config.data_dir.as_deref();
    let splits = config.dataset.load(data_dir, &config.split_plan())?;
    let shape = splits.train.image_shape();
    if shape != config.model.image {
        return Err(JobError::invalid_config(format!(
            "the model expects {:?} images, {} holds {shape:?}",
            config.model.image,
            data_dir.unwrap_or("the dataset")
        )));
    }
    let class_weights = config
        .class_weighting
        .map(|weighting| weighting.weights(&splits.train.labels(), config.model.classes))
        .transpose()?;
    for (name, split) in [("training", &splits.train), ("validation", &splits.valid)] {
        if split.is_empty() {
            return Err(JobError::invalid_config(format!(
                "the {name} split is empty"
            )));
        }
    }
    Ok(JobData {
        splits,
        class_weights,
    })
}

/// Trains the job's image classifier with [`fit`] (resuming after the folder's complete
/// epochs), then evaluates it and writes `predictions.json` and `results.json`.
fn fit_image_classifier(
    config: &TrainJobConfig,
    data: JobData,
    run: &RunFolder,
    device: &Device,
) -> Result<TrainedRun, JobError> {
    let JobData {
        splits,
        class_weights,
    } = data;
    let model = init_seeded(&device.clone().autodiff(), config.seed, |device| {
        config.model.init(device)
    });
    let model = match config.parameterization {
        Some(parameterization) => {
            model.apply_reparameterization(parameterization.reparameterizer())
        }
        None => model,
    };
    let mhe = config.regularizer(&model)?;
    mhe.check(&model)?;
    let mut model = CrossEntropyClassifier::new(model);
    if let Some(weights) = class_weights {
        model = model.with_class_weights(weights);
    }
    let model = match config.mhe {
        MheMode::None => WithMhe::measure_only(model, mhe),
        _ => WithMhe::new(model, mhe),
    };
    let data = FitData {
        train: Arc::new(splits.train.clone()),
        valid: Arc::new(splits.valid.clone()),
        batcher: ImageBatcher {
            shape: config.model.image,
        },
    };
    let started = Instant::now();
    let model = fit(model, data, &config.fit_config(), run, device, |training| {
        training.metrics((AccuracyMetric::new(),))
    })?;
    log_duration(started);

    let history = run.read_history(config.epochs)?;
    let mut scores = evaluate(&model.model.model, &splits.test, config.batch_size, device);
    let predictions = std::mem::take(&mut scores.predictions);
    // Predictions first: a results.json always has its predictions beside it.
    let json = serde_json::to_string(&predictions).expect("predictions serialize");
    write_atomically(&run.predictions(), &json)?;
    let results = results(config, &model, &splits, history, scores, device);
    let json = serde_json::to_string_pretty(&results).expect("results serialize");
    write_atomically(&run.results(), &json)?;
    Ok(TrainedRun {
        results,
        predictions,
        model,
        splits,
    })
}

fn log_duration(started: Instant) {
    log::info!("training took {:.1} s", started.elapsed().as_secs_f64());
}

fn results(
    config: &TrainJobConfig,
    model: &ImageModel,
    splits: &DataSplits,
    history: Vec<EpochRecord>,
    scores: TestScores,
    device: &Device,
) -> TrainResults {
    let classifier = &model.model.model;
    let layers = model.mhe.report(classifier);
    let energy = |role| {
        layers
            .iter()
            .filter(|layer| layer.role == role)
            .map(|layer| layer.energy)
            .sum()
    };
    TrainResults {
        config: serde_json::to_value(config).expect("configurations serialize"),
        device: format!("{device:?}"),
        split_sizes: [splits.train.len(), splits.valid.len(), splits.test.len()],
        wall_seconds: history.iter().map(|epoch| epoch.seconds).sum(),
        history,
        test_accuracy: scores.accuracy,
        test_loss: scores.loss,
        per_class_accuracy: scores.per_class,
        classifier_nearest_angles: burn_mhe::nearest_angles(
            classifier.classifier().weight.val().transpose(),
        ),
        // Linear weights are [d_in, classes]: column c is class c's neuron.
        classifier_norms: host_values(
            classifier
                .classifier()
                .weight
                .val()
                .powi_scalar(2)
                .sum_dim(0)
                .sqrt(),
        ),
        classifier_biases: classifier
            .classifier()
            .bias
            .as_ref()
            .map(|bias| host_values(bias.val()))
            .unwrap_or_default(),
        weights_digest: burn_mhe_train::weights_digest(classifier),
        hidden_energy: energy(burn_mhe::LayerRole::Hidden),
        output_energy: energy(burn_mhe::LayerRole::Output),
        layers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run committed under docs/results passes the check that a sweep reuses runs with:
    /// rerunning a committed sweep trains nothing.
    #[test]
    fn every_committed_run_passes_the_reuse_check() {
        let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
        let mut checked = 0;
        for sweep in std::fs::read_dir(results).unwrap() {
            let runs = sweep.unwrap().path().join("runs");
            for run in std::fs::read_dir(&runs).into_iter().flatten() {
                let run = RunFolder::new(run.unwrap().path());
                if let Err(error) = read_finished(&run) {
                    panic!("{}: {error}", run.root().display());
                }
                checked += 1;
            }
        }
        assert!(checked >= 221, "{checked} committed runs");
    }
}
