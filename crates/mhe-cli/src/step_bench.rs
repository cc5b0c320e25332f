//! `mhe bench --training-step`: the MHE regularizer's share of one training step of a
//! 10-layer CNN (nine 3x3 convs and the classifier), measured in one run, and where the step's
//! time goes, layer kind by layer kind.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_mhe::{EnergyConfig, MheRegularizerConfig};
use burn_mhe_train::{ClassBatch, Classifier, CrossEntropyClassifier, WithMhe};
use mhe_experiments::{Architecture, ImageClassifierConfig};

/// What one `--training-step` measurement found.
#[derive(Debug, serde::Serialize)]
pub struct StepRow {
    /// Regularized layers.
    pub layers: usize,
    /// Items per batch.
    pub batch: usize,
    /// Median ms of a training step (forward, backward) without the regularizer.
    pub step_ms: f64,
    /// The same step with MHE on every layer.
    pub step_mhe_ms: f64,
    /// Median ms of the penalty of every layer and its backward pass alone.
    pub penalty_ms: f64,
    /// `penalty_ms / step_mhe_ms`: the regularizer's share of a regularized step.
    pub regularizer_share: f64,
}

/// Times training steps of the CNN (width 1, depth 3) on `batch` random 28x28 images, with and
/// without MHE, and the penalty alone, `repeats` times each, interleaved; `time_ms` times one
/// call (after a warm-up).
pub fn measure_step(
    device: &Device,
    batch: usize,
    repeats: usize,
    time_ms: impl Fn(&mut dyn FnMut()) -> f64,
) -> StepRow {
    let device = device.clone().autodiff();
    device.seed(0);
    let model = ImageClassifierConfig::new(Architecture::Cnn)
        .with_depth(3)
        .init(&device);
    let inputs = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, &device);
    let targets = class_targets(batch, &device);
    let batch_of = || ClassBatch {
        inputs: inputs.clone(),
        targets: targets.clone(),
    };
    let plain = CrossEntropyClassifier::new(model.clone());
    let mhe = MheRegularizerConfig::official(EnergyConfig::new()).init(&model);
    let layers = mhe.layers(&model).len();
    let regularized = WithMhe::new(plain.clone(), mhe.clone());
    let plain_step = || {
        TrainStep::step(&plain, batch_of())
            .item
            .loss
            .into_scalar::<f32>();
    };
    let regularized_step = || {
        TrainStep::step(&regularized, batch_of())
            .item
            .inner
            .loss
            .into_scalar::<f32>();
    };
    // Interleaved, so that both medians see the same machine load.
    let (mut plain_ms, mut regularized_ms, mut penalty_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        plain_ms.push(time_ms(&mut || plain_step()));
        regularized_ms.push(time_ms(&mut || regularized_step()));
        penalty_ms.push(time_ms(&mut || {
            let grads = mhe.penalty(&model).backward();
            let first = model.classifier().weight.grad(&grads);
            first.map(|g| g.sum().into_scalar::<f32>());
        }));
    }
    let (step_ms, step_mhe_ms, penalty_ms) =
        (median(plain_ms), median(regularized_ms), median(penalty_ms));
    StepRow {
        layers,
        batch,
        step_ms,
        step_mhe_ms,
        penalty_ms,
        regularizer_share: penalty_ms / step_mhe_ms,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The time of one layer of the training step.
#[derive(Debug, serde::Serialize)]
pub struct LayerRow {
    /// `conv`, `batch norm`, `relu`, `max pool`, `global pool`, `linear`, `cross-entropy`,
    /// `optimizer` (the update of the whole model).
    pub kind: &'static str,
    /// The shape of its input (`[batch, features, 1, 1]` for the classifier and the loss).
    pub input: [usize; 4],
    /// Median ms of its forward pass (in training mode, on the autodiff device).
    pub forward_ms: f64,
    /// Median ms of its backward pass (forward and backward, less the forward).
    pub backward_ms: f64,
}

/// A layer of the step, applied to its input.
type Layer<'a> = &'a dyn Fn(Tensor<4>) -> Tensor<4>;

/// Times every layer of the `--training-step` CNN on its own input shape, forward and
/// forward + backward, and the SGD update of the whole model (momentum 0.9, weight decay, as
/// `mhe train`), `repeats` times each, in the order of the network.
///
/// The layers are burn's own with the shapes of `Architecture::Cnn` at depth 3 and width 1:
/// three stages of three 3x3 conv (no bias) + batch norm + ReLU on 28, 14 and 7 pixels with 16,
/// 32 and 64 channels, 2x2 max pooling between stages, global average pooling, the classifier.
pub fn measure_breakdown(device: &Device, batch: usize, repeats: usize) -> Vec<LayerRow> {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::nn::pool::{AdaptiveAvgPool2dConfig, MaxPool2dConfig};
    use burn::nn::{BatchNormConfig, LinearConfig, PaddingConfig2d};

    let device = device.clone().autodiff();
    device.seed(1);
    let mut rows = Vec::new();
    let mut add = |kind, layer: Layer, input: [usize; 4], input_grad: bool| {
        let (forward_ms, backward_ms) = time_layer(layer, input, input_grad, repeats, &device);
        rows.push(LayerRow {
            kind,
            input,
            forward_ms,
            backward_ms,
        });
    };
    let (mut channels, mut side) = (1, 28);
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        if stage > 0 {
            let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
            add(
                "max pool",
                &|x| pool.forward(x),
                [batch, channels, side, side],
                true,
            );
            side /= 2;
        }
        for _ in 0..3 {
            let conv = Conv2dConfig::new([channels, width], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(&device);
            // The images entering the first layer carry no gradient.
            let input_grad = channels != 1;
            add(
                "conv",
                &|x| conv.forward(x),
                [batch, channels, side, side],
                input_grad,
            );
            let shape = [batch, width, side, side];
            let norm = BatchNormConfig::new(width).init(&device);
            add("batch norm", &|x| norm.forward(x), shape, true);
            add("relu", &burn::tensor::activation::relu, shape, true);
            channels = width;
        }
    }
    let global = AdaptiveAvgPool2dConfig::new([1, 1]).init();
    add(
        "global pool",
        &|x| global.forward(x),
        [batch, channels, side, side],
        true,
    );
    // The classifier and the loss read [batch, features]: carried as [batch, features, 1, 1].
    let classifier = LinearConfig::new(channels, 10).init(&device);
    let linear = |x: Tensor<4>| {
        let [n, features, _, _] = x.dims();
        classifier
            .forward(x.reshape([n, features]))
            .reshape([n, 10, 1, 1])
    };
    add("linear", &linear, [batch, channels, 1, 1], true);
    let loss = CrossEntropyLossConfig::new().init(&device);
    let targets = class_targets(batch, &device);
    let cross_entropy = |x: Tensor<4>| {
        let [n, classes, _, _] = x.dims();
        loss.forward(x.reshape([n, classes]), targets.clone())
            .reshape([1, 1, 1, 1])
    };
    add("cross-entropy", &cross_entropy, [batch, 10, 1, 1], true);
    rows.push(LayerRow {
        kind: "optimizer",
        input: [batch, 1, 28, 28],
        forward_ms: time_optimizer(batch, repeats, &device),
        backward_ms: 0.0,
    });
    rows
}

/// Median ms of `layer`'s forward pass and of its backward pass on a random input of `shape`.
fn time_layer(
    layer: Layer,
    shape: [usize; 4],
    input_grad: bool,
    repeats: usize,
    device: &Device,
) -> (f64, f64) {
    let input = || {
        let x = Tensor::<4>::random(shape, Distribution::Default, device);
        if input_grad { x.require_grad() } else { x }
    };
    let forward = median_of(repeats, || {
        let x = input();
        let started = Instant::now();
        layer(x).sum().into_scalar::<f32>();
        started.elapsed()
    });
    let both = median_of(repeats, || {
        let x = input();
        let started = Instant::now();
        let grads = layer(x).sum().backward();
        drop(grads);
        started.elapsed()
    });
    (forward, (both - forward).max(0.0))
}

/// Median ms of one SGD update of the whole `--training-step` CNN, gradients given.
fn time_optimizer(batch: usize, repeats: usize, device: &Device) -> f64 {
    let mut model = ImageClassifierConfig::new(Architecture::Cnn)
        .with_depth(3)
        .init(device);
    let mut optimizer = burn_mhe_train::FitConfig::new().optimizer();
    let inputs = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, device);
    let targets = class_targets(batch, device);
    median_of(repeats, || {
        let loss = burn::nn::loss::CrossEntropyLossConfig::new()
            .init(device)
            .forward(model.logits(inputs.clone()), targets.clone());
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        let started = Instant::now();
        model = optimizer.step(0.05, model.clone(), grads);
        model.classifier().weight.val().sum().into_scalar::<f32>();
        started.elapsed()
    })
}

/// Classes `0, 1, .., 9, 0, ..` for a batch.
fn class_targets(batch: usize, device: &Device) -> Tensor<1, Int> {
    let classes: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    Tensor::from_data(classes.as_slice(), device)
}

/// Median in ms of `repeats` durations from `run`, after one warm-up call.
fn median_of(repeats: usize, mut run: impl FnMut() -> std::time::Duration) -> f64 {
    run();
    median((0..repeats).map(|_| run().as_secs_f64() * 1e3).collect())
}
