//! The training job end to end on the shipped MNIST subset: burn's Learner with MHE, the
//! history and results files, determinism, the effect of MHE, and resuming a stopped run.

mod support;

use burn::tensor::Device;
use burn_mhe::Objective;
use std::path::Path;

use burn_mhe_train::{CheckpointState, RunFolder, TrainError, init_seeded};
use mhe_experiments::{
    Architecture, ClassWeighting, DatasetChoice, ImageClassifierConfig, JobError, JobFiles,
    MheMode, TrainJobConfig, TrainResults, WeightParameterization, resume, train,
};
use support::{assert_close, largest_change, scratch_path};

fn folder(name: &str) -> RunFolder {
    let root = scratch_path(&format!("mhe-train-{name}"));
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
    assert!(run.checkpoint("model", 2).is_file());
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
    assert_eq!(a.weights_digest, b.weights_digest);
    assert_eq!(a.weights_digest.len(), 16);
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
fn runs_of_one_seed_differ_only_in_the_regularizer() {
    // MHE weighted by zero adds exact zeros to the loss and gradients: with the same split,
    // initial weights and batch order, the run is the baseline's, bit for bit.
    let baseline = train(&tiny(MheMode::None, 2), &folder("paired-base"), &flex()).unwrap();
    let zero = tiny(MheMode::Mhe, 2)
        .with_lambda_hidden(0.0)
        .with_lambda_output(0.0);
    let weightless = train(&zero, &folder("paired-zero"), &flex()).unwrap();
    assert_eq!(curves(&weightless.results), curves(&baseline.results));
    assert_eq!(weightless.predictions, baseline.predictions);
    let mhe = train(&tiny(MheMode::Mhe, 2), &folder("paired-mhe"), &flex()).unwrap();
    assert_ne!(curves(&mhe.results), curves(&baseline.results));
    assert_eq!(mhe.predictions.labels, baseline.predictions.labels);
    assert_eq!(mhe.predictions.labels.len(), 500);
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

/// The CPU backends of this build.
fn cpu_devices() -> Vec<Device> {
    let mut devices = vec![flex()];
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)] // burn deprecates ndarray, but it is still one of our CPU backends
    devices.push(Device::ndarray());
    // burn's LibTorch backend, in builds with `--cfg burn_mhe_libtorch` (docs/benchmarks.md).
    #[cfg(burn_mhe_libtorch)]
    #[allow(deprecated)] // burn 0.22 deprecates burn-tch
    devices.push(Device::libtorch());
    devices
}

#[test]
fn a_resumed_run_ends_bit_for_bit_where_the_uninterrupted_run_ends() {
    for (index, device) in cpu_devices().iter().enumerate() {
        let full = train(
            &tiny(MheMode::Mhe, 3),
            &folder(&format!("resume-full-{index}")),
            device,
        )
        .unwrap()
        .results;
        let run = folder(&format!("resume-{index}"));
        train(&tiny(MheMode::Mhe, 3), &run, device).unwrap();
        // Stopped between epochs 2 and 3, then during epoch 3 after its history was written
        // but before its checkpoint was saved; before results.json each time. (Checkpoints of
        // the last two epochs are kept.)
        for history_written in [false, true] {
            for name in ["model", "optim", "scheduler"] {
                std::fs::remove_file(run.checkpoint(name, 3)).unwrap();
            }
            if !history_written {
                std::fs::remove_file(run.history_record(3)).unwrap();
            }
            std::fs::remove_file(run.results()).unwrap();
            assert_eq!(run.last_intact_epoch(3).unwrap(), 2);
            let resumed = resume(&run, device).unwrap().results;
            let epochs: Vec<usize> = resumed.history.iter().map(|e| e.epoch).collect();
            assert_eq!(epochs, [1, 2, 3]);
            assert_eq!(curves(&resumed), curves(&full), "{device:?}");
            assert_eq!(resumed.test_accuracy, full.test_accuracy);
            assert_eq!(resumed.test_loss, full.test_loss);
            assert_eq!(resumed.layers, full.layers);
            assert_eq!(resumed.weights_digest, full.weights_digest);
        }

        // A finished run resumes to the same results without training.
        let again = resume(&run, device).unwrap().results;
        assert_eq!(curves(&again), curves(&full));
        assert_eq!(again.test_accuracy, full.test_accuracy);
    }
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
            matches!(
                error,
                JobError::Train(TrainError::InvalidConfig(_) | TrainError::Mhe(_))
            ),
            "{error}"
        );
    }
    let mut missing = tiny(MheMode::Mhe, 1).with_data_dir(Some("/no/such/mnist".into()));
    missing.dataset = DatasetChoice::Idx;
    assert!(
        matches!(bad(missing), JobError::MissingDataDir(p) if p == std::path::Path::new("/no/such/mnist"))
    );
    // Class weights for a class thinned out to nothing would be infinite.
    let empty_class = tiny(MheMode::None, 1)
        .with_imbalance(Some("0:0".parse().unwrap()))
        .with_class_weighting(Some(ClassWeighting::Balanced));
    let error = bad(empty_class).to_string();
    assert!(error.contains("class 0 has no training items"), "{error}");
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

#[test]
fn a_pole_objective_trains_and_resumes_with_its_poles() {
    let config = tiny(MheMode::Family(Objective::Mhc), 2);
    let full = train(&config, &folder("mhc-full"), &flex())
        .unwrap()
        .results;
    for epoch in &full.history {
        let values = [epoch.train_loss, epoch.hidden_energy, epoch.output_energy];
        assert!(values.iter().all(|x| x.is_finite()), "{values:?}");
    }
    assert!(
        full.test_accuracy > 0.2,
        "above chance: {}",
        full.test_accuracy
    );
    // The poles are parameters of the model: checkpointed with it, so epoch 2 resumes exactly.
    assert_the_last_epoch_resumes_exactly(&config, "mhc", &full);
}

/// Trains `config` into a fresh folder, deletes its last epoch's checkpoint and results, and
/// resumes it: the same curves and weights as the uninterrupted run `full`.
fn assert_the_last_epoch_resumes_exactly(config: &TrainJobConfig, name: &str, full: &TrainResults) {
    let run = folder(name);
    train(config, &run, &flex()).unwrap();
    for file in ["model", "optim", "scheduler"] {
        std::fs::remove_file(run.checkpoint(file, config.epochs)).unwrap();
    }
    std::fs::remove_file(run.results()).unwrap();
    let resumed = resume(&run, &flex()).unwrap().results;
    assert_eq!(curves(&resumed), curves(full));
    assert_eq!(resumed.weights_digest, full.weights_digest);
}

#[test]
fn opt_trains_rotations_that_keep_the_initial_angles_and_resumes_exactly() {
    let config = tiny(MheMode::None, 3).with_parameterization(Some(WeightParameterization::Opt));
    let full = train(&config, &folder("opt-full"), &flex())
        .unwrap()
        .results;
    assert!(
        full.test_accuracy > 0.3,
        "above chance: {}",
        full.test_accuracy
    );
    // R is orthogonal: the trained classifier (its effective weight R W0) has the initial
    // weight's angles between neurons and their lengths, where the plain baseline's move.
    let (angles, norms) = initial_classifier(&config);
    let plain = train(&tiny(MheMode::None, 3), &folder("opt-plain"), &flex())
        .unwrap()
        .results;
    for (what, trained, start) in [
        ("angle", &full.classifier_nearest_angles, &angles),
        ("norm", &full.classifier_norms, &norms),
    ] {
        for (a, b) in trained.iter().zip(start) {
            assert_close(*a, *b, 1e-4, &format!("OPT classifier {what}"));
        }
    }
    assert!(
        largest_change(&plain.classifier_nearest_angles, &angles) > 0.1,
        "the baseline's angles move"
    );
    assert_ne!(full.weights_digest, plain.weights_digest);
    // The rotations' generators are parameters: checkpointed, so epoch 3 resumes exactly.
    assert_the_last_epoch_resumes_exactly(&config, "opt", &full);
}

#[test]
fn opt_on_the_hidden_layers_leaves_the_classifier_free() {
    let config =
        tiny(MheMode::None, 3).with_parameterization(Some(WeightParameterization::OptHidden));
    let hidden = train(&config, &folder("opt-hidden"), &flex())
        .unwrap()
        .results;
    assert!(hidden.test_accuracy > 0.3, "{}", hidden.test_accuracy);
    // The classifier trains directly: its angles and lengths leave their initial values.
    let (angles, norms) = initial_classifier(&config);
    assert!(largest_change(&hidden.classifier_nearest_angles, &angles) > 0.1);
    assert!(largest_change(&hidden.classifier_norms, &norms) > 1e-3);
}

/// The nearest-neuron angles (degrees) and the lengths of the classifier's neurons as `config`
/// initializes them.
fn initial_classifier(config: &TrainJobConfig) -> (Vec<f64>, Vec<f64>) {
    let initial = init_seeded(&flex().autodiff(), config.seed, |device| {
        config.model.init(device)
    });
    let weight = initial.classifier().weight.val();
    let angles = burn_mhe::nearest_angles(weight.clone().transpose());
    let norms = weight.powi_scalar(2).sum_dim(0).sqrt().into_data();
    (angles, norms.iter::<f64>().collect())
}

/// How a file is damaged: what a full disk, a partial copy or a crash of the file system does.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut in half.
    Truncate,
    /// Overwritten with junk of the same size (only its checksum can tell).
    Junk,
    /// Left empty.
    Empty,
    /// Gone.
    Missing,
}

const DAMAGES: [Damage; 4] = [
    Damage::Truncate,
    Damage::Junk,
    Damage::Empty,
    Damage::Missing,
];

fn damage(path: &Path, how: Damage) {
    let bytes = std::fs::read(path).unwrap();
    match how {
        Damage::Truncate => std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap(),
        Damage::Junk => {
            let junk: Vec<u8> = (0..bytes.len()).map(|i| (i * 7 + 13) as u8).collect();
            assert_ne!(junk, bytes);
            std::fs::write(path, junk).unwrap()
        }
        Damage::Empty => std::fs::write(path, []).unwrap(),
        Damage::Missing => std::fs::remove_file(path).unwrap(),
    }
}

/// Asserts that `resumed` ends where the uninterrupted run `full` ended, bit for bit.
fn assert_same_run(resumed: &TrainResults, full: &TrainResults, case: &str) {
    assert_eq!(curves(resumed), curves(full), "{case}");
    assert_eq!(resumed.test_accuracy, full.test_accuracy, "{case}");
    assert_eq!(resumed.weights_digest, full.weights_digest, "{case}");
}

/// The results of a three-epoch run left alone, and a finished run of the same job in the
/// folder `name` to damage.
fn reference_and_run(name: &str) -> (TrainResults, RunFolder) {
    let job = tiny(MheMode::Mhe, 3);
    let full = train(&job, &folder(&format!("{name}-full")), &flex())
        .unwrap()
        .results;
    let run = folder(name);
    train(&job, &run, &flex()).unwrap();
    (full, run)
}

#[test]
fn a_damaged_checkpoint_falls_back_to_the_epoch_before_and_ends_bit_for_bit() {
    let (full, run) = reference_and_run("damage");
    for name in ["model", "optim", "scheduler"] {
        for how in DAMAGES {
            let case = format!("{name}-3.bpk {how:?}");
            let record = run.checkpoint(name, 3);
            damage(&record, how);
            std::fs::remove_file(run.results()).unwrap();
            let state = run.checkpoint_state(3);
            let found = match how {
                Damage::Missing => state == CheckpointState::Incomplete,
                _ => matches!(&state, CheckpointState::Damaged { path, .. } if *path == record),
            };
            assert!(found, "{case}: {state:?}");
            assert_eq!(run.last_intact_epoch(3).unwrap(), 2, "{case}");
            let resumed = resume(&run, &flex()).unwrap().results;
            assert_same_run(&resumed, &full, &case);
            // Epoch 3 was trained again and checkpointed whole.
            assert_eq!(run.checkpoint_state(3), CheckpointState::Complete);
        }
    }
}

#[test]
fn damage_with_no_intact_checkpoint_left_is_an_error_naming_the_file() {
    let (full, run) = reference_and_run("no-intact");
    let checkpoints = run.checkpoints();
    damage(&run.checkpoint("model", 3), Damage::Truncate);
    damage(&run.checkpoint("optim", 2), Damage::Junk);
    std::fs::remove_file(run.results()).unwrap();
    let error = resume(&run, &flex()).unwrap_err();
    match &error {
        JobError::Train(TrainError::CorruptRunFile { path, message }) => {
            assert_eq!(path, &run.checkpoint("model", 3));
            assert!(message.contains("no older intact checkpoint"), "{message}");
        }
        other => panic!("{other}"),
    }
    // As the message says: without the checkpoints the run is trained again from the start.
    std::fs::remove_dir_all(&checkpoints).unwrap();
    assert_eq!(run.last_intact_epoch(3).unwrap(), 0);
    let resumed = resume(&run, &flex()).unwrap().results;
    assert_same_run(&resumed, &full, "from the start");
}

#[test]
fn damaged_history_records_are_trained_again() {
    let (full, run) = reference_and_run("history");
    // Epoch 3's record: its checkpoint of epoch 2 is kept, so only epoch 3 is trained again;
    // epoch 2's: epoch 1's checkpoint is gone, so the run starts again.
    for (epoch, continued_after) in [(3, 2), (2, 0)] {
        for how in DAMAGES {
            let case = format!("epoch-{epoch}.json {how:?}");
            damage(&run.history_record(epoch), how);
            std::fs::remove_file(run.results()).unwrap();
            assert_eq!(run.last_intact_epoch(3).unwrap(), continued_after, "{case}");
            let resumed = resume(&run, &flex()).unwrap().results;
            assert_same_run(&resumed, &full, &case);
        }
    }
}

#[test]
fn checkpoints_of_earlier_versions_without_seals_are_checked_by_loading_them() {
    let run = folder("unsealed");
    train(&tiny(MheMode::Mhe, 2), &run, &flex()).unwrap();
    for name in ["model", "optim", "scheduler"] {
        let record = run.checkpoint(name, 2);
        std::fs::remove_file(record.with_extension("bpk.seal")).unwrap();
    }
    assert_eq!(run.checkpoint_state(2), CheckpointState::Complete);
    for (name, how) in [("model", Damage::Truncate), ("optim", Damage::Empty)] {
        let record = run.checkpoint(name, 2);
        let intact = std::fs::read(&record).unwrap();
        damage(&record, how);
        match run.checkpoint_state(2) {
            CheckpointState::Damaged { path, problem } => {
                assert_eq!(path, record);
                assert!(problem.contains("burn cannot load it"), "{problem}");
            }
            other => panic!("{name} {how:?}: {other:?}"),
        }
        std::fs::write(&record, intact).unwrap();
    }
}

#[test]
fn damaged_configurations_are_refused_by_name() {
    let run = folder("config-damage");
    train(&tiny(MheMode::Mhe, 1), &run, &flex()).unwrap();
    for file in [run.config(), run.fit_config()] {
        let intact = std::fs::read(&file).unwrap();
        for how in [Damage::Truncate, Damage::Junk, Damage::Empty] {
            damage(&file, how);
            match resume(&run, &flex()) {
                Err(JobError::Train(TrainError::CorruptRunFile { path, .. })) => {
                    assert_eq!(path, file)
                }
                other => panic!("{} {how:?}: {other:?}", file.display()),
            }
            std::fs::write(&file, &intact).unwrap();
        }
    }
    // A missing fit.json is written again from config.json; a missing config.json is no run.
    std::fs::remove_file(run.fit_config()).unwrap();
    resume(&run, &flex()).unwrap();
    assert!(run.fit_config().is_file());
    std::fs::remove_file(run.config()).unwrap();
    let error = resume(&run, &flex()).unwrap_err();
    assert!(error.to_string().contains("holds no run"), "{error}");
}
