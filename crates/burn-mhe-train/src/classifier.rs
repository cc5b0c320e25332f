//! MHE inside burn's `Learner`: a wrapper that turns any classifier into a `TrainStep` and
//! `InferenceStep` whose loss carries the MHE penalty and whose output reports the energies.

use burn::module::{Module, ModuleDisplay};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{ExecutionError, Int, Tensor};
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use burn_mhe::{MheRegularizer, PenaltyParts};

use crate::metric::EnergyInput;
use crate::supervised::step_energies;

/// A model that maps a batch of inputs to class logits `[batch, classes]`.
///
/// Implement it for your own model to train it with [`MheClassifier`] in burn's `Learner`.
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

/// A classifier trained with cross-entropy plus the MHE penalty of its layers.
///
/// `loss = cross_entropy + lambda_hidden * E_hidden + lambda_output * E_output`; the step's
/// output reports the cross-entropy as `Loss` and the unweighted energies for
/// [`EnergyMetric`](crate::EnergyMetric). Built with [`measure_only`](Self::measure_only), the
/// energies are reported but not trained on: a baseline with the same metrics.
///
/// ```
/// use burn::module::{Module, ModuleDisplay};
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Int, Tensor};
/// use burn::train::TrainStep;
/// use burn_mhe::MheRegularizerConfig;
/// use burn_mhe_train::{ClassBatch, Classifier, MheClassifier};
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
/// let net = Net {
///     hidden: LinearConfig::new(4, 8).init(&device),
///     classifier: LinearConfig::new(8, 3).init(&device),
/// };
/// let mhe = MheRegularizerConfig::new().init().unwrap();
/// let model = MheClassifier::new(net, mhe);
/// let batch = ClassBatch {
///     inputs: Tensor::<2>::ones([2, 4], &device),
///     targets: Tensor::<1, Int>::from_data([0, 2], &device),
/// };
/// let step = TrainStep::step(&model, batch);
/// assert!(step.item.hidden_energy.into_scalar::<f32>() > 0.0);
/// ```
#[derive(Module, Debug)]
pub struct MheClassifier<M> {
    /// The wrapped classifier.
    pub model: M,
    /// Its MHE regularizer.
    pub mhe: MheRegularizer,
    /// Whether the penalty is added to the loss (otherwise energies are only measured).
    #[module(skip)]
    penalize: bool,
}

impl<M: Classifier> MheClassifier<M> {
    /// Trains `model` with the MHE penalty of `mhe`.
    pub fn new(model: M, mhe: MheRegularizer) -> Self {
        Self {
            model,
            mhe,
            penalize: true,
        }
    }

    /// Trains `model` without a penalty but reports the energies `mhe` measures.
    pub fn measure_only(model: M, mhe: MheRegularizer) -> Self {
        Self {
            model,
            mhe,
            penalize: false,
        }
    }

    /// Whether the penalty is part of the training loss.
    pub fn penalizes(&self) -> bool {
        self.penalize
    }

    /// Cross-entropy, logits and the unweighted energies of one batch.
    fn evaluate(&self, batch: ClassBatch<M::Input>) -> (MheOutput, Option<PenaltyParts>) {
        let logits = self.model.logits(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        let (energies, tracked) = step_energies(
            &self.mhe,
            &self.model,
            self.penalize,
            logits.device().is_autodiff(),
        );
        let output = MheOutput {
            loss,
            logits,
            targets: batch.targets,
            hidden_energy: energies.hidden.clone(),
            output_energy: energies.output.clone(),
        };
        (output, tracked.then_some(energies))
    }
}

impl<M: Classifier> TrainStep for MheClassifier<M> {
    type Input = ClassBatch<M::Input>;
    type Output = MheOutput;

    fn step(&self, batch: Self::Input) -> TrainOutput<MheOutput> {
        let (output, energies) = self.evaluate(batch);
        let objective = match energies {
            Some(energies) => output.loss.clone() + self.mhe.weigh(energies).total(),
            None => output.loss.clone(),
        };
        TrainOutput::new(self, objective.backward(), output)
    }
}

impl<M: Classifier> InferenceStep for MheClassifier<M> {
    type Input = ClassBatch<M::Input>;
    type Output = MheOutput;

    fn step(&self, batch: Self::Input) -> MheOutput {
        self.evaluate(batch).0
    }
}

/// What one step of an [`MheClassifier`] reports to burn's metrics.
#[derive(Debug)]
pub struct MheOutput {
    /// The cross-entropy of the batch, `[1]` (the penalty is not included).
    pub loss: Tensor<1>,
    /// The logits, `[batch, classes]`.
    pub logits: Tensor<2>,
    /// The classes, `[batch]`.
    pub targets: Tensor<1, Int>,
    /// The sum of the hidden layers' energies, unweighted, `[1]`.
    pub hidden_energy: Tensor<1>,
    /// The output layer's energy, unweighted, `[1]`.
    pub output_energy: Tensor<1>,
}

impl ItemLazy for MheOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: self.logits.without_autodiff(),
            targets: self.targets.without_autodiff(),
            hidden_energy: self.hidden_energy.without_autodiff(),
            output_energy: self.output_energy.without_autodiff(),
        })
    }
}

impl Adaptor<LossInput> for MheOutput {
    fn adapt(&self) -> LossInput {
        LossInput::new(self.loss.clone())
    }
}

impl Adaptor<AccuracyInput> for MheOutput {
    fn adapt(&self) -> AccuracyInput {
        AccuracyInput::new(self.logits.clone(), self.targets.clone())
    }
}

impl Adaptor<EnergyInput> for MheOutput {
    fn adapt(&self) -> EnergyInput {
        EnergyInput {
            hidden: self.hidden_energy.clone(),
            output: self.output_energy.clone(),
        }
    }
}
