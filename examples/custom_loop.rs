//! MHE in a hand-written burn training loop: the same small MLP trained on the shipped MNIST
//! subset twice, without and with MHE, with test accuracy and final energies side by side.
//!
//! ```sh
//! cargo run --all-features --example custom_loop -- [epochs] [cpu|ndarray|wgpu]
//! ```
//!
//! Adding MHE to a loop takes two lines: `let mhe = config.init(&model);` once, and
//! `loss + mhe.penalty(&model)` in the training step. (A regularizer with learnable poles, MHP
//! or MHC, has parameters: keep it inside a module the optimizer steps, e.g. as a field of the
//! model, set after its layers with `model.mhe = config.init(&model)`.)

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
#[path = "common/device.rs"]
mod device;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Int, Tensor};
use burn_mhe::{EnergyConfig, MheRegularizerConfig};
use mhe_experiments::{IdxDataset, ImageBatcher, ImageItem, mnist_subset};

#[derive(Module, Debug)]
struct Mlp {
    layers: Vec<Linear>,
    classifier: Linear,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        Self {
            layers: vec![
                LinearConfig::new(784, 128).init(device),
                LinearConfig::new(128, 128).init(device),
            ],
            classifier: LinearConfig::new(128, 10).init(device),
        }
    }

    fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let hidden = self
            .layers
            .iter()
            .fold(images, |x, layer| relu(layer.forward(x)));
        self.classifier.forward(hidden)
    }
}

/// Images `[B, 784]` and labels `[B]` of the items at `indices`.
fn batch(data: &IdxDataset, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let items: Vec<ImageItem> = indices
        .iter()
        .map(|&i| data.get(i).expect("in range"))
        .collect();
    let batch = ImageBatcher { shape: [28, 28] }.batch(items, device);
    (batch.inputs.reshape([indices.len(), 784]), batch.targets)
}

/// A random order of `len` items, drawn on `device` (seeded once per run).
fn shuffled(len: usize, device: &Device) -> Vec<usize> {
    Tensor::<1>::random([len], Distribution::Default, device)
        .argsort(0)
        .into_data()
        .iter::<i64>()
        .map(|i| i as usize)
        .collect()
}

fn accuracy(model: &Mlp, data: &IdxDataset, device: &Device) -> f64 {
    let indices: Vec<usize> = (0..data.len()).collect();
    let (images, labels) = batch(data, &indices, device);
    let predictions = model.forward(images).argmax(1).reshape([data.len()]);
    let correct = predictions.equal(labels).int().sum().into_scalar::<i64>();
    correct as f64 / data.len() as f64
}

struct Outcome {
    test_accuracy: f64,
    hidden_energy: f64,
    output_energy: f64,
}

fn train(
    name: &str,
    config: &MheRegularizerConfig,
    use_mhe: bool,
    epochs: usize,
    device: &Device,
) -> Outcome {
    let (train_set, test_set) = mnist_subset();

    device.seed(42);
    let mut model = Mlp::new(device);
    // No poles in this configuration: the regularizer has no parameters, and the optimizer
    // steps the model alone.
    let mhe = config.init(&model);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    for epoch in 0..epochs {
        let order = shuffled(train_set.len(), device);
        let mut losses = Vec::new();
        for indices in order.chunks(64) {
            let (images, labels) = batch(&train_set, indices, device);
            let mut loss = loss_fn.forward(model.forward(images), labels);
            if use_mhe {
                loss = loss + mhe.penalty(&model);
            }
            losses.push(loss.clone().into_scalar::<f64>());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-3, model, grads);
        }
        let mean = losses.iter().sum::<f64>() / losses.len() as f64;
        println!(
            "{name:>8} epoch {}: training objective {mean:.4}",
            epoch + 1
        );
    }
    let parts = mhe.penalty_parts(&model.valid());
    Outcome {
        test_accuracy: accuracy(
            &model.valid(),
            &test_set,
            &device.clone().without_autodiff(),
        ),
        hidden_energy: parts.hidden.into_scalar::<f64>(),
        output_energy: parts.output.into_scalar::<f64>(),
    }
}

fn main() {
    let (epochs, device) = device::count_and_device("epochs", 3);
    // The released code's setup: Euclidean s = 2, hidden layers x1, classifier x10. Its
    // energies are reported for both runs, so the baseline shows what MHE changes.
    let mhe = MheRegularizerConfig::official(EnergyConfig::new());
    let baseline = train("baseline", &mhe, false, epochs, &device);
    let with_mhe = train("mhe", &mhe, true, epochs, &device);
    println!();
    println!(
        "{:<10} {:>14} {:>15} {:>15}",
        "run", "test accuracy", "hidden energy", "output energy"
    );
    for (name, outcome) in [("baseline", baseline), ("mhe", with_mhe)] {
        println!(
            "{name:<10} {:>14.4} {:>15.5} {:>15.5}",
            outcome.test_accuracy, outcome.hidden_energy, outcome.output_energy
        );
    }
}
