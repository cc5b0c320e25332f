//! The figures of an experiment: training curves, angle histograms, accuracy against width or
//! depth, and the 2-D features of the imbalance experiment.

use std::path::{Path, PathBuf};

use super::Sample;
use super::figures::{
    FeatureFigure, FeaturePanel, HistogramFigure, HistogramPanel, LineFigure, LinePanel, Series,
    save,
};
use super::plan::{ExperimentConfig, ExperimentName};
use super::summary::{SettingSummary, Stat};
use crate::error::JobError;
use crate::job::MheMode;
use crate::results::TrainResults;

/// Mean and spread over seeds of one per-epoch quantity.
fn curve(
    runs: &[TrainResults],
    value: impl Fn(&burn_mhe_train::EpochRecord) -> f64,
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

pub(super) fn draw_figures(
    config: &ExperimentConfig,
    out: &Path,
    summaries: &[SettingSummary],
    histories: &[(String, Vec<TrainResults>)],
    samples: &[Sample],
) -> Result<Vec<PathBuf>, JobError> {
    let mut written = Vec::new();
    let curves_panel =
        |title: &str, y: &str, value: fn(&burn_mhe_train::EpochRecord) -> f64| LinePanel {
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
        let modes = [MheMode::None, MheMode::Mhe, MheMode::HalfMhe].map(MheMode::name);
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
        ExperimentName::Variants | ExperimentName::Imbalance | ExperimentName::Controls => {}
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
    match samples.is_empty() {
        true => remove_figure(&out.join("angles"))?,
        false => written.extend(save(&angles, &out.join("angles"))?),
    }

    let features: Vec<FeaturePanel> = samples.iter().filter_map(|s| s.features.clone()).collect();
    if !features.is_empty() {
        written.extend(save(&FeatureFigure(features), &out.join("imbalance"))?);
    }
    Ok(written)
}

/// Deletes the files of a figure not drawn this time (a sweep redrawn without the data of
/// one), so that no stale figure is left beside the new ones.
fn remove_figure(stem: &Path) -> Result<(), JobError> {
    for extension in ["png", "svg"] {
        let file = stem.with_extension(extension);
        if file.is_file() {
            std::fs::remove_file(&file).map_err(burn_mhe_train::TrainError::io(&file))?;
        }
    }
    Ok(())
}
