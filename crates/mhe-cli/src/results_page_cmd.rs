//! `mhe results-page`: the generated sections of a results page, regenerated from the
//! experiments' files, and the adjusted p-values another file quotes from it.

use std::path::{Path, PathBuf};

use burn_mhe_train::TrainError;
use clap::Args;
use mhe_experiments::experiment::{render_page, render_quotes};

use crate::cli_error::CliError;

/// Options of `mhe results-page`.
#[derive(Debug, Args)]
pub struct ResultsPageArgs {
    /// The page; its `<!-- summary: FOLDER -->` sections name folders relative to it.
    #[arg(long, default_value = "docs/results.md")]
    pub page: PathBuf,
    /// A file whose `<!-- adjusted: FOLDER | LABEL -->` sections quote the page's table of every
    /// test (FOLDER as the page names it).
    #[arg(long, default_value = "README.md")]
    pub quotes_in: PathBuf,
    /// Change nothing: fail (exit code 2) if the page or the quoting file is out of date.
    #[arg(long)]
    pub check: bool,
}

/// Runs `mhe results-page`.
pub fn run(args: &ResultsPageArgs) -> Result<String, CliError> {
    let page = read(&args.page)?;
    let root = args.page.parent().unwrap_or(Path::new("."));
    let rendered = render_page(&page, root)?;
    let quoting = read(&args.quotes_in)?;
    let quoted = render_quotes(&quoting, &rendered, root)?;
    let mut report = Vec::new();
    for (path, old, new) in [
        (&args.page, &page, rendered),
        (&args.quotes_in, &quoting, quoted),
    ] {
        if new == *old {
            report.push(format!("{} is up to date", path.display()));
        } else if args.check {
            return Err(CliError::Usage(format!(
                "{} differs from its experiments' summaries: run `mhe results-page`",
                path.display()
            )));
        } else {
            std::fs::write(path, new).map_err(TrainError::io(path))?;
            report.push(format!("{} regenerated", path.display()));
        }
    }
    Ok(report.join("\n"))
}

/// The text of the file at `path`.
fn read(path: &Path) -> Result<String, CliError> {
    Ok(std::fs::read_to_string(path).map_err(TrainError::io(path))?)
}
