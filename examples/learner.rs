//! MHE for your own model in burn's Learner: implement `Classifier`, wrap the model in
//! `CrossEntropyClassifier` and `WithMhe`, register `EnergyMetric`s, and train with
//! `SupervisedTraining` as usual. (A model that implements burn's `TrainStep` itself goes
//! straight into `WithMhe`: `examples/any_model.rs`.)
//!
//! ```sh
//! cargo run --all-features --example learner -- [epochs] [cpu|ndarray|wgpu]
//! ```
//!
//! On a terminal burn's TUI shows loss, accuracy and both energies; elsewhere the
//! `EpochLineRenderer` prints them once per epoch.

#[path = "common/device.rs"]
mod device;

use std::io::IsTerminal;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::AdamConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use burn_mhe::{EnergyConfig, MheRegularizerConfig};
use burn_mhe_train::{
    Classifier, CrossEntropyClassifier, EnergyMetric, EpochLineRenderer, WithMhe,
};
use mhe_experiments::{DataSplits, ImageBatcher, SplitPlan, mnist_subset};

/// A user's model: nothing about MHE in it.
#[derive(Module, Debug)]
struct SmallCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    classifier: Linear,
}

impl SmallCnn {
    fn new(device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        Self {
            conv1: conv(1, 16),
            conv2: conv(16, 32),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            classifier: LinearConfig::new(32 * 7 * 7, 10).init(device),
        }
    }
}

/// The one thing `CrossEntropyClassifier` needs: logits from a batch of inputs.
impl Classifier for SmallCnn {
    type Input = Tensor<4>;

    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(relu(self.conv1.forward(images)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let [batch, channels, rows, cols] = x.dims();
        self.classifier
            .forward(x.reshape([batch, channels * rows * cols]))
    }
}

fn main() {
    let (epochs, device) = device::count_and_device("epochs", 2);

    let plan = SplitPlan {
        valid_fraction: 0.1,
        train_limit: None,
        imbalance: None,
        seed: 1,
    };
    let (train_files, test_files) = mnist_subset();
    let splits = DataSplits::split(train_files, test_files, &plan);
    let batcher = ImageBatcher { shape: [28, 28] };
    let train = DataLoaderBuilder::new(batcher)
        .batch_size(64)
        .shuffle(1)
        .build(splits.train);
    let valid = DataLoaderBuilder::new(batcher)
        .batch_size(64)
        .build(splits.valid);

    // MHE: hidden convs x1, the classifier (the last Linear) x10, Euclidean s = 2.
    let net = CrossEntropyClassifier::new(SmallCnn::new(&device));
    let mhe = MheRegularizerConfig::official(EnergyConfig::new()).init(&net);
    let model = WithMhe::new(net, mhe);

    let run = std::env::temp_dir().join("burn-mhe-learner-example");
    std::fs::remove_dir_all(&run).ok();
    let mut training = SupervisedTraining::new(&run, train, valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metrics((EnergyMetric::hidden(), EnergyMetric::output()))
        .with_default_checkpointers()
        .num_epochs(epochs);
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(EpochLineRenderer::new()));
    }
    let learner = Learner::new(model, AdamConfig::new().init(), 1e-3);
    let result = training.launch(learner);

    let trained = result.model;
    for layer in trained.mhe.report(&trained.model.model) {
        println!("{layer}");
    }
    println!("checkpoints and logs in {}", run.display());
}
