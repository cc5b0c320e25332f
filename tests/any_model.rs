//! MHE for a model of one's own in burn's Learner: a table model with its own batch type and a
//! label-smoothed loss (`examples/common/tabular.rs`), wrapped in `WithMhe`.

mod support;
#[path = "../examples/common/tabular.rs"]
mod tabular;

use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainStep};
use burn_mhe::{EnergyConfig, LayerRole, MheRegularizer, MheRegularizerConfig};
use burn_mhe_train::{
    EnergyMetric, EpochRecord, FitConfig, FitData, OptimizerChoice, RunFolder, TrainError, WithMhe,
    fit, init_seeded, weights_digest,
};
use support::scratch_path;
use tabular::{PrototypeTableNet, TableBatch, TableBatcher, TableNet, embedding_rule, rows};

/// The released setup with the embedding's rows in the hidden group, for `net`.
fn regularizer(net: &impl Module) -> MheRegularizer {
    MheRegularizerConfig::official(EnergyConfig::new())
        .with_extra(vec![embedding_rule()])
        .init(net)
}

fn batch(device: &Device) -> TableBatch {
    let data = rows(64, 9);
    let items = (0..data.len()).map(|i| data.get(i).unwrap()).collect();
    TableBatcher.batch(items, device)
}

fn values(tensor: Tensor<2>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

/// `|a - b| <= 1e-6 max(|b|)` element by element.
fn assert_close(a: Vec<f64>, b: Vec<f64>, what: &str) {
    let scale = b.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6 * scale, "{what}: {x} vs {y}");
    }
}

#[test]
fn the_training_step_is_the_plain_loops_loss_plus_penalty() {
    let device = Device::flex().autodiff();
    let net = init_seeded(&device, 5, TableNet::new);
    let mhe = regularizer(&net);
    let batch = batch(&device);

    let step = TrainStep::step(&WithMhe::new(net.clone(), mhe.clone()), batch.clone());

    let loss = || net.loss(net.logits(&batch), batch.targets.clone());
    let plain = GradientsParams::from_grads((loss() + mhe.penalty(&net)).backward(), &net);
    let loss_only = GradientsParams::from_grads(loss().backward(), &net);
    let weights: [(&str, &Param<Tensor<2>>); 3] = [
        ("embedding", &net.categories.weight),
        ("hidden", &net.hidden.weight),
        ("classifier", &net.classifier.weight),
    ];
    for (name, weight) in weights {
        let grad = |grads: &GradientsParams| values(grads.get::<2>(weight.id).unwrap());
        assert_close(grad(&step.grads), grad(&plain), name);
        // The penalty is in the objective: its share of the gradient is not negligible.
        let (with, without) = (grad(&plain), grad(&loss_only));
        let change = with
            .iter()
            .zip(&without)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>();
        let size = without.iter().map(|b| b.abs()).sum::<f64>();
        assert!(change > 1e-3 * size, "{name}: the penalty changes nothing");
    }

    // The Loss metric reads the task loss; the energies are the regularizer's, unweighted.
    let item = &step.item;
    let scalar = |t: &Tensor<1>| t.clone().into_scalar::<f64>();
    assert_eq!(scalar(&item.inner.loss), scalar(&loss()));
    let energies = mhe.energy_parts(&net);
    assert!((scalar(&item.hidden_energy) - scalar(&energies.hidden)).abs() < 1e-6);
    assert!((scalar(&item.output_energy) - scalar(&energies.output)).abs() < 1e-6);
    let roles: Vec<(String, LayerRole)> = mhe
        .layers(&net)
        .into_iter()
        .map(|l| (l.path, l.role))
        .collect();
    assert!(
        roles.contains(&("categories.weight".into(), LayerRole::Hidden)),
        "{roles:?}"
    );
}

/// Trains the table model for `epochs` in burn's Learner, with or without the penalty.
fn trained(penalize: bool, epochs: usize) -> WithMhe<TableNet> {
    let device = Device::flex().autodiff();
    let net = init_seeded(&device, 11, TableNet::new);
    let mhe = regularizer(&net);
    let model = match penalize {
        true => WithMhe::new(net, mhe),
        false => WithMhe::measure_only(net, mhe),
    };
    learn(model, epochs, &format!("{penalize}"))
}

/// `model` after `epochs` of Adam in burn's Learner on 1,000 rows.
fn learn<M>(model: WithMhe<M>, epochs: usize, name: &str) -> WithMhe<M>
where
    M: TrainStep<Input = TableBatch, Output = ClassificationOutput>
        + InferenceStep<Input = TableBatch, Output = ClassificationOutput>
        + Module
        + burn::module::ModuleDisplay
        + 'static,
{
    let train = DataLoaderBuilder::new(TableBatcher)
        .batch_size(64)
        .build(rows(1000, 1));
    let valid = DataLoaderBuilder::new(TableBatcher)
        .batch_size(250)
        .build(rows(250, 2));
    let dir = scratch_path(&format!("mhe-any-model-{name}"));
    let training = SupervisedTraining::new(&dir, train, valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metrics((EnergyMetric::hidden(), EnergyMetric::output()))
        .num_epochs(epochs);
    let result = training.launch(Learner::new(model, AdamConfig::new().init(), 1e-2));
    assert!(result.error.is_none());
    result.model
}

/// 500 rows the models never trained on.
fn test_batch() -> TableBatch {
    let data = rows(500, 3);
    TableBatcher.batch(
        (0..data.len()).map(|i| data.get(i).unwrap()).collect(),
        &Device::flex(),
    )
}

/// The share of `predicted` classes equal to the batch's targets.
fn hit_rate(predicted: Tensor<1, Int>, batch: &TableBatch) -> f64 {
    let hits = predicted.equal(batch.targets.clone()).int().sum();
    hits.into_scalar::<f64>() / batch.targets.dims()[0] as f64
}

#[test]
fn the_learner_trains_a_model_of_ones_own_with_mhe() {
    let batch = test_batch();
    let accuracy = |model: &WithMhe<TableNet>| {
        let logits = model.model.valid().logits(&batch);
        hit_rate(logits.argmax(1).squeeze_dim(1), &batch)
    };
    let with = trained(true, 6);
    let without = trained(false, 6);
    // Both learn the table (chance is 20%); MHE spreads the classifier and embedding rows more.
    let (a, b) = (accuracy(&with), accuracy(&without));
    assert!(a > 0.6 && b > 0.6, "with MHE {a}, without {b}");
    let energy = |model: &WithMhe<TableNet>, path: &str| {
        let report = model.mhe.report(&model.model.valid());
        report.into_iter().find(|l| l.path == path).unwrap().energy
    };
    for path in ["classifier.weight", "categories.weight"] {
        assert!(
            energy(&with, path) < energy(&without, path),
            "{path}: {} vs {}",
            energy(&with, path),
            energy(&without, path)
        );
    }
}

/// `rows` reordered so that a single loader with batches of `2 * half_batch` sees, in batch
/// `k`, what two replicas see in their batch `k`: batch `k` of the first half of the rows, then
/// batch `k` of the second half (burn's multi-device strategy gives replica `i` the `i`-th half).
fn interleaved(
    rows: &burn::data::dataset::InMemDataset<tabular::Row>,
    half_batch: usize,
) -> Vec<tabular::Row> {
    let half = rows.len() / 2;
    let mut order = Vec::with_capacity(rows.len());
    for start in (0..half).step_by(half_batch) {
        order.extend(start..(start + half_batch).min(half));
        order.extend(half + start..(half + start + half_batch).min(rows.len()));
    }
    order.iter().map(|&i| rows.get(i).unwrap()).collect()
}

/// One epoch of SGD (no momentum, no weight decay) on 256 rows, by burn's `strategy`.
fn one_sgd_epoch(
    train_rows: Vec<tabular::Row>,
    batch_size: usize,
    lr: f64,
    strategy: burn::train::ExecutionStrategy,
    name: &str,
) -> WithMhe<TableNet> {
    let device = Device::flex().autodiff();
    let net = init_seeded(&device, 13, TableNet::new);
    let train = DataLoaderBuilder::new(TableBatcher)
        .batch_size(batch_size)
        .build(burn::data::dataset::InMemDataset::new(train_rows));
    let valid = DataLoaderBuilder::new(TableBatcher)
        .batch_size(64)
        .build(rows(64, 2));
    let dir = scratch_path(&format!("mhe-any-model-{name}"));
    let result = SupervisedTraining::new(&dir, train, valid)
        .metrics((LossMetric::new(),))
        .metrics((EnergyMetric::hidden(), EnergyMetric::output()))
        .with_training_strategy(strategy.into())
        .num_epochs(1)
        .launch(Learner::new(
            WithMhe::new(net.clone(), regularizer(&net)),
            burn::optim::SgdConfig::new().init(),
            lr,
        ));
    assert!(result.error.is_none());
    result.model
}

#[test]
fn burns_multi_device_strategy_sums_each_replicas_loss_and_penalty() {
    use burn::train::{ExecutionStrategy, MultiDeviceOptim};
    // Two replicas of the CPU backend on this machine. Each replica's objective is its mean
    // loss plus the whole penalty, and burn sums the replicas' gradients on the main device:
    // the step is twice the gradient of (mean loss over both batches + penalty). One device
    // with the global batch and twice the learning rate takes the same step.
    let data = rows(256, 21);
    let two = ExecutionStrategy::MultiDevice(
        vec![Device::flex().autodiff(), Device::flex().autodiff()],
        MultiDeviceOptim::OptimMainDevice,
    );
    let in_order: Vec<tabular::Row> = (0..data.len()).map(|i| data.get(i).unwrap()).collect();
    let replicas = one_sgd_epoch(in_order, 32, 0.05, two, "two-devices");
    let single = ExecutionStrategy::SingleDevice(Device::flex().autodiff());
    let global = one_sgd_epoch(interleaved(&data, 32), 64, 0.1, single, "one-device");
    let weights = |model: &WithMhe<TableNet>| {
        let net = model.model.valid();
        [
            net.categories.weight.val(),
            net.hidden.weight.val(),
            net.classifier.weight.val(),
        ]
        .map(values)
    };
    for (a, b) in weights(&replicas).into_iter().zip(weights(&global)) {
        assert_close(a, b, "weights after one epoch");
    }
}

#[test]
fn a_prototype_head_trains_in_the_learner_beside_hidden_mhe() {
    let device = Device::flex().autodiff();
    let net = init_seeded(&device, 11, PrototypeTableNet::new);
    let hidden_only = MheRegularizerConfig::official(EnergyConfig::new())
        .with_output(None)
        .init(&net);
    let batch = test_batch();
    let loss = |net: &PrototypeTableNet| {
        let net = net.valid();
        let features = net.net.logits(&batch);
        net.head
            .loss(features, batch.targets.clone())
            .into_scalar::<f64>()
    };
    let before = loss(&net);
    let trained = learn(WithMhe::new(net, hidden_only), 6, "prototypes").model;
    let after = loss(&trained);
    let valid = trained.valid();
    let accuracy = hit_rate(valid.head.predict(valid.net.logits(&batch)), &batch);
    // Chance is 20%; the loss is (1 - cos)^2, between 0 and 4.
    assert!(after < 0.5 * before, "loss {before} -> {after}");
    assert!(accuracy > 0.6, "accuracy {accuracy}");
}

/// The table model with MHE, trained by `fit` for `config.epochs` in the folder `run`.
fn fit_table(run: &RunFolder, config: &FitConfig) -> Result<WithMhe<TableNet>, TrainError> {
    let device = Device::flex().autodiff();
    let net = init_seeded(&device, 17, TableNet::new);
    let model = WithMhe::new(net.clone(), regularizer(&net));
    let data = FitData {
        train: Arc::new(rows(600, 1)),
        valid: Arc::new(rows(200, 2)),
        batcher: TableBatcher,
    };
    // No accuracy metric: the history records the loss and the energies alone.
    fit(model, data, config, run, &Device::flex(), |training| {
        training
    })
}

fn history(run: &RunFolder, epoch: usize) -> EpochRecord {
    let text = std::fs::read_to_string(run.history_record(epoch)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn fit_trains_a_model_of_ones_own_in_a_run_folder_and_resumes_it_bit_for_bit() {
    let root = scratch_path("mhe-any-model-fit");
    let folder = |name: &str| {
        let run = RunFolder::new(root.join(name));
        std::fs::remove_dir_all(run.root()).ok();
        run
    };
    let config = FitConfig::new()
        .with_epochs(3)
        .with_optimizer(OptimizerChoice::Adam)
        .with_lr(1e-2)
        .with_seed(4);
    let full_run = folder("full");
    let full = fit_table(&full_run, &config).unwrap();
    let records: Vec<EpochRecord> = (1..=3).map(|epoch| history(&full_run, epoch)).collect();
    // The label-smoothed loss falls; accuracy was not measured; the energies were.
    assert!(
        records[2].train_loss < 0.95 * records[0].train_loss,
        "{records:?}"
    );
    for record in &records {
        assert!(record.valid_accuracy.is_nan() && record.train_accuracy.is_nan());
        assert!(record.hidden_energy.is_finite() && record.output_energy > 0.0);
    }

    // Stopped between epochs 2 and 3 (epoch 3's checkpoint and history lost), then resumed.
    let run = folder("resumed");
    fit_table(&run, &config).unwrap();
    for name in ["model", "optim", "scheduler"] {
        std::fs::remove_file(run.checkpoint(name, 3)).unwrap();
    }
    std::fs::remove_file(run.history_record(3)).unwrap();
    assert_eq!(run.last_intact_epoch(3).unwrap(), 2);
    let resumed = fit_table(&run, &config).unwrap();
    assert_eq!(weights_digest(&resumed.model), weights_digest(&full.model));
    let without_time = |mut record: EpochRecord| {
        record.seconds = 0.0;
        format!("{record:?}")
    };
    assert_eq!(
        without_time(history(&run, 3)),
        without_time(records[2].clone())
    );

    // The folder of a run is never trained with another configuration.
    let other = fit_table(&run, &config.clone().with_lr(2e-2));
    assert!(
        matches!(other, Err(TrainError::InvalidConfig(_))),
        "{other:?}"
    );
}
