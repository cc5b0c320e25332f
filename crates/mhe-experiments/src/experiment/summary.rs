//! Mean and spread over seeds of each configuration, as `summary.json` and `summary.md`.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::experiment::paired::PairedComparison;
use crate::experiment::plan::{ExperimentConfig, Setting};
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
    /// `baseline`, `mhe` or `half-mhe`.
    pub mode: String,
    /// Width or depth, for the sweeps over them.
    pub x: Option<f64>,
    /// Seeds run.
    pub runs: usize,
    /// Test accuracy (fraction).
    pub test_accuracy: Stat,
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
}

impl SettingSummary {
    /// The summary of the runs of one configuration (at least one), seed by seed.
    pub fn of(
        setting: &Setting,
        runs: &[TrainResults],
        vs_baseline: Option<PairedComparison>,
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
            }
        });
        Self {
            label: setting.label.clone(),
            mode: setting.mhe.name().to_string(),
            x: setting.x,
            runs: runs.len(),
            test_accuracy: stat(&|r| r.test_accuracy),
            test_error: stat(&|r| 1.0 - r.test_accuracy),
            balanced_accuracy: stat(&balanced),
            hidden_energy: stat(&|r| r.hidden_energy),
            output_energy: stat(&|r| r.output_energy),
            wall_seconds: stat(&|r| r.wall_seconds),
            per_class_accuracy: per_class,
            rare_class,
            vs_baseline,
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

/// `5 seed(s)`, or `5 seed(s) (5-9)` for seeds that do not start at 0.
fn seed_range(seeds: usize, first_seed: usize) -> String {
    if first_seed == 0 {
        format!("{seeds} seed(s)")
    } else {
        format!("{seeds} seed(s) ({first_seed}-{})", first_seed + seeds - 1)
    }
}

impl ExperimentSummary {
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
            "| configuration | test accuracy (%) | test error (%) | hidden energy | output energy | train time (s) |\n\
             |---|---|---|---|---|---|\n",
        );
        for s in &self.settings {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} |",
                s.label,
                s.test_accuracy.cell(100.0, 2),
                s.test_error.cell(100.0, 2),
                s.hidden_energy.cell(1.0, 4),
                s.output_energy.cell(1.0, 4),
                s.wall_seconds.cell(1.0, 1)
            );
        }
        text.push_str("\nMean ± sample standard deviation over seeds. Energies are unweighted, ");
        text.push_str(
            "under each configuration's own energy (half-space energies for half-mhe).\n",
        );
        let mhe_modes = ["baseline", "mhe", "half-mhe"];
        if self
            .settings
            .iter()
            .any(|s| !mhe_modes.contains(&s.mode.as_str()))
        {
            text.push_str(
                "The energy columns of the family's objectives (mma, mhs, mgd, mhp, mhc, r-mhp) \
                 hold each objective's own loss (docs/objectives.md), not MHE.\n",
            );
        }
        self.paired_table(&mut text);
        self.rare_class_table(&mut text);
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
        let compared: Vec<(&SettingSummary, &PairedComparison)> = self
            .settings
            .iter()
            .filter_map(|s| Some((s, s.vs_baseline.as_ref()?)))
            .collect();
        if compared.is_empty() {
            return;
        }
        text.push_str(
            "\n## Against the baseline, paired by seed\n\n\
             | configuration | baseline | difference (points) | 95% CI | t-test p | Wilcoxon p | \
             McNemar p per seed | per-seed differences |\n|---|---|---|---|---|---|---|---|\n",
        );
        let points = |v: f64| format!("{:+.2}", 100.0 * v);
        let p = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
        for (setting, c) in compared {
            let ci = c.t_test.map_or("-".into(), |t| {
                format!("[{}, {}]", points(t.ci95[0]), points(t.ci95[1]))
            });
            let mcnemar: Vec<String> = c.mcnemar.iter().map(|m| p(Some(m.p_value))).collect();
            let differences: Vec<String> = c.differences.iter().map(|&d| points(d)).collect();
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                setting.label,
                c.baseline,
                points(c.mean_difference),
                ci,
                p(c.t_test.map(|t| t.p_value)),
                p(c.wilcoxon_p),
                mcnemar.join(", "),
                differences.join(", ")
            );
        }
        text.push_str(
            "\nDifferences are test accuracy minus the baseline's on the same seed (same split, \
             initial weights and batch order). The t-interval and t-test assume normal \
             differences; the Wilcoxon p-value is exact (with n seeds it cannot go below \
             2 / 2^n: 0.0625 for 5 seeds); McNemar's exact test compares the two models' \
             errors on the same test items, one seed at a time.\n",
        );
    }

    /// Recall of the thinned-out class and its classifier neuron's nearest angle.
    fn rare_class_table(&self, text: &mut String) {
        if self.settings.iter().all(|s| s.rare_class.is_none()) {
            return;
        }
        text.push_str(
            "\n## The rare class\n\n| configuration | class | recall (%) | balanced accuracy (%) | \
             nearest classifier neuron (degrees) |\n|---|---|---|---|---|\n",
        );
        for s in &self.settings {
            if let Some(rare) = &s.rare_class {
                let _ = writeln!(
                    text,
                    "| {} | {} | {} | {} | {} |",
                    s.label,
                    rare.class,
                    rare.recall.cell(100.0, 2),
                    s.balanced_accuracy.cell(100.0, 2),
                    rare.nearest_neuron_deg.cell(1.0, 1)
                );
            }
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
