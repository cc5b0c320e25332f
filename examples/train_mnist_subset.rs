//! The main job: the same CNN trained on the shipped MNIST subset (offline) as a baseline, with
//! MHE and with half-space MHE, through burn's Learner, then a side-by-side table.
//!
//! ```sh
//! cargo run --all-features --example train_mnist_subset -- [epochs] [cpu|ndarray|wgpu]
//! ```
//!
//! Each run writes checkpoints, burn's logs, a per-epoch history and `results.json` to
//! `runs/main-job/<run>/` (replaced on every invocation). `mhe train` runs one of them with
//! any option.

#[path = "common/device.rs"]
mod device;

use burn_mhe_train::RunFolder;
use mhe_experiments::{
    Architecture, DatasetChoice, ImageClassifierConfig, MheMode, TrainJobConfig, TrainResults,
    train,
};

fn main() {
    let (epochs, device) = device::count_and_device("epochs", 4);
    let root = std::path::Path::new("runs/main-job");

    let mut rows: Vec<(&str, TrainResults)> = Vec::new();
    for (name, mhe) in [
        ("baseline", MheMode::None),
        ("mhe", MheMode::Mhe),
        ("half-mhe", MheMode::HalfMhe),
    ] {
        // The released code's setup: Euclidean s = 2, hidden layers x1, classifier x10,
        // SGD with momentum 0.9, weight decay 5e-4, learning rate x0.1 halfway.
        let config = TrainJobConfig::new(
            DatasetChoice::MnistSubset,
            ImageClassifierConfig::new(Architecture::Cnn),
        )
        .with_mhe(mhe)
        .with_epochs(epochs);
        let run = RunFolder::new(root.join(name));
        std::fs::remove_dir_all(run.root()).ok();
        println!("== {name}: {}", run.root().display());
        let results = train(&config, &run, &device)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .results;
        rows.push((name, results));
    }

    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>14} {:>14} {:>16} {:>8}",
        "run",
        "test acc",
        "test loss",
        "hidden energy",
        "output energy",
        "min output angle",
        "seconds"
    );
    for (name, r) in &rows {
        let output_angle = r.layers.last().and_then(|l| l.min_angle_deg);
        println!(
            "{name:<10} {:>9.4} {:>9.4} {:>14.5} {:>14.5} {:>16.2} {:>8.1}",
            r.test_accuracy,
            r.test_loss,
            r.hidden_energy,
            r.output_energy,
            output_angle.unwrap_or(f64::NAN),
            r.wall_seconds
        );
    }
    println!(
        "\nEnergies are unweighted (Euclidean s = 2) and measured for every run; the test split \
         has 500 digits, so one digit is 0.2 points of accuracy."
    );
}
