//! MHE for any model that burn's `Learner` trains: the model keeps its own batch type, loss,
//! output and `TrainStep`; the wrapper adds the penalty's gradients to the step's and the
//! energies to its output.

use burn::module::{Module, ModuleDisplay, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{ExecutionError, Tensor};
use burn::train::metric::{
    AccuracyInput, Adaptor, CerInput, ConfusionStatsInput, HammingScoreInput, ItemLazy, LossInput,
    PerplexityInput, TopKAccuracyInput, WerInput,
};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use burn_mhe::{MheRegularizer, PenaltyParts};

use crate::metric::EnergyInput;

/// Any model that implements burn's `TrainStep` (and `InferenceStep` for validation), trained
/// with `task loss + MHE penalty` in burn's `Learner`.
///
/// The model's own step computes its loss and gradients as ever; the wrapper adds the gradient
/// of `lambda_hidden * E_hidden + lambda_output * E_output` to them (the objective's gradient,
/// the penalty being a separate term of the sum) and the unweighted energies to the step's
/// output for [`EnergyMetric`](crate::EnergyMetric). Every metric of burn's that the model's
/// output feeds, such as `Loss` and `Accuracy`, reads it unchanged, so `Loss` stays the task
/// loss. Built with [`measure_only`](Self::measure_only), the energies are reported but not
/// trained on (a baseline with the same metrics). A model that only gives logits trains through
/// [`CrossEntropyClassifier`](crate::CrossEntropyClassifier).
///
/// The regularizer reads the layers of the wrapped model: its layer paths are the model's own.
/// Its parameters (the poles of MHP and MHC) are parameters of the wrapper, so burn's optimizer
/// updates them and its checkpoints save them.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::nn::loss::CrossEntropyLossConfig;
/// use burn::tensor::{Device, Int, Tensor};
/// use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
/// use burn_mhe::MheRegularizerConfig;
/// use burn_mhe_train::WithMhe;
///
/// #[derive(Module, Debug)]
/// struct Net {
///     hidden: Linear,
///     classifier: Linear,
/// }
///
/// impl Net {
///     fn output(&self, (inputs, targets): (Tensor<2>, Tensor<1, Int>)) -> ClassificationOutput {
///         let logits = self.classifier.forward(self.hidden.forward(inputs));
///         let loss = CrossEntropyLossConfig::new()
///             .init(&logits.device())
///             .forward(logits.clone(), targets.clone());
///         ClassificationOutput::new(loss, logits, targets)
///     }
/// }
///
/// // burn's own way to train a model: its TrainStep and InferenceStep.
/// impl TrainStep for Net {
///     type Input = (Tensor<2>, Tensor<1, Int>);
///     type Output = ClassificationOutput;
///     fn step(&self, batch: Self::Input) -> TrainOutput<ClassificationOutput> {
///         let output = self.output(batch);
///         TrainOutput::new(self, output.loss.backward(), output)
///     }
/// }
///
/// impl InferenceStep for Net {
///     type Input = (Tensor<2>, Tensor<1, Int>);
///     type Output = ClassificationOutput;
///     fn step(&self, batch: Self::Input) -> ClassificationOutput {
///         self.output(batch)
///     }
/// }
///
/// let device = Device::flex().autodiff();
/// let net = Net {
///     hidden: LinearConfig::new(4, 8).init(&device),
///     classifier: LinearConfig::new(8, 3).init(&device),
/// };
/// let mhe = MheRegularizerConfig::new().init(&net);
/// let model = WithMhe::new(net, mhe);
/// let batch = (
///     Tensor::<2>::ones([2, 4], &device),
///     Tensor::<1, Int>::from_data([0, 2], &device),
/// );
/// let step = TrainStep::step(&model, batch);
/// assert!(step.item.hidden_energy.into_scalar::<f32>() > 0.0);
/// assert!(step.grads.get::<2>(model.model.hidden.weight.id).is_some());
/// ```
#[derive(Module, Debug)]
pub struct WithMhe<M> {
    /// The wrapped model.
    pub model: M,
    /// The regularizer (trainable parameters only for the poles of MHP and MHC).
    pub mhe: MheRegularizer,
    #[module(skip)]
    penalize: bool,
}

impl<M: Module + ModuleDisplay> WithMhe<M> {
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

    /// The energies measured on the model without autodiff.
    fn measured_energies(&self) -> PenaltyParts {
        self.mhe.energy_parts(&self.model.valid())
    }

    /// The model's output with `energies`.
    fn with_energies<O>(inner: O, energies: PenaltyParts) -> WithMheOutput<O> {
        WithMheOutput {
            inner,
            hidden_energy: energies.hidden,
            output_energy: energies.output,
        }
    }
}

impl<M: TrainStep + Module + ModuleDisplay> TrainStep for WithMhe<M> {
    type Input = M::Input;
    type Output = WithMheOutput<M::Output>;

    fn step(&self, batch: M::Input) -> TrainOutput<Self::Output> {
        let TrainOutput { mut grads, item } = self.model.step(batch);
        let energies = match self.penalize {
            true => {
                let energies = self.mhe.energy_parts(&self.model);
                let penalty = self.mhe.weigh(energies.clone()).total();
                // Untracked when no layer is regularized: nothing to add.
                if penalty.is_tracked() {
                    let penalty_grads = GradientsParams::from_grads(penalty.backward(), self);
                    self.visit(&mut AddGradients {
                        into: &mut grads,
                        from: penalty_grads,
                    });
                }
                energies
            }
            false => self.measured_energies(),
        };
        TrainOutput {
            grads,
            item: Self::with_energies(item, energies),
        }
    }
}

impl<M: InferenceStep + Module + ModuleDisplay> InferenceStep for WithMhe<M> {
    type Input = M::Input;
    type Output = WithMheOutput<M::Output>;

    fn step(&self, batch: M::Input) -> Self::Output {
        let item = self.model.step(batch);
        Self::with_energies(item, self.measured_energies())
    }
}

/// Adds each parameter's gradient in `from` to its gradient in `into` (or registers it there).
struct AddGradients<'a> {
    into: &'a mut GradientsParams,
    from: GradientsParams,
}

impl ModuleVisitor for AddGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(extra) = self.from.remove::<D>(param.id) else {
            return;
        };
        let sum = match self.into.remove::<D>(param.id) {
            Some(grad) => grad + extra,
            None => extra,
        };
        self.into.register(param.id, sum);
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

#[cfg(test)]
mod tests {
    use burn::nn::loss::MseLoss;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;
    use burn::train::RegressionOutput;
    use burn_mhe::{EnergyConfig, MheRegularizerConfig, Objective, PenaltyGroupConfig};

    use super::*;

    /// A regression model with burn's own steps: the kind `WithMhe` wraps unchanged.
    #[derive(Module, Debug)]
    struct Net {
        hidden: Linear,
        output: Linear,
    }

    type Batch = (Tensor<2>, Tensor<2>);

    impl Net {
        fn new(device: &Device) -> Self {
            Self {
                hidden: LinearConfig::new(3, 6).init(device),
                output: LinearConfig::new(6, 2).init(device),
            }
        }

        fn regression(&self, (inputs, targets): Batch) -> RegressionOutput {
            let output = self.output.forward(self.hidden.forward(inputs));
            let loss = MseLoss::new().forward(
                output.clone(),
                targets.clone(),
                burn::nn::loss::Reduction::Mean,
            );
            RegressionOutput::new(loss, output, targets)
        }
    }

    impl TrainStep for Net {
        type Input = Batch;
        type Output = RegressionOutput;

        fn step(&self, batch: Batch) -> TrainOutput<RegressionOutput> {
            let output = self.regression(batch);
            TrainOutput::new(self, output.loss.backward(), output)
        }
    }

    fn batch(device: &Device) -> Batch {
        let inputs = Tensor::from_data([[1.0, -0.5, 0.25], [0.3, 0.8, -1.0]], device);
        (inputs, Tensor::from_data([[1.0, 0.0], [0.0, 1.0]], device))
    }

    fn grad(grads: &GradientsParams, param: &Param<Tensor<2>>) -> Vec<f32> {
        grads
            .get::<2>(param.id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn the_penalty_gradient_is_added_to_the_models_own() {
        let device = Device::flex().autodiff();
        let net = Net::new(&device);
        let mhe = MheRegularizerConfig::new().init(&net);
        let own = TrainStep::step(&net, batch(&device));
        let step = TrainStep::step(&WithMhe::new(net.clone(), mhe.clone()), batch(&device));
        let penalty = GradientsParams::from_grads(mhe.penalty(&net).backward(), &net);
        for param in [&net.hidden.weight, &net.output.weight] {
            let expected: Vec<f32> = grad(&own.grads, param)
                .iter()
                .zip(grad(&penalty, param))
                .map(|(a, b)| a + b)
                .collect();
            assert_eq!(grad(&step.grads, param), expected);
        }
        // Biases take no part in the energy: their gradients are the model's alone.
        let bias = |grads: &GradientsParams| -> Vec<f32> {
            let id = net.output.bias.as_ref().unwrap().id;
            grads
                .get::<1>(id)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(bias(&step.grads), bias(&own.grads));
        assert_eq!(
            step.item.inner.loss.into_scalar::<f32>(),
            own.item.loss.into_scalar::<f32>()
        );
    }

    #[test]
    fn measured_or_empty_penalties_leave_the_models_gradients_alone() {
        let device = Device::flex().autodiff();
        let net = Net::new(&device);
        let own = TrainStep::step(&net, batch(&device));
        let official = MheRegularizerConfig::new().init(&net);
        let nothing = MheRegularizerConfig::new()
            .with_hidden(None)
            .with_output(None)
            .init(&net);
        for model in [
            WithMhe::measure_only(net.clone(), official),
            WithMhe::new(net.clone(), nothing),
        ] {
            let step = TrainStep::step(&model, batch(&device));
            for param in [&net.hidden.weight, &net.output.weight] {
                assert_eq!(grad(&step.grads, param), grad(&own.grads, param));
            }
        }
    }

    #[test]
    fn the_poles_of_the_regularizer_get_their_gradients() {
        let device = Device::flex().autodiff();
        let net = Net::new(&device);
        let hill = PenaltyGroupConfig::new(EnergyConfig::new()).with_objective(Objective::Mhp);
        let mhe = MheRegularizerConfig::new()
            .with_hidden(Some(hill))
            .with_output(None)
            .init(&net);
        let model = WithMhe::new(net, mhe);
        let step = TrainStep::step(&model, batch(&device));
        let mut poles = Vec::new();
        model.mhe.visit(&mut PoleIds(&mut poles));
        assert_eq!(poles.len(), 1);
        assert!(step.grads.get::<1>(poles[0]).is_some());
    }

    struct PoleIds<'a>(&'a mut Vec<burn::module::ParamId>);

    impl ModuleVisitor for PoleIds<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id);
        }
    }
}
