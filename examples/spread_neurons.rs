//! Minimizes the MHE penalty of a small convolutional network in a hand-written burn training
//! loop, and prints each layer's energy and pairwise angles before and after.
//!
//! ```sh
//! cargo run --all-features --example spread_neurons -- [steps] [cpu|ndarray|wgpu]
//! ```

#[path = "common/device.rs"]
mod device;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn_mhe::{EnergyConfig, LayerReport, MheRegularizerConfig};

#[derive(Module, Debug)]
struct SmallCnn {
    convs: Vec<Conv2d>,
    hidden: Linear,
    classifier: Linear,
}

fn print_report(title: &str, report: &[LayerReport]) {
    println!("{title}");
    println!(
        "  {:<24} {:>3} {:>4} {:>10} {:>9} {:>9}",
        "layer", "N", "d", "energy", "min deg", "mean deg"
    );
    for layer in report {
        println!(
            "  {:<24} {:>3} {:>4} {:>10.5} {:>9.2} {:>9.2}",
            layer.path,
            layer.neurons,
            layer.dim,
            layer.energy,
            layer.min_angle_deg.unwrap_or(f64::NAN),
            layer.mean_angle_deg.unwrap_or(f64::NAN),
        );
    }
}

fn main() {
    let (steps, device) = device::count_and_device("steps", 200);
    device.seed(7);

    let mut model = SmallCnn {
        convs: vec![
            Conv2dConfig::new([1, 16], [3, 3]).init(&device),
            Conv2dConfig::new([16, 32], [3, 3]).init(&device),
        ],
        hidden: LinearConfig::new(128, 64).init(&device),
        classifier: LinearConfig::new(64, 10).init(&device),
    };
    let mhe =
        MheRegularizerConfig::official(EnergyConfig::new().with_half_space(true)).init(&model);
    print_report("before", &mhe.report(&model));

    let mut optimizer = AdamConfig::new().init();
    for step in 0..steps {
        let penalty = mhe.penalty(&model);
        if step % 50 == 0 {
            println!(
                "step {step:>4}: penalty {:.6}",
                penalty.clone().into_scalar::<f64>()
            );
        }
        let grads = GradientsParams::from_grads(penalty.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
    }
    print_report("after", &mhe.report(&model));
}
