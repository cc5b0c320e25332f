//! MHE for any model in burn's `Learner`: the model keeps its own batch type, loss and output;
//! the wrapper adds the penalty to the loss and the energies to the output.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{ExecutionError, Tensor};
use burn::train::metric::{
    AccuracyInput, Adaptor, CerInput, ConfusionStatsInput, HammingScoreInput, ItemLazy, LossInput,
    PerplexityInput, TopKAccuracyInput, WerInput,
};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use burn_mhe::{MheRegularizer, PenaltyParts};

use crate::metric::EnergyInput;

/// A model that computes its own task loss and `Learner` output from its own batch type: the
/// one method a model needs to train with MHE in burn's `Learner` through [`WithMhe`].
///
/// The output is what burn's metrics read, e.g. burn's `ClassificationOutput` or
/// `RegressionOutput`, or a type of your own that implements `ItemLazy` and the metrics'
/// `Adaptor`s.
pub trait SupervisedModel: Module + ModuleDisplay {
    /// What one step reads (your batch struct).
    type Batch: Send + 'static;
    /// What burn's metrics read (the `Loss` metric should see the task loss).
    type Output: ItemLazy + 'static;

    /// The task loss of the batch (`[1]`, without the MHE penalty) and the step's output.
    fn loss_and_output(&self, batch: Self::Batch) -> (Tensor<1>, Self::Output);
}

/// Any [`SupervisedModel`] trained with `task loss + MHE penalty` in burn's `Learner`.
///
/// The training objective is `loss + lambda_hidden * E_hidden + lambda_output * E_output` with
/// one backward pass; the output is the model's own, with the unweighted energies added for
/// [`EnergyMetric`](crate::EnergyMetric) (every metric of burn's that the model's output feeds,
/// such as `Loss` and `Accuracy`, reads it unchanged). Built with
/// [`measure_only`](Self::measure_only), the energies are reported but not trained on.
/// `examples/any_model.rs` trains an embedding model with its own batch and a label-smoothed
/// loss this way.
#[derive(Module, Debug)]
pub struct WithMhe<M> {
    /// The wrapped model.
    pub model: M,
    /// The regularizer (trainable parameters only for the poles of MHP and MHC).
    pub mhe: MheRegularizer,
    #[module(skip)]
    penalize: bool,
}

impl<M: SupervisedModel> WithMhe<M> {
    /// `model` trained with its loss plus the penalty of `mhe`.
    pub fn new(model: M, mhe: MheRegularizer) -> Self {
        Self {
            model,
            mhe,
            penalize: true,
        }
    }

    /// `model` trained with its loss alone; the energies are still reported (a baseline).
    pub fn measure_only(model: M, mhe: MheRegularizer) -> Self {
        Self {
            model,
            mhe,
            penalize: false,
        }
    }

    fn evaluate(&self, batch: M::Batch) -> (Tensor<1>, WithMheOutput<M::Output>, bool) {
        let (loss, output) = self.model.loss_and_output(batch);
        let (energies, tracked) = step_energies(
            &self.mhe,
            &self.model,
            self.penalize,
            loss.device().is_autodiff(),
        );
        let objective = training_objective(&self.mhe, loss, &energies, tracked);
        let output = WithMheOutput {
            inner: output,
            hidden_energy: energies.hidden,
            output_energy: energies.output,
        };
        (objective, output, tracked)
    }
}

/// The energies of `model` for one step. They carry autodiff (second value `true`) only when
/// they are part of the objective: penalized, on an autodiff device. Otherwise they are
/// measured on the model without autodiff.
pub(crate) fn step_energies<M: Module>(
    mhe: &MheRegularizer,
    model: &M,
    penalize: bool,
    autodiff: bool,
) -> (PenaltyParts, bool) {
    let tracked = penalize && autodiff;
    let energies = match tracked {
        true => mhe.energy_parts(model),
        false => mhe.energy_parts(&model.valid()),
    };
    (energies, tracked)
}

/// `loss` plus the weighted energies when they are tracked, else `loss`.
fn training_objective(
    mhe: &MheRegularizer,
    loss: Tensor<1>,
    energies: &PenaltyParts,
    tracked: bool,
) -> Tensor<1> {
    match tracked {
        true => loss + mhe.weigh(energies.clone()).total(),
        false => loss,
    }
}

impl<M: SupervisedModel> TrainStep for WithMhe<M> {
    type Input = M::Batch;
    type Output = WithMheOutput<M::Output>;

    fn step(&self, batch: M::Batch) -> TrainOutput<Self::Output> {
        let (objective, output, _) = self.evaluate(batch);
        TrainOutput::new(self, objective.backward(), output)
    }
}

impl<M: SupervisedModel> InferenceStep for WithMhe<M> {
    type Input = M::Batch;
    type Output = WithMheOutput<M::Output>;

    fn step(&self, batch: M::Batch) -> Self::Output {
        self.evaluate(batch).1
    }
}

/// A model's own step output with the energies of its layers.
#[derive(Debug)]
pub struct WithMheOutput<O> {
    /// The model's output.
    pub inner: O,
    /// The sum of the hidden layers' energies, unweighted (`[1]`).
    pub hidden_energy: Tensor<1>,
    /// The output layer's energy, unweighted (`[1]`).
    pub output_energy: Tensor<1>,
}

impl<O: ItemLazy> ItemLazy for WithMheOutput<O> {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(Self {
            inner: self.inner.sync()?,
            hidden_energy: self.hidden_energy.without_autodiff(),
            output_energy: self.output_energy.without_autodiff(),
        })
    }
}

impl<O> Adaptor<EnergyInput> for WithMheOutput<O> {
    fn adapt(&self) -> EnergyInput {
        EnergyInput {
            hidden: self.hidden_energy.clone(),
            output: self.output_energy.clone(),
        }
    }
}

/// Every input of burn's own metrics reads the model's output unchanged.
macro_rules! forward_to_inner {
    ($($input:ty),* $(,)?) => {$(
        impl<O: Adaptor<$input>> Adaptor<$input> for WithMheOutput<O> {
            fn adapt(&self) -> $input {
                self.inner.adapt()
            }
        }
    )*};
}

forward_to_inner!(
    AccuracyInput,
    CerInput,
    ConfusionStatsInput,
    HammingScoreInput,
    LossInput,
    PerplexityInput,
    TopKAccuracyInput,
    WerInput,
);
