//! The hidden and output energies as burn metrics, shown next to loss and accuracy by the
//! Learner's TUI and CLI renderers and written by its metric loggers.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorReadError};
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

/// The unweighted energies of one step, each `[1]`.
#[derive(Debug, Clone)]
pub struct EnergyInput {
    /// The sum of the hidden layers' energies.
    pub hidden: Tensor<1>,
    /// The output layer's energy.
    pub output: Tensor<1>,
}

/// Which energy an [`EnergyMetric`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnergyPart {
    /// The sum of the hidden layers' energies.
    Hidden,
    /// The output (classifier) layer's energy.
    Output,
}

/// The epoch mean of one of the energies a [`WithMhe`](crate::WithMhe) reports.
///
/// Register both with `SupervisedTraining::metrics((EnergyMetric::hidden(),
/// EnergyMetric::output()))`.
#[derive(Clone)]
pub struct EnergyMetric {
    part: EnergyPart,
    name: MetricName,
    state: NumericMetricState,
}

impl EnergyMetric {
    /// The metric `Hidden energy`.
    pub fn hidden() -> Self {
        Self::of(EnergyPart::Hidden)
    }

    /// The metric `Output energy`.
    pub fn output() -> Self {
        Self::of(EnergyPart::Output)
    }

    /// The metric following `part`.
    fn of(part: EnergyPart) -> Self {
        let name = match part {
            EnergyPart::Hidden => HIDDEN_ENERGY,
            EnergyPart::Output => OUTPUT_ENERGY,
        };
        Self {
            part,
            name: Arc::new(name.to_string()),
            state: NumericMetricState::default(),
        }
    }

    fn format(&self) -> FormatOptions {
        FormatOptions::new(self.name.clone()).precision(5)
    }
}

/// The name of the hidden-energy metric in burn's logs.
pub(crate) const HIDDEN_ENERGY: &str = "Hidden energy";
/// The name of the output-energy metric in burn's logs.
pub(crate) const OUTPUT_ENERGY: &str = "Output energy";

impl Metric for EnergyMetric {
    type Input = EnergyInput;

    fn update(
        &mut self,
        input: &EnergyInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let tensor = match self.part {
            EnergyPart::Hidden => &input.hidden,
            EnergyPart::Output => &input.output,
        };
        let value = tensor.clone().try_into_scalar::<f64>()?;
        self.state.update(value, 1);
        Ok(self.state.compute_update(self.format()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.state.compute_final(self.format()))
    }

    fn clear(&mut self) {
        self.state.reset()
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: false,
        }
        .into()
    }
}

impl Numeric for EnergyMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}
