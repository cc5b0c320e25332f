//! The paper's experiments as sweeps of training runs: `mhe experiment <name>`.
//!
//! Each configuration runs once per seed into `OUT/runs/<configuration>-seed<k>/`. Seed `k`
//! fixes the validation split, the initial weights and every epoch's batch order, so the
//! configurations of a sweep differ only in their regularizer (paired runs). A folder that
//! already holds the same run is reused (its `results.json` and `predictions.json`, which is all
//! that needs to be committed) or resumed, so an interrupted sweep continues where it stopped,
//! also on another machine. Then `OUT/summary.json`, `OUT/summary.md` and the figures (PNG and
//! SVG) are written.

mod adopt;
mod convergence;
mod drawing;
mod figures;
mod page;
mod page_tests;
mod paired;
mod plan;
mod summary;

use std::path::{Path, PathBuf};

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use burn_mhe::LayerRole;
use serde::{Deserialize, Serialize};

pub use adopt::adopt_runs;
use burn_mhe::pairwise_angles;
pub use convergence::{
    CONVERGED_TRAIN_ACCURACY_CHANGE, CONVERGED_VALID_LOSS_CHANGE, CONVERGENCE_WINDOW, Convergence,
};
pub use figures::{
    FeatureFigure, FeaturePanel, Figure, HistogramFigure, HistogramPanel, LineFigure, LinePanel,
    Series, angle_histogram, save,
};
pub use page::{render_page, render_quotes};
pub use paired::{McNemar, PairedComparison, PairedDifferences, TTest, wilcoxon_signed_rank};
use plan::baseline_of;
pub use plan::{ExperimentConfig, ExperimentName, Setting, slug};
pub use summary::{ExperimentSummary, RareClass, RareNeuron, SettingSummary, Stat};

use drawing::draw_figures;

use crate::batcher::ImageBatcher;
use crate::data::Subset;
use crate::error::JobError;
use crate::evaluate::Predictions;
use crate::host::host_values;
use crate::job::{TrainJobConfig, TrainedRun, read_finished};
use crate::results::{JobFiles, TrainResults};
use burn_mhe_train::FolderLock;
use burn_mhe_train::write_atomically;
use burn_mhe_train::{RunFolder, read_json};

/// Which configurations of a sweep are drawn in its curves and angle figures: the released
/// three of the variants; width 1 or depth 2, or, in a sweep without it, its widest or deepest
/// networks; every configuration of the imbalance experiment; the baseline, MHE and
/// half-space MHE at the released weights, SO, SRIP and both OPTs of the controls.
fn headlines(settings: &[Setting], name: ExperimentName) -> Vec<bool> {
    let preferred = match name {
        ExperimentName::Width => Some(1.0),
        ExperimentName::Depth => Some(2.0),
        ExperimentName::Variants | ExperimentName::Imbalance | ExperimentName::Controls => None,
    };
    let xs: Vec<f64> = settings.iter().filter_map(|setting| setting.x).collect();
    let drawn_x = preferred
        .filter(|x| xs.contains(x))
        .or_else(|| xs.iter().copied().reduce(f64::max));
    settings
        .iter()
        .map(|setting| match name {
            ExperimentName::Variants => {
                ["baseline", "mhe s=2", "half-mhe s=2"].contains(&setting.label.as_str())
            }
            ExperimentName::Width | ExperimentName::Depth => setting.x == drawn_x,
            ExperimentName::Imbalance => true,
            ExperimentName::Controls => [
                "baseline",
                "mhe x1",
                "half-mhe x1",
                "so",
                "srip",
                "opt",
                "opt hidden",
            ]
            .contains(&setting.label.as_str()),
        })
        .collect()
}

/// What the figures need of a configuration's first seed; saved as `figure-data.json` in its
/// run folder so that a sweep reusing committed runs draws the same figures without the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    label: String,
    /// Pairwise angles of the last conv layer and of the classifier, in degrees.
    conv_angles: Vec<f64>,
    classifier_angles: Vec<f64>,
    /// The 2-D features of the test split and the classifier neurons (2-D models only).
    features: Option<FeaturePanel>,
}

/// One finished run of a sweep.
struct FinishedRun {
    results: TrainResults,
    predictions: Predictions,
    sample: Option<Sample>,
}

/// Runs every configuration of `config` for every seed on `device` into `out`, and writes the
/// summary and figures. Every configuration is checked before anything trains; `out` is held
/// ([`FolderLock`]) until the summary is written.
pub fn run_experiment(
    config: &ExperimentConfig,
    out: &Path,
    device: &Device,
) -> Result<ExperimentSummary, JobError> {
    check_sizes(config)?;
    config.dataset.folder(config.data_dir.as_deref())?;
    let settings = config.settings();
    for setting in &settings {
        setting.job.check()?;
    }
    let _lock = FolderLock::acquire(out)?;
    let total = settings.len() * config.seeds;
    let headlines = headlines(&settings, config.name);
    // Seed by seed: a sweep stopped part way leaves whole seeds, every configuration paired.
    let mut finished: Vec<Vec<FinishedRun>> = settings.iter().map(|_| Vec::new()).collect();
    for (done_here, seed) in seeds(config).enumerate() {
        for (index, setting) in settings.iter().enumerate() {
            let job = setting.job.clone().with_seed(seed as u64);
            let run = run_folder(out, setting, seed);
            let wants_sample = done_here == 0 && headlines[index];
            let outcome = run_or_reuse(&job, &run, &setting.label, wants_sample, device)?;
            let done = done_here * settings.len() + index + 1;
            println!(
                "[{done}/{total}] {} seed {seed}: test accuracy {:.4}, {:.1} s",
                setting.label, outcome.results.test_accuracy, outcome.results.wall_seconds
            );
            finished[index].push(outcome);
        }
    }
    write_summary(
        config,
        format!("{device:?}"),
        out,
        &settings,
        &finished,
        &headlines,
    )
}

/// Redraws the figures of the finished sweep in `out` and rewrites its `summary.json` and
/// `summary.md` from its committed runs, as on a fresh clone: nothing trains, and the
/// configuration and device are the committed summary's. The angle figure draws the
/// configurations whose first run kept its figure data (`figure-data.json`) and is left out
/// (its old files deleted) where none did; only `mhe experiment`, which trains those runs again,
/// makes it for them. `out` is held ([`FolderLock`]) meanwhile.
///
/// A summary written before fields were added to it is rewritten with them.
///
/// # Errors
/// No or a damaged `summary.json`, one naming no seed or epoch, or a run that is missing, of
/// another configuration, or whose files are damaged, named.
pub fn redraw_experiment(out: &Path) -> Result<ExperimentSummary, JobError> {
    let (config, device) = ExperimentSummary::read_sweep(&out.join("summary.json"))?;
    check_sizes(&config)?;
    let settings = config.settings();
    let headlines = headlines(&settings, config.name);
    let _lock = FolderLock::acquire(out)?;
    let finished = reuse_sweep(&config, out, &settings, &headlines)?;
    write_summary(&config, device, out, &settings, &finished, &headlines)
}

/// `Ok` for a sweep of at least one seed and one epoch whose sizes [`ExperimentConfig::check`]
/// accepts.
fn check_sizes(config: &ExperimentConfig) -> Result<(), JobError> {
    if config.seeds == 0 || config.epochs == 0 {
        return Err(JobError::invalid_config(
            "seeds and epochs must be at least 1".into(),
        ));
    }
    config.check().map_err(JobError::invalid_config)
}

/// Summarizes the finished runs of a sweep, draws its figures and writes `summary.json` and
/// `summary.md` into `out`. `finished[k]` holds the runs of `settings[k]`, one per seed;
/// `headlines[k]` says whether `settings[k]` is drawn.
fn write_summary(
    config: &ExperimentConfig,
    device: String,
    out: &Path,
    settings: &[Setting],
    finished: &[Vec<FinishedRun>],
    headlines: &[bool],
) -> Result<ExperimentSummary, JobError> {
    let summaries = summarize(settings, finished);
    let histories: Vec<(String, Vec<TrainResults>)> = settings
        .iter()
        .zip(finished)
        .zip(headlines)
        .filter(|(_, drawn)| **drawn)
        .map(|((setting, runs), _)| {
            let results = runs.iter().map(|r| r.results.clone()).collect();
            (setting.label.clone(), results)
        })
        .collect();
    // Named by this sweep: a run adopted from another sweep kept that sweep's label.
    let samples: Vec<Sample> = settings
        .iter()
        .zip(finished)
        .filter_map(|(setting, runs)| {
            let sample = runs[0].sample.clone()?;
            Some(Sample {
                label: setting.label.clone(),
                ..sample
            })
        })
        .collect();
    let figures = draw_figures(config, out, &summaries, &histories, &samples)?;
    let summary = ExperimentSummary {
        config: config.clone(),
        device,
        split_sizes: finished[0][0].results.split_sizes,
        settings: summaries,
        figures: figures
            .iter()
            .filter_map(|p| p.strip_prefix(out).ok())
            .map(|p| p.display().to_string())
            .collect(),
        wall_seconds: finished
            .iter()
            .flatten()
            .map(|run| run.results.wall_seconds)
            .sum(),
    };
    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    write_atomically(&out.join("summary.json"), &json)?;
    write_atomically(&out.join("summary.md"), &summary.markdown())?;
    Ok(summary)
}

/// The summary of each configuration of a sweep from its finished runs (`finished[k]`: the
/// runs of `settings[k]`, one per seed), each compared with its baseline seed by seed: in test
/// accuracy, in the train-test gap and, for an imbalanced training split, in the rare class's
/// recall.
fn summarize(settings: &[Setting], finished: &[Vec<FinishedRun>]) -> Vec<SettingSummary> {
    settings
        .iter()
        .zip(finished)
        .map(|(setting, runs)| {
            let results: Vec<TrainResults> = runs.iter().map(|r| r.results.clone()).collect();
            let baseline = baseline_of(setting, settings);
            let compare = |scores: &dyn Fn(&[FinishedRun]) -> Vec<SeedScore>| {
                baseline.map(|b| {
                    PairedComparison::of(&settings[b].label, &scores(runs), &scores(&finished[b]))
                })
            };
            let accuracy = compare(&|runs| {
                runs.iter()
                    .map(|r| (r.results.test_accuracy, r.predictions.correct()))
                    .collect()
            });
            let rare_recall = setting
                .job
                .imbalance
                .and_then(|imbalance| compare(&|runs| rare_class_scores(runs, imbalance.class)));
            let gap = baseline.map(|b| {
                let gaps = |runs: &[FinishedRun]| -> Vec<f64> {
                    runs.iter()
                        .map(|r| r.results.generalization_gap())
                        .collect()
                };
                PairedDifferences::of(&gaps(runs), &gaps(&finished[b]))
            });
            SettingSummary::of(setting, &results, accuracy, rare_recall, gap)
        })
        .collect()
}

/// One seed's score (test accuracy, or a class's recall) and whether each item it counts was
/// classified correctly.
type SeedScore = (f64, Vec<bool>);

/// Each run's recall of `class` on the test split and whether each test item of that class was
/// classified correctly.
fn rare_class_scores(runs: &[FinishedRun], class: usize) -> Vec<SeedScore> {
    runs.iter()
        .map(|r| {
            let of_class: Vec<bool> = (r.predictions.labels.iter().zip(r.predictions.correct()))
                .filter(|(label, _)| **label == class)
                .map(|(_, correct)| correct)
                .collect();
            let recall = of_class.iter().filter(|c| **c).count() as f64 / of_class.len() as f64;
            (recall, of_class)
        })
        .collect()
}

/// The summaries of the sweep `config` from the finished runs in `out`, as committed: every
/// run read and checked as a sweep reuses it, nothing trained. What `summary.json` holds of
/// them must equal this (a test recomputes every committed summary).
///
/// # Errors
/// A run that is missing, of another configuration, or whose files are damaged, named.
pub fn summarize_runs(
    config: &ExperimentConfig,
    out: &Path,
) -> Result<Vec<SettingSummary>, JobError> {
    let settings = config.settings();
    let finished = reuse_sweep(config, out, &settings, &vec![false; settings.len()])?;
    Ok(summarize(&settings, &finished))
}

/// Every finished run of the sweep `config` in `out`, read and checked as a sweep reuses it;
/// the first run of each configuration `drawn` also with its figure data where it kept some.
fn reuse_sweep(
    config: &ExperimentConfig,
    out: &Path,
    settings: &[Setting],
    drawn: &[bool],
) -> Result<Vec<Vec<FinishedRun>>, JobError> {
    settings
        .iter()
        .zip(drawn)
        .map(|(setting, drawn)| {
            seeds(config)
                .enumerate()
                .map(|(done_here, seed)| {
                    let run = run_folder(out, setting, seed);
                    check_same_job(&setting.job.clone().with_seed(seed as u64), &run)?;
                    let kept = done_here == 0 && *drawn && sample_file(&run).is_file();
                    reuse(&run, kept)
                })
                .collect()
        })
        .collect()
}

/// The seeds a sweep runs.
fn seeds(config: &ExperimentConfig) -> std::ops::Range<usize> {
    config.first_seed..config.first_seed + config.seeds
}

/// The run folder of `setting` and `seed` in the sweep folder `out`.
fn run_folder(out: &Path, setting: &Setting, seed: usize) -> RunFolder {
    RunFolder::new(
        out.join("runs")
            .join(format!("{}-seed{seed}", slug(&setting.label))),
    )
}

/// `Ok` if `run`'s `config.json` is `job`'s ([`RunFolder::holds`]); a folder of another
/// configuration, or without one, is an error.
fn check_same_job(job: &TrainJobConfig, run: &RunFolder) -> Result<(), JobError> {
    match run.holds(&run.config(), job)? {
        true => Ok(()),
        false => Err(JobError::invalid_config(format!(
            "{} holds no run (no config.json)",
            run.root().display()
        ))),
    }
}

/// The file of a run's figure data.
fn sample_file(run: &RunFolder) -> PathBuf {
    run.root().join("figure-data.json")
}

/// Reuses the finished run in `run` (its `results.json`, `predictions.json` and figure data,
/// checked), or trains, resumes and finishes it: a run whose finished files are damaged is
/// named and trained again, never summarized. A folder holding another configuration is an
/// error.
fn run_or_reuse(
    job: &TrainJobConfig,
    run: &RunFolder,
    label: &str,
    wants_sample: bool,
    device: &Device,
) -> Result<FinishedRun, JobError> {
    if run.holds(&run.config(), job)? {
        let finished = run.results().is_file() || run.predictions().is_file();
        if finished {
            match reuse(run, wants_sample) {
                Ok(reused) => return Ok(reused),
                Err(damage) => println!("{damage}: training the run again"),
            }
        }
    }
    let trained = match run.config().exists() {
        true => crate::job::resume(run, device)?,
        false => crate::job::train(job, run, device)?,
    };
    let sample = match wants_sample {
        true => {
            let sample = sample(label, &trained, job, device);
            let json = serde_json::to_string(&sample).expect("figure data serializes");
            write_atomically(&sample_file(run), &json)?;
            Some(sample)
        }
        false => None,
    };
    Ok(FinishedRun {
        results: trained.results,
        predictions: trained.predictions,
        sample,
    })
}

/// The finished run in `run` as committed: its checked results and predictions
/// ([`read_finished`]) and, where wanted, its figure data.
fn reuse(run: &RunFolder, wants_sample: bool) -> Result<FinishedRun, JobError> {
    let (results, predictions) = read_finished(run)?;
    let sample = match wants_sample {
        true => Some(read_json(&sample_file(run))?),
        false => None,
    };
    Ok(FinishedRun {
        results,
        predictions,
        sample,
    })
}

fn sample(label: &str, trained: &TrainedRun, job: &TrainJobConfig, device: &Device) -> Sample {
    let model = &trained.model.model.model;
    let layers = trained.model.mhe.layers(model);
    let angles_of = |wanted: &dyn Fn(&burn_mhe::SelectedLayer) -> bool| {
        layers
            .iter()
            .rev()
            .find(|l| wanted(l))
            .map(|l| pairwise_angles(l.neurons.clone()))
            .unwrap_or_default()
    };
    let conv_angles = angles_of(&|l| l.role == LayerRole::Hidden && l.path.starts_with("convs"));
    let classifier_angles = angles_of(&|l| l.role == LayerRole::Output);
    let features = (job.model.architecture == crate::model::Architecture::Cnn2d)
        .then(|| feature_panel(label, model, &trained.splits.test, device));
    Sample {
        label: label.to_string(),
        conv_angles,
        classifier_angles,
        features,
    }
}

/// The 2-D features of every item of `split` and the classifier neurons.
fn feature_panel(
    label: &str,
    model: &crate::model::ImageClassifier,
    split: &Subset,
    device: &Device,
) -> FeaturePanel {
    let device = device.clone().without_autodiff();
    let batcher = ImageBatcher {
        shape: split.image_shape(),
    };
    let mut points = Vec::with_capacity(split.len());
    for batch in batcher.batches(split, 256, &device) {
        let labels = batch.targets.into_data().convert::<i64>();
        let labels = labels.try_to_vec::<i64>().expect("int labels");
        let values = host_values(model.features(batch.inputs));
        points.extend(
            values
                .chunks(2)
                .zip(labels)
                .map(|(xy, label)| (xy[0], xy[1], label as usize)),
        );
    }
    // Linear weights are [d_in = 2, classes]: column c is class c's neuron.
    let weight = model.classifier().weight.val();
    let [_, classes] = weight.dims();
    let w = host_values(weight);
    let neurons = (0..classes).map(|c| (w[c], w[classes + c])).collect();
    FeaturePanel {
        title: format!("{label}: test features and classifier neurons"),
        points,
        neurons,
    }
}
