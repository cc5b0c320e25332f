//! Finished runs taken over from another sweep instead of trained again:
//! `mhe experiment --adopt-runs-from`.
//!
//! Two sweeps that share a configuration on the same seeds (the controls' baseline, MHE and
//! half-space MHE at the released weights and a depth sweep's depth-1 networks, say) train the
//! same run twice. Adopting copies the other sweep's finished run, as committed, into this
//! sweep's folder under this sweep's name for it; the sweep then reuses it as its own.

use std::path::Path;

use burn_mhe_train::{FolderLock, RunFolder, read_json};

use super::{ExperimentConfig, run_folder, seeds};
use crate::error::JobError;
use crate::job::{TrainJobConfig, read_finished};
use crate::results::JobFiles;

/// The files of a finished run that a commit keeps and a sweep reuses (checkpoints and burn's
/// metric logs are neither).
const FINISHED_RUN_FILES: [&str; 5] = [
    "config.json",
    "fit.json",
    "results.json",
    "predictions.json",
    "figure-data.json",
];

/// Copies into the sweep folder `out` each finished run of the sweep folder `from` whose
/// configuration, seed included, is one that `config` trains and that `out` holds no run of
/// yet; returns how many. Configurations are compared as [`RunFolder::holds`] does (a field
/// added since a run was written reads as its default). A finished run in `from` is checked as a
/// sweep checks the runs it reuses before it is copied; runs of `from` that `config` does not
/// train, and unfinished ones, are left alone. `out` is held ([`FolderLock`]) meanwhile.
///
/// # Errors
/// A damaged run in `from` that would be adopted, named; a folder that cannot be read or
/// written.
pub fn adopt_runs(config: &ExperimentConfig, out: &Path, from: &Path) -> Result<usize, JobError> {
    let finished = finished_runs(from)?;
    std::fs::create_dir_all(out).map_err(JobError::io(out))?;
    let _lock = FolderLock::acquire(out)?;
    let settings = config.settings();
    let mut adopted = 0;
    for seed in seeds(config) {
        for setting in &settings {
            let job = setting.job.clone().with_seed(seed as u64);
            let target = run_folder(out, setting, seed);
            if target.root().exists() {
                continue;
            }
            let wanted = as_configuration(&job);
            if let Some((source, _)) = finished.iter().find(|(_, held)| *held == wanted) {
                read_finished(source)?;
                copy_run(source, &target)?;
                adopted += 1;
            }
        }
    }
    Ok(adopted)
}

/// The finished runs of the sweep folder `from` (those with `results.json`), each with its
/// configuration as [`as_configuration`] reads it.
fn finished_runs(from: &Path) -> Result<Vec<(RunFolder, serde_json::Value)>, JobError> {
    let runs = from.join("runs");
    let mut finished = Vec::new();
    for entry in std::fs::read_dir(&runs).map_err(JobError::io(&runs))? {
        let run = RunFolder::new(entry.map_err(JobError::io(&runs))?.path());
        if run.results().is_file() {
            let held: TrainJobConfig = read_json(&run.config())?;
            finished.push((run, as_configuration(&held)));
        }
    }
    Ok(finished)
}

/// A configuration as compared: its JSON with every field, absent ones at their defaults.
fn as_configuration(job: &TrainJobConfig) -> serde_json::Value {
    serde_json::to_value(job).expect("configurations serialize")
}

/// Copies the finished run `source` to `target` (a folder that does not exist): its
/// [`FINISHED_RUN_FILES`] that exist and its history, through a temporary folder renamed into
/// place, so that `target` never holds part of a run.
fn copy_run(source: &RunFolder, target: &RunFolder) -> Result<(), JobError> {
    let name = target.root().file_name().expect("a run folder has a name");
    let partial = target
        .root()
        .with_file_name(format!("{}.adopting", name.to_string_lossy()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(JobError::io(&partial))?;
    }
    let history = partial.join("history");
    std::fs::create_dir_all(&history).map_err(JobError::io(&history))?;
    let copy = |from: &Path, to: &Path| match from.is_file() {
        true => std::fs::copy(from, to)
            .map(drop)
            .map_err(JobError::io(from)),
        false => Ok(()),
    };
    for name in FINISHED_RUN_FILES {
        copy(&source.root().join(name), &partial.join(name))?;
    }
    let records = source.root().join("history");
    for entry in std::fs::read_dir(&records).map_err(JobError::io(&records))? {
        let record = entry.map_err(JobError::io(&records))?.path();
        copy(&record, &history.join(record.file_name().expect("a file")))?;
    }
    std::fs::rename(&partial, target.root()).map_err(JobError::io(target.root()))
}
