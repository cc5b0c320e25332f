//! Which parameters of a model are layers of neurons, and whether each is hidden or output.

use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{MheError, Result};
use crate::neurons::NeuronLayout;

/// The group a layer's energy is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerRole {
    /// A hidden layer (all convolutions and linear layers but the classifier, by default).
    Hidden,
    /// The output (classifier) layer.
    Output,
}

/// How the output layer is found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputSelector {
    /// The last `Linear` layer met in the model's field order (the default).
    LastLinear,
    /// The layer with this module path (e.g. `"head.fc"` or `"head.fc.weight"`).
    Path(String),
    /// No output layer: every selected layer is hidden.
    NoOutput,
}

/// An explicit rule for a parameter that is neither a `Linear` nor a convolution weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamRule {
    /// The parameter's full path, e.g. `"attention.query_proj"` or `"blocks.2.kernel"`.
    pub path: String,
    /// Where its neurons lie.
    pub layout: NeuronLayout,
    /// Its group.
    pub role: LayerRole,
}

/// What a custom classifier sees of a candidate layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Module path of the parameter, e.g. `"blocks.0.conv.weight"`.
    pub path: String,
    /// Type of the module holding it, e.g. `"Linear"` or `"Conv2d"`.
    pub module_type: String,
    /// Shape of the raw parameter.
    pub shape: Vec<usize>,
}

/// A custom rule deciding the role of each `Linear` or convolution weight (`None`: skip it):
/// a function or a closure, which may capture state (a set of paths, a size threshold, ...).
#[derive(Clone)]
pub(crate) struct LayerClassifier(Arc<ClassifyFn>);

/// The function behind a [`LayerClassifier`].
type ClassifyFn = dyn Fn(&LayerInfo) -> Option<LayerRole> + Send + Sync;

impl LayerClassifier {
    /// The rule `classify`.
    pub fn new(classify: impl Fn(&LayerInfo) -> Option<LayerRole> + Send + Sync + 'static) -> Self {
        Self(Arc::new(classify))
    }

    /// The role of the layer `info` describes.
    pub fn classify(&self, info: &LayerInfo) -> Option<LayerRole> {
        (self.0)(info)
    }
}

impl core::fmt::Debug for LayerClassifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LayerClassifier(..)")
    }
}

/// A layer picked for the energy: its path, group and neurons as rows.
#[derive(Debug, Clone)]
pub struct SelectedLayer {
    /// Module path of the weight parameter.
    pub path: String,
    /// Hidden or output.
    pub role: LayerRole,
    /// `[N, d]`, with the autodiff graph of the parameter.
    pub neurons: Tensor<2>,
}

/// The rules that pick layers out of a model.
#[derive(Debug, Clone)]
pub(crate) struct LayerSelection {
    /// How the output layer is found when no classifier is given.
    pub output: OutputSelector,
    /// Path prefixes never regularized (`"encoder"` skips `"encoder.*"`).
    pub exclude: Vec<String>,
    /// Extra parameters taken by explicit rule.
    pub extra: Vec<ParamRule>,
    /// Replaces the default role rule for `Linear` and convolution weights.
    pub classifier: Option<LayerClassifier>,
}

impl LayerSelection {
    /// The layers of `model` these rules select, in field order. Rules that match nothing
    /// are ignored here; [`select_checked`](Self::select_checked) reports them.
    pub fn select<M: Module>(&self, model: &M) -> Vec<SelectedLayer> {
        let (found, _) = self.collect(model);
        self.assign_roles(found)
    }

    /// Like [`select`](Self::select), but an extra rule whose path names no parameter (or whose
    /// layout does not fit it), or an output path that names no layer, is an error.
    pub fn select_checked<M: Module>(&self, model: &M) -> Result<Vec<SelectedLayer>> {
        let (found, problems) = self.collect(model);
        if let Some(problem) = problems.into_iter().next() {
            return Err(problem);
        }
        for rule in &self.extra {
            if !found.iter().any(|c| c.info.path == rule.path) {
                return Err(MheError::UnmatchedRule {
                    path: rule.path.clone(),
                });
            }
        }
        if let OutputSelector::Path(path) = &self.output
            && self.classifier.is_none()
            && self.output_path(&found).is_none()
        {
            return Err(MheError::UnmatchedRule { path: path.clone() });
        }
        if self.output == OutputSelector::LastLinear
            && self.classifier.is_none()
            && let Some(problem) = head_declared_first(&found)
        {
            return Err(problem);
        }
        Ok(self.assign_roles(found))
    }

    fn collect<M: Module>(&self, model: &M) -> (Vec<Candidate>, Vec<MheError>) {
        let mut collector = Collector {
            selection: self,
            path: Vec::new(),
            parents: Vec::new(),
            found: Vec::new(),
            problems: Vec::new(),
        };
        model.visit(&mut collector);
        (collector.found, collector.problems)
    }

    fn assign_roles(&self, found: Vec<Candidate>) -> Vec<SelectedLayer> {
        let output_path = self.output_path(&found);
        found
            .into_iter()
            .filter_map(|candidate| {
                let role = match (&candidate.rule_role, &self.classifier) {
                    (Some(role), _) => Some(*role),
                    (None, Some(classifier)) => classifier.classify(&candidate.info),
                    (None, None) if Some(&candidate.info.path) == output_path.as_ref() => {
                        Some(LayerRole::Output)
                    }
                    (None, None) => Some(LayerRole::Hidden),
                }?;
                Some(SelectedLayer {
                    path: candidate.info.path,
                    role,
                    neurons: candidate.neurons,
                })
            })
            .collect()
    }

    fn output_path(&self, found: &[Candidate]) -> Option<String> {
        let mut standard = found.iter().filter(|c| c.rule_role.is_none());
        match &self.output {
            OutputSelector::LastLinear => standard
                .rfind(|c| c.info.module_type == "Linear")
                .map(|c| c.info.path.clone()),
            OutputSelector::Path(path) => standard
                .map(|c| &c.info.path)
                .find(|p| *p == path || p.strip_suffix(".weight") == Some(path.as_str()))
                .cloned(),
            OutputSelector::NoOutput => None,
        }
    }

    fn excluded(&self, path: &str) -> bool {
        self.exclude.iter().any(|prefix| {
            path == prefix
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// The default output rule's likely mistake: the last `Linear` in field order (`[d_in,
/// d_out]` weights) feeds another `Linear` (its `d_out` is some `Linear`'s `d_in`) while
/// another `Linear` feeds none, as when a model declares its classifier before its hidden
/// layers.
fn head_declared_first(found: &[Candidate]) -> Option<MheError> {
    let linears: Vec<(&str, usize, usize)> = found
        .iter()
        .filter(|c| c.rule_role.is_none() && c.info.module_type == "Linear")
        .filter_map(|c| match c.info.shape[..] {
            [d_in, d_out] => Some((c.info.path.as_str(), d_in, d_out)),
            _ => None,
        })
        .collect();
    let feeds_a_linear = |d_out: usize| linears.iter().any(|&(_, d_in, _)| d_in == d_out);
    let &(chosen, _, chosen_out) = linears.last()?;
    if !feeds_a_linear(chosen_out) {
        return None;
    }
    let &(likely, _, _) = linears
        .iter()
        .find(|&&(_, _, d_out)| !feeds_a_linear(d_out))?;
    Some(MheError::AmbiguousOutput {
        chosen: chosen.to_string(),
        likely: likely.to_string(),
    })
}

struct Candidate {
    info: LayerInfo,
    /// Set for parameters taken by an explicit [`ParamRule`].
    rule_role: Option<LayerRole>,
    neurons: Tensor<2>,
}

struct Collector<'a> {
    selection: &'a LayerSelection,
    path: Vec<String>,
    parents: Vec<String>,
    found: Vec<Candidate>,
    problems: Vec<MheError>,
}

impl Collector<'_> {
    /// The layout and explicit role of a parameter, if it is a layer of neurons.
    fn layout(&self, path: &str, module_type: &str) -> Option<(NeuronLayout, Option<LayerRole>)> {
        if let Some(rule) = self.selection.extra.iter().find(|rule| rule.path == path) {
            return Some((rule.layout, Some(rule.role)));
        }
        if self.path.last().map(String::as_str) != Some("weight") {
            return None;
        }
        match module_type {
            "Linear" => Some((NeuronLayout::Columns, None)),
            "Conv1d" | "Conv2d" | "Conv3d" => Some((NeuronLayout::Rows, None)),
            _ => None,
        }
    }
}

impl ModuleVisitor for Collector<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.parents.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.parents.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D < 2 {
            return;
        }
        let path = self.path.join(".");
        if self.selection.excluded(&path) {
            return;
        }
        let parent = self.parents.last().map(String::as_str).unwrap_or("");
        let module_type = parent.strip_prefix("Struct:").unwrap_or(parent).to_string();
        let Some((layout, rule_role)) = self.layout(&path, &module_type) else {
            return;
        };
        let weight = param.val();
        let shape = weight.dims().to_vec();
        let neurons = match layout.neurons(weight) {
            Ok(neurons) => neurons,
            Err(problem) => return self.problems.push(problem),
        };
        self.found.push(Candidate {
            info: LayerInfo {
                path,
                module_type,
                shape,
            },
            rule_role,
            neurons,
        });
    }
}
