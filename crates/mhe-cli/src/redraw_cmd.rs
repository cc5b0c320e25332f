//! `mhe redraw`: a finished sweep's figures and summary redrawn from its committed runs.

use std::path::PathBuf;

use clap::Args;
use mhe_experiments::experiment::redraw_experiment;

use crate::cli_error::CliError;

/// Options of `mhe redraw`.
#[derive(Debug, Args)]
pub struct RedrawArgs {
    /// Sweep folders written by `mhe experiment` (each with `summary.json` and `runs/`).
    #[arg(required = true)]
    pub sweeps: Vec<PathBuf>,
}

/// Runs `mhe redraw` and names the figures drawn in each sweep.
pub fn run(args: &RedrawArgs) -> Result<String, CliError> {
    let mut lines = Vec::with_capacity(args.sweeps.len());
    for sweep in &args.sweeps {
        let summary = redraw_experiment(sweep)?;
        lines.push(format!(
            "{}: {}",
            sweep.display(),
            summary.figures.join(", ")
        ));
    }
    Ok(lines.join("\n"))
}
