//! The paper's experiments as sweeps of training runs: `mhe experiment <name>`.
//!
//! Each configuration runs once per seed into `OUT/runs/<configuration>-seed<k>/` (a folder
//! that already holds the same run is resumed or reused, so an interrupted sweep continues);
//! then `OUT/summary.json`, `OUT/summary.md` and the figures (PNG and SVG) are written.

mod figures;
mod plan;
mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::tensor::{Device, Tensor};
use burn_mhe::LayerRole;

pub use figures::{
    FeatureFigure, FeaturePanel, Figure, HistogramFigure, HistogramPanel, LineFigure, LinePanel,
    Series, angle_histogram, save,
};
pub use plan::{ExperimentConfig, ExperimentName, Setting, mode_name, slug};
pub use summary::{ExperimentSummary, SettingSummary, Stat};

use crate::batcher::ImageBatcher;
use crate::data::Subset;
use crate::error::TrainError;
use crate::history::write_atomically;
use crate::job::{MheMode, RunFolder, TrainResults, TrainedRun, resume, train};

/// The headline configurations drawn in the curves and angle figures.
fn headline(setting: &Setting, name: ExperimentName) -> bool {
    match name {
        ExperimentName::Variants => {
            ["baseline", "mhe s=2", "half-mhe s=2"].contains(&setting.label.as_str())
        }
        ExperimentName::Width => setting.x == Some(1.0),
        ExperimentName::Depth => setting.x == Some(2.0),
        ExperimentName::Imbalance => true,
    }
}

/// What the figures need of a configuration's first seed.
struct Sample {
    label: String,
    /// Pairwise angles of the last conv layer and of the classifier, in degrees.
    conv_angles: Vec<f64>,
    classifier_angles: Vec<f64>,
    /// The 2-D features of the test split and the classifier neurons (2-D models only).
    features: Option<FeaturePanel>,
}

/// Runs every configuration of `config` for every seed on `device` into `out`, and writes the
/// summary and figures. Every configuration is checked before anything trains.
pub fn run_experiment(
    config: &ExperimentConfig,
    out: &Path,
    device: &Device,
) -> Result<ExperimentSummary, TrainError> {
    if config.seeds == 0 || config.epochs == 0 {
        return Err(TrainError::InvalidConfig(
            "seeds and epochs must be at least 1".into(),
        ));
    }
    config.dataset.folder(config.data_dir.as_deref())?;
    let settings = config.settings();
    for setting in &settings {
        setting.job.check()?;
    }
    let started = Instant::now();
    let total = settings.len() * config.seeds;
    let mut summaries = Vec::new();
    let mut samples = Vec::new();
    let mut histories: Vec<(String, Vec<TrainResults>)> = Vec::new();
    let mut split_sizes = [0; 3];
    for (index, setting) in settings.iter().enumerate() {
        let mut runs = Vec::new();
        for seed in 0..config.seeds {
            let job = setting.job.clone().with_seed(seed as u64);
            let run = RunFolder::new(
                out.join("runs")
                    .join(format!("{}-seed{seed}", slug(&setting.label))),
            );
            let trained = train_or_continue(&job, &run, device)?;
            let done = index * config.seeds + seed + 1;
            println!(
                "[{done}/{total}] {} seed {seed}: test accuracy {:.4}, {:.1} s",
                setting.label, trained.results.test_accuracy, trained.results.wall_seconds
            );
            if seed == 0 && headline(setting, config.name) {
                samples.push(sample(&setting.label, &trained, &job, device)?);
            }
            split_sizes = trained.results.split_sizes;
            runs.push(trained.results);
        }
        summaries.push(SettingSummary::of(
            &setting.label,
            setting.mhe,
            setting.x,
            &runs,
        ));
        if headline(setting, config.name) {
            histories.push((setting.label.clone(), runs));
        }
    }
    let figures = draw_figures(config, out, &summaries, &histories, &samples)?;
    let summary = ExperimentSummary {
        config: config.clone(),
        device: format!("{device:?}"),
        split_sizes,
        settings: summaries,
        figures: figures
            .iter()
            .filter_map(|p| p.strip_prefix(out).ok())
            .map(|p| p.display().to_string())
            .collect(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    write_atomically(&out.join("summary.json"), &json)?;
    write_atomically(&out.join("summary.md"), &summary.markdown())?;
    Ok(summary)
}

/// Trains a new run, or resumes / re-reads one that `run` already holds for the same job.
fn train_or_continue(
    job: &crate::job::TrainJobConfig,
    run: &RunFolder,
    device: &Device,
) -> Result<TrainedRun, TrainError> {
    if !run.config().exists() {
        return train(job, run, device);
    }
    let saved: serde_json::Value = std::fs::read_to_string(run.config())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    if saved != serde_json::to_value(job).expect("configurations serialize") {
        return Err(TrainError::InvalidConfig(format!(
            "{} holds a run of another configuration: choose another output folder",
            run.root().display()
        )));
    }
    resume(run, device)
}

/// The values of a float tensor, row-major, as f64 on the host.
fn host_values(tensor: Tensor<2>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor")
}

/// Pairwise angles in degrees of the rows of `neurons`.
pub fn pairwise_angles(neurons: Tensor<2>) -> Vec<f64> {
    let [n, d] = neurons.dims();
    let values = host_values(neurons);
    let unit: Vec<Vec<f64>> = values
        .chunks(d)
        .map(|row| {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            row.iter().map(|v| v / norm).collect()
        })
        .collect();
    let mut angles = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let cos: f64 = unit[i].iter().zip(&unit[j]).map(|(a, b)| a * b).sum();
            angles.push(cos.clamp(-1.0, 1.0).acos().to_degrees());
        }
    }
    angles
}

fn sample(
    label: &str,
    trained: &TrainedRun,
    job: &crate::job::TrainJobConfig,
    device: &Device,
) -> Result<Sample, TrainError> {
    let model = &trained.model;
    let layers = model.mhe.layers(&model.model);
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
    let features = if job.model.architecture == crate::model::Architecture::Cnn2d {
        Some(feature_panel(
            label,
            &model.model,
            &trained.splits.test,
            device,
        ))
    } else {
        None
    };
    Ok(Sample {
        label: label.to_string(),
        conv_angles,
        classifier_angles,
        features,
    })
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

/// Mean and spread over seeds of one per-epoch quantity.
fn curve(
    runs: &[TrainResults],
    value: impl Fn(&crate::history::EpochRecord) -> f64,
) -> Vec<(f64, f64, f64)> {
    let epochs = runs.iter().map(|r| r.history.len()).min().unwrap_or(0);
    (0..epochs)
        .map(|e| {
            let stat = Stat::of(
                &runs
                    .iter()
                    .map(|r| value(&r.history[e]))
                    .collect::<Vec<_>>(),
            );
            ((e + 1) as f64, stat.mean, stat.std)
        })
        .collect()
}

fn draw_figures(
    config: &ExperimentConfig,
    out: &Path,
    summaries: &[SettingSummary],
    histories: &[(String, Vec<TrainResults>)],
    samples: &[Sample],
) -> Result<Vec<PathBuf>, TrainError> {
    let mut written = Vec::new();
    let curves_panel =
        |title: &str, y: &str, value: fn(&crate::history::EpochRecord) -> f64| LinePanel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y.into(),
            series: histories
                .iter()
                .map(|(name, runs)| Series {
                    name: name.clone(),
                    points: curve(runs, value),
                })
                .collect(),
        };
    let curves = LineFigure(vec![
        curves_panel("Validation loss", "cross-entropy", |e| e.valid_loss),
        curves_panel("Hidden energy", "sum of hidden-layer energies", |e| {
            e.hidden_energy
        }),
        curves_panel("Output energy", "classifier energy", |e| e.output_energy),
    ]);
    written.extend(save(&curves, &out.join("curves"))?);

    let sweep = |axis: &str| {
        let modes = [MheMode::None, MheMode::Mhe, MheMode::HalfMhe].map(mode_name);
        LineFigure(vec![LinePanel {
            title: format!("Test accuracy vs {axis}"),
            x_label: axis.into(),
            y_label: "test accuracy (%)".into(),
            series: modes
                .iter()
                .map(|mode| Series {
                    name: mode.to_string(),
                    points: summaries
                        .iter()
                        .filter(|s| s.mode == *mode)
                        .filter_map(|s| {
                            Some((
                                s.x?,
                                100.0 * s.test_accuracy.mean,
                                100.0 * s.test_accuracy.std,
                            ))
                        })
                        .collect(),
                })
                .collect(),
        }])
    };
    match config.name {
        ExperimentName::Width => written.extend(save(
            &sweep("width multiplier"),
            &out.join("accuracy_vs_width"),
        )?),
        ExperimentName::Depth => written.extend(save(
            &sweep("conv layers per stage"),
            &out.join("accuracy_vs_depth"),
        )?),
        ExperimentName::Variants | ExperimentName::Imbalance => {}
    }

    let panel = |title: &str, angles: fn(&Sample) -> &Vec<f64>| HistogramPanel {
        title: title.into(),
        series: samples
            .iter()
            .map(|s| (s.label.clone(), angles(s).clone()))
            .collect(),
    };
    let angles = HistogramFigure(vec![
        panel("Last conv layer: pairwise neuron angles", |s| {
            &s.conv_angles
        }),
        panel("Classifier: pairwise neuron angles", |s| {
            &s.classifier_angles
        }),
    ]);
    written.extend(save(&angles, &out.join("angles"))?);

    let features: Vec<FeaturePanel> = samples.iter().filter_map(|s| s.features.clone()).collect();
    if !features.is_empty() {
        written.extend(save(&FeatureFigure(features), &out.join("imbalance"))?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_angles_of_known_directions() {
        let device = Device::flex();
        let neurons = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]], &device);
        let angles = pairwise_angles(neurons);
        let expected = [90.0, 180.0, 90.0];
        for (a, e) in angles.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "{angles:?}");
        }
    }
}
