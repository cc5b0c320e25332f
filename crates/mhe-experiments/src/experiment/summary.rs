//! Mean and spread over seeds of each configuration, as `summary.json` and `summary.md`.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::experiment::convergence::{
    CONVERGED_TRAIN_ACCURACY_CHANGE, CONVERGED_VALID_LOSS_CHANGE, CONVERGENCE_WINDOW, Convergence,
};
use crate::experiment::paired::{PairedComparison, PairedDifferences, TTest};
use crate::experiment::plan::{ExperimentConfig, ExperimentName, Setting};
use crate::results::TrainResults;

/// Mean and sample standard deviation (0 for one value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (`n - 1` in the denominator).
    pub std: f64,
}

impl Stat {
    /// The statistics of `values` (NaN for none).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
        }
    }

    fn cell(&self, scale: f64, digits: usize) -> String {
        format!(
            "{:.digits$} ± {:.digits$}",
            self.mean * scale,
            self.std * scale
        )
    }
}

/// One configuration over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingSummary {
    /// The configuration's name.
    pub label: String,
    /// `baseline`, `mhe`, `half-mhe` or another objective's name (`so`, `mma`, ...).
    pub mode: String,
    /// Width or depth, for the sweeps over them.
    pub x: Option<f64>,
    /// Seeds run.
    pub runs: usize,
    /// Test accuracy (fraction).
    pub test_accuracy: Stat,
    /// Training accuracy of the last epoch (fraction; the running mean over that epoch).
    pub train_accuracy: Stat,
    /// The train-test gap: last-epoch training accuracy minus test accuracy (fraction).
    pub generalization_gap: Stat,
    /// Test error, `1 - accuracy` (fraction).
    pub test_error: Stat,
    /// Mean of the per-class test accuracies (fraction).
    pub balanced_accuracy: Stat,
    /// Final sum of hidden-layer energies (unweighted).
    pub hidden_energy: Stat,
    /// Final output-layer energy (unweighted).
    pub output_energy: Stat,
    /// Training time in seconds.
    pub wall_seconds: Stat,
    /// Mean test accuracy of each class over the seeds.
    pub per_class_accuracy: Vec<Option<f64>>,
    /// The thinned-out class of an imbalanced training split.
    pub rare_class: Option<RareClass>,
    /// This configuration against its baseline, seed by seed (`None` for a baseline).
    pub vs_baseline: Option<PairedComparison>,
    /// Its train-test gap against the baseline's, seed by seed (`None` for a baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_vs_baseline: Option<PairedDifferences>,
    /// How many runs pass the convergence check (`None` for runs too short to check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence: Option<Convergence>,
}

/// How a configuration treats the class thinned out of its training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RareClass {
    /// The class.
    pub class: usize,
    /// Its test recall (fraction).
    pub recall: Stat,
    /// The angle in degrees from its classifier neuron to the nearest other class's neuron.
    pub nearest_neuron_deg: Stat,
    /// Its recall against the baseline's, seed by seed (`None` for a baseline): the
    /// differences of recall, and McNemar's test on the class's test items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<PairedComparison>,
    /// Its classifier neuron's length and bias beside the other classes' (`None` where a run
    /// predates their record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neuron: Option<RareNeuron>,
}

/// The rare class's classifier neuron against the other classes' neurons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RareNeuron {
    /// Its length.
    pub norm: Stat,
    /// The mean length of the other classes' neurons.
    pub others_norm: Stat,
    /// Its bias.
    pub bias: Stat,
    /// The mean bias of the other classes.
    pub others_bias: Stat,
}

impl RareNeuron {
    /// The rare `class`'s neuron over `runs`; `None` unless every run recorded its classifier's
    /// norms and biases.
    fn of(class: usize, runs: &[TrainResults]) -> Option<Self> {
        let recorded = |r: &TrainResults| {
            r.classifier_norms.len() > class && r.classifier_biases.len() > class
        };
        if !runs.iter().all(recorded) {
            return None;
        }
        let own = |values: fn(&TrainResults) -> &Vec<f64>| {
            Stat::of(&runs.iter().map(|r| values(r)[class]).collect::<Vec<_>>())
        };
        let others = |values: fn(&TrainResults) -> &Vec<f64>| {
            let mean = |r: &TrainResults| {
                let all = values(r);
                (all.iter().sum::<f64>() - all[class]) / (all.len() - 1) as f64
            };
            Stat::of(&runs.iter().map(mean).collect::<Vec<_>>())
        };
        Some(Self {
            norm: own(|r| &r.classifier_norms),
            others_norm: others(|r| &r.classifier_norms),
            bias: own(|r| &r.classifier_biases),
            others_bias: others(|r| &r.classifier_biases),
        })
    }
}

impl SettingSummary {
    /// Whether its energy columns hold MHE's energy (the baseline's measured one, MHE's or
    /// half-space MHE's) rather than another objective's own loss.
    pub fn energy_is_mhe(&self) -> bool {
        ["baseline", "mhe", "half-mhe"].contains(&self.mode.as_str())
    }

    /// The summary of the runs of one configuration (at least one), seed by seed, with its
    /// comparisons with the baseline in test accuracy, in the rare class's recall (for an
    /// imbalanced training split) and in the train-test gap (`None` for a baseline).
    pub fn of(
        setting: &Setting,
        runs: &[TrainResults],
        vs_baseline: Option<PairedComparison>,
        rare_recall_vs_baseline: Option<PairedComparison>,
        gap_vs_baseline: Option<PairedDifferences>,
    ) -> Self {
        let stat =
            |f: &dyn Fn(&TrainResults) -> f64| Stat::of(&runs.iter().map(f).collect::<Vec<_>>());
        let classes = runs[0].per_class_accuracy.len();
        let per_class = (0..classes)
            .map(|c| {
                let values: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r.per_class_accuracy[c])
                    .collect();
                (!values.is_empty()).then(|| Stat::of(&values).mean)
            })
            .collect();
        let balanced = |r: &TrainResults| {
            let present: Vec<f64> = r.per_class_accuracy.iter().flatten().copied().collect();
            present.iter().sum::<f64>() / present.len() as f64
        };
        let rare_class = setting.job.imbalance.map(|imbalance| {
            let class = imbalance.class;
            RareClass {
                class,
                recall: stat(&|r| r.per_class_accuracy[class].unwrap_or(f64::NAN)),
                nearest_neuron_deg: stat(&|r| {
                    r.classifier_nearest_angles
                        .get(class)
                        .copied()
                        .unwrap_or(f64::NAN)
                }),
                vs_baseline: rare_recall_vs_baseline,
                neuron: RareNeuron::of(class, runs),
            }
        });
        Self {
            label: setting.label.clone(),
            mode: setting.mhe.name().to_string(),
            x: setting.x,
            runs: runs.len(),
            test_accuracy: stat(&|r| r.test_accuracy),
            train_accuracy: stat(&TrainResults::last_train_accuracy),
            generalization_gap: stat(&TrainResults::generalization_gap),
            test_error: stat(&|r| 1.0 - r.test_accuracy),
            balanced_accuracy: stat(&balanced),
            hidden_energy: stat(&|r| r.hidden_energy),
            output_energy: stat(&|r| r.output_energy),
            wall_seconds: stat(&|r| r.wall_seconds),
            per_class_accuracy: per_class,
            rare_class,
            vs_baseline,
            gap_vs_baseline,
            convergence: Convergence::of(runs),
        }
    }
}

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSummary {
    /// The experiment and its sizes.
    pub config: ExperimentConfig,
    /// The device it ran on.
    pub device: String,
    /// Items in the training, validation and test splits of the first run.
    pub split_sizes: [usize; 3],
    /// One entry per configuration, in sweep order.
    pub settings: Vec<SettingSummary>,
    /// The figures written, relative to the output folder.
    pub figures: Vec<String>,
    /// Training time of all its runs in seconds (as they were trained, also when reused).
    pub wall_seconds: f64,
}

/// The table of `compared` configurations (label and comparison): mean difference in points,
/// its 95% interval, the t-test, Wilcoxon and per-seed McNemar p-values, the differences.
fn comparison_rows(text: &mut String, compared: &[(&str, &PairedComparison)]) {
    text.push_str(
        "| configuration | baseline | difference (points) | 95% CI | t-test p | Wilcoxon p | \
         McNemar p per seed | per-seed differences |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (label, c) in compared {
        let mcnemar: Vec<String> = c.mcnemar.iter().map(|m| p(Some(m.p_value))).collect();
        let differences: Vec<String> = c.differences.iter().map(|&d| points(d)).collect();
        let _ = writeln!(
            text,
            "| {label} | {} | {} | {} | {} | {} | {} | {} |",
            c.baseline,
            points(c.mean_difference),
            interval(c.t_test),
            p(c.t_test.map(|t| t.p_value)),
            p(c.wilcoxon_p),
            mcnemar.join(", "),
            differences.join(", ")
        );
    }
}

/// Percentage points with a sign, from a fraction.
pub(super) fn points(fraction: f64) -> String {
    format!("{:+.2}", 100.0 * fraction)
}

/// A p-value as a summary prints it (`-` where there is none).
fn p(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.3}"))
}

/// A t-test's 95% interval in points (`-` without a t-test).
fn interval(t_test: Option<TTest>) -> String {
    t_test.map_or("-".into(), |t| {
        format!("[{}, {}]", points(t.ci95[0]), points(t.ci95[1]))
    })
}

/// A `summary.json` as JSON with its configuration's missing fields set to their defaults, that
/// configuration and the device named.
fn read_sweep(path: &Path) -> Result<(serde_json::Value, ExperimentConfig, String), JobError> {
    let corrupt = |message: String| JobError::corrupt(path.to_path_buf(), message);
    let mut json: serde_json::Value = burn_mhe_train::read_json(path)?;
    let field = |json: &serde_json::Value, name: &str| json["config"][name].clone();
    let name: ExperimentName =
        serde_json::from_value(field(&json, "name")).map_err(|e| corrupt(e.to_string()))?;
    let dataset =
        serde_json::from_value(field(&json, "dataset")).map_err(|e| corrupt(e.to_string()))?;
    let defaults = serde_json::to_value(ExperimentConfig::new(name, dataset))
        .expect("configurations serialize");
    let config = json["config"]
        .as_object_mut()
        .ok_or_else(|| corrupt("no configuration".into()))?;
    for (field, value) in defaults.as_object().expect("a configuration is an object") {
        config.entry(field).or_insert(value.clone());
    }
    let config: ExperimentConfig =
        serde_json::from_value(json["config"].clone()).map_err(|e| corrupt(e.to_string()))?;
    let device = json["device"]
        .as_str()
        .ok_or_else(|| corrupt("no device".into()))?
        .to_string();
    Ok((json, config, device))
}

/// `5 seed(s)`, or `5 seed(s) (5-9)` for seeds that do not start at 0.
fn seed_range(seeds: usize, first_seed: usize) -> String {
    if first_seed == 0 {
        format!("{seeds} seed(s)")
    } else {
        format!("{seeds} seed(s) ({first_seed}-{})", first_seed + seeds - 1)
    }
}

impl ExperimentSummary {
    /// Reads a `summary.json`. Fields added to the configuration since it was written take
    /// their defaults (e.g. seeds from 0 before `--first-seed`).
    ///
    /// # Errors
    /// The file is missing or is not a summary.
    pub fn read(path: &Path) -> Result<Self, JobError> {
        let (json, _, _) = read_sweep(path)?;
        serde_json::from_value(json)
            .map_err(|e| JobError::corrupt(path.to_path_buf(), e.to_string()))
    }

    /// The configuration and device a `summary.json` names, also from a summary written before
    /// fields were added to it (which [`read`](Self::read) refuses): what a sweep is redrawn
    /// from.
    ///
    /// # Errors
    /// The file is missing or names no configuration or device.
    pub fn read_sweep(path: &Path) -> Result<(ExperimentConfig, String), JobError> {
        let (_, config, device) = read_sweep(path)?;
        Ok((config, device))
    }

    /// The summary as a Markdown page.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let mut text = format!(
            "# Experiment `{}`\n\n{:?} ({} train / {} valid / {} test items), {} epochs of batch {} \
             (learning rate / 10 every {} epochs), {}, device {}, {:.0} s of training in \
             all.\n\n",
            serde_json::to_value(c.name)
                .expect("names serialize")
                .as_str()
                .unwrap_or("?"),
            c.dataset,
            self.split_sizes[0],
            self.split_sizes[1],
            self.split_sizes[2],
            c.epochs,
            c.batch_size,
            c.lr_step_epochs.unwrap_or(c.epochs.div_ceil(2)),
            seed_range(c.seeds, c.first_seed),
            self.device,
            self.wall_seconds
        );
        text.push_str(
            "| configuration | test accuracy (%) | test error (%) | train accuracy (%) | \
             train-test gap (points) | hidden energy | output energy | train time (s) |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for s in &self.settings {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                s.label,
                s.test_accuracy.cell(100.0, 2),
                s.test_error.cell(100.0, 2),
                s.train_accuracy.cell(100.0, 2),
                s.generalization_gap.cell(100.0, 2),
                s.hidden_energy.cell(1.0, 4),
                s.output_energy.cell(1.0, 4),
                s.wall_seconds.cell(1.0, 1)
            );
        }
        text.push_str("\nMean ± sample standard deviation over seeds. Train accuracy is the last ");
        text.push_str(
            "epoch's running mean over its batches; the gap is it minus test accuracy. Energies \
             are unweighted, under each configuration's own energy (half-space energies for \
             half-mhe).\n",
        );
        let others: Vec<&str> = self
            .settings
            .iter()
            .filter(|s| !s.energy_is_mhe())
            .map(|s| s.mode.as_str())
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                text,
                "The energy columns of the objectives other than MHE ({}) hold each one's own \
                 loss (docs/objectives.md), not MHE.",
                others.join(", ")
            );
        }
        self.convergence_table(&mut text);
        self.paired_table(&mut text);
        self.gap_table(&mut text);
        self.rare_class_table(&mut text);
        self.rare_recall_table(&mut text);
        if self.config.name == crate::experiment::ExperimentName::Imbalance {
            text.push_str("\n## Test accuracy per class (%)\n\n| configuration |");
            let classes = self.settings[0].per_class_accuracy.len();
            (0..classes).for_each(|c| {
                let _ = write!(text, " {c} |");
            });
            text.push_str("\n|---|");
            text.push_str(&"---|".repeat(classes));
            for s in &self.settings {
                let _ = write!(text, "\n| {} |", s.label);
                for a in &s.per_class_accuracy {
                    let _ = match a {
                        Some(a) => write!(text, " {:.1} |", 100.0 * a),
                        None => write!(text, " - |"),
                    };
                }
            }
            text.push('\n');
        }
        if !self.figures.is_empty() {
            text.push_str("\n## Figures\n\n");
            for figure in self.figures.iter().filter(|f| f.ends_with(".png")) {
                let _ = writeln!(text, "![{figure}]({figure})\n");
            }
        }
        text
    }
}

impl ExperimentSummary {
    /// Each configuration against its baseline, paired by seed.
    fn paired_table(&self, text: &mut String) {
        let compared: Vec<(&str, &PairedComparison)> = self
            .settings
            .iter()
            .filter_map(|s| Some((s.label.as_str(), s.vs_baseline.as_ref()?)))
            .collect();
        if compared.is_empty() {
            return;
        }
        text.push_str("\n## Against the baseline, paired by seed\n\n");
        comparison_rows(text, &compared);
        text.push_str(
            "\nDifferences are test accuracy minus the baseline's on the same seed (same split, \
             initial weights and batch order). The t-interval and t-test assume normal \
             differences; the Wilcoxon p-value is exact (with n seeds it cannot go below \
             2 / 2^n: 0.0625 for 5 seeds); McNemar's exact test compares the two models' \
             errors on the same test items, one seed at a time.\n",
        );
    }

    /// The train-test gap against the baseline's, seed by seed: a regularizer narrows it.
    fn gap_table(&self, text: &mut String) {
        let compared: Vec<(&SettingSummary, &PairedDifferences)> = self
            .settings
            .iter()
            .filter_map(|s| Some((s, s.gap_vs_baseline.as_ref()?)))
            .collect();
        if compared.is_empty() {
            return;
        }
        text.push_str(
            "\n## The train-test gap against the baseline, paired by seed\n\n\
             | configuration | difference (points) | 95% CI | t-test p | Wilcoxon p |\n\
             |---|---|---|---|---|\n",
        );
        for (setting, gap) in compared {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                setting.label,
                points(gap.mean_difference),
                interval(gap.t_test),
                p(gap.t_test.map(|t| t.p_value)),
                p(gap.wilcoxon_p)
            );
        }
        text.push_str(
            "\nThe gap is the last epoch's training accuracy minus test accuracy; a negative \
             difference is a narrower gap than the baseline's on the same seed.\n",
        );
    }

    /// The rare class's recall against the baseline's, seed by seed.
    fn rare_recall_table(&self, text: &mut String) {
        let compared: Vec<(&str, &PairedComparison)> = self
            .settings
            .iter()
            .filter_map(|s| {
                Some((
                    s.label.as_str(),
                    s.rare_class.as_ref()?.vs_baseline.as_ref()?,
                ))
            })
            .collect();
        if compared.is_empty() {
            return;
        }
        text.push_str("\n## The rare class's recall against the baseline, paired by seed\n\n");
        comparison_rows(text, &compared);
        text.push_str(
            "\nDifferences are the rare class's test recall minus the baseline's on the same \
             seed; McNemar's test compares the two models on that class's test items.\n",
        );
    }

    /// The runs of each configuration that pass the convergence check, where runs are long
    /// enough for it.
    fn convergence_table(&self, text: &mut String) {
        if self.settings.iter().all(|s| s.convergence.is_none()) {
            return;
        }
        let _ = write!(
            text,
            "\n## Convergence\n\nA run is converged when, over its last {CONVERGENCE_WINDOW} \
             epochs, training accuracy changes by less than {} points and validation loss by \
             less than {}.\n\n| configuration | converged runs | not converged (seeds) |\n\
             |---|---|---|\n",
            100.0 * CONVERGED_TRAIN_ACCURACY_CHANGE,
            CONVERGED_VALID_LOSS_CHANGE
        );
        for s in &self.settings {
            if let Some(check) = &s.convergence {
                let failed: Vec<String> = check.failed_seeds.iter().map(u64::to_string).collect();
                let failed = match failed.is_empty() {
                    true => "-".to_string(),
                    false => failed.join(", "),
                };
                let _ = writeln!(
                    text,
                    "| {} | {} of {} | {failed} |",
                    s.label, check.passed, s.runs
                );
            }
        }
    }

    /// Recall of the thinned-out class and its classifier neuron's nearest angle, and, where
    /// every run recorded them, its neuron's length and bias beside the other classes'.
    fn rare_class_table(&self, text: &mut String) {
        let rare: Vec<_> = self
            .settings
            .iter()
            .filter_map(|s| s.rare_class.as_ref().map(|rare| (s, rare)))
            .collect();
        if rare.is_empty() {
            return;
        }
        let with_neuron = rare.iter().all(|(_, rare)| rare.neuron.is_some());
        text.push_str(
            "\n## The rare class\n\n| configuration | class | recall (%) | balanced accuracy (%) | \
             nearest classifier neuron (degrees) |",
        );
        match with_neuron {
            true => text.push_str(
                " neuron length | others' mean length | bias | others' mean bias |\n\
                 |---|---|---|---|---|---|---|---|---|\n",
            ),
            false => text.push_str("\n|---|---|---|---|---|\n"),
        }
        for (s, rare) in rare {
            let _ = write!(
                text,
                "| {} | {} | {} | {} | {} |",
                s.label,
                rare.class,
                rare.recall.cell(100.0, 2),
                s.balanced_accuracy.cell(100.0, 2),
                rare.nearest_neuron_deg.cell(1.0, 1)
            );
            if let Some(neuron) = rare.neuron.as_ref().filter(|_| with_neuron) {
                let _ = write!(
                    text,
                    " {} | {} | {} | {} |",
                    neuron.norm.cell(1.0, 3),
                    neuron.others_norm.cell(1.0, 3),
                    neuron.bias.cell(1.0, 3),
                    neuron.others_bias.cell(1.0, 3)
                );
            }
            text.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_mean_and_sample_deviation() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(
            Stat::of(&[7.0]),
            Stat {
                mean: 7.0,
                std: 0.0
            }
        );
        assert_eq!(Stat::of(&[0.25, 0.75]).cell(100.0, 1), "50.0 ± 35.4");
    }
}
