//! Every experiment at a tiny size (200 training digits, one epoch, one seed): the summary and
//! figures are written and every number in them is finite.

mod support;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use mhe_experiments::DatasetChoice;
use mhe_experiments::experiment::{
    ExperimentConfig, ExperimentName, ExperimentSummary, adopt_runs, redraw_experiment,
    render_page, render_quotes, run_experiment, summarize_runs,
};
use support::scratch_path;

fn out(name: &str) -> PathBuf {
    scratch_path(&format!("mhe-experiment-{name}"))
}

fn tiny(name: ExperimentName) -> ExperimentConfig {
    ExperimentConfig::new(name, DatasetChoice::MnistSubset)
        .with_seeds(1)
        .with_epochs(1)
        .with_train_limit(Some(200))
        .with_valid_fraction(0.04)
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

    // Rerunning reuses the finished runs: the same numbers, no training; also from the files
    // a commit keeps (results, predictions, history, figure data), as on a fresh clone.
    let again = run_experiment(&tiny(name), &dir, &Device::flex()).unwrap();
    assert_eq!(again.settings, summary.settings);
    keep_only_committed_files(&dir.join("runs"));
    let cloned = run_experiment(&tiny(name), &dir, &Device::flex()).unwrap();
    assert_eq!(cloned.settings, summary.settings);
    assert_eq!(
        markdown,
        std::fs::read_to_string(dir.join("summary.md")).unwrap()
    );
}

/// A tiny depth-1 sweep run into the scratch folder `name`, left with only the files a commit
/// keeps: its folder, configuration and summary.
fn committed_depth_1_sweep(name: &str) -> (PathBuf, ExperimentConfig, ExperimentSummary) {
    let dir = out(name);
    let config = tiny(ExperimentName::Depth).with_depths(vec![1]);
    let summary = run_experiment(&config, &dir, &Device::flex()).unwrap();
    keep_only_committed_files(&dir.join("runs"));
    (dir, config, summary)
}

/// Deletes what `.gitignore` keeps out of git in each run folder: checkpoints and burn's
/// metric logs.
fn keep_only_committed_files(runs: &Path) {
    for run in std::fs::read_dir(runs).unwrap() {
        let run = run.unwrap().path();
        for entry in std::fs::read_dir(&run).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let kept = [
                "config.json",
                "results.json",
                "predictions.json",
                "figure-data.json",
            ];
            if name == "history" || kept.contains(&name.as_str()) {
                continue;
            }
            match path.is_dir() {
                true => std::fs::remove_dir_all(&path).unwrap(),
                false => std::fs::remove_file(&path).unwrap(),
            }
        }
        assert!(!run.join("checkpoint").exists());
    }
}

#[test]
fn configurations_are_compared_with_their_baseline_seed_by_seed() {
    let dir = out("paired");
    let config = tiny(ExperimentName::Imbalance).with_seeds(2);
    let summary = run_experiment(&config, &dir, &Device::flex()).unwrap();
    let [plane_baseline, plane_mhe, baseline, mhe] = &summary.settings[..] else {
        panic!("four settings")
    };
    assert!(baseline.vs_baseline.is_none() && plane_baseline.vs_baseline.is_none());
    assert_eq!(
        plane_mhe.vs_baseline.as_ref().unwrap().baseline,
        "baseline 2-d"
    );
    let paired = mhe.vs_baseline.as_ref().unwrap();
    assert_eq!(paired.baseline, "baseline");
    let results = |label: &str, seed: usize| -> serde_json::Value {
        let file = dir.join(format!("runs/{label}-seed{seed}/results.json"));
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let test_items = 500.0;
    for seed in 0..2 {
        let accuracy = |label| results(label, seed)["test_accuracy"].as_f64().unwrap();
        let difference = accuracy("output_mhe") - accuracy("baseline");
        assert!((paired.differences[seed] - difference).abs() < 1e-12);
        // The items only one model gets right account for the whole accuracy difference.
        let m = paired.mcnemar[seed];
        let net = m.only_this as f64 - m.only_baseline as f64;
        assert!(
            (net - difference * test_items).abs() < 1e-6,
            "{m:?} {difference}"
        );
        assert!((0.0..=1.0).contains(&m.p_value));
        // The train-test gap: the last epoch's training accuracy minus test accuracy.
        let gap = |label| {
            let run = results(label, seed);
            let history = run["history"].as_array().unwrap();
            history.last().unwrap()["train_accuracy"].as_f64().unwrap() - accuracy(label)
        };
        let gap_difference = mhe.gap_vs_baseline.as_ref().unwrap().differences[seed];
        assert!((gap_difference - (gap("output_mhe") - gap("baseline"))).abs() < 1e-12);
    }
    assert!(baseline.gap_vs_baseline.is_none());
    let mean = (paired.differences[0] + paired.differences[1]) / 2.0;
    assert!((paired.mean_difference - mean).abs() < 1e-12);
    let rare = mhe.rare_class.as_ref().unwrap();
    assert_eq!(rare.class, 0);
    assert!(rare.nearest_neuron_deg.mean > 0.0 && rare.nearest_neuron_deg.mean <= 180.0);
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        markdown.contains("## Against the baseline, paired by seed"),
        "{markdown}"
    );
    assert!(markdown.contains("## The rare class"), "{markdown}");
    assert!(markdown.contains("## The train-test gap against the baseline"));
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
        4,
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
fn controls_compare_every_configuration_with_the_reference_baseline() {
    let dir = out("controls");
    let config = tiny(ExperimentName::Controls)
        .with_weight_scales(vec![1.0])
        .with_weight_decays(vec![1e-4]);
    let summary = run_experiment(&config, &dir, &Device::flex()).unwrap();
    let labels: Vec<&str> = summary.settings.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "baseline",
            "baseline wd 0.0001",
            "mhe x1",
            "half-mhe x1",
            "so",
            "srip",
            "opt",
            "opt hidden"
        ]
    );
    assert!(summary.settings[0].vs_baseline.is_none());
    for setting in &summary.settings[1..] {
        let paired = setting.vs_baseline.as_ref().unwrap();
        assert_eq!(paired.baseline, "baseline", "{}", setting.label);
        assert!(setting.hidden_energy.mean.is_finite(), "{}", setting.label);
    }
    // SO's hidden energy is ||G - I||^2 of the raw weights, not an MHE energy.
    assert!(summary.settings[4].hidden_energy.mean > summary.settings[2].hidden_energy.mean);
    let svg = std::fs::read_to_string(dir.join("curves.svg")).unwrap();
    for label in ["baseline", "half-mhe x1", "srip", "opt", "opt hidden"] {
        assert!(svg.contains(label), "the curves do not draw {label}");
    }
    assert!(
        !svg.contains("baseline wd"),
        "only the reference baseline is drawn"
    );
}

#[test]
fn a_reweighted_baseline_is_paired_with_the_baseline_of_its_fraction() {
    let dir = out("imbalance-reweighted");
    let config = tiny(ExperimentName::Imbalance)
        .with_imbalance_class(3)
        .with_imbalance_fractions(vec![0.5])
        .with_reweighted_baseline(true);
    let summary = run_experiment(&config, &dir, &Device::flex()).unwrap();
    let reweighted = summary.settings.last().unwrap();
    assert_eq!(reweighted.label, "baseline reweighted keep 0.5");
    let paired = reweighted.vs_baseline.as_ref().unwrap();
    assert_eq!(paired.baseline, "baseline keep 0.5");
    for setting in &summary.settings {
        let rare = setting.rare_class.as_ref().unwrap();
        assert_eq!(rare.class, 3);
        let neuron = rare.neuron.as_ref().unwrap();
        assert!(neuron.norm.mean > 0.0 && neuron.others_norm.mean > 0.0);
        assert!(neuron.bias.mean.is_finite() && neuron.others_bias.mean.is_finite());
    }
    // The rare class's recall is compared seed by seed with the baseline of the same model.
    let recall = |label: &str| -> f64 {
        let file = dir.join(format!("runs/{label}-seed0/results.json"));
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        results["per_class_accuracy"][3].as_f64().unwrap()
    };
    let rare = reweighted.rare_class.as_ref().unwrap();
    let paired = rare.vs_baseline.as_ref().unwrap();
    assert_eq!(paired.baseline, "baseline keep 0.5");
    let expected = recall("baseline_reweighted_keep_0.5") - recall("baseline_keep_0.5");
    assert!((paired.differences[0] - expected).abs() < 1e-12);
    let plane = summary.settings[1].rare_class.as_ref().unwrap();
    assert_eq!(
        plane.vs_baseline.as_ref().unwrap().baseline,
        "baseline 2-d keep 0.5"
    );
    assert!(
        summary.settings[0]
            .rare_class
            .as_ref()
            .unwrap()
            .vs_baseline
            .is_none()
    );
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.contains("others' mean length"), "{markdown}");
    assert!(
        markdown.contains("recall against the baseline"),
        "{markdown}"
    );
    let run = dir.join("runs/baseline_reweighted_keep_0.5-seed0/results.json");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run).unwrap()).unwrap();
    assert_eq!(results["config"]["class_weighting"], "balanced");
    assert_eq!(results["classifier_norms"].as_array().unwrap().len(), 10);
}

#[test]
fn a_folder_of_another_sweep_is_refused() {
    let dir = out("mismatch");
    run_experiment(&tiny(ExperimentName::Imbalance), &dir, &Device::flex()).unwrap();
    let longer = tiny(ExperimentName::Imbalance).with_epochs(2);
    let error = run_experiment(&longer, &dir, &Device::flex()).unwrap_err();
    assert!(
        error.to_string().contains("another configuration"),
        "{error}"
    );
}

#[test]
fn the_results_page_matches_the_committed_runs() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let page = std::fs::read_to_string(docs.join("results.md")).unwrap();
    assert!(
        page.contains("<!-- history: "),
        "the page quotes a run's history"
    );
    let rendered = render_page(&page, &docs).unwrap();
    assert!(
        rendered == page,
        "docs/results.md differs from the committed runs: run `mhe results-page`"
    );
    let readme = std::fs::read_to_string(docs.join("../README.md")).unwrap();
    assert!(
        readme.contains("<!-- adjusted: "),
        "the README quotes the page"
    );
    assert!(
        render_quotes(&readme, &page, &docs).unwrap() == readme,
        "README.md's quotes of the page differ from it: run `mhe results-page`"
    );
}

#[test]
fn a_replication_runs_the_seeds_from_its_first_seed() {
    let dir = out("first-seed");
    let config = tiny(ExperimentName::Depth)
        .with_depths(vec![1])
        .with_seeds(2)
        .with_first_seed(3);
    let summary = run_experiment(&config, &dir, &Device::flex()).unwrap();
    let mut runs: Vec<String> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    runs.sort();
    let labels = ["baseline_depth_1", "half-mhe_depth_1", "mhe_depth_1"];
    let expected: Vec<String> = labels
        .iter()
        .flat_map(|label| [3, 4].map(|seed| format!("{label}-seed{seed}")))
        .collect();
    assert_eq!(runs, expected);
    for run in &runs {
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("runs").join(run).join("config.json")).unwrap(),
        )
        .unwrap();
        let seed = run.rsplit("seed").next().unwrap().parse::<u64>().unwrap();
        assert_eq!(config["seed"].as_u64(), Some(seed), "{run}");
    }
    let paired = summary.settings[1].vs_baseline.as_ref().unwrap();
    assert_eq!(paired.differences.len(), 2);
    // A sweep without depth 2 draws its deepest networks (here its only ones) in the curves
    // and angle figures, not blank axes.
    for figure in ["curves.svg", "angles.svg"] {
        let svg = std::fs::read_to_string(dir.join(figure)).unwrap();
        for label in ["baseline depth 1", "half-mhe depth 1"] {
            assert!(svg.contains(label), "{figure} does not draw {label}");
        }
    }
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.contains("2 seed(s) (3-4)"), "{markdown}");
}

#[test]
fn a_damaged_committed_run_is_trained_again_never_summarized() {
    let (dir, config, summary) = committed_depth_1_sweep("damaged-runs");
    let run = |label: &str| dir.join("runs").join(format!("{label}-seed0"));
    // One run's results cut short, another's predictions cut in half, and a third's results
    // that parse but whose accuracy was edited.
    std::fs::write(
        run("baseline_depth_1").join("results.json"),
        "{\"test_accuracy\": 0.",
    )
    .unwrap();
    let predictions = run("mhe_depth_1").join("predictions.json");
    let bytes = std::fs::read(&predictions).unwrap();
    std::fs::write(&predictions, &bytes[..bytes.len() / 2]).unwrap();
    let edited = run("half-mhe_depth_1").join("results.json");
    let mut results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&edited).unwrap()).unwrap();
    results["test_accuracy"] = 0.99.into();
    std::fs::write(&edited, results.to_string()).unwrap();

    let again = run_experiment(&config, &dir, &Device::flex()).unwrap();
    for (rerun, first) in again.settings.iter().zip(&summary.settings) {
        assert_eq!(rerun.test_accuracy, first.test_accuracy, "{}", first.label);
        assert_eq!(rerun.output_energy, first.output_energy, "{}", first.label);
        assert_eq!(rerun.vs_baseline, first.vs_baseline, "{}", first.label);
    }
}

#[test]
fn a_sweep_is_redrawn_from_its_committed_runs_without_training() {
    let (dir, _, summary) = committed_depth_1_sweep("redraw");
    let read = |file: &str| std::fs::read(dir.join(file)).unwrap();
    let (curves, angles, markdown) = (read("curves.png"), read("angles.png"), read("summary.md"));

    // From the committed files alone: the same summary, figures and page, byte for byte; also
    // from a summary written before the training accuracy was added to it.
    let mut json: serde_json::Value = serde_json::from_slice(&read("summary.json")).unwrap();
    for setting in json["settings"].as_array_mut().unwrap() {
        let fields = setting.as_object_mut().unwrap();
        fields.remove("train_accuracy").unwrap();
        fields.remove("generalization_gap").unwrap();
    }
    std::fs::write(dir.join("summary.json"), json.to_string()).unwrap();
    assert!(ExperimentSummary::read(&dir.join("summary.json")).is_err());
    assert_eq!(redraw_experiment(&dir).unwrap(), summary);
    assert_eq!(read("curves.png"), curves);
    assert_eq!(read("angles.png"), angles);
    assert_eq!(read("summary.md"), markdown);

    // A blank curve figure is redrawn from the histories; runs that kept no figure data leave
    // the angle figure out instead of training again.
    std::fs::write(dir.join("curves.png"), b"blank").unwrap();
    for label in ["baseline_depth_1", "mhe_depth_1", "half-mhe_depth_1"] {
        std::fs::remove_file(dir.join(format!("runs/{label}-seed0/figure-data.json"))).unwrap();
    }
    let redrawn = redraw_experiment(&dir).unwrap();
    assert_eq!(redrawn.settings, summary.settings);
    assert_eq!(redrawn.wall_seconds, summary.wall_seconds);
    assert_eq!(read("curves.png"), curves);
    assert!(!dir.join("angles.png").exists() && !dir.join("angles.svg").exists());
    assert_eq!(
        redrawn.figures,
        [
            "curves.png",
            "curves.svg",
            "accuracy_vs_depth.png",
            "accuracy_vs_depth.svg"
        ]
    );
    assert!(!dir.join("runs/mhe_depth_1-seed0/checkpoint").exists());

    // A summary naming no seeds is refused, not summarized.
    let text = String::from_utf8(read("summary.json")).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        text.replace("\"seeds\": 1", "\"seeds\": 0"),
    )
    .unwrap();
    let error = redraw_experiment(&dir).unwrap_err().to_string();
    assert!(
        error.contains("seeds and epochs must be at least 1"),
        "{error}"
    );
    std::fs::write(dir.join("summary.json"), text).unwrap();

    // A run without results is named, never trained.
    std::fs::remove_file(dir.join("runs/mhe_depth_1-seed0/results.json")).unwrap();
    let error = redraw_experiment(&dir).unwrap_err().to_string();
    assert!(error.contains("mhe_depth_1-seed0"), "{error}");
    assert!(!dir.join("runs/mhe_depth_1-seed0/results.json").exists());
}

/// Every committed `summary.json` (of the sweeps whose runs are committed) is what its
/// committed runs give: the per-configuration
/// statistics, the paired comparisons with the baseline (t-test, Wilcoxon, McNemar) and the
/// rare-class numbers, recomputed from each run's results and predictions.
#[test]
fn every_committed_summary_is_recomputed_from_its_runs() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
    let mut sweeps = 0;
    for sweep in std::fs::read_dir(results).unwrap() {
        let sweep = sweep.unwrap().path();
        // Folders of figures alone (the earliest runs) and single runs have no summary.
        if !sweep.join("summary.json").is_file() {
            continue;
        }
        let committed = ExperimentSummary::read(&sweep.join("summary.json")).unwrap();
        let recomputed = summarize_runs(&committed.config, &sweep)
            .unwrap_or_else(|error| panic!("{}: {error}", sweep.display()));
        assert_eq!(recomputed.len(), committed.settings.len());
        for (again, written) in recomputed.iter().zip(&committed.settings) {
            assert_eq!(again, written, "{} {}", sweep.display(), written.label);
        }
        sweeps += 1;
    }
    assert!(sweeps >= 9, "{sweeps} committed sweeps");
}

#[test]
fn the_controls_adopt_a_depth_sweeps_runs_of_the_same_configuration_and_seed() {
    let (depth, _, _) = committed_depth_1_sweep("adopted-from");
    let controls = tiny(ExperimentName::Controls);
    let dir = out("adopting");
    // The controls' baseline, MHE and half-space MHE at the released weights are the depth
    // sweep's depth-1 networks: those three are copied, nothing else is made.
    assert_eq!(adopt_runs(&controls, &dir, &depth).unwrap(), 3);
    let pairs = [
        ("baseline", "baseline_depth_1"),
        ("mhe_x1", "mhe_depth_1"),
        ("half-mhe_x1", "half-mhe_depth_1"),
    ];
    for (ours, theirs) in pairs {
        for file in [
            "config.json",
            "results.json",
            "predictions.json",
            "history/epoch-1.json",
        ] {
            let read = |sweep: &Path, label: &str| {
                std::fs::read(sweep.join("runs").join(format!("{label}-seed0")).join(file))
                    .unwrap_or_else(|e| panic!("{label} {file}: {e}"))
            };
            assert_eq!(read(&dir, ours), read(&depth, theirs), "{ours} {file}");
        }
    }
    let made = std::fs::read_dir(dir.join("runs")).unwrap().count();
    assert_eq!(made, 3, "only the adopted runs, no partial folder");
    assert_eq!(
        adopt_runs(&controls, &dir, &depth).unwrap(),
        0,
        "held already"
    );

    // The sweep names the adopted runs by its own labels, in its figures too (their figure
    // data kept the depth sweep's): both angle panels' legends.
    run_experiment(&controls, &dir, &Device::flex()).unwrap();
    let svg = std::fs::read_to_string(dir.join("angles.svg")).unwrap();
    let legend: Vec<&str> = svg
        .lines()
        .map(str::trim)
        .filter(|line| ["baseline", "mhe x1", "half-mhe x1", "opt"].contains(line))
        .collect();
    assert_eq!(
        legend,
        ["baseline", "mhe x1", "half-mhe x1", "opt"].repeat(2)
    );
    assert!(!svg.contains("depth 1"), "the depth sweep's labels");

    // A damaged run is named, never copied.
    std::fs::remove_dir_all(dir.join("runs/baseline-seed0")).unwrap();
    let source = depth.join("runs/baseline_depth_1-seed0/predictions.json");
    std::fs::write(&source, "{\"labels\": [").unwrap();
    let error = adopt_runs(&controls, &dir, &depth).unwrap_err().to_string();
    assert!(error.contains("baseline_depth_1-seed0"), "{error}");
    assert!(!dir.join("runs/baseline-seed0").exists());
}
