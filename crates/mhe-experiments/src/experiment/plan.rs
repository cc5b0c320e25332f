//! Which training runs each experiment sweeps over.

use burn::config::Config;
use burn_mhe::{OFFICIAL_VARIANTS, Objective};
use serde::{Deserialize, Serialize};

use crate::data::Imbalance;
use crate::dataset::DatasetChoice;
use crate::job::{ClassWeighting, MheMode, TrainJobConfig, WeightParameterization};
use crate::model::{Architecture, ImageClassifierConfig};

/// The experiments of the paper, as sweeps of training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ExperimentName {
    /// Baseline, MHE and half-space MHE with Euclidean `s = 0, 1, 2` and angular `a0, a1, a2`
    /// on one CNN (the analogue of the paper's CIFAR-100 table).
    Variants,
    /// Baseline vs MHE vs half-space MHE as the CNN's width multiplier goes 1/4, 1/2, 1, 2
    /// (at 2 conv layers per stage unless `depths` names another).
    Width,
    /// The same over 1, 2, 3 conv layers per stage.
    Depth,
    /// 98% of class 0 removed from the training split (or the classes and fractions named);
    /// the 2-D feature CNN and the CNN without and with output-layer MHE (and, if asked, the
    /// CNN with a class-weighted loss).
    Imbalance,
    /// Controls beside MHE on one CNN (depth 1 unless `depths` names one): the baseline at other
    /// weight decays, MHE and half-space MHE at multiples of the released loss weights, the
    /// orthogonality regularizers SO and SRIP, and OPT on every layer and on the hidden layers
    /// alone (as released); every configuration is compared with the baseline at the default
    /// weight decay.
    Controls,
}

/// The sizes an experiment runs at.
#[derive(Config, Debug, PartialEq)]
pub struct ExperimentConfig {
    /// Which experiment.
    pub name: ExperimentName,
    /// The images.
    pub dataset: DatasetChoice,
    /// Their folder (default: the dataset's own place).
    #[config(default = "None")]
    pub data_dir: Option<String>,
    /// Runs per configuration, seeds `first_seed..first_seed + seeds`.
    #[config(default = 3)]
    pub seeds: usize,
    /// The first seed: a replication on fresh seeds starts past the ones already run.
    #[config(default = 0)]
    pub first_seed: usize,
    /// Epochs per run.
    #[config(default = 3)]
    pub epochs: usize,
    /// Train on at most this many items (a class-stratified sample).
    #[config(default = "None")]
    pub train_limit: Option<usize>,
    /// Share of the training files held out for validation.
    #[config(default = 0.1)]
    pub valid_fraction: f64,
    /// Items per batch.
    #[config(default = 64)]
    pub batch_size: usize,
    /// The learning rate is divided by 10 every this many epochs (default: half the epochs).
    #[config(default = "None")]
    pub lr_step_epochs: Option<usize>,
    /// `variants`: the energies run, by their tags (`s=0 s=1 s=2 a0 a1 a2`; empty: all six),
    /// and the family's other objectives run beside them, by name (`mma mhs mgd mhp mhc
    /// r-mhp`).
    #[config(default = "Vec::new()")]
    pub powers: Vec<String>,
    /// `width`: the width multipliers; empty: 1/4, 1/2, 1, 2.
    #[config(default = "Vec::new()")]
    pub widths: Vec<f64>,
    /// `depth`: the conv layers per stage; empty: 1, 2, 3. `controls`: the first is the CNN's
    /// depth; empty: 1. `width`: the first is the CNN's depth; empty: 2.
    #[config(default = "Vec::new()")]
    pub depths: Vec<usize>,
    /// `controls`: multiples of the released MHE loss weights; empty: 0.1, 1, 10.
    #[config(default = "Vec::new()")]
    pub weight_scales: Vec<f64>,
    /// `controls`: weight decays of the extra baselines; empty: 1e-4 and 2e-3 (the default
    /// baseline's is 5e-4).
    #[config(default = "Vec::new()")]
    pub weight_decays: Vec<f64>,
    /// `controls`: initial learning rates of more extra baselines; empty: none (the default
    /// baseline's is 0.05).
    #[config(default = "Vec::new()")]
    pub learning_rates: Vec<f64>,
    /// `controls`: initial learning rates at which half-space MHE (the released loss weights)
    /// runs too, each compared with the baseline at the same rate, so each must be one of
    /// `learning_rates`; empty: none.
    #[config(default = "Vec::new()")]
    pub half_mhe_learning_rates: Vec<f64>,
    /// Only the configurations with these labels (e.g. `half-mhe lr 0.2`), with the baselines
    /// they are compared with, in the experiment's order: a follow-up on fresh seeds of a few
    /// configurations of a larger sweep; empty: every configuration.
    #[config(default = "Vec::new()")]
    pub configurations: Vec<String>,
    /// `imbalance`: the class thinned out of the training split.
    #[config(default = 0)]
    pub imbalance_class: usize,
    /// `imbalance`: the fractions of its training items kept, one set of configurations each
    /// (labelled `keep F`); empty: 0.02, unlabelled.
    #[config(default = "Vec::new()")]
    pub imbalance_fractions: Vec<f64>,
    /// `imbalance`: add the CNN baseline trained with class-balanced loss weights
    /// ([`ClassWeighting::Balanced`](crate::ClassWeighting::Balanced)).
    #[config(default = false)]
    pub reweighted_baseline: bool,
}

/// One configuration of a sweep, run once per seed.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Its name in tables and figures, e.g. `half-mhe a2` or `mhe width 0.5`.
    pub label: String,
    /// Baseline, MHE or half-space MHE: the line it belongs to in figures.
    pub mhe: MheMode,
    /// Its position on the x axis of the width and depth figures.
    pub x: Option<f64>,
    /// The run's configuration, seed 0.
    pub job: TrainJobConfig,
}

const MODES: [MheMode; 3] = [MheMode::None, MheMode::Mhe, MheMode::HalfMhe];

impl ExperimentConfig {
    fn job(&self, architecture: Architecture) -> TrainJobConfig {
        TrainJobConfig::new(self.dataset, ImageClassifierConfig::new(architecture))
            .with_data_dir(self.data_dir.clone())
            .with_epochs(self.epochs)
            .with_train_limit(self.train_limit)
            .with_valid_fraction(self.valid_fraction)
            .with_batch_size(self.batch_size)
            .with_lr_step_epochs(self.lr_step_epochs)
    }

    /// The CNN's depth for the sweeps over something else: the first of `depths`, else
    /// `default`.
    fn depth_or(&self, default: usize) -> usize {
        self.depths.first().copied().unwrap_or(default)
    }

    /// An error naming an unknown power tag, a bad width, a depth of 0, a weight scale that is
    /// not positive, a negative weight decay or a configuration the experiment does not have.
    pub fn check(&self) -> Result<(), String> {
        let known: Vec<&str> = OFFICIAL_VARIANTS
            .iter()
            .map(|v| v.label)
            .chain(Objective::others().map(Objective::label))
            .collect();
        if let Some(tag) = self
            .powers
            .iter()
            .find(|tag| !known.contains(&tag.as_str()))
        {
            return Err(format!("unknown power `{tag}`: expected one of {known:?}"));
        }
        if let Some(width) = self.widths.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(format!("width multipliers must be positive, got {width}"));
        }
        if self.depths.contains(&0) {
            return Err("depths must be at least 1 conv layer per stage, got 0".into());
        }
        let positive = |x: &f64| x.is_finite() && *x > 0.0;
        if let Some(scale) = self.weight_scales.iter().find(|x| !positive(x)) {
            return Err(format!("weight scales must be positive, got {scale}"));
        }
        if let Some(lr) = self.learning_rates.iter().find(|x| !positive(x)) {
            return Err(format!("learning rates must be positive, got {lr}"));
        }
        if let Some(lr) = self
            .half_mhe_learning_rates
            .iter()
            .find(|lr| !self.learning_rates.contains(lr))
        {
            return Err(format!(
                "half-space MHE at learning rate {lr} needs the baseline at that rate: \
                 add {lr} to the learning rates"
            ));
        }
        if let Some(decay) = self
            .weight_decays
            .iter()
            .find(|x| !(**x == 0.0 || positive(x)))
        {
            return Err(format!(
                "weight decays must be finite and >= 0, got {decay}"
            ));
        }
        for fraction in &self.imbalance_fractions {
            let imbalance = Imbalance {
                class: self.imbalance_class,
                fraction: *fraction,
            };
            imbalance.check()?;
        }
        let all = self.all_settings();
        if let Some(label) = self
            .configurations
            .iter()
            .find(|label| !all.iter().any(|s| &s.label == *label))
        {
            let labels: Vec<&str> = all.iter().map(|s| s.label.as_str()).collect();
            return Err(format!(
                "no configuration `{label}` in this experiment: expected one of {labels:?}"
            ));
        }
        Ok(())
    }

    /// Baseline, MHE and half-space MHE of the CNN at every value of one model setting.
    fn sweep(
        &self,
        name: &str,
        values: &[f64],
        set: impl Fn(&mut ImageClassifierConfig, f64),
    ) -> Vec<Setting> {
        values
            .iter()
            .flat_map(|&value| {
                MODES.map(|mode| {
                    let mut job = self.job(Architecture::Cnn).with_mhe(mode);
                    set(&mut job.model, value);
                    Setting {
                        label: format!("{} {name} {value}", mode.name()),
                        mhe: mode,
                        x: Some(value),
                        job,
                    }
                })
            })
            .collect()
    }

    /// The configurations of the experiment: those [`configurations`](Self::configurations)
    /// names and the baselines they are compared with (and those baselines' own, up to the
    /// reference), or every one where it names none.
    pub fn settings(&self) -> Vec<Setting> {
        let all = self.all_settings();
        if self.configurations.is_empty() {
            return all;
        }
        let mut kept: Vec<bool> = all
            .iter()
            .map(|s| self.configurations.contains(&s.label))
            .collect();
        let mut newly: Vec<usize> = (0..all.len()).filter(|&i| kept[i]).collect();
        while let Some(index) = newly.pop() {
            if let Some(baseline) = baseline_of(&all[index], &all).filter(|&b| !kept[b]) {
                kept[baseline] = true;
                newly.push(baseline);
            }
        }
        all.into_iter()
            .zip(kept)
            .filter_map(|(setting, kept)| kept.then_some(setting))
            .collect()
    }

    /// Every configuration of the experiment.
    fn all_settings(&self) -> Vec<Setting> {
        let setting = |label: String, mhe, x, job: TrainJobConfig| Setting {
            label,
            mhe,
            x,
            job: job.with_mhe(mhe),
        };
        match self.name {
            ExperimentName::Variants => {
                let base = self.job(Architecture::Cnn);
                let mut settings = vec![setting(
                    "baseline".into(),
                    MheMode::None,
                    None,
                    base.clone(),
                )];
                let named = |label: &str| self.powers.iter().any(|p| p == label);
                let powers = OFFICIAL_VARIANTS
                    .iter()
                    .filter(|v| self.powers.is_empty() || named(v.label));
                for mode in [MheMode::Mhe, MheMode::HalfMhe] {
                    for variant in powers.clone() {
                        let job = base
                            .clone()
                            .with_distance(variant.distance)
                            .with_s(variant.s)
                            .with_released_weights(mode, 1.0);
                        settings.push(setting(
                            format!("{} {}", mode.name(), variant.label),
                            mode,
                            None,
                            job,
                        ));
                    }
                }
                // The family's objectives and the orthogonality controls with their weights
                // (official_family_setup).
                for objective in Objective::others().filter(|o| named(o.label())) {
                    let mode = MheMode::Family(objective);
                    let job = base.clone().with_released_weights(mode, 1.0);
                    settings.push(setting(mode.name().into(), mode, None, job));
                }
                settings
            }
            ExperimentName::Width => {
                let widths = given_or(&self.widths, &[0.25, 0.5, 1.0, 2.0]);
                self.sweep("width", &widths, |model, w| {
                    model.width = w;
                    model.depth = self.depth_or(model.depth);
                })
            }
            ExperimentName::Depth => {
                let depths: Vec<f64> = given_or(&self.depths, &[1, 2, 3])
                    .into_iter()
                    .map(|d| d as f64)
                    .collect();
                self.sweep("depth", &depths, |model, d| model.depth = d as usize)
            }
            ExperimentName::Controls => self.controls(),
            ExperimentName::Imbalance => self.imbalance(),
        }
    }
}

impl ExperimentConfig {
    /// The configurations of the `imbalance` experiment: for each fraction kept, the 2-D
    /// feature CNN and the CNN without and with output-layer MHE (as the paper's Figure 4: the
    /// 2-D model for the figure, the CNN for accuracy), then the reweighted CNN baseline if
    /// asked. The default (2% of class 0 kept) is unlabelled, as in the first sweeps.
    fn imbalance(&self) -> Vec<Setting> {
        let fractions: Vec<(f64, Option<f64>)> = match self.imbalance_fractions.is_empty() {
            true => vec![(0.02, None)],
            false => self
                .imbalance_fractions
                .iter()
                .map(|&f| (f, Some(f)))
                .collect(),
        };
        let mut settings = Vec::new();
        for (fraction, labelled) in fractions {
            let suffix = labelled.map(|f| format!(" keep {f}")).unwrap_or_default();
            let imbalanced = |architecture| {
                self.job(architecture).with_imbalance(Some(Imbalance {
                    class: self.imbalance_class,
                    fraction,
                }))
            };
            // In the plane, two close classifier neurons make the energy's gradient explode
            // (SGD diverges at lambda_output 1 and 10); clipping keeps both 2-D runs on the
            // same optimizer.
            let plane = imbalanced(Architecture::Cnn2d).with_grad_clip(Some(5.0));
            let cnn = imbalanced(Architecture::Cnn);
            let setting = |label: &str, mhe, job: TrainJobConfig| Setting {
                label: format!("{label}{suffix}"),
                mhe,
                x: labelled,
                job: job.with_mhe(mhe),
            };
            settings.extend([
                setting("baseline 2-d", MheMode::None, plane.clone()),
                setting(
                    "output mhe 2-d",
                    MheMode::Mhe,
                    plane.with_lambda_hidden(0.0),
                ),
                setting("baseline", MheMode::None, cnn.clone()),
                setting(
                    "output mhe",
                    MheMode::Mhe,
                    cnn.clone().with_lambda_hidden(0.0),
                ),
            ]);
            if self.reweighted_baseline {
                let reweighted = cnn.with_class_weighting(Some(ClassWeighting::Balanced));
                settings.push(setting("baseline reweighted", MheMode::None, reweighted));
            }
        }
        settings
    }
    /// The configurations of the `controls` experiment, the reference baseline first.
    fn controls(&self) -> Vec<Setting> {
        let mut base = self.job(Architecture::Cnn);
        base.model.depth = self.depth_or(1);
        let setting = |label: String, mhe: MheMode, job: TrainJobConfig| Setting {
            label,
            mhe,
            x: None,
            job: job.with_mhe(mhe),
        };
        let mut settings = vec![setting("baseline".into(), MheMode::None, base.clone())];
        for decay in given_or(&self.weight_decays, &[1e-4, 2e-3]) {
            let job = base.clone().with_weight_decay(decay);
            settings.push(setting(format!("baseline wd {decay}"), MheMode::None, job));
        }
        for &lr in &self.learning_rates {
            let job = base.clone().with_lr(lr);
            settings.push(setting(format!("baseline lr {lr}"), MheMode::None, job));
        }
        for mode in [MheMode::Mhe, MheMode::HalfMhe] {
            for scale in given_or(&self.weight_scales, &[0.1, 1.0, 10.0]) {
                let job = base.clone().with_released_weights(mode, scale);
                settings.push(setting(format!("{} x{scale}", mode.name()), mode, job));
            }
        }
        for objective in Objective::others().filter(|o| o.is_orthogonality()) {
            let mode = MheMode::Family(objective);
            let job = base.clone().with_released_weights(mode, 1.0);
            settings.push(setting(mode.name().into(), mode, job));
        }
        for (label, parameterization) in [
            ("opt", WeightParameterization::Opt),
            ("opt hidden", WeightParameterization::OptHidden),
        ] {
            let opt = base.clone().with_parameterization(Some(parameterization));
            settings.push(setting(label.into(), MheMode::None, opt));
        }
        for &lr in &self.half_mhe_learning_rates {
            let mode = MheMode::HalfMhe;
            let job = base.clone().with_released_weights(mode, 1.0).with_lr(lr);
            settings.push(setting(format!("{} lr {lr}", mode.name()), mode, job));
        }
        settings
    }
}

/// The index of the baseline `setting` is compared with: the first configuration without MHE
/// of the same architecture at the same width or depth, and for a regularized configuration
/// also at the same initial learning rate (half-space MHE at a tuned rate against the baseline
/// at that rate). `None` for that baseline itself (the controls' other baselines, at other
/// weight decays or learning rates, are compared with it).
pub(super) fn baseline_of(setting: &Setting, settings: &[Setting]) -> Option<usize> {
    let regularized = setting.mhe != MheMode::None;
    settings
        .iter()
        .position(|s| {
            s.mhe == MheMode::None
                && s.x == setting.x
                && s.job.model.architecture == setting.job.model.architecture
                && (!regularized || s.job.lr == setting.job.lr)
        })
        .filter(|&b| settings[b].label != setting.label)
}

/// `given`, or `default` where the command line gave none.
fn given_or<T: Clone>(given: &[T], default: &[T]) -> Vec<T> {
    match given.is_empty() {
        true => default.to_vec(),
        false => given.to_vec(),
    }
}

/// A folder name for a label: `half-mhe a2` becomes `half-mhe_a2`.
pub fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(settings: &[Setting]) -> Vec<&str> {
        settings.iter().map(|s| s.label.as_str()).collect()
    }

    fn config(name: ExperimentName) -> ExperimentConfig {
        ExperimentConfig::new(name, DatasetChoice::MnistSubset)
            .with_seeds(1)
            .with_epochs(1)
    }

    #[test]
    fn variants_cover_the_papers_table_with_the_released_weights() {
        let settings = config(ExperimentName::Variants).settings();
        assert_eq!(settings.len(), 13);
        let a2 = settings.iter().find(|s| s.label == "half-mhe a2").unwrap();
        assert_eq!(a2.job.distance, burn_mhe::Distance::Angular);
        assert_eq!((a2.job.lambda_hidden, a2.job.lambda_output), (0.1, 1.0));
        let s0 = settings.iter().find(|s| s.label == "mhe s=0").unwrap();
        assert_eq!((s0.job.s, s0.job.lambda_output), (0.0, 10.0));
        let labels: std::collections::HashSet<_> =
            settings.iter().map(|s| slug(&s.label)).collect();
        assert_eq!(labels.len(), 13, "run folders are distinct");
    }

    #[test]
    fn controls_vary_weight_decay_loss_weight_and_regularizer_on_one_cnn() {
        let settings = config(ExperimentName::Controls).settings();
        assert_eq!(
            labels(&settings),
            [
                "baseline",
                "baseline wd 0.0001",
                "baseline wd 0.002",
                "mhe x0.1",
                "mhe x1",
                "mhe x10",
                "half-mhe x0.1",
                "half-mhe x1",
                "half-mhe x10",
                "so",
                "srip",
                "opt",
                "opt hidden"
            ]
        );
        assert_eq!(
            settings[11].job.parameterization,
            Some(WeightParameterization::Opt)
        );
        assert_eq!(
            settings[12].job.parameterization,
            Some(WeightParameterization::OptHidden)
        );
        assert!(settings[11..].iter().all(|s| s.mhe == MheMode::None));
        assert!(settings.iter().all(|s| s.job.model.depth == 1));
        let weights = |s: &Setting| (s.job.lambda_hidden, s.job.lambda_output);
        assert_eq!(weights(&settings[8]), (10.0, 100.0));
        assert_eq!(weights(&settings[3]), (0.1, 1.0));
        assert_eq!(settings[2].job.weight_decay, 2e-3);
        let defaults =
            TrainJobConfig::new(DatasetChoice::MnistSubset, settings[0].job.model.clone());
        assert_eq!(settings[0].job.weight_decay, defaults.weight_decay);
        let hidden = settings[7].job.regularizer_config().hidden.unwrap();
        assert!(hidden.energy.half_space);

        let deeper = config(ExperimentName::Controls)
            .with_depths(vec![2])
            .with_weight_scales(vec![1.0])
            .with_weight_decays(vec![0.0]);
        assert_eq!(deeper.settings().len(), 8);
        assert!(deeper.settings().iter().all(|s| s.job.model.depth == 2));
        let bad = config(ExperimentName::Controls).with_weight_scales(vec![0.0]);
        assert!(bad.check().unwrap_err().contains("weight scales"));
        let bad = config(ExperimentName::Controls).with_weight_decays(vec![-1e-4]);
        assert!(bad.check().unwrap_err().contains("weight decays"));

        // Baselines at other learning rates only where asked, after those at other decays.
        let tuned = config(ExperimentName::Controls).with_learning_rates(vec![0.025, 0.1]);
        let settings = tuned.settings();
        assert_eq!(
            labels(&settings[2..5]),
            ["baseline wd 0.002", "baseline lr 0.025", "baseline lr 0.1"]
        );
        assert_eq!((settings[3].job.lr, settings[4].job.lr), (0.025, 0.1));
        assert_eq!(settings[4].mhe, MheMode::None);
        assert_eq!(settings[4].job.weight_decay, settings[0].job.weight_decay);
        assert_eq!(settings.len(), 15);
        let bad = config(ExperimentName::Controls).with_learning_rates(vec![0.0]);
        assert!(bad.check().unwrap_err().contains("learning rates"));

        // Half-space MHE at a tuned rate, last, only beside the baseline at that rate.
        let regularized = tuned.with_half_mhe_learning_rates(vec![0.1]);
        assert_eq!(regularized.check(), Ok(()));
        let settings = regularized.settings();
        let last = settings.last().unwrap();
        assert_eq!(
            (last.label.as_str(), last.mhe),
            ("half-mhe lr 0.1", MheMode::HalfMhe)
        );
        assert_eq!(last.job.lr, 0.1);
        let released = |s: &Setting| (s.job.lambda_hidden, s.job.lambda_output, s.job.s);
        let half_mhe_x1 = settings.iter().find(|s| s.label == "half-mhe x1").unwrap();
        assert_eq!(released(last), released(half_mhe_x1));
        let untuned = config(ExperimentName::Controls).with_half_mhe_learning_rates(vec![0.1]);
        assert!(
            untuned
                .check()
                .unwrap_err()
                .contains("baseline at that rate")
        );
    }

    #[test]
    fn a_regularized_configuration_is_paired_with_the_baseline_at_its_learning_rate() {
        let settings = config(ExperimentName::Controls)
            .with_learning_rates(vec![0.025, 0.1])
            .with_half_mhe_learning_rates(vec![0.1])
            .settings();
        let baseline_of = |label: &str| {
            let setting = settings.iter().find(|s| s.label == label).unwrap();
            baseline_of(setting, &settings).map(|b| settings[b].label.as_str())
        };
        assert_eq!(baseline_of("half-mhe lr 0.1"), Some("baseline lr 0.1"));
        assert_eq!(baseline_of("half-mhe x1"), Some("baseline"));
        assert_eq!(baseline_of("so"), Some("baseline"));
        // The other baselines, OPT among them, against the reference.
        assert_eq!(baseline_of("baseline lr 0.1"), Some("baseline"));
        assert_eq!(baseline_of("opt hidden"), Some("baseline"));
        assert_eq!(baseline_of("baseline"), None);
    }

    #[test]
    fn named_configurations_run_with_their_baselines_and_keep_their_pairing() {
        let tuned = config(ExperimentName::Controls)
            .with_learning_rates(vec![0.1, 0.2, 0.4])
            .with_half_mhe_learning_rates(vec![0.2]);
        let follow_up = tuned
            .clone()
            .with_configurations(vec!["half-mhe lr 0.2".into(), "baseline lr 0.4".into()]);
        let settings = follow_up.settings();
        // Half-space MHE's baseline at 0.2 comes with it, and that baseline's, the reference.
        assert_eq!(
            labels(&settings),
            [
                "baseline",
                "baseline lr 0.2",
                "baseline lr 0.4",
                "half-mhe lr 0.2"
            ]
        );
        let pairs: Vec<Option<&str>> = settings
            .iter()
            .map(|s| baseline_of(s, &settings).map(|b| settings[b].label.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                None,
                Some("baseline"),
                Some("baseline"),
                Some("baseline lr 0.2")
            ]
        );
        // The same runs as the full sweep's, so finished ones are adopted from it.
        let all = tuned.settings();
        for setting in &settings {
            let same = all.iter().find(|s| s.label == setting.label).unwrap();
            let json = |job: &TrainJobConfig| serde_json::to_value(job).unwrap();
            assert_eq!(json(&same.job), json(&setting.job), "{}", setting.label);
        }
        assert!(follow_up.check().is_ok());
        let unknown = tuned.with_configurations(vec!["half-mhe lr 0.3".into()]);
        let error = unknown.check().unwrap_err();
        assert!(
            error.contains("no configuration `half-mhe lr 0.3`"),
            "{error}"
        );
    }

    #[test]
    fn imbalance_takes_a_class_fractions_and_a_reweighted_baseline() {
        let default = config(ExperimentName::Imbalance).settings();
        assert_eq!(
            labels(&default),
            ["baseline 2-d", "output mhe 2-d", "baseline", "output mhe"]
        );
        assert!(
            default
                .iter()
                .all(|s| s.x.is_none() && s.job.class_weighting.is_none())
        );

        let milder = config(ExperimentName::Imbalance)
            .with_imbalance_class(1)
            .with_imbalance_fractions(vec![0.05, 0.1])
            .with_reweighted_baseline(true);
        assert!(milder.check().is_ok());
        let settings = milder.settings();
        assert_eq!(settings.len(), 10);
        let reweighted = settings
            .iter()
            .find(|s| s.label == "baseline reweighted keep 0.1");
        let reweighted = reweighted.unwrap();
        assert_eq!(
            reweighted.job.class_weighting,
            Some(ClassWeighting::Balanced)
        );
        assert_eq!(reweighted.job.model.architecture, Architecture::Cnn);
        assert_eq!(reweighted.x, Some(0.1));
        let imbalance = reweighted.job.imbalance.unwrap();
        assert_eq!((imbalance.class, imbalance.fraction), (1, 0.1));
        assert_eq!(settings[2].label, "baseline keep 0.05");
        assert_eq!(settings[8].job.lambda_hidden, 0.0);

        let bad = config(ExperimentName::Imbalance).with_imbalance_fractions(vec![1.5]);
        assert!(bad.check().is_err());
        let bad = config(ExperimentName::Imbalance)
            .with_imbalance_class(10)
            .with_imbalance_fractions(vec![0.1]);
        assert!(bad.check().is_err());
    }

    #[test]
    fn orthogonality_controls_run_by_name_with_their_weights() {
        let settings = config(ExperimentName::Variants)
            .with_powers(vec!["s=2".into(), "so".into(), "srip".into()])
            .settings();
        assert_eq!(
            labels(&settings),
            ["baseline", "mhe s=2", "half-mhe s=2", "so", "srip"]
        );
        let weights = |s: &Setting| (s.job.lambda_hidden, s.job.lambda_output);
        assert_eq!(weights(&settings[3]), (0.01, 0.0));
        assert_eq!(weights(&settings[4]), (0.1, 0.0));
        assert_eq!(settings[4].mhe, MheMode::Family(burn_mhe::Objective::Srip));
        assert!(config(ExperimentName::Variants).check().is_ok());
    }

    #[test]
    fn sweeps_vary_one_thing() {
        let width = config(ExperimentName::Width).settings();
        assert_eq!(width.len(), 12);
        assert!(width.iter().all(|s| s.job.model.width == s.x.unwrap()));
        let depth = config(ExperimentName::Depth).settings();
        assert_eq!(depth.len(), 9);
        let imbalance = config(ExperimentName::Imbalance).settings();
        assert_eq!(imbalance.len(), 4);
        assert_eq!(imbalance[1].job.lambda_hidden, 0.0);
        assert_eq!(imbalance[3].job.lambda_hidden, 0.0);
        assert!(
            imbalance
                .iter()
                .all(|s| s.job.imbalance.unwrap().fraction == 0.02)
        );
        assert_eq!(imbalance[0].job.model.architecture, Architecture::Cnn2d);
        assert_eq!(imbalance[2].job.model.architecture, Architecture::Cnn);
        assert!(imbalance[..2].iter().all(|s| s.job.grad_clip == Some(5.0)));
        assert!(imbalance[2..].iter().all(|s| s.job.grad_clip.is_none()));
    }

    #[test]
    fn powers_widths_and_depths_pick_a_subset() {
        let chosen = config(ExperimentName::Variants)
            .with_powers(vec!["s=0".into(), "s=2".into(), "a2".into()])
            .settings();
        assert_eq!(
            labels(&chosen),
            [
                "baseline",
                "mhe s=0",
                "mhe s=2",
                "mhe a2",
                "half-mhe s=0",
                "half-mhe s=2",
                "half-mhe a2"
            ]
        );
        let widths = config(ExperimentName::Width)
            .with_widths(vec![0.25, 1.0])
            .settings();
        assert_eq!(widths.len(), 6);
        assert!(widths.iter().all(|s| s.job.model.depth == 2));
        let shallow = config(ExperimentName::Width)
            .with_widths(vec![4.0])
            .with_depths(vec![1])
            .settings();
        assert_eq!(
            labels(&shallow),
            ["baseline width 4", "mhe width 4", "half-mhe width 4"]
        );
        assert!(
            shallow
                .iter()
                .all(|s| s.job.model.depth == 1 && s.job.model.width == 4.0)
        );
        let depths = config(ExperimentName::Depth)
            .with_depths(vec![1])
            .settings();
        assert_eq!(
            labels(&depths),
            ["baseline depth 1", "mhe depth 1", "half-mhe depth 1"]
        );
        assert!(depths.iter().all(|s| s.job.model.depth == 1));
    }

    #[test]
    fn the_family_runs_beside_the_baseline_with_the_released_weights() {
        let settings = config(ExperimentName::Variants)
            .with_powers(vec!["s=2".into(), "mgd".into(), "mhs".into()])
            .settings();
        let rows: Vec<(&str, f64, f64)> = settings
            .iter()
            .map(|s| {
                let job = &s.job;
                (s.label.as_str(), job.lambda_hidden, job.lambda_output)
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("baseline", 1.0, 10.0),
                ("mhe s=2", 1.0, 10.0),
                ("half-mhe s=2", 1.0, 10.0),
                ("mhs", 0.1, 1.0),
                ("mgd", 0.01, 0.1),
            ]
        );
        let mgd = &settings[4].job.regularizer_config();
        assert!(mgd.hidden.as_ref().unwrap().energy.half_space);
        assert!(!mgd.output.as_ref().unwrap().energy.half_space);
        assert!(
            config(ExperimentName::Variants)
                .with_powers(vec!["s=3".into()])
                .check()
                .is_err()
        );
        assert!(
            config(ExperimentName::Width)
                .with_widths(vec![0.0])
                .check()
                .is_err()
        );
        assert!(
            config(ExperimentName::Depth)
                .with_depths(vec![1, 0])
                .check()
                .is_err()
        );
    }
}
