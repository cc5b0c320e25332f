//! Every experiment at a tiny size (200 training digits, one epoch, one seed): the summary and
//! figures are written and every number in them is finite.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use burn_mhe_train::DatasetChoice;
use burn_mhe_train::experiment::{ExperimentConfig, ExperimentName, run_experiment};

fn out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mhe-experiment-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn tiny(name: ExperimentName) -> ExperimentConfig {
    ExperimentConfig {
        name,
        dataset: DatasetChoice::MnistSubset,
        data_dir: None,
        seeds: 1,
        epochs: 1,
        train_limit: Some(200),
        valid_fraction: 0.04,
    }
}

fn assert_image(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().unwrap() == "png" {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
        assert!(bytes.len() > 5_000, "{} is nearly empty", path.display());
    } else {
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains("<text"),
            "{}",
            path.display()
        );
    }
}

fn smoke(name: ExperimentName, settings: usize, figures: &[&str]) {
    let dir = out(&format!("{name:?}"));
    let summary = run_experiment(&tiny(name), &dir, &Device::flex()).unwrap();
    assert_eq!(summary.settings.len(), settings);
    for s in &summary.settings {
        assert_eq!(s.runs, 1);
        for stat in [
            s.test_accuracy,
            s.test_error,
            s.hidden_energy,
            s.output_energy,
            s.wall_seconds,
        ] {
            assert!(stat.mean.is_finite() && stat.std == 0.0, "{s:?}");
        }
        assert!((s.test_accuracy.mean + s.test_error.mean - 1.0).abs() < 1e-12);
    }
    for figure in figures {
        for extension in ["png", "svg"] {
            assert_image(&dir.join(format!("{figure}.{extension}")));
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["settings"].as_array().unwrap().len(), settings);
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.contains("| baseline"), "{markdown}");
    assert!(!markdown.contains("NaN"), "{markdown}");

    // Rerunning reuses the finished runs: the same numbers, no training.
    let again = run_experiment(&tiny(name), &dir, &Device::flex()).unwrap();
    assert_eq!(again.settings, summary.settings);
}

#[test]
fn variants_smoke() {
    smoke(ExperimentName::Variants, 13, &["curves", "angles"]);
}

#[test]
fn width_smoke() {
    smoke(
        ExperimentName::Width,
        12,
        &["curves", "angles", "accuracy_vs_width"],
    );
}

#[test]
fn depth_smoke() {
    smoke(
        ExperimentName::Depth,
        9,
        &["curves", "angles", "accuracy_vs_depth"],
    );
}

#[test]
fn imbalance_smoke() {
    let dir = out("imbalance-classes");
    smoke(
        ExperimentName::Imbalance,
        2,
        &["curves", "angles", "imbalance"],
    );
    // Class 0 keeps 2% of its training items; the test split keeps all of them.
    let summary = run_experiment(&tiny(ExperimentName::Imbalance), &dir, &Device::flex()).unwrap();
    for s in &summary.settings {
        assert_eq!(s.per_class_accuracy.len(), 10);
        assert!(s.per_class_accuracy.iter().all(|a| a.is_some()));
    }
}

#[test]
fn a_folder_of_another_sweep_is_refused() {
    let dir = out("mismatch");
    run_experiment(&tiny(ExperimentName::Imbalance), &dir, &Device::flex()).unwrap();
    let longer = ExperimentConfig {
        epochs: 2,
        ..tiny(ExperimentName::Imbalance)
    };
    let error = run_experiment(&longer, &dir, &Device::flex()).unwrap_err();
    assert!(
        error.to_string().contains("another configuration"),
        "{error}"
    );
}
