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
}

impl<M: Classifier> CrossEntropyClassifier<M> {
    /// `model` trained with cross-entropy.
    pub fn new(model: M) -> Self {
        Self { model }
    }

    /// The cross-entropy, logits and classes of one batch.
    pub fn classify(&self, batch: ClassBatch<M::Input>) -> ClassificationOutput {
        let logits = self.model.logits(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<M: Classifier> TrainStep for CrossEntropyClassifier<M> {
    type Input = ClassBatch<M::Input>;
    type Output = ClassificationOutput;

    fn step(&self, batch: Self::Input) -> TrainOutput<ClassificationOutput> {
        let output = self.classify(batch);
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
