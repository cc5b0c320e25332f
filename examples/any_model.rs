//! MHE for a model that is not an image classifier, in burn's Learner: a table of one
//! categorical column (embedded) and four numeric ones, the model's own item, batch and batcher
//! types, and a label-smoothed cross-entropy. The model implements burn's own `TrainStep` and
//! `InferenceStep`; `WithMhe` adds the penalty of its hidden layer, its classifier and its
//! embedding rows (a `ParamRule`) and reports the energies.
//!
//! ```sh
//! cargo run --all-features --example any_model -- [epochs] [cpu|ndarray|wgpu]
//! ```

#[path = "common/device.rs"]
mod device;
#[path = "common/tabular.rs"]
mod tabular;

use std::io::IsTerminal;

use burn::data::dataloader::DataLoaderBuilder;
use burn::optim::AdamConfig;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use burn_mhe::{EnergyConfig, MheRegularizerConfig};
use burn_mhe_train::{EnergyMetric, EpochLineRenderer, WithMhe};
use tabular::{TableBatcher, TableNet, embedding_rule, rows};

fn main() {
    let (epochs, device) = device::count_and_device("epochs", 4);
    let train = DataLoaderBuilder::new(TableBatcher)
        .batch_size(64)
        .shuffle(1)
        .build(rows(2000, 1));
    let valid = DataLoaderBuilder::new(TableBatcher)
        .batch_size(256)
        .build(rows(500, 2));

    let net = TableNet::new(&device);
    let mhe = MheRegularizerConfig::official(EnergyConfig::new())
        .with_extra(vec![embedding_rule()])
        .init(&net);
    let model = WithMhe::new(net, mhe);

    let run = std::env::temp_dir().join("burn-mhe-any-model-example");
    std::fs::remove_dir_all(&run).ok();
    let mut training = SupervisedTraining::new(&run, train, valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metrics((EnergyMetric::hidden(), EnergyMetric::output()))
        .num_epochs(epochs);
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(EpochLineRenderer::new()));
    }
    let result = training.launch(Learner::new(model, AdamConfig::new().init(), 1e-2));

    let trained = result.model;
    for layer in trained.mhe.report(&trained.model) {
        println!("{layer}");
    }
}
