//! A model that gives class logits, trained with cross-entropy in burn's `Learner`: the thin
//! adapter from logits to burn's `TrainStep`, `InferenceStep` and `ClassificationOutput`.

use burn::module::{Module, ModuleDisplay};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

/// A model that maps a batch of inputs to class logits `[batch, classes]`.
///
/// Implement it for your own model to train it with cross-entropy through
/// [`CrossEntropyClassifier`].
pub trait Classifier: Module + ModuleDisplay {
    /// A batch of inputs, e.g. images `Tensor<4>`.
    type Input: Send + 'static;
    /// The logits of every item of the batch, `[batch, classes]`.
    fn logits(&self, inputs: Self::Input) -> Tensor<2>;
}

/// Inputs and their class indices, `[batch]`.
#[derive(Debug, Clone)]
pub struct ClassBatch<I> {
    /// What the model reads.
    pub inputs: I,
    /// The class of each item.
    pub targets: Tensor<1, Int>,
}

/// A [`Classifier`] trained with cross-entropy: burn's `TrainStep` and `InferenceStep`, whose
/// output is burn's `ClassificationOutput` (for the `Loss` and `Accuracy` metrics). Wrap it in a
/// [`WithMhe`](crate::WithMhe) to add the MHE penalty; the layer paths the regularizer reports
/// then start with `model.`.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Int, Tensor};
/// use burn::train::TrainStep;
/// use burn_mhe::MheRegularizerConfig;
/// use burn_mhe_train::{ClassBatch, Classifier, CrossEntropyClassifier, WithMhe};
///
/// #[derive(Module, Debug)]
/// struct Net {
///     hidden: Linear,
///     classifier: Linear,
/// }
///
/// impl Classifier for Net {
///     type Input = Tensor<2>;
///     fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
///         self.classifier.forward(burn::tensor::activation::relu(self.hidden.forward(inputs)))
///     }
/// }
///
/// let device = Device::flex().autodiff();
/// let net = CrossEntropyClassifier::new(Net {
///     hidden: LinearConfig::new(4, 8).init(&device),
///     classifier: LinearConfig::new(8, 3).init(&device),
/// });
/// let mhe = MheRegularizerConfig::new().init(&net);
/// let model = WithMhe::new(net, mhe);
/// let batch = ClassBatch {
///     inputs: Tensor::<2>::ones([2, 4], &device),
///     targets: Tensor::<1, Int>::from_data([0, 2], &device),
/// };
/// let step = TrainStep::step(&model, batch);
/// assert!(step.item.hidden_energy.into_scalar::<f32>() > 0.0);
/// assert_eq!(step.item.inner.output.dims(), [2, 3]);
/// ```
#[derive(Module, Debug)]
pub struct CrossEntropyClassifier<M> {
    /// The classifier.
    pub model: M,
    /// Per-class weights of the training loss (`None`: unweighted); not part of the record.
    #[module(skip)]
    pub class_weights: Option<Vec<f32>>,
}

impl<M: Classifier> CrossEntropyClassifier<M> {
    /// `model` trained with cross-entropy.
    pub fn new(model: M) -> Self {
        Self {
            model,
            class_weights: None,
        }
    }

    /// The same, trained with class `c`'s items weighted by `weights[c]` (burn's weighted
    /// cross-entropy: the weighted mean over the batch). Validation and test losses stay
    /// unweighted, so that they compare across weightings.
    ///
    /// # Panics
    ///
    /// Unless every weight is finite and positive (burn's loss asserts it at every step).
    pub fn with_class_weights(mut self, weights: Vec<f32>) -> Self {
        assert!(
            weights.iter().all(|w| w.is_finite() && *w > 0.0),
            "class weights must be finite and positive, got {weights:?}"
        );
        self.class_weights = Some(weights);
        self
    }

    /// The cross-entropy (unweighted), logits and classes of one batch.
    pub fn classify(&self, batch: ClassBatch<M::Input>) -> ClassificationOutput {
        self.classify_weighted(batch, None)
    }

    fn classify_weighted(
        &self,
        batch: ClassBatch<M::Input>,
        weights: Option<Vec<f32>>,
    ) -> ClassificationOutput {
        let logits = self.model.logits(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .with_weights(weights)
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<M: Classifier> TrainStep for CrossEntropyClassifier<M> {
    type Input = ClassBatch<M::Input>;
    type Output = ClassificationOutput;

    fn step(&self, batch: Self::Input) -> TrainOutput<ClassificationOutput> {
        let output = self.classify_weighted(batch, self.class_weights.clone());
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl<M: Classifier> InferenceStep for CrossEntropyClassifier<M> {
    type Input = ClassBatch<M::Input>;
    type Output = ClassificationOutput;

    fn step(&self, batch: Self::Input) -> ClassificationOutput {
        self.classify(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    /// Logits given as inputs.
    #[derive(Module, Debug)]
    struct GivenLogits {
        classes: usize,
    }

    impl Classifier for GivenLogits {
        type Input = Tensor<2>;
        fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
            assert_eq!(inputs.dims()[1], self.classes);
            inputs
        }
    }

    #[test]
    fn class_weights_weight_the_training_loss_only() {
        let device = Device::flex().autodiff();
        let batch = || ClassBatch {
            inputs: Tensor::<2>::from_data([[2.0, 0.0], [0.0, 1.0]], &device).require_grad(),
            targets: Tensor::<1, Int>::from_data([0, 1], &device),
        };
        // -log softmax: log(1 + e^-2) for the first item, log(1 + e^-1) for the second.
        let (first, second) = ((-2f64).exp().ln_1p(), (-1f64).exp().ln_1p());
        let model = CrossEntropyClassifier::new(GivenLogits { classes: 2 });
        let loss = |output: ClassificationOutput| output.loss.into_scalar::<f64>();
        let plain = loss(TrainStep::step(&model, batch()).item);
        assert!((plain - (first + second) / 2.0).abs() < 1e-6, "{plain}");

        let weighted = model.with_class_weights(vec![1.0, 3.0]);
        let trained = loss(TrainStep::step(&weighted, batch()).item);
        assert!(
            (trained - (first + 3.0 * second) / 4.0).abs() < 1e-6,
            "{trained}"
        );
        let validated = loss(InferenceStep::step(&weighted, batch()));
        assert!((validated - plain).abs() < 1e-7, "{validated} vs {plain}");
    }

    #[test]
    #[should_panic(expected = "class weights must be finite and positive")]
    fn a_zero_class_weight_is_refused() {
        let _ = CrossEntropyClassifier::new(GivenLogits { classes: 2 })
            .with_class_weights(vec![1.0, 0.0]);
    }
}
