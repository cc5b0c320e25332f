//! The figures of an experiment: training curves, angle histograms, accuracy against width or
//! depth, and the 2-D features of the imbalance experiment.

use std::path::{Path, PathBuf};

use burn_mhe_train::EpochRecord;

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
fn curve(runs: &[TrainResults], value: impl Fn(&EpochRecord) -> f64) -> Vec<(f64, f64, f64)> {
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

/// The training curves of the configurations of `histories`: validation loss, hidden and
/// output energy per epoch, mean and spread over seeds. The configurations named in
/// `other_losses` log another objective's own loss (SO, SRIP, ...) as their energies, on a
/// scale of its own: the energy panels leave them out and name them in their titles. A series
/// left out keeps its place, and with it every configuration its colour.
fn training_curves(histories: &[(String, Vec<TrainResults>)], other_losses: &[&str]) -> LineFigure {
    let left_out: Vec<&str> = histories
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| other_losses.contains(name))
        .collect();
    let panel = |title: &str, y: &str, energy: bool, value: fn(&EpochRecord) -> f64| LinePanel {
        title: match energy && !left_out.is_empty() {
            true => format!("{title} (not drawn: {})", left_out.join(", ")),
            false => title.into(),
        },
        x_label: "epoch".into(),
        y_label: y.into(),
        series: histories
            .iter()
            .map(|(name, runs)| Series {
                name: name.clone(),
                points: match energy && left_out.contains(&name.as_str()) {
                    true => Vec::new(),
                    false => curve(runs, value),
                },
            })
            .collect(),
    };
    LineFigure(vec![
        panel("Validation loss", "cross-entropy", false, |e| e.valid_loss),
        panel("Hidden energy", "sum of hidden-layer energies", true, |e| {
            e.hidden_energy
        }),
        panel("Output energy", "classifier energy", true, |e| {
            e.output_energy
        }),
    ])
}

pub(super) fn draw_figures(
    config: &ExperimentConfig,
    out: &Path,
    summaries: &[SettingSummary],
    histories: &[(String, Vec<TrainResults>)],
    samples: &[Sample],
) -> Result<Vec<PathBuf>, JobError> {
    let mut written = Vec::new();
    let other_losses: Vec<&str> = summaries
        .iter()
        .filter(|s| !s.energy_is_mhe())
        .map(|s| s.label.as_str())
        .collect();
    let curves = training_curves(histories, &other_losses);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(energy: f64) -> Vec<TrainResults> {
        let epoch = |e: usize| EpochRecord {
            epoch: e,
            train_loss: 0.5,
            train_accuracy: 0.9,
            valid_loss: 0.4 / e as f64,
            valid_accuracy: 0.8,
            hidden_energy: energy,
            output_energy: energy / 2.0,
            seconds: 1.0,
        };
        vec![TrainResults::of_history(0, vec![epoch(1), epoch(2)])]
    }

    #[test]
    fn the_energy_panels_leave_out_other_objectives_losses_and_keep_the_colours() {
        let histories = [
            ("baseline".to_string(), runs(1.6)),
            ("so".to_string(), runs(1955.0)),
            ("mhe x1".to_string(), runs(1.47)),
        ];
        let LineFigure(panels) = training_curves(&histories, &["so", "srip"]);
        let [loss, hidden, output] = &panels[..] else {
            panic!("three panels")
        };
        assert_eq!(loss.title, "Validation loss");
        assert_eq!(loss.series[1].points, [(1.0, 0.4, 0.0), (2.0, 0.2, 0.0)]);
        assert_eq!(hidden.title, "Hidden energy (not drawn: so)");
        assert_eq!(output.title, "Output energy (not drawn: so)");
        let names: Vec<&str> = hidden.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["baseline", "so", "mhe x1"], "places kept");
        assert!(hidden.series[1].points.is_empty() && output.series[1].points.is_empty());
        assert_eq!(
            hidden.series[2].points,
            [(1.0, 1.47, 0.0), (2.0, 1.47, 0.0)]
        );
        assert_eq!(output.series[0].points[0], (1.0, 0.8, 0.0));
        let LineFigure(plain) = training_curves(&histories[..1], &["so"]);
        assert_eq!(plain[1].title, "Hidden energy");
    }
}
