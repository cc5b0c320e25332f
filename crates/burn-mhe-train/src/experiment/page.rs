//! A results page whose tables are the experiments' own summaries, pasted in by a generator
//! rather than by hand, so that every number on the page is the one in `summary.md`.
//!
//! A page marks each generated section with two HTML comments (invisible once rendered):
//!
//! ```text
//! <!-- summary: results/fashion-variants -->
//! ... replaced by results/fashion-variants/summary.md, title dropped, links made relative ...
//! <!-- end summary -->
//! ```
//!
//! The folder is relative to the page's own folder.

use std::path::Path;

use crate::error::TrainError;

const BEGIN: &str = "<!-- summary: ";
const END: &str = "<!-- end summary -->";

/// `page` with every marked section replaced by the summary it names, read from below `root`
/// (the page's folder).
///
/// ```
/// let root = std::env::temp_dir().join(format!("page-doc-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("results/a")).unwrap();
/// std::fs::write(root.join("results/a/summary.md"), "# Experiment\n\n| x |\n\n![f](f.png)\n").unwrap();
/// let page = "Intro.\n<!-- summary: results/a -->\nold\n<!-- end summary -->\nOutro.\n";
/// let rendered = burn_mhe_train::experiment::render_page(page, &root).unwrap();
/// assert_eq!(
///     rendered,
///     "Intro.\n<!-- summary: results/a -->\n| x |\n\n![f](results/a/f.png)\n<!-- end summary -->\nOutro.\n"
/// );
/// ```
pub fn render_page(page: &str, root: &Path) -> Result<String, TrainError> {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(start) = rest.find(BEGIN) {
        let header_end = start
            + rest[start..]
                .find("-->")
                .ok_or_else(|| bad("a summary marker is not closed"))?
            + 3;
        let folder = rest[start + BEGIN.len()..header_end - 3].trim();
        let end = rest[header_end..]
            .find(END)
            .ok_or_else(|| bad(&format!("the section of {folder} has no `{END}`")))?
            + header_end;
        out.push_str(&rest[..header_end]);
        out.push('\n');
        out.push_str(&section(root, folder)?);
        out.push_str(END);
        rest = &rest[end + END.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The body of `folder/summary.md` (without its title line), its `##` headings two levels
/// lower, its relative links prefixed by `folder`.
fn section(root: &Path, folder: &str) -> Result<String, TrainError> {
    let path = root.join(folder).join("summary.md");
    let text = std::fs::read_to_string(&path).map_err(TrainError::io(&path))?;
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

fn bad(message: &str) -> TrainError {
    TrainError::InvalidConfig(format!("results page: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_sections_and_missing_summaries_are_errors() {
        let root = std::env::temp_dir();
        let unclosed = render_page("<!-- summary: a -->\nno end\n", &root).unwrap_err();
        assert!(unclosed.to_string().contains("end summary"), "{unclosed}");
        let missing = render_page(
            "<!-- summary: no/such/folder -->\n<!-- end summary -->",
            &root,
        );
        assert!(missing.is_err());
        assert_eq!(render_page("plain text\n", &root).unwrap(), "plain text\n");
    }
}
