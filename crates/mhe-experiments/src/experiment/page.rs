//! A results page whose tables come from the experiments' files, pasted in by a generator
//! rather than by hand, so that every number in them is the one the runs wrote.
//!
//! A page marks each generated section with two HTML comments (invisible once rendered):
//!
//! ```text
//! <!-- summary: results/fashion-variants -->
//! ... results/fashion-variants/summary.md, title dropped, headings two levels lower, links
//!     made relative to the page ...
//! <!-- end summary -->
//! <!-- history: results/convergence -->
//! ... the per-epoch table of the run results/convergence/results.json ...
//! <!-- end history -->
//! ```
//!
//! Paths are relative to the page's own folder. Pooled comparisons, a plan's tests, the table of
//! every test on the page and, inline in a sentence, one test's adjusted p-values are four more
//! kinds (`page_tests.rs`).

use std::fmt::Write;
use std::path::Path;

use super::page_tests::{
    AdjustedTest, adjusted_section, page_family, planned_section, pooled_section, tests_section,
};
use crate::error::JobError;
use crate::results::{JobFiles, TrainResults};
use burn_mhe_train::RunFolder;

/// The kinds of generated section.
const KINDS: [&str; 6] = [
    "summary", "history", "pooled", "planned", "tests", "adjusted",
];

/// The kinds whose body sits inside a sentence, between the markers on one line.
const INLINE: [&str; 1] = ["adjusted"];

/// `page` with every marked section replaced by what it names, read from below `root` (the
/// page's folder).
///
/// ```
/// let root = std::env::temp_dir().join(format!("page-doc-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("results/a")).unwrap();
/// std::fs::write(root.join("results/a/summary.md"), "# Experiment\n\n| x |\n\n![f](f.png)\n").unwrap();
/// let page = "Intro.\n<!-- summary: results/a -->\nold\n<!-- end summary -->\nOutro.\n";
/// let rendered = mhe_experiments::experiment::render_page(page, &root).unwrap();
/// assert_eq!(
///     rendered,
///     "Intro.\n<!-- summary: results/a -->\n| x |\n\n![f](results/a/f.png)\n<!-- end summary -->\nOutro.\n"
/// );
/// ```
pub fn render_page(page: &str, root: &Path) -> Result<String, JobError> {
    render(page, page, root, &KINDS)
}

/// `text` (another file, e.g. the README) with each inline adjusted section replaced by the
/// values of the table of every test on `page`, whose sections name folders below `root`.
///
/// ```
/// let root = std::env::temp_dir().join(format!("quotes-doc-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("results/a")).unwrap();
/// let summary = r#"{"config": {"first_seed": 0, "seeds": 2}, "settings": [
///     {"label": "half", "vs_baseline": {"differences": [0.002, 0.004]}}]}"#;
/// std::fs::write(root.join("results/a/summary.json"), summary).unwrap();
/// std::fs::write(root.join("results/a/summary.md"), "# A\n").unwrap();
/// let page = "<!-- summary: results/a -->\n<!-- end summary -->\n";
/// let readme = "Gain (<!-- adjusted: results/a | half -->?<!-- end adjusted -->).";
/// let quoted = mhe_experiments::experiment::render_quotes(readme, page, &root).unwrap();
/// // One degree of freedom: t = 3 gives p = 0.205, alone in its family.
/// assert_eq!(
///     quoted,
///     "Gain (<!-- adjusted: results/a | half -->Holm p 0.205, Benjamini-Hochberg q 0.205 over \
///      the page's 1 tests<!-- end adjusted -->)."
/// );
/// ```
pub fn render_quotes(text: &str, page: &str, root: &Path) -> Result<String, JobError> {
    render(text, page, root, &INLINE)
}

/// `text` with its sections of the `kinds` replaced, those that need the page's every test
/// taking them from `page` (read from the sweeps once, where the first of them needs it).
fn render(text: &str, page: &str, root: &Path, kinds: &[&'static str]) -> Result<String, JobError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut family: Option<Vec<AdjustedTest>> = None;
    while let Some((start, kind)) = next_marker(rest, kinds) {
        let begin = format!("<!-- {kind}: ");
        let header_end = start
            + rest[start..]
                .find("-->")
                .ok_or_else(|| bad("a section marker is not closed"))?
            + 3;
        let path = rest[start + begin.len()..header_end - 3].trim();
        let end_marker = format!("<!-- end {kind} -->");
        let end = rest[header_end..]
            .find(&end_marker)
            .ok_or_else(|| bad(&format!("the section of {path} has no `{end_marker}`")))?
            + header_end;
        out.push_str(&rest[..header_end]);
        if !INLINE.contains(&kind) {
            out.push('\n');
        }
        if matches!(kind, "tests" | "adjusted") && family.is_none() {
            family = Some(page_family(page, root)?);
        }
        let every_test = family.as_deref().unwrap_or_default();
        out.push_str(&match kind {
            "summary" => summary_section(root, path)?,
            "history" => history_section(root, path)?,
            "pooled" => pooled_section(root, path)?,
            "planned" => planned_section(root, path)?,
            "adjusted" => adjusted_section(every_test, path)?,
            _ => tests_section(every_test),
        });
        out.push_str(&end_marker);
        rest = &rest[end + end_marker.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The first section marker of the `kinds` in `text`: its position and kind.
fn next_marker(text: &str, kinds: &[&'static str]) -> Option<(usize, &'static str)> {
    kinds
        .iter()
        .filter_map(|kind| Some((text.find(&format!("<!-- {kind}: "))?, *kind)))
        .min()
}

/// The body of `folder/summary.md` (without its title line), its `##` headings two levels
/// lower, its relative links prefixed by `folder`.
fn summary_section(root: &Path, folder: &str) -> Result<String, JobError> {
    let path = root.join(folder).join("summary.md");
    let text = std::fs::read_to_string(&path).map_err(JobError::io(&path))?;
    let body = text.split_once('\n').map_or("", |(_, body)| body);
    let body = body
        .trim_start_matches('\n')
        .replace("](", &format!("]({folder}/"));
    Ok(body
        .lines()
        .map(|line| match line.starts_with("## ") {
            true => format!("##{line}\n"),
            false => format!("{line}\n"),
        })
        .collect())
}

/// The per-epoch table of the run in `folder`, and its test results.
fn history_section(root: &Path, folder: &str) -> Result<String, JobError> {
    let results: TrainResults = RunFolder::new(root.join(folder)).read_results()?;
    let mut text = String::from(
        "| epoch | train loss | train accuracy (%) | valid loss | valid accuracy (%) | hidden \
         energy | output energy | seconds |\n|---|---|---|---|---|---|---|---|\n",
    );
    for e in &results.history {
        let _ = writeln!(
            text,
            "| {} | {:.4} | {:.2} | {:.4} | {:.2} | {:.4} | {:.4} | {:.1} |",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            e.valid_loss,
            100.0 * e.valid_accuracy,
            e.hidden_energy,
            e.output_energy,
            e.seconds
        );
    }
    let _ = writeln!(
        text,
        "\nTest accuracy {:.2}%, test loss {:.4} ({} train / {} valid / {} test items).",
        100.0 * results.test_accuracy,
        results.test_loss,
        results.split_sizes[0],
        results.split_sizes[1],
        results.split_sizes[2]
    );
    Ok(text)
}

fn bad(message: &str) -> JobError {
    JobError::invalid_config(format!("results page: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_sections_and_missing_summaries_are_errors() {
        let root = std::env::temp_dir();
        let unclosed = render_page("<!-- summary: a -->\nno end\n", &root).unwrap_err();
        assert!(unclosed.to_string().contains("end summary"), "{unclosed}");
        let history = render_page("<!-- history: no/run -->\n<!-- end history -->", &root);
        assert!(history.is_err());
        let missing = render_page(
            "<!-- summary: no/such/folder -->\n<!-- end summary -->",
            &root,
        );
        assert!(missing.is_err());
        assert_eq!(render_page("plain text\n", &root).unwrap(), "plain text\n");
    }
}
