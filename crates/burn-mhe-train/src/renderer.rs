//! A line-per-split renderer for burn's Learner when the output is not a terminal (CI, logs,
//! pipes): every metric, the MHE energies included, once per epoch and split.

use std::collections::{BTreeMap, HashMap};

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `epoch E/N train: Accuracy 84.10000, Hidden energy 1.00284, Loss 0.52000, ...` at the
/// end of each split (every metric in name order, five decimals); burn's TUI is used instead on
/// a terminal.
#[derive(Debug, Default)]
pub struct EpochLineRenderer {
    names: HashMap<MetricId, String>,
    values: BTreeMap<String, f64>,
    epoch: usize,
    epochs: usize,
    split: String,
}

impl EpochLineRenderer {
    /// A renderer that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new split (training, validation or a test) starts: forget the last one's values.
    fn begin(&mut self, split: &str) {
        self.split = split.to_string();
        self.values.clear();
    }

    fn record(&mut self, state: MetricState) {
        if let MetricState::Numeric(entry, Some(value)) = state
            && let Some(name) = self.names.get(&entry.metric_id)
        {
            self.values.insert(name.clone(), value.current());
        }
    }

    /// The line for the split that just ended.
    pub fn line(&self) -> String {
        let metrics: Vec<String> = self
            .values
            .iter()
            .map(|(name, value)| format!("{name} {value:.5}"))
            .collect();
        format!(
            "epoch {}/{} {}: {}",
            self.epoch,
            self.epochs,
            self.split,
            metrics.join(", ")
        )
    }
}

impl MetricsRendererTraining for EpochLineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }
}

impl MetricsRendererEvaluation for EpochLineRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }
}

impl TrainingProgressLogger for EpochLineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.epochs = total_epochs;
        self.epoch = starting_epoch;
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, _total_items: usize) {
        self.begin(split);
    }

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {
        println!("{}", self.line());
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for EpochLineRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, name: &str, _total_items: usize) {
        self.begin(name);
    }

    fn update_test_progress(&mut self, _items_processed: usize) {}

    fn end_test(&mut self) {
        println!("{}", self.line());
    }

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for EpochLineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}
