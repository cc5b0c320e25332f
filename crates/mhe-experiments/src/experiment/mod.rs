//! The paper's experiments as sweeps of training runs: `mhe experiment <name>`.
//!
//! Each configuration runs once per seed into `OUT/runs/<configuration>-seed<k>/`. Seed `k`
//! fixes the validation split, the initial weights and every epoch's batch order, so the
//! configurations of a sweep differ only in their regularizer (paired runs). A folder that
//! already holds the same run is reused (its `results.json` and `predictions.json`, which is all
//! that needs to be committed) or resumed, so an interrupted sweep continues where it stopped,
//! also on another machine. Then `OUT/summary.json`, `OUT/summary.md` and the figures (PNG and
//! SVG) are written.

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

use burn_mhe::pairwise_angles;
pub use figures::{
    FeatureFigure, FeaturePanel, Figure, HistogramFigure, HistogramPanel, LineFigure, LinePanel,
    Series, angle_histogram, save,
};
pub use page::render_page;
pub use paired::{McNemar, PairedComparison, TTest, wilcoxon_signed_rank};
pub use plan::{ExperimentConfig, ExperimentName, Setting, slug};
pub use summary::{ExperimentSummary, SettingSummary, Stat};

use drawing::draw_figures;

use crate::batcher::ImageBatcher;
use crate::data::Subset;
use crate::error::JobError;
use crate::evaluate::Predictions;
use crate::host::host_values;
use crate::job::{MheMode, TrainJobConfig, TrainedRun, read_finished};
use crate::results::{JobFiles, TrainResults};
use burn_mhe_train::FolderLock;
use burn_mhe_train::write_atomically;
use burn_mhe_train::{RunFolder, read_json};

/// Which configurations of a sweep are drawn in its curves and angle figures: the released
/// three of the variants; width 1 or depth 2, or, in a sweep without it, its widest or deepest
/// networks; every configuration of the imbalance experiment.
fn headlines(settings: &[Setting], name: ExperimentName) -> Vec<bool> {
    let preferred = match name {
        ExperimentName::Width => Some(1.0),
        ExperimentName::Depth => Some(2.0),
        ExperimentName::Variants | ExperimentName::Imbalance => None,
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
    if config.seeds == 0 || config.epochs == 0 {
        return Err(JobError::invalid_config(
            "seeds and epochs must be at least 1".into(),
        ));
    }
    config.check().map_err(JobError::invalid_config)?;
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
    let summaries = summarize(&settings, &finished);
    let histories: Vec<(String, Vec<TrainResults>)> = settings
        .iter()
        .zip(&finished)
        .zip(&headlines)
        .filter(|(_, drawn)| **drawn)
        .map(|((setting, runs), _)| {
            let results = runs.iter().map(|r| r.results.clone()).collect();
            (setting.label.clone(), results)
        })
        .collect();
    let samples: Vec<Sample> = finished
        .iter()
        .filter_map(|runs| runs[0].sample.clone())
        .collect();
    let figures = draw_figures(config, out, &summaries, &histories, &samples)?;
    let summary = ExperimentSummary {
        config: config.clone(),
        device: format!("{device:?}"),
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
/// runs of `settings[k]`, one per seed), each compared with its baseline seed by seed.
fn summarize(settings: &[Setting], finished: &[Vec<FinishedRun>]) -> Vec<SettingSummary> {
    settings
        .iter()
        .zip(finished)
        .map(|(setting, runs)| {
            let results: Vec<TrainResults> = runs.iter().map(|r| r.results.clone()).collect();
            let baseline = baseline_of(setting, settings).map(|b| {
                let scores = |runs: &[FinishedRun]| -> Vec<(f64, Vec<bool>)> {
                    runs.iter()
                        .map(|r| (r.results.test_accuracy, r.predictions.correct()))
                        .collect()
                };
                PairedComparison::of(&settings[b].label, &scores(runs), &scores(&finished[b]))
            });
            SettingSummary::of(setting, &results, baseline)
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
    let finished = settings
        .iter()
        .map(|setting| {
            seeds(config)
                .map(|seed| {
                    let run = run_folder(out, setting, seed);
                    check_same_job(&setting.job.clone().with_seed(seed as u64), &run)?;
                    reuse(&run, false)
                })
                .collect::<Result<Vec<_>, JobError>>()
        })
        .collect::<Result<Vec<_>, JobError>>()?;
    Ok(summarize(&settings, &finished))
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

/// The index of the baseline `setting` is compared with: the configuration without MHE of the
/// same architecture at the same width or depth. `None` for a baseline itself.
fn baseline_of(setting: &Setting, settings: &[Setting]) -> Option<usize> {
    if setting.mhe == MheMode::None {
        return None;
    }
    settings.iter().position(|s| {
        s.mhe == MheMode::None
            && s.x == setting.x
            && s.job.model.architecture == setting.job.model.architecture
    })
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
