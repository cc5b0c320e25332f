//! The MHE regularizer: weighted layer energies of any burn model, as a loss term.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::angles::AngleStats;
use crate::config::non_negative;
use crate::energy::EnergyConfig;
use crate::layer_batch::pays_on;
use crate::objective::{LayerObjective, Objective};
use crate::official::official_loss_weights;
use crate::random::gaussian_values;
use crate::report::LayerReport;
use crate::selection::{
    LayerClassifier, LayerInfo, LayerRole, LayerSelection, OutputSelector, ParamRule, SelectedLayer,
};

/// The objective, energy and loss weight of one group of layers (hidden or output).
#[derive(Config, Debug, PartialEq)]
pub struct PenaltyGroupConfig {
    /// The energy of each layer of the group (for objectives other than MHE, its `eps`).
    pub energy: EnergyConfig,
    /// What each layer's term measures: MHE (the default) or another uniformity objective.
    #[config(default = "Objective::Mhe")]
    pub objective: Objective,
    /// Loss weight (lambda) of the group's summed energies.
    #[config(default = 1.0)]
    pub weight: f64,
}

/// Configuration of an [`MheRegularizer`].
///
/// The default is the released code's setup: Euclidean `s = 2` on hidden layers with weight 1
/// and on the output layer (the last `Linear`) with weight 10.
#[derive(Config, Debug, PartialEq)]
pub struct MheRegularizerConfig {
    /// Energy and weight of the hidden layers (`None`: hidden layers are not regularized).
    #[config(default = "Some(PenaltyGroupConfig::new(EnergyConfig::new()))")]
    pub hidden: Option<PenaltyGroupConfig>,
    /// Energy and weight of the output layer (`None`: not regularized).
    #[config(default = "Some(PenaltyGroupConfig::new(EnergyConfig::new()).with_weight(10.0))")]
    pub output: Option<PenaltyGroupConfig>,
    /// How the output layer is found.
    #[config(default = "OutputSelector::LastLinear")]
    pub output_layer: OutputSelector,
    /// Module-path prefixes never regularized.
    #[config(default = "Vec::new()")]
    pub exclude: Vec<String>,
    /// Parameters other than `Linear` and convolution weights, taken by explicit rule.
    #[config(default = "Vec::new()")]
    pub extra: Vec<ParamRule>,
}

impl MheRegularizerConfig {
    /// The released code's setup for one energy: hidden layers weighted 1 (0.1 for angular
    /// `s > 0`) with `energy`; the output layer weighted 10 (1 for angular `s > 0`) with the same
    /// energy in full space (the output layer is never half-space).
    ///
    /// ```
    /// use burn_mhe::{Distance, EnergyConfig, MheRegularizerConfig};
    ///
    /// let angular = EnergyConfig::new().with_distance(Distance::Angular).with_s(2.0);
    /// let config = MheRegularizerConfig::official(angular.with_half_space(true));
    /// assert_eq!(config.hidden.as_ref().unwrap().weight, 0.1);
    /// assert_eq!(config.output.as_ref().unwrap().weight, 1.0);
    /// assert!(!config.output.unwrap().energy.half_space);
    /// ```
    pub fn official(energy: EnergyConfig) -> Self {
        let (hidden, output_weight) = official_loss_weights(&energy);
        let output = energy.clone().with_half_space(false);
        Self::new()
            .with_hidden(Some(PenaltyGroupConfig::new(energy).with_weight(hidden)))
            .with_output(Some(
                PenaltyGroupConfig::new(output).with_weight(output_weight),
            ))
    }

    /// The regularizer of `model`'s layers, with one learnable pole per layer of a group whose
    /// objective has one (MHP, MHC). The model gives the device and the poles' dimensions; the
    /// regularizer does not keep it. The poles are parameters of the regularizer (a module):
    /// keep it beside the model (burn-mhe-train's `WithMhe` does), so that the optimizer updates
    /// them and checkpoints save them. Each pole starts at a fixed pseudo-random direction.
    ///
    /// ```
    /// use burn::module::Module;
    /// use burn::nn::{Linear, LinearConfig};
    /// use burn::tensor::Device;
    /// use burn_mhe::{EnergyConfig, MheRegularizerConfig, Objective, PenaltyGroupConfig};
    ///
    /// #[derive(Module, Debug)]
    /// struct Mlp {
    ///     hidden: Linear,
    ///     classifier: Linear,
    /// }
    ///
    /// let device = Device::flex().autodiff();
    /// let model = Mlp {
    ///     hidden: LinearConfig::new(8, 16).init(&device),
    ///     classifier: LinearConfig::new(16, 4).init(&device),
    /// };
    /// let covering = PenaltyGroupConfig::new(EnergyConfig::new()).with_objective(Objective::Mhc);
    /// let config = MheRegularizerConfig::new().with_hidden(Some(covering)).with_output(None);
    /// let mhe = config.init(&model);
    /// assert_eq!(mhe.num_params(), 8); // one pole of the hidden layer's dimension
    /// let grads = mhe.penalty(&model).backward();
    /// assert!(model.hidden.weight.grad(&grads).is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// On a configuration [`try_init`](Self::try_init) refuses.
    pub fn init<M: Module>(&self, model: &M) -> MheRegularizer {
        self.try_init(model)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Checks the configuration and builds the regularizer of `model`, as [`init`](Self::init).
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::tensor::Device;
    /// use burn_mhe::{MheError, MheRegularizerConfig, PenaltyGroupConfig, EnergyConfig};
    ///
    /// let layer = LinearConfig::new(8, 4).init(&Device::flex());
    /// let negative = PenaltyGroupConfig::new(EnergyConfig::new()).with_weight(-1.0);
    /// let config = MheRegularizerConfig::new().with_output(Some(negative));
    /// assert!(matches!(config.try_init(&layer), Err(MheError::InvalidConfig { .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// [`MheError::InvalidConfig`](crate::MheError::InvalidConfig) for a negative weight or an
    /// invalid energy.
    pub fn try_init<M: Module>(&self, model: &M) -> crate::Result<MheRegularizer> {
        let mut regularizer = self.init_groups()?;
        let device = device_of(model);
        regularizer.poles = regularizer
            .layers(model)
            .into_iter()
            .filter(|layer| regularizer.has_pole(layer.role))
            .enumerate()
            .map(|(index, layer)| {
                let d = layer.neurons.dims()[1];
                Param::from_tensor(initial_pole(d, index as u64, &device))
            })
            .collect();
        Ok(regularizer)
    }

    /// Checks every field without building anything.
    ///
    /// # Errors
    ///
    /// As [`try_init`](Self::try_init).
    pub fn validate(&self) -> crate::Result<()> {
        self.init_groups().map(drop)
    }

    fn init_groups(&self) -> crate::Result<MheRegularizer> {
        let group = |config: &Option<PenaltyGroupConfig>, field| -> crate::Result<Option<Group>> {
            config
                .as_ref()
                .map(|config| {
                    non_negative(field, config.weight)?;
                    Ok(Group {
                        objective: config.objective.try_init(&config.energy)?,
                        weight: config.weight,
                    })
                })
                .transpose()
        };
        Ok(MheRegularizer {
            hidden: group(&self.hidden, "hidden.weight")?,
            output: group(&self.output, "output.weight")?,
            selection: LayerSelection {
                output: self.output_layer.clone(),
                exclude: self.exclude.clone(),
                extra: self.extra.clone(),
                classifier: None,
            },
            poles: Vec::new(),
        })
    }
}

/// The device of `model`'s parameters (the default device for a model without any).
fn device_of<M: Module>(model: &M) -> Device {
    model.devices().into_iter().next().unwrap_or_default()
}

/// A pole's starting point: standard normal values, the same on every platform.
fn initial_pole(dim: usize, index: u64, device: &Device) -> Tensor<1> {
    let values: Vec<f32> = gaussian_values(dim, 0x9e37_79b9 + index)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [dim]), device)
}

#[derive(Debug, Clone)]
struct Group {
    objective: LayerObjective,
    weight: f64,
}

/// The energies of a model's hidden and output layers, weighted (a penalty) or not.
#[derive(Debug, Clone)]
pub struct PenaltyParts {
    /// The sum of the hidden layers' energies (times `lambda_hidden` when weighted), shape `[1]`.
    pub hidden: Tensor<1>,
    /// The output layer's energy (times `lambda_output` when weighted), shape `[1]`.
    pub output: Tensor<1>,
}

impl PenaltyParts {
    /// Their sum: the term to add to the task loss.
    pub fn total(self) -> Tensor<1> {
        self.hidden + self.output
    }
}

/// Minimum Hyperspherical Energy regularization of every layer of a burn model.
///
/// A module whose only trainable parameters are the poles of MHP and MHC (none for the other
/// objectives): keep it as a field of a model, and add
/// `self.mhe.penalty(self)` to the loss. Walking the model finds every `Linear` and convolution
/// weight (biases and norm parameters never take part); the last `Linear` is the output layer.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::Device;
/// use burn_mhe::{MheRegularizer, MheRegularizerConfig};
///
/// #[derive(Module, Debug)]
/// struct Mlp {
///     hidden: Linear,
///     classifier: Linear,
/// }
///
/// let device = Device::flex().autodiff();
/// let model = Mlp {
///     hidden: LinearConfig::new(8, 16).init(&device),
///     classifier: LinearConfig::new(16, 4).init(&device),
/// };
/// let mhe = MheRegularizerConfig::new().init(&model);
/// let penalty = mhe.penalty(&model);
/// let grads = penalty.backward();
/// assert!(model.classifier.weight.grad(&grads).is_some());
///
/// let report = mhe.report(&model);
/// assert_eq!(report[1].path, "classifier.weight");
/// assert_eq!((report[1].neurons, report[1].dim), (4, 16));
/// ```
#[derive(Module, Debug)]
pub struct MheRegularizer {
    #[module(skip)]
    hidden: Option<Group>,
    #[module(skip)]
    output: Option<Group>,
    #[module(skip)]
    selection: LayerSelection,
    /// One pole per layer of a group whose objective has one, in the order of the layers.
    poles: Vec<Param<Tensor<1>>>,
}

impl MheRegularizer {
    /// Replaces the role rule for `Linear` and convolution weights by `classify`, a function or
    /// a closure (which may capture state).
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::tensor::Device;
    /// use burn_mhe::{LayerRole, MheRegularizerConfig};
    ///
    /// let layer = LinearConfig::new(8, 4).init(&Device::flex());
    /// let output = String::from("weight");
    /// let mhe = MheRegularizerConfig::new().init(&layer).with_classifier(move |layer| {
    ///     Some(if layer.path == output { LayerRole::Output } else { LayerRole::Hidden })
    /// });
    /// assert_eq!(mhe.layers(&layer)[0].role, LayerRole::Output);
    /// ```
    pub fn with_classifier(
        mut self,
        classify: impl Fn(&LayerInfo) -> Option<LayerRole> + Send + Sync + 'static,
    ) -> Self {
        self.selection.classifier = Some(LayerClassifier::new(classify));
        self
    }

    /// The layers of `model` this regularizer acts on, with their roles and neurons.
    pub fn layers<M: Module>(&self, model: &M) -> Vec<SelectedLayer> {
        self.selection.select(model)
    }

    /// Like [`layers`](Self::layers), but rules that match nothing in `model` are an error:
    /// call it once before training to catch a misspelt path.
    ///
    /// # Errors
    ///
    /// [`MheError::UnmatchedRule`](crate::MheError::UnmatchedRule) naming a [`ParamRule`] or
    /// output path that matches no parameter of `model`;
    /// [`MheError::RankTooLow`](crate::MheError::RankTooLow) for a rule whose parameter cannot
    /// hold neurons.
    /// [`MheError::InvalidConfig`](crate::MheError::InvalidConfig) when the poles do not fit
    /// `model`'s layers (a regularizer built for
    /// another model).
    pub fn check<M: Module>(&self, model: &M) -> crate::Result<Vec<SelectedLayer>> {
        let layers = self.selection.select_checked(model)?;
        for (layer, group, pole) in self.terms(model) {
            if group.objective.objective().has_pole() {
                group
                    .objective
                    .forward(layer.neurons.without_autodiff(), pole)?;
            }
        }
        Ok(layers)
    }

    fn group(&self, role: LayerRole) -> Option<&Group> {
        match role {
            LayerRole::Hidden => self.hidden.as_ref(),
            LayerRole::Output => self.output.as_ref(),
        }
    }

    fn has_pole(&self, role: LayerRole) -> bool {
        self.group(role)
            .is_some_and(|group| group.objective.objective().has_pole())
    }

    /// Each selected layer with its group and, for pole objectives, its pole (`None` past the
    /// poles this regularizer was built with).
    fn terms<M: Module>(&self, model: &M) -> Vec<(SelectedLayer, &Group, Option<Tensor<1>>)> {
        let mut poles = self.poles.iter();
        self.layers(model)
            .into_iter()
            .filter_map(|layer| {
                let group = self.group(layer.role)?;
                let pole = self
                    .has_pole(layer.role)
                    .then(|| poles.next().map(|pole| pole.val()))
                    .flatten();
                Some((layer, group, pole))
            })
            .collect()
    }

    /// The weighted hidden and output energies of `model`, keeping the autodiff graph.
    pub fn penalty_parts<M: Module>(&self, model: &M) -> PenaltyParts {
        self.weigh(self.energy_parts(model))
    }

    /// The unweighted energies of `model`, keeping the autodiff graph: the sum of the hidden
    /// layers' energies and the output layer's energy. A group configured as `None` is zero.
    /// [`weigh`](Self::weigh) turns them into [`penalty_parts`](Self::penalty_parts); training
    /// code that logs energies calls both and computes the energies once.
    ///
    /// ```
    /// use burn::module::Module;
    /// use burn::nn::{Linear, LinearConfig};
    /// use burn::tensor::Device;
    /// use burn_mhe::MheRegularizerConfig;
    ///
    /// #[derive(Module, Debug)]
    /// struct Net {
    ///     hidden: Linear,
    ///     classifier: Linear,
    /// }
    ///
    /// let device = Device::flex();
    /// let net = Net {
    ///     hidden: LinearConfig::new(4, 8).init(&device),
    ///     classifier: LinearConfig::new(8, 3).init(&device),
    /// };
    /// let mhe = MheRegularizerConfig::new().init(&net); // output weight 10
    /// let energies = mhe.energy_parts(&net);
    /// let output = energies.output.clone().into_scalar::<f64>();
    /// let weighted = mhe.weigh(energies).output.into_scalar::<f64>();
    /// assert!((weighted - 10.0 * output).abs() <= 1e-5 * weighted);
    /// ```
    pub fn energy_parts<M: Module>(&self, model: &M) -> PenaltyParts {
        self.parts(model, None)
    }

    /// Multiplies each part by its group's loss weight (lambda).
    pub fn weigh(&self, energies: PenaltyParts) -> PenaltyParts {
        let weight = |group: &Option<Group>| group.as_ref().map_or(0.0, |g| g.weight);
        PenaltyParts {
            hidden: energies.hidden.mul_scalar(weight(&self.hidden)),
            output: energies.output.mul_scalar(weight(&self.output)),
        }
    }

    /// Mini-batch output MHE (as SphereFace+ does for classifiers of many classes): like
    /// [`penalty_parts`](Self::penalty_parts), but the output layer's energy covers only the
    /// classifier neurons of `classes` (the labels present in a batch; repeats and order do not
    /// matter). With fewer than two distinct classes the output term is zero.
    ///
    /// ```
    /// use burn::module::Module;
    /// use burn::nn::{Linear, LinearConfig};
    /// use burn::tensor::Device;
    /// use burn_mhe::MheRegularizerConfig;
    ///
    /// #[derive(Module, Debug)]
    /// struct Head {
    ///     classifier: Linear,
    /// }
    ///
    /// let head = Head { classifier: LinearConfig::new(16, 1000).init(&Device::flex()) };
    /// let mhe = MheRegularizerConfig::new().init(&head);
    /// let batch_labels = [3, 917, 3, 42];
    /// let parts = mhe.penalty_parts_for_classes(&head, &batch_labels);
    /// assert!(parts.output.into_scalar::<f32>() > 0.0);
    /// let one_class = mhe.penalty_parts_for_classes(&head, &[5, 5]);
    /// assert_eq!(one_class.output.into_scalar::<f32>(), 0.0);
    /// ```
    pub fn penalty_parts_for_classes<M: Module>(
        &self,
        model: &M,
        classes: &[usize],
    ) -> PenaltyParts {
        let mut distinct = classes.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        self.weigh(self.parts(model, Some(&distinct)))
    }

    /// [`penalty_parts_for_classes`](Self::penalty_parts_for_classes) for the targets of a
    /// batch as they come from a batcher (`[batch]` class indices); negative indices are
    /// ignored.
    ///
    /// ```
    /// use burn::module::Module;
    /// use burn::nn::{Linear, LinearConfig};
    /// use burn::tensor::{Device, Int, Tensor};
    /// use burn_mhe::MheRegularizerConfig;
    ///
    /// #[derive(Module, Debug)]
    /// struct Head {
    ///     classifier: Linear,
    /// }
    ///
    /// let device = Device::flex();
    /// let head = Head { classifier: LinearConfig::new(16, 100).init(&device) };
    /// let mhe = MheRegularizerConfig::new().init(&head);
    /// let targets = Tensor::<1, Int>::from_data([3, 17, 3], &device);
    /// let from_tensor = mhe.penalty_parts_for_targets(&head, &targets).output;
    /// let from_slice = mhe.penalty_parts_for_classes(&head, &[3, 17]).output;
    /// assert_eq!(from_tensor.into_scalar::<f32>(), from_slice.into_scalar::<f32>());
    /// ```
    pub fn penalty_parts_for_targets<M: Module>(
        &self,
        model: &M,
        targets: &Tensor<1, Int>,
    ) -> PenaltyParts {
        let classes: Vec<usize> = targets
            .to_data()
            .iter::<i64>()
            .filter_map(|class| usize::try_from(class).ok())
            .collect();
        self.penalty_parts_for_classes(model, &classes)
    }

    fn parts<M: Module>(&self, model: &M, classes: Option<&[usize]>) -> PenaltyParts {
        let device = device_of(model);
        let mut hidden = Tensor::<1>::zeros([1], &device);
        let mut output = Tensor::<1>::zeros([1], &device);
        // Hidden MHE layers are computed together where that saves launches (a GPU).
        let mut batched = Vec::new();
        for (layer, group, pole) in self.terms(model) {
            if layer.role == LayerRole::Hidden
                && group.objective.objective() == Objective::Mhe
                && pays_on(&device, layer.neurons.dtype())
            {
                batched.push(layer.neurons);
                continue;
            }
            let neurons = match (layer.role, classes) {
                (LayerRole::Output, Some(classes)) if classes.len() < 2 => continue,
                (LayerRole::Output, Some(classes)) => {
                    let indices: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
                    let indices = Tensor::<1, Int>::from_data(indices.as_slice(), &device);
                    layer.neurons.select(0, indices)
                }
                _ => layer.neurons,
            };
            // Only a pole that does not fit fails, which `check` reports: no term then.
            let Ok(term) = group.objective.forward(neurons, pole) else {
                continue;
            };
            match layer.role {
                LayerRole::Hidden => hidden = hidden + term,
                LayerRole::Output => output = output + term,
            }
        }
        if let Some(group) = &self.hidden {
            for term in group.objective.energy().forward_layers(batched) {
                hidden = hidden + term;
            }
        }
        PenaltyParts { hidden, output }
    }

    /// The total weighted energy of `model`: the term to add to the task loss. Never fails;
    /// degenerate layers give finite values. A layer whose pole does not fit (a regularizer
    /// built for another model) adds nothing: [`check`](Self::check) reports it.
    ///
    /// # Shapes
    ///
    /// - output: `[1]`, on the device of `model`'s parameters, with their autodiff graph
    pub fn penalty<M: Module>(&self, model: &M) -> Tensor<1> {
        self.penalty_parts(model).total()
    }

    /// Per-layer diagnostics without gradients: path, role, size, energy and pairwise angles.
    pub fn report<M: Module>(&self, model: &M) -> Vec<LayerReport> {
        self.terms(model)
            .into_iter()
            .filter_map(|(layer, group, pole)| {
                let neurons = layer.neurons.without_autodiff();
                let [n, d] = neurons.dims();
                let energy = group
                    .objective
                    .forward(neurons.clone(), pole)
                    .ok()?
                    .into_scalar::<f64>();
                let half_space = group.objective.energy().config().half_space;
                let angles = AngleStats::of(&neurons, half_space);
                Some(LayerReport {
                    path: layer.path,
                    role: layer.role,
                    neurons: n,
                    dim: d,
                    energy,
                    weighted_energy: energy * group.weight,
                    min_angle_deg: angles.min_deg,
                    mean_angle_deg: angles.mean_deg,
                })
            })
            .collect()
    }
}
