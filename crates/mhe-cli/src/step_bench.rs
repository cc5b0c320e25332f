//! `mhe bench --training-step`: the MHE regularizer's share of one training step of a
//! 10-layer CNN (nine 3x3 convs and the classifier), measured in one run.

use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_mhe::{EnergyConfig, MheRegularizerConfig};
use burn_mhe_train::{Architecture, ClassBatch, ImageClassifierConfig, MheClassifier};

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
    let targets = Tensor::<1, Int>::from_data(
        (0..batch as i64)
            .map(|i| i % 10)
            .collect::<Vec<_>>()
            .as_slice(),
        &device,
    );
    let batch_of = || ClassBatch {
        inputs: inputs.clone(),
        targets: targets.clone(),
    };
    let mhe = MheRegularizerConfig::official(EnergyConfig::new())
        .init()
        .expect("the official configuration is valid");
    let layers = mhe.layers(&model).len();
    let none = MheRegularizerConfig::new()
        .with_hidden(None)
        .with_output(None)
        .init()
        .expect("an empty configuration is valid");
    let plain = MheClassifier::new(model.clone(), none);
    let regularized = MheClassifier::new(model.clone(), mhe.clone());
    let step = |classifier: &MheClassifier<_>| {
        TrainStep::step(classifier, batch_of())
            .item
            .loss
            .into_scalar::<f32>();
    };
    // Interleaved, so that both medians see the same machine load.
    let (mut plain_ms, mut regularized_ms, mut penalty_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        plain_ms.push(time_ms(&mut || step(&plain)));
        regularized_ms.push(time_ms(&mut || step(&regularized)));
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
