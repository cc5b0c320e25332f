//! `mhe results-page`: the summary sections of a results page, regenerated from the
//! experiments' `summary.md` files.

use std::path::PathBuf;

use burn_mhe_train::TrainError;
use clap::Args;
use mhe_experiments::experiment::render_page;

use crate::cli_error::CliError;

/// Options of `mhe results-page`.
#[derive(Debug, Args)]
pub struct ResultsPageArgs {
    /// The page; its `<!-- summary: FOLDER -->` sections name folders relative to it.
    #[arg(long, default_value = "docs/results.md")]
    pub page: PathBuf,
    /// Change nothing: fail (exit code 2) if the page differs from its summaries.
    #[arg(long)]
    pub check: bool,
}

/// Runs `mhe results-page`.
pub fn run(args: &ResultsPageArgs) -> Result<String, CliError> {
    let page = std::fs::read_to_string(&args.page).map_err(TrainError::io(&args.page))?;
    let root = args.page.parent().unwrap_or(std::path::Path::new("."));
    let rendered = render_page(&page, root)?;
    if rendered == page {
        return Ok(format!("{} is up to date", args.page.display()));
    }
    if args.check {
        return Err(CliError::Usage(format!(
            "{} differs from its experiments' summaries: run `mhe results-page`",
            args.page.display()
        )));
    }
    std::fs::write(&args.page, rendered).map_err(TrainError::io(&args.page))?;
    Ok(format!("{} regenerated", args.page.display()))
}
