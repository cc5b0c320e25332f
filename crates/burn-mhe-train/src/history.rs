//! The per-epoch history of a training job, one JSON file per finished epoch, written as burn's
//! Learner reports the end of each validation epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::train::Interrupter;
use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::error::TrainError;
use crate::metric::{HIDDEN_ENERGY, OUTPUT_ENERGY};
use crate::run_folder::read_json;

/// What one finished epoch measured. Losses are the model's task loss (cross-entropy for the
/// image job; without the penalty); accuracies are fractions in `[0, 1]`, `NaN` (`null` in
/// JSON) where no metric named `Accuracy` was registered; energies are unweighted, as measured on the
/// validation split (the weights at the end of the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Training accuracy over the epoch.
    #[serde(deserialize_with = "nan_if_null")]
    pub train_accuracy: f64,
    /// Validation loss at the end of the epoch.
    pub valid_loss: f64,
    /// Validation accuracy at the end of the epoch.
    #[serde(deserialize_with = "nan_if_null")]
    pub valid_accuracy: f64,
    /// The sum of the hidden layers' energies at the end of the epoch.
    pub hidden_energy: f64,
    /// The output layer's energy at the end of the epoch.
    pub output_energy: f64,
    /// Wall time of the epoch, training and validation.
    pub seconds: f64,
}

impl EpochRecord {
    /// What is not finite in this record, if anything.
    pub fn divergence(&self) -> Option<String> {
        [
            ("training loss", self.train_loss),
            ("validation loss", self.valid_loss),
            ("hidden energy", self.hidden_energy),
            ("output energy", self.output_energy),
        ]
        .iter()
        .find(|(_, value)| !value.is_finite())
        .map(|(name, value)| format!("the {name} is {value}"))
    }
}

/// Reads a number that JSON holds as `null` for `NaN` (how serde_json writes `NaN`).
fn nan_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// The file of epoch `epoch`'s record in a run folder.
pub(crate) fn epoch_file(run: &Path, epoch: usize) -> PathBuf {
    run.join("history").join(format!("epoch-{epoch}.json"))
}

/// Reads the records of epochs `1..=last`; every one must be there.
pub(crate) fn read_history(run: &Path, last: usize) -> Result<Vec<EpochRecord>, TrainError> {
    (1..=last).map(|epoch| read_record(run, epoch)).collect()
}

/// Reads the record of `epoch`: it must parse and be that epoch's.
fn read_record(run: &Path, epoch: usize) -> Result<EpochRecord, TrainError> {
    let path = epoch_file(run, epoch);
    let record: EpochRecord = read_json(&path)?;
    if record.epoch != epoch {
        return Err(TrainError::CorruptRunFile {
            path,
            message: format!("holds epoch {}", record.epoch),
        });
    }
    Ok(record)
}

/// The number of consecutive epochs from 1 with a readable record, and what is wrong with the
/// next record if its file is there: a damaged record ends the count like a missing one.
pub fn recorded_epochs(run: &Path) -> (usize, Option<TrainError>) {
    let mut epochs = 0;
    loop {
        match read_record(run, epochs + 1) {
            Ok(_) => epochs += 1,
            Err(error) => {
                let damage = epoch_file(run, epochs + 1).exists().then_some(error);
                return (epochs, damage);
            }
        }
    }
}

/// Removes the records of epochs after `last` (left by a run stopped before checkpointing).
pub fn forget_after(run: &Path, last: usize) -> Result<(), TrainError> {
    let mut epoch = last + 1;
    while epoch_file(run, epoch).exists() {
        let path = epoch_file(run, epoch);
        std::fs::remove_file(&path).map_err(TrainError::io(&path))?;
        epoch += 1;
    }
    Ok(())
}

/// A burn metric logger that writes an [`EpochRecord`] per epoch into a run folder. An epoch's
/// time runs from the end of the previous one (from creation for the first).
pub(crate) struct HistoryLogger {
    run: PathBuf,
    names: HashMap<MetricId, String>,
    train: HashMap<String, f64>,
    valid: HashMap<String, f64>,
    epoch_start: Instant,
    interrupter: Option<Interrupter>,
}

impl HistoryLogger {
    /// Records into `run/history/`.
    pub fn new(run: impl Into<PathBuf>) -> Self {
        Self {
            run: run.into(),
            names: HashMap::new(),
            train: HashMap::new(),
            valid: HashMap::new(),
            epoch_start: Instant::now(),
            interrupter: None,
        }
    }

    /// Stops training through `interrupter` at the end of an epoch whose loss or energies are
    /// not finite (that epoch is then not recorded, so a resumed run retries it).
    pub fn stop_on_divergence(mut self, interrupter: Interrupter) -> Self {
        self.interrupter = Some(interrupter);
        self
    }

    fn record(&self, epoch: usize) -> EpochRecord {
        let value =
            |split: &HashMap<String, f64>, name: &str| split.get(name).copied().unwrap_or(f64::NAN);
        EpochRecord {
            epoch,
            train_loss: value(&self.train, "Loss"),
            train_accuracy: value(&self.train, "Accuracy") / 100.0,
            valid_loss: value(&self.valid, "Loss"),
            valid_accuracy: value(&self.valid, "Accuracy") / 100.0,
            hidden_energy: value(&self.valid, HIDDEN_ENERGY),
            output_energy: value(&self.valid, OUTPUT_ENERGY),
            seconds: self.epoch_start.elapsed().as_secs_f64(),
        }
    }
}

impl MetricLogger for HistoryLogger {
    fn log(&mut self, update: MetricsUpdate, _epoch: usize, split: &Split) {
        let values = match split {
            Split::Train => &mut self.train,
            Split::Valid => &mut self.valid,
            Split::Test(_) => return,
        };
        for numeric in update.entries_numeric {
            let entry = numeric.running_entry.or(numeric.numeric_entry);
            if let (Some(name), Some(entry)) = (self.names.get(&numeric.entry.metric_id), entry) {
                values.insert(name.clone(), entry.current());
            }
        }
    }

    fn read_numeric(
        &mut self,
        _name: &str,
        _epoch: usize,
        _split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Err("the history logger keeps epoch summaries only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        if summary.split != Split::Valid {
            return;
        }
        let record = self.record(summary.epoch_number);
        if let Some(problem) = record.divergence() {
            if let Some(interrupter) = &self.interrupter {
                interrupter.stop(Some(&format!(
                    "diverged at epoch {}: {problem}; lower --lr or the lambdas, or set \
                     --grad-clip",
                    record.epoch
                )));
            }
            return;
        }
        let path = epoch_file(&self.run, summary.epoch_number);
        let written = serde_json::to_string_pretty(&record)
            .map_err(|e| e.to_string())
            .and_then(|json| write_atomically(&path, &json).map_err(|e| e.to_string()));
        if let Err(error) = written {
            log::error!("epoch history not written: {error}");
        }
        self.train.clear();
        self.valid.clear();
        self.epoch_start = Instant::now();
    }
}
