//! The `mhe` binary end to end: `.npy` in, energy, JSON and gradient out, exit codes.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use npyz::WriterBuilder;
use support::*;

fn mhe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mhe"))
        .args(args)
        .output()
        .expect("the mhe binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "mhe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn temp(name: &str) -> PathBuf {
    scratch_path(&format!("mhe-cli/{name}"))
}

fn write_npy<T: npyz::AutoSerialize>(
    path: &PathBuf,
    shape: &[u64],
    values: impl IntoIterator<Item = T>,
) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut out = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()
        .unwrap();
    out.extend(values).unwrap();
    out.finish().unwrap();
}

/// The golden neurons stored neurons-first as a PyTorch-style `[4, 2, 3, 3]` conv weight.
fn write_golden(path: &PathBuf, float64: bool) {
    let shape = [4u64, 2, 3, 3];
    if float64 {
        write_npy(path, &shape, golden_neurons());
    } else {
        write_npy(path, &shape, golden_neurons().into_iter().map(|x| x as f32));
    }
}

#[test]
fn energy_of_golden_weights_in_both_precisions() {
    for float64 in [true, false] {
        let path = temp(&format!("golden-{float64}.npy"));
        write_golden(&path, float64);
        let weights = path.to_str().unwrap();
        let plain = stdout(&mhe(&["energy", "--weights", weights]));
        assert_close(plain.trim().parse().unwrap(), 4.4046989524, 1e-5, "s=2");
        let half = stdout(&mhe(&[
            "energy",
            "--weights",
            weights,
            "--distance",
            "angular",
            "--s",
            "0",
            "--half-space",
        ]));
        assert_close(half.trim().parse().unwrap(), 0.8324114633, 1e-5, "a0 half");
    }
}

#[test]
fn json_report_and_gradient_file() {
    let path = temp("golden-json.npy");
    write_golden(&path, true);
    let grad_path = temp("golden-grad.npy");
    let out = stdout(&mhe(&[
        "energy",
        "--weights",
        path.to_str().unwrap(),
        "--s",
        "1",
        "--json",
        "--grad-out",
        grad_path.to_str().unwrap(),
    ]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_close(
        json["energy"].as_f64().unwrap(),
        1.9602908102,
        1e-9,
        "json energy",
    );
    assert_eq!(
        (json["n"].as_u64(), json["d"].as_u64()),
        (Some(4), Some(18))
    );
    let (min, mean) = (
        json["min_angle_deg"].as_f64().unwrap(),
        json["mean_angle_deg"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= mean && mean <= 180.0);
    assert_eq!(json["config"]["s"].as_f64(), Some(1.0));

    let bytes = std::fs::read(&grad_path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[4, 2, 3, 3]);
    assert_eq!(npy.dtype().descr(), "'<f8'");
    let grad: Vec<f64> = npy.into_vec().unwrap();
    // Central differences on the first entry of neuron 2 agree with the written gradient.
    let energy_at = |delta: f64| {
        let mut values = golden_neurons();
        values[2 * 18] += delta;
        let moved = temp("golden-moved.npy");
        write_npy(&moved, &[4, 18], values);
        stdout(&mhe(&[
            "energy",
            "--weights",
            moved.to_str().unwrap(),
            "--s",
            "1",
        ]))
        .trim()
        .parse::<f64>()
        .unwrap()
    };
    let numeric = (energy_at(1e-6) - energy_at(-1e-6)) / 2e-6;
    assert_close(grad[2 * 18], numeric, 1e-5, "gradient entry");
}

#[test]
fn bad_input_exits_with_code_two_and_a_message() {
    let garbage = temp("garbage.npy");
    std::fs::write(&garbage, b"not numpy at all").unwrap();
    let zero = temp("zero-neuron.npy");
    write_npy(&zero, &[2, 2], [1.0f32, 0.0, 0.0, 0.0]);
    let golden = temp("golden-bad-s.npy");
    write_golden(&golden, true);

    let sweep = temp("bad-learning-rate");
    let cases: [(Vec<&str>, &str); 9] = [
        (
            vec!["energy", "--weights", "/nonexistent/w.npy"],
            "/nonexistent/w.npy",
        ),
        (
            vec!["energy", "--weights", garbage.to_str().unwrap()],
            "not a valid .npy",
        ),
        (
            vec!["energy", "--weights", zero.to_str().unwrap(), "--strict"],
            "neuron 1 is zero",
        ),
        (
            vec!["energy", "--weights", golden.to_str().unwrap(), "--s", "-1"],
            "`s`",
        ),
        (
            vec!["bench", "--sizes", "8x4", "--memory-budget-mib", "0"],
            "memory_budget_mib",
        ),
        (
            vec!["redraw", "/nonexistent/sweep"],
            "/nonexistent/sweep/summary.json",
        ),
        (
            vec![
                "experiment",
                "controls",
                "--learning-rates",
                "0.1,0",
                "--out",
                sweep.to_str().unwrap(),
            ],
            "learning rates must be positive, got 0",
        ),
        (
            vec![
                "experiment",
                "controls",
                "--half-mhe-learning-rates",
                "0.1",
                "--out",
                sweep.to_str().unwrap(),
            ],
            "needs the baseline at that rate",
        ),
        (
            vec![
                "experiment",
                "controls",
                "--configurations",
                "half-mhe lr 0.3",
                "--out",
                sweep.to_str().unwrap(),
            ],
            "no configuration `half-mhe lr 0.3`",
        ),
    ];
    for (args, message) in cases {
        let output = mhe(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// A layer larger than the device's largest buffer (lavapipe's: 128 MiB; wgpu's storage
/// bindings are at most 4 GiB anywhere) is refused with exit code 2 before anything is
/// allocated, not a panic inside burn.
#[cfg(feature = "wgpu")]
#[test]
fn a_layer_larger_than_the_devices_largest_buffer_is_refused() {
    let output = mhe(&[
        "bench",
        "--device",
        "wgpu",
        "--sizes",
        "64x27,4194304x1024",
        "--repeats",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the layer 4194304x1024 (4194304 x 1024, 16384 MiB) does not fit"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The LibTorch backend is not a cargo feature (see docs/benchmarks.md): builds without its cfg
/// name the flag that brings it.
#[cfg(not(burn_mhe_libtorch))]
#[test]
fn libtorch_device_names_the_build_flag_it_needs() {
    let output = mhe(&["bench", "--sizes", "8x4", "--device", "libtorch"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--cfg burn_mhe_libtorch"), "{stderr}");
}

#[test]
fn bench_reports_the_cpu_it_ran_on() {
    let json: serde_json::Value = serde_json::from_str(
        stdout(&mhe(&[
            "bench",
            "--sizes",
            "16x8",
            "--repeats",
            "1",
            "--json",
        ]))
        .trim(),
    )
    .unwrap();
    assert_eq!(
        (json["n"].as_u64(), json["d"].as_u64()),
        (Some(16), Some(8))
    );
    let cpu = json["cpu"].as_str().unwrap();
    assert!(cpu.starts_with(std::env::consts::ARCH), "{cpu}");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        cpu.contains("avx2"),
        std::arch::is_x86_feature_detected!("avx2"),
        "{cpu}"
    );
    assert!(json["ratio"].as_f64().unwrap() > 0.0);
    // glibc accepts the allocator settings the binary makes before any thread starts.
    let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
    assert_eq!(json["keeps_freed_memory"].as_bool(), Some(glibc));
    // The CPU reports no memory: the 256 MiB default, no buffer limit of its own.
    let budget = &json["memory_budget"];
    assert_eq!(budget["bytes"].as_f64(), Some(256.0 * 1024.0 * 1024.0));
    assert_eq!(budget["source"], "default");
    assert!(budget["largest_buffer"].is_null(), "{budget}");
}

#[test]
fn pruned_layers_get_the_eps_regularized_energy_with_a_warning() {
    // Neuron 1 is zero (pruned) and neuron 2 repeats neuron 0's direction.
    let rows: [[f64; 2]; 4] = [[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.6, 0.8]];
    let pruned = temp("pruned.npy");
    write_npy(&pruned, &[4, 2], rows.iter().flatten().copied());
    let output = mhe(&["energy", "--weights", pruned.to_str().unwrap(), "--s", "2"]);
    let warning = String::from_utf8_lossy(&output.stderr).to_string();
    let energy: f64 = stdout(&output).trim().parse().unwrap();
    assert!(warning.contains("neuron 1 is zero"), "{warning}");
    assert!(
        warning.contains("neurons 0 and 2 point in the same direction"),
        "{warning}"
    );
    assert_eq!(warning.lines().count(), 3, "{warning}");

    // The released code's energy in float64: u = w / sqrt(|w|^2 + eps), f = 1 / (2 - 2 c).
    let eps = 1e-4;
    let unit: Vec<[f64; 2]> = rows
        .iter()
        .map(|w| {
            let scale = (w[0] * w[0] + w[1] * w[1] + eps).sqrt();
            [w[0] / scale, w[1] / scale]
        })
        .collect();
    let mut sum = 0.0;
    for i in 0..4 {
        for j in i + 1..4 {
            let c = unit[i][0] * unit[j][0] + unit[i][1] * unit[j][1];
            sum += 1.0 / (2.0 - 2.0 * c);
        }
    }
    assert_close(energy, sum / 6.0, 1e-4, "pruned layer energy");

    let strict = mhe(&["energy", "--weights", pruned.to_str().unwrap(), "--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    let nan = temp("nan.npy");
    write_npy(&nan, &[2, 2], [1.0, f64::NAN, 0.0, 1.0]);
    let refused = mhe(&["energy", "--weights", nan.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn sphere_finds_the_icosahedron() {
    let out_path = temp("icosahedron.npy");
    let text = stdout(&mhe(&[
        "sphere",
        "--points",
        "12",
        "--dim",
        "3",
        "--s",
        "1",
        "--restarts",
        "4",
        "--out",
        out_path.to_str().unwrap(),
    ]));
    assert!(text.starts_with("49.165253058"), "{text}");
    assert!(text.contains("min angle 63.4349488"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&mhe(&[
        "sphere",
        "--points",
        "5",
        "--dim",
        "3",
        "--restarts",
        "3",
        "--json",
    ])))
    .unwrap();
    assert_close(json["energy"].as_f64().unwrap(), 6.474691495, 1e-9, "N=5");
    assert_eq!(json["restarts"].as_u64(), Some(3));
    assert!(json["hits"].as_u64().unwrap() >= 1);
    let bytes = std::fs::read(&out_path).unwrap();
    let points: Vec<f64> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    assert_eq!(points.len(), 36);
}

/// The run folder's `results.json` as JSON.
fn results_json(run: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

fn epochs_of(results: &serde_json::Value) -> Vec<u64> {
    results["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect()
}

/// Starts `mhe ARGS`, waits until `file` exists, and kills it there. Asserts that the process
/// was still running when killed.
fn kill_once_written(args: &[&str], file: &std::path::Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mhe"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while !file.is_file() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "mhe ended before writing {}",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "mhe ended before the kill"
    );
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
}

/// Every per-epoch field but the wall time.
fn curves_of(results: &serde_json::Value) -> Vec<serde_json::Value> {
    results["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("seconds");
            e
        })
        .collect()
}

#[test]
fn train_killed_twice_and_resumed_ends_like_the_run_left_alone() {
    let job = [
        "train",
        "--model",
        "mlp",
        "--width",
        "0.5",
        "--epochs",
        "4",
        "--train-limit",
        "1200",
        "--seed",
        "3",
    ];
    let alone = temp("alone-run");
    let killed = temp("killed-run");
    let with_out = |run: &PathBuf| {
        let mut args = job.to_vec();
        args.extend(["--out", run.to_str().unwrap()]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    stdout(&mhe(&with_out(&alone)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()));

    let checkpoint = |epoch: usize| killed.join("checkpoint").join(format!("optim-{epoch}.bpk"));
    let killed_args = with_out(&killed);
    let resume_args = ["train", "--resume", killed.to_str().unwrap()];
    // Killed during epoch 2 (epoch 1's checkpoint just saved), resumed, killed again at the
    // end of epoch 3, resumed to the end.
    kill_once_written(
        &killed_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &checkpoint(1),
    );
    kill_once_written(&resume_args, &checkpoint(3));
    assert!(!killed.join("results.json").exists());
    // The killed trainer's lock died with it.
    drop(burn_mhe_train::FolderLock::acquire(&killed).unwrap());
    let printed = stdout(&mhe(&resume_args));
    assert!(printed.contains("test accuracy"), "{printed}");

    let (expected, results) = (results_json(&alone), results_json(&killed));
    assert_eq!(epochs_of(&results), [1, 2, 3, 4]);
    assert_eq!(curves_of(&results), curves_of(&expected));
    for field in [
        "test_accuracy",
        "test_loss",
        "per_class_accuracy",
        "layers",
        "weights_digest",
    ] {
        assert_eq!(results[field], expected[field], "{field}");
    }
    let predictions = |run: &PathBuf| std::fs::read(run.join("predictions.json")).unwrap();
    assert_eq!(predictions(&killed), predictions(&alone));
}

#[test]
fn train_rejects_bad_values_before_training() {
    let cases: [&[&str]; 5] = [
        &["--lambda-output", "-1"],
        &["--s", "-2"],
        &["--dataset", "idx"],
        &["--dataset", "idx", "--data-dir", "/no/such/mnist"],
        &["--imbalance", "12:0.5"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let run = temp(&format!("bad-run-{i}"));
        let mut args = vec!["train", "--out", run.to_str().unwrap()];
        args.extend_from_slice(case);
        let output = mhe(&args);
        assert_eq!(output.status.code(), Some(2), "{case:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            !message.is_empty() && !message.contains("panicked"),
            "{message}"
        );
        assert!(!run.join("config.json").exists(), "{case:?} started a run");
    }
    let unknown = mhe(&["train", "--dataset", "cifar", "--out", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    let nothing = mhe(&["train", "--resume", temp("no-run").to_str().unwrap()]);
    assert_eq!(nothing.status.code(), Some(2));
}

#[test]
fn every_objective_of_the_family_runs_from_the_command_line() {
    let weights = temp("golden-family.npy");
    write_golden(&weights, true);
    let pole = temp("pole.npy");
    let pole_values: Vec<f64> = pseudo_random(18, 9);
    write_npy(&pole, &[18], pole_values.iter().copied());
    let device = burn::tensor::Device::flex();
    for objective in burn_mhe::Objective::ALL {
        let label = objective.label();
        let mut args = vec!["energy", "--weights", weights.to_str().unwrap()];
        args.extend(["--objective", label, "--json"]);
        if objective.has_pole() {
            let missing = mhe(&args);
            assert_eq!(missing.status.code(), Some(2), "{label} without a pole");
            assert!(String::from_utf8_lossy(&missing.stderr).contains("needs a pole"));
            args.extend(["--pole", pole.to_str().unwrap()]);
        }
        let json: serde_json::Value = serde_json::from_str(&stdout(&mhe(&args))).unwrap();
        assert_eq!(json["objective"], label);
        let library = objective
            .init(&burn_mhe::EnergyConfig::new())
            .forward(
                f64_matrix(golden_neurons(), 18, &device),
                objective.has_pole().then(|| {
                    let data = burn::tensor::TensorData::new(pole_values.clone(), [18]);
                    burn::tensor::Tensor::from_data(data, (&device, burn::tensor::DType::F64))
                }),
            )
            .unwrap();
        assert_close(
            json["energy"].as_f64().unwrap(),
            values(library)[0],
            1e-12,
            label,
        );
    }
}

#[test]
fn train_takes_a_family_objective_with_the_released_weights() {
    let run = temp("mgd-run");
    let args = [
        "train",
        "--regularizer",
        "mgd",
        "--epochs",
        "1",
        "--train-limit",
        "200",
    ];
    let mut args = args.to_vec();
    args.extend(["--out", run.to_str().unwrap()]);
    stdout(&mhe(&args));
    let text = std::fs::read_to_string(run.join("config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(config["mhe"], serde_json::json!({ "family": "Mgd" }));
    assert_eq!(config["lambda_hidden"], 0.01);
    assert_eq!(config["lambda_output"], 0.1);
    let results = std::fs::read_to_string(run.join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert!(
        results["history"][0]["hidden_energy"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
}

#[test]
fn resume_continues_on_the_device_the_run_was_started_on() {
    let run = temp("ndarray-run");
    let run_path = run.to_str().unwrap();
    let device_of = || {
        let results = std::fs::read_to_string(run.join("results.json")).unwrap();
        let results: serde_json::Value = serde_json::from_str(&results).unwrap();
        results["device"].as_str().unwrap().to_owned()
    };
    let job = [
        "train",
        "--model",
        "mlp",
        "--width",
        "0.25",
        "--epochs",
        "1",
        "--train-limit",
        "200",
    ];
    let mut args = job.to_vec();
    args.extend(["--device", "ndarray", "--out", run_path]);
    stdout(&mhe(&args));
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["device"], "ndarray");
    assert!(device_of().contains("NdArray"), "{}", device_of());
    // A finished run is evaluated again on resume: on its own device without --device, on the
    // one named with it.
    stdout(&mhe(&["train", "--resume", run_path]));
    assert!(device_of().contains("NdArray"), "{}", device_of());
    stdout(&mhe(&["train", "--resume", run_path, "--device", "cpu"]));
    assert!(device_of().contains("Flex"), "{}", device_of());
}

/// `mhe train --resume RUN` as a child process, its output captured.
fn spawn_resume(run: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_mhe"))
        .args(["train", "--resume", run])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A finished `mhe train` run of an MLP of `width` for `epochs` on `train_limit` shipped
/// digits in the scratch folder `name`, and its `results.json`.
fn finished_mlp_run(
    name: &str,
    width: &str,
    epochs: &str,
    train_limit: &str,
) -> (PathBuf, serde_json::Value) {
    let run = temp(name);
    let job = [
        "train",
        "--model",
        "mlp",
        "--width",
        width,
        "--epochs",
        epochs,
        "--train-limit",
        train_limit,
        "--out",
        run.to_str().unwrap(),
    ];
    stdout(&mhe(&job));
    let results = results_json(&run);
    (run, results)
}

/// Cuts the file at `path` in half.
fn truncate(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn damaged_checkpoints_and_held_folders_end_in_exit_code_two_never_a_panic() {
    let (run, alone) = finished_mlp_run("damaged-run", "0.25", "3", "600");
    let run_path = run.to_str().unwrap();
    let checkpoint =
        |name: &str, epoch: usize| run.join("checkpoint").join(format!("{name}-{epoch}.bpk"));

    // The newest checkpoint cut in half: epoch 3 is trained again from epoch 2's, to the same
    // weights.
    truncate(&checkpoint("model", 3));
    std::fs::remove_file(run.join("results.json")).unwrap();
    let resumed = mhe(&["train", "--resume", run_path]);
    let warning = String::from_utf8_lossy(&resumed.stderr).into_owned();
    assert!(warning.contains("model-3.bpk") && warning.contains("continuing after epoch 2"));
    stdout(&resumed);
    assert_eq!(
        results_json(&run)["weights_digest"],
        alone["weights_digest"]
    );
    assert_eq!(curves_of(&results_json(&run)), curves_of(&alone));

    // Both kept checkpoints damaged: exit 2 naming the newest, no panic.
    truncate(&checkpoint("model", 3));
    truncate(&checkpoint("optim", 2));
    std::fs::remove_file(run.join("results.json")).unwrap();
    let refused = mhe(&["train", "--resume", run_path]);
    let message = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(2), "{message}");
    assert!(message.contains("model-3.bpk"), "{message}");
    assert!(!message.contains("panicked"), "{message}");

    // A folder held by another process (this test) is refused by name, for a run and a sweep.
    let held = burn_mhe_train::FolderLock::acquire(&run).unwrap();
    let busy = mhe(&["train", "--resume", run_path]);
    let message = String::from_utf8_lossy(&busy.stderr).into_owned();
    assert_eq!(busy.status.code(), Some(2), "{message}");
    let holder = format!("in use by process {}", std::process::id());
    assert!(message.contains(&holder), "{message}");
    let sweep = temp("held-sweep");
    let _held_sweep = burn_mhe_train::FolderLock::acquire(&sweep).unwrap();
    let experiment = [
        "experiment",
        "depth",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--train-limit",
        "200",
        "--out",
        sweep.to_str().unwrap(),
    ];
    let busy = mhe(&experiment);
    let message = String::from_utf8_lossy(&busy.stderr).into_owned();
    assert_eq!(busy.status.code(), Some(2), "{message}");
    assert!(message.contains(&holder), "{message}");
    assert!(!sweep.join("runs").exists());
    drop(held);
}

#[test]
fn two_resumes_of_one_folder_train_it_once() {
    let (run, alone) = finished_mlp_run("raced-run", "0.5", "2", "2000");
    let run_path = run.to_str().unwrap();
    // Epoch 2 lost: each resume would train it.
    for name in ["model", "optim", "scheduler"] {
        std::fs::remove_file(run.join("checkpoint").join(format!("{name}-2.bpk"))).unwrap();
    }
    std::fs::remove_file(run.join("results.json")).unwrap();
    let (first, second) = (spawn_resume(run_path), spawn_resume(run_path));
    let mut outcomes: Vec<(Option<i32>, String)> = [first, second]
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            (output.status.code(), stderr)
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes[0].0, Some(0), "{outcomes:?}");
    assert_eq!(outcomes[1].0, Some(2), "{outcomes:?}");
    assert!(outcomes[1].1.contains("in use by process"), "{outcomes:?}");
    assert_eq!(
        results_json(&run)["weights_digest"],
        alone["weights_digest"]
    );
}

/// `mhe bench | head`: a reader that goes away ends `mhe` by SIGPIPE, as other Unix tools end,
/// not with a panic on the closed pipe.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_ends_mhe_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mhe"))
        .args(["bench", "--sizes", "8x4,8x4,8x4", "--repeats", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        output.status.signal(),
        Some(13),
        "{:?}: {stderr}",
        output.status
    );
}

/// `mhe cross-check` on wgpu (lavapipe in CI) against float64: every objective passes, and
/// MGD, which loses digits in float32 on any device (its kernel matrix is ill-conditioned),
/// is allowed ten times the CPU's own float32 error rather than the flat tolerance.
#[cfg(feature = "wgpu")]
#[test]
fn the_cross_check_measures_both_devices_against_float64() {
    let output = mhe(&["cross-check", "--device", "wgpu"]);
    let table = stdout(&output);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("largest"))
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 20, "{table}");
    let column = |name: &str, index: usize| -> f64 {
        let row = rows.iter().find(|row| row[0] == name).unwrap();
        row[row.len() - 4 + index].parse().unwrap()
    };
    // MGD: float32 on the CPU itself is off float64 by more than the flat tolerance.
    let (mgd_cpu, mgd_allowed) = (column("mgd", 1), column("mgd", 3));
    assert!(mgd_cpu > 1e-5, "{table}");
    assert!(mgd_allowed > 5.0 * mgd_cpu && mgd_allowed > 1e-5, "{table}");
    assert_eq!(column("2", 3), 1e-5, "{table}");
    // A well-conditioned energy: both float32 results within a few ulps of float64.
    assert!(column("2", 1) < 5e-6 && column("2", 2) < 5e-6, "{table}");
}
