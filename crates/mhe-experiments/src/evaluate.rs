//! Accuracy, per-class accuracy and loss of a trained classifier on a split.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::batcher::ImageBatcher;
use crate::data::Subset;
use burn_mhe_train::Classifier;

/// How a model does on a split.
#[derive(Debug, Clone, PartialEq)]
pub struct TestScores {
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Accuracy on the items of each class; `None` for a class without items.
    pub per_class: Vec<Option<f64>>,
    /// Each item's label and predicted class, in split order.
    pub predictions: Predictions,
}

/// Each test item's label and the class a model predicted for it, in split order: what
/// McNemar's test compares between two runs. Saved as `predictions.json` in a run folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Predictions {
    /// The true classes.
    pub labels: Vec<usize>,
    /// The predicted classes.
    pub predicted: Vec<usize>,
}

impl Predictions {
    /// Whether each item was classified correctly.
    pub fn correct(&self) -> Vec<bool> {
        self.labels
            .iter()
            .zip(&self.predicted)
            .map(|(l, p)| l == p)
            .collect()
    }
}

/// Scores `model` on every item of `split`, `batch_size` items at a time, on `device` (its
/// autodiff is dropped).
pub fn evaluate<M: Classifier<Input = Tensor<4>>>(
    model: &M,
    split: &Subset,
    batch_size: usize,
    device: &Device,
) -> TestScores {
    let device = device.clone().without_autodiff();
    let batcher = ImageBatcher {
        shape: split.image_shape(),
    };
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let (mut correct, mut total) = (Vec::new(), Vec::new());
    let mut loss_sum = 0.0;
    let mut predictions = Predictions::default();
    for batch in batcher.batches(split, batch_size, &device) {
        let count = batch.targets.dims()[0];
        let logits = model.logits(batch.inputs);
        let classes = logits.dims()[1];
        correct.resize(classes.max(correct.len()), 0usize);
        total.resize(classes.max(total.len()), 0usize);
        let loss = loss_fn.forward(logits.clone(), batch.targets.clone());
        loss_sum += loss.into_scalar::<f64>() * count as f64;
        let predicted = logits
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>();
        let targets = batch
            .targets
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>();
        for (p, t) in predicted
            .expect("ints")
            .into_iter()
            .zip(targets.expect("ints"))
        {
            total[t as usize] += 1;
            correct[t as usize] += usize::from(p == t);
            predictions.labels.push(t as usize);
            predictions.predicted.push(p as usize);
        }
    }
    let items: usize = total.iter().sum();
    TestScores {
        accuracy: correct.iter().sum::<usize>() as f64 / items.max(1) as f64,
        loss: loss_sum / items.max(1) as f64,
        per_class: correct
            .iter()
            .zip(&total)
            .map(|(&c, &t)| (t > 0).then(|| c as f64 / t as f64))
            .collect(),
        predictions,
    }
}
