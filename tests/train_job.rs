//! The training job end to end on the shipped MNIST subset: burn's Learner with MHE, the
//! history and results files, determinism, the effect of MHE, and resuming a stopped run.

use burn::tensor::Device;
use burn_mhe_train::{
    Architecture, DatasetChoice, ImageClassifierConfig, MheMode, RunFolder, TrainError,
    TrainJobConfig, TrainResults, checkpoint_path, epoch_file, resume, train,
};

fn folder(name: &str) -> RunFolder {
    let root = std::env::temp_dir().join(format!("mhe-train-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    RunFolder::new(root)
}

/// A small MLP on 400 shipped digits: about a second per epoch in a debug build.
fn tiny(mhe: MheMode, epochs: usize) -> TrainJobConfig {
    let model = ImageClassifierConfig::new(Architecture::Mlp)
        .with_width(0.25)
        .with_depth(2);
    TrainJobConfig::new(DatasetChoice::MnistSubset, model)
        .with_mhe(mhe)
        .with_epochs(epochs)
        .with_train_limit(Some(400))
        .with_lr_step_epochs(Some(epochs))
        .with_seed(3)
}

fn flex() -> Device {
    Device::flex()
}

/// The history without wall times, which differ between identical runs.
fn curves(results: &TrainResults) -> Vec<[f64; 6]> {
    results
        .history
        .iter()
        .map(|e| {
            [
                e.train_loss,
                e.train_accuracy,
                e.valid_loss,
                e.valid_accuracy,
                e.hidden_energy,
                e.output_energy,
            ]
        })
        .collect()
}

#[test]
fn training_with_mhe_lowers_the_loss_and_reports_finite_energies() {
    let run = folder("mhe");
    let results = train(&tiny(MheMode::Mhe, 2), &run, &flex())
        .unwrap()
        .results;

    let epochs: Vec<usize> = results.history.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [1, 2]);
    let (first, last) = (&results.history[0], &results.history[1]);
    // An untrained 10-class classifier has cross-entropy near ln 10 = 2.303.
    assert!(first.valid_loss < 10f64.ln(), "{first:?}");
    assert!(last.valid_loss < first.valid_loss, "{:?}", results.history);
    assert!(last.train_loss < first.train_loss, "{:?}", results.history);
    assert!(results.test_accuracy > 0.3 && results.test_accuracy <= 1.0);
    for e in &results.history {
        assert!(e.hidden_energy.is_finite() && e.hidden_energy > 0.0);
        assert!(e.output_energy.is_finite() && e.output_energy > 0.0);
        assert!((0.0..=1.0).contains(&e.valid_accuracy));
    }
    // Two hidden layers of 64 neurons and a 10-neuron classifier, s = 2: the output energy is
    // at least the regular simplex's 1 / d^2 = (N - 1) / (2N) = 0.45.
    assert!(
        results.output_energy >= 0.45 - 1e-6,
        "{}",
        results.output_energy
    );
    assert_eq!(results.layers.len(), 3);
    assert_eq!(results.per_class_accuracy.len(), 10);
    assert_eq!(results.split_sizes, [400, 250, 500]);

    let written = run.read_results().unwrap();
    assert_eq!(written.test_accuracy, results.test_accuracy);
    assert_eq!(curves(&written), curves(&results));
    assert!(checkpoint_path(&run.checkpoints(), "model", 2).is_file());
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = train(&tiny(MheMode::Mhe, 1), &folder("same-a"), &flex())
        .unwrap()
        .results;
    let b = train(&tiny(MheMode::Mhe, 1), &folder("same-b"), &flex())
        .unwrap()
        .results;
    assert_eq!(curves(&a), curves(&b));
    assert_eq!(a.test_accuracy, b.test_accuracy);
    assert_eq!(a.per_class_accuracy, b.per_class_accuracy);
    let c = train(
        &tiny(MheMode::Mhe, 1).with_seed(4),
        &folder("same-c"),
        &flex(),
    )
    .unwrap()
    .results;
    assert_ne!(curves(&a), curves(&c));
}

#[test]
fn mhe_spreads_the_classifier_neurons_more_than_the_baseline() {
    let baseline = train(&tiny(MheMode::None, 2), &folder("base"), &flex())
        .unwrap()
        .results;
    let mhe = train(&tiny(MheMode::Mhe, 2), &folder("spread"), &flex())
        .unwrap()
        .results;
    assert!(
        mhe.output_energy < baseline.output_energy,
        "MHE {} vs baseline {}",
        mhe.output_energy,
        baseline.output_energy
    );
    let min_angle = |r: &TrainResults| r.layers.last().unwrap().min_angle_deg.unwrap();
    assert!(min_angle(&mhe) > min_angle(&baseline));
}

#[test]
fn resume_drops_an_epoch_without_checkpoint_and_trains_it_again() {
    let run = folder("resume");
    let full = train(&tiny(MheMode::Mhe, 3), &run, &flex())
        .unwrap()
        .results;
    // A run killed after epoch 3's history was written but before its checkpoint was saved,
    // and before results.json.
    for name in ["model", "optim", "scheduler"] {
        std::fs::remove_file(checkpoint_path(&run.checkpoints(), name, 3)).unwrap();
    }
    std::fs::remove_file(run.results()).unwrap();
    assert!(epoch_file(run.root(), 3).is_file());
    assert_eq!(run.last_complete_epoch(3), 2);

    let resumed = resume(&run, &flex()).unwrap().results;
    let epochs: Vec<usize> = resumed.history.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [1, 2, 3]);
    assert_eq!(curves(&resumed)[..2], curves(&full)[..2]);
    assert!(resumed.history[2].valid_loss.is_finite());
    assert!(checkpoint_path(&run.checkpoints(), "model", 3).is_file());
    assert_eq!(run.read_results().unwrap().history.len(), 3);

    // A finished run resumes to the same results without training.
    let again = resume(&run, &flex()).unwrap().results;
    assert_eq!(curves(&again), curves(&resumed));
    assert_eq!(again.test_accuracy, resumed.test_accuracy);
}

#[test]
fn bad_jobs_fail_before_training() {
    let run = folder("bad");
    let bad = |config: TrainJobConfig| {
        let error = train(&config, &run, &flex()).unwrap_err();
        assert!(!run.config().exists(), "nothing is written for {error}");
        error
    };
    for config in [
        tiny(MheMode::Mhe, 1).with_lambda_output(-1.0),
        tiny(MheMode::Mhe, 1).with_lambda_hidden(f64::NAN),
        tiny(MheMode::Mhe, 1).with_s(-0.5),
        tiny(MheMode::Mhe, 1).with_epochs(0),
        tiny(MheMode::Mhe, 1).with_lr(0.0),
    ] {
        let error = bad(config);
        assert!(
            matches!(error, TrainError::InvalidConfig(_) | TrainError::Mhe(_)),
            "{error}"
        );
    }
    let mut missing = tiny(MheMode::Mhe, 1).with_data_dir(Some("/no/such/mnist".into()));
    missing.dataset = DatasetChoice::Idx;
    assert!(
        matches!(bad(missing), TrainError::MissingDataDir(p) if p == std::path::Path::new("/no/such/mnist"))
    );
    assert!(resume(&run, &flex()).is_err());
}

#[test]
fn an_existing_run_is_never_overwritten() {
    let run = folder("twice");
    train(&tiny(MheMode::None, 1), &run, &flex()).unwrap();
    let error = train(&tiny(MheMode::None, 1), &run, &flex()).unwrap_err();
    assert!(error.to_string().contains("already holds a run"), "{error}");
}

/// The same job on a GPU backend (Mesa's software Vulkan driver where there is no GPU).
#[cfg(feature = "wgpu")]
#[test]
fn the_same_job_trains_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    let results = train(&tiny(MheMode::Mhe, 2), &folder("wgpu"), &device)
        .unwrap()
        .results;
    let epochs: Vec<usize> = results.history.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [1, 2]);
    for e in &results.history {
        assert!(e.valid_loss < 10f64.ln(), "{e:?}");
        assert!(e.hidden_energy.is_finite() && e.output_energy.is_finite());
    }
    assert!(
        results.output_energy >= 0.45 - 1e-5,
        "{}",
        results.output_energy
    );
    assert!(results.test_accuracy > 0.3, "{}", results.test_accuracy);
    assert!(results.device.contains("Wgpu"), "{}", results.device);
}
