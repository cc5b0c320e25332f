//! The statistics of a whole results page: pooled comparisons over several sweeps, and one table
//! of every test the page reports with p-values adjusted for their number.
//!
//! Two more kinds of generated section (see [`render_page`](super::render_page)):
//!
//! ```text
//! <!-- pooled: half-mhe depth 1 | results/a, results/b -->
//! ... the comparison of `half-mhe depth 1` with its baseline over the seeds of both sweeps ...
//! <!-- end pooled -->
//! <!-- tests: page -->
//! ... every comparison of every summary and pooled section on the page, with Holm's and
//!     Benjamini-Hochberg's adjusted p-values ...
//! <!-- end tests -->
//! <!-- planned: results/a | half-mhe depth 1, mhe depth 1 -->
//! ... the comparisons a plan named, from one sweep, with Holm's adjustment over them ...
//! <!-- end planned -->
//! ... in a sentence: (<!-- adjusted: results/a | half-mhe depth 1 -->Holm p 0.142,
//!     Benjamini-Hochberg q 0.030 over the page's 62 tests<!-- end adjusted -->) ...
//! ```
//!
//! The last is inline: one comparison's adjusted p-values as the tests section computes them,
//! for prose that quotes them.
//!
//! A comparison is of test accuracy, or, for a sweep with an imbalanced training split, of the
//! rare class's test recall; a section names the latter `LABEL (rare-class recall)`.

use std::fmt::Write;
use std::path::Path;

use burn_mhe_train::read_json;

use super::paired::{TTest, wilcoxon_signed_rank};
use super::summary::{Stat, points};
use crate::error::JobError;

/// What a comparison with the baseline measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Test accuracy.
    Accuracy,
    /// The rare class's test recall, for an imbalanced training split.
    RareRecall,
}

impl Measure {
    /// The measure in a sentence.
    fn describe(self) -> &'static str {
        match self {
            Measure::Accuracy => "test accuracy",
            Measure::RareRecall => "the rare class's test recall",
        }
    }
}

/// One paired comparison on the page: a configuration against its baseline over some seeds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageTest {
    /// Where it comes from: a sweep's folder, or `pooled` with the folders.
    pub source: String,
    /// The configuration compared with its baseline.
    pub label: String,
    /// What is compared.
    pub measure: Measure,
    /// The seeds compared, in the order of `differences`.
    pub seeds: Vec<usize>,
    /// The measure minus the baseline's, per seed.
    pub differences: Vec<f64>,
}

impl PageTest {
    /// How the page names it: the configuration, with the measure unless it is test accuracy.
    fn name(&self) -> String {
        match self.measure {
            Measure::Accuracy => self.label.clone(),
            Measure::RareRecall => format!("{} (rare-class recall)", self.label),
        }
    }

    /// The t-test of the mean difference (`None` below two seeds or without spread).
    fn t_test(&self) -> Option<TTest> {
        TTest::of(&self.differences)
    }

    /// The mean difference and the differences' sample standard deviation.
    fn stat(&self) -> Stat {
        Stat::of(&self.differences)
    }

    /// On how many seeds the configuration beat its baseline.
    fn better(&self) -> usize {
        self.differences.iter().filter(|d| **d > 0.0).count()
    }

    /// Whether `other` is this comparison again: the same seeds with the same per-seed
    /// differences, as when a sweep adopts another's runs (`--adopt-runs-from`) or trains the
    /// same configuration again (training is deterministic) and summarizes them under its own
    /// label.
    fn repeats(&self, other: &PageTest) -> bool {
        self.measure == other.measure
            && self.seeds == other.seeds
            && self.differences == other.differences
    }
}

/// What comparisons of these `measures` measure, in a sentence: one measure, or test accuracy
/// with the rows that say otherwise.
fn measured(measures: impl IntoIterator<Item = Measure>) -> String {
    let measures: Vec<Measure> = measures.into_iter().collect();
    let first = measures.first().copied().unwrap_or(Measure::Accuracy);
    match measures.iter().all(|&measure| measure == first) {
        true => format!("{} against its baseline", first.describe()),
        false => "test accuracy against its baseline, or the rare class's test recall where a \
                  row says so"
            .into(),
    }
}

/// `tests` with each comparison that repeats an earlier one ([`PageTest::repeats`]) left out,
/// so that one test on the same runs is adjusted for once.
fn distinct(tests: Vec<PageTest>) -> Vec<PageTest> {
    let mut kept: Vec<PageTest> = Vec::with_capacity(tests.len());
    for test in tests {
        if !kept.iter().any(|earlier| earlier.repeats(&test)) {
            kept.push(test);
        }
    }
    kept
}

/// The indices of `p_values` from the smallest value to the largest.
fn ascending(p_values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    order
}

/// Holm's step-down adjustment of `p_values` (the family-wise error rate), in their order.
pub(crate) fn holm(p_values: &[f64]) -> Vec<f64> {
    let (m, order) = (p_values.len(), ascending(p_values));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &index) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[index]).min(1.0));
        adjusted[index] = running;
    }
    adjusted
}

/// Benjamini-Hochberg's step-up adjustment of `p_values` (the false discovery rate), in their
/// order.
pub(crate) fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let (m, order) = (p_values.len(), ascending(p_values));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (rank, &index) in order.iter().enumerate().rev() {
        running = running.min((m as f64 / (rank + 1) as f64 * p_values[index]).min(1.0));
        adjusted[index] = running;
    }
    adjusted
}

/// The comparisons of the sweep summarized in `root/folder/summary.json`, each configuration's
/// in test accuracy and then, where it has one, in the rare class's recall. Read as JSON rather
/// than as an [`ExperimentSummary`](super::ExperimentSummary): summaries of earlier versions
/// lack fields added since, and only the labels and differences are needed.
pub(crate) fn sweep_tests(root: &Path, folder: &str) -> Result<Vec<PageTest>, JobError> {
    let path = root.join(folder).join("summary.json");
    let summary: serde_json::Value = read_json(&path)?;
    let config = |key: &str| summary["config"][key].as_u64().unwrap_or(0) as usize;
    let first_seed = config("first_seed");
    let seeds: Vec<usize> = (first_seed..first_seed + config("seeds")).collect();
    let settings = summary["settings"].as_array().cloned().unwrap_or_default();
    let mut tests = Vec::new();
    for setting in settings {
        let comparisons = [
            (Measure::Accuracy, &setting["vs_baseline"]),
            (Measure::RareRecall, &setting["rare_class"]["vs_baseline"]),
        ];
        for (measure, comparison) in comparisons {
            if comparison.is_null() {
                continue;
            }
            let differences = serde_json::from_value(comparison["differences"].clone());
            let (Some(label), Ok(differences)) = (setting["label"].as_str(), differences) else {
                return Err(JobError::corrupt(
                    path,
                    "a comparison without its label or differences".into(),
                ));
            };
            tests.push(PageTest {
                source: folder.to_string(),
                label: label.to_string(),
                measure,
                seeds: seeds.clone(),
                differences,
            });
        }
    }
    Ok(tests)
}

/// A section's specification `HEAD | ITEM, ITEM, ...`, whose form `form` names in errors: a
/// pooled section's configuration and sweeps, a planned section's sweep and configurations.
fn parse_list<'a>(spec: &'a str, form: &str) -> Result<(&'a str, Vec<&'a str>), JobError> {
    let (head, items) = spec.split_once('|').ok_or_else(|| {
        JobError::invalid_config(format!("results page: a section `{form}`, got `{spec}`"))
    })?;
    let items: Vec<&str> = items.split(',').map(str::trim).collect();
    Ok((head.trim(), items))
}

/// A pooled section's specification: the configuration and the sweeps whose seeds are pooled.
fn parse_pooled(spec: &str) -> Result<(&str, Vec<&str>), JobError> {
    parse_list(spec, "pooled: LABEL | FOLDER, ...")
}

/// The comparison the page calls `name` ([`PageTest::name`]) among `tests`, those of the sweep
/// in `folder`.
fn find_test(tests: &[PageTest], folder: &str, name: &str) -> Result<PageTest, JobError> {
    tests
        .iter()
        .find(|test| test.name() == name)
        .cloned()
        .ok_or_else(|| {
            JobError::invalid_config(format!(
                "results page: {folder} has no comparison of `{name}`"
            ))
        })
}

/// The comparison of one configuration with its baseline over the seeds of several sweeps.
pub(crate) fn pooled_test(root: &Path, spec: &str) -> Result<PageTest, JobError> {
    let (name, folders) = parse_pooled(spec)?;
    let tests = folders
        .iter()
        .map(|folder| find_test(&sweep_tests(root, folder)?, folder, name))
        .collect::<Result<Vec<_>, _>>()?;
    // A specification names at least one sweep (an empty one is found in none).
    let first = &tests[0];
    Ok(PageTest {
        source: format!("pooled: {}", folders.join(", ")),
        label: first.label.clone(),
        measure: first.measure,
        seeds: tests.iter().flat_map(|test| test.seeds.clone()).collect(),
        differences: tests
            .iter()
            .flat_map(|test| test.differences.clone())
            .collect(),
    })
}

/// A p-value as the page prints it.
fn p(value: f64) -> String {
    match value < 0.001 {
        true => "< 0.001".into(),
        false => format!("{value:.3}"),
    }
}

/// The body of a pooled section.
pub(crate) fn pooled_section(root: &Path, spec: &str) -> Result<String, JobError> {
    let test = pooled_test(root, spec)?;
    let (_, folders) = parse_pooled(spec)?;
    let (n, better) = (test.differences.len(), test.better());
    let mut text = format!(
        "Pooled after the fact, `{}` against its baseline over the {n} seeds of {}: mean \
         difference {} points",
        test.name(),
        folders.join(", "),
        points(test.stat().mean)
    );
    if let Some(t) = test.t_test() {
        let _ = write!(
            text,
            ", 95% CI [{}, {}], t-test p {}",
            points(t.ci95[0]),
            points(t.ci95[1]),
            p(t.p_value)
        );
    }
    if let Some(w) = wilcoxon_signed_rank(&test.differences) {
        let _ = write!(text, ", Wilcoxon p {}", p(w));
    }
    let _ = writeln!(text, "; better on {better} of {n}.");
    Ok(text)
}

/// The body of a planned section, `FOLDER | LABEL, ...`: the comparisons that a plan fixed in
/// advance as its tests, from one sweep, with Holm's adjustment over them alone (the plan's
/// family of tests; the page's table adjusts over every test).
pub(crate) fn planned_section(root: &Path, spec: &str) -> Result<String, JobError> {
    let (folder, labels) = parse_list(spec, "planned: FOLDER | LABEL, ...")?;
    let sweep = sweep_tests(root, folder)?;
    let mut tested = Vec::with_capacity(labels.len());
    for label in &labels {
        let test = find_test(&sweep, folder, label)?;
        let t = test.t_test().ok_or_else(|| {
            JobError::invalid_config(format!(
                "results page: `{label}` of {folder} has no t-test (fewer than two seeds or no \
                 spread)"
            ))
        })?;
        tested.push((test, t));
    }
    let raw: Vec<f64> = tested.iter().map(|(_, t)| t.p_value).collect();
    let measure = measured(tested.iter().map(|(test, _)| test.measure));
    let n = tested.len();
    let mut text = match n {
        1 => format!(
            "The plan's one paired t-test of {folder} ({measure}, two-sided): a family of one, \
             so its Holm p is its p."
        ),
        _ => format!(
            "The plan's {n} paired t-tests of {folder} ({measure}, two-sided), Holm's adjustment \
             over these {n} alone."
        ),
    };
    text.push_str(
        "\n\n| configuration | seeds | difference (points) | 95% CI | sd of differences (points) \
         | better on | p | Holm p |\n|---|---|---|---|---|---|---|---|\n",
    );
    for ((test, t), holm) in tested.iter().zip(holm(&raw)) {
        let (n, stat) = (test.differences.len(), test.stat());
        let _ = writeln!(
            text,
            "| {} | {n} | {} | [{}, {}] | {:.2} | {} of {n} | {} | {} |",
            test.name(),
            points(stat.mean),
            points(t.ci95[0]),
            points(t.ci95[1]),
            100.0 * stat.std,
            test.better(),
            p(t.p_value),
            p(holm)
        );
    }
    Ok(text)
}

/// One comparison of the page's table with its t-test and its p-values adjusted over the
/// table.
pub(crate) struct AdjustedTest {
    test: PageTest,
    t: TTest,
    holm: f64,
    bh: f64,
}

/// Every comparison of the summary and pooled sections of `page`, each once ([`distinct`]),
/// that has a t-test, with Holm's and Benjamini-Hochberg's adjustments over all of them.
pub(crate) fn page_family(page: &str, root: &Path) -> Result<Vec<AdjustedTest>, JobError> {
    let mut tests = Vec::new();
    for (kind, spec) in markers(page) {
        match kind {
            "summary" => tests.extend(sweep_tests(root, spec)?),
            "pooled" => tests.push(pooled_test(root, spec)?),
            _ => {}
        }
    }
    let tested: Vec<(PageTest, TTest)> = distinct(tests)
        .into_iter()
        .filter_map(|test| {
            let t = test.t_test()?;
            Some((test, t))
        })
        .collect();
    let raw: Vec<f64> = tested.iter().map(|(_, t)| t.p_value).collect();
    let (holm, bh) = (holm(&raw), benjamini_hochberg(&raw));
    Ok(tested
        .into_iter()
        .zip(holm.into_iter().zip(bh))
        .map(|((test, t), (holm, bh))| AdjustedTest { test, t, holm, bh })
        .collect())
}

/// The body of the tests section: every comparison of the page's summary and pooled sections,
/// each once, with raw and adjusted p-values (`family`, from [`page_family`]).
pub(crate) fn tests_section(family: &[AdjustedTest]) -> String {
    let mut text = format!(
        "{} paired t-tests ({}, two-sided); Holm's adjustment \
         controls the chance of any false positive among all of them, Benjamini-Hochberg's the \
         expected share of false positives among those called significant. A comparison that \
         another section repeats (the same seeds with the same per-seed differences: the same \
         runs, adopted by another sweep or trained again with the same configuration) is counted \
         once, where it first appears.\n\n\
         | source | configuration | seeds | difference (points) | 95% CI | p | Holm p | BH q |\n\
         |---|---|---|---|---|---|---|---|\n",
        family.len(),
        measured(family.iter().map(|row| row.test.measure))
    );
    for AdjustedTest { test, t, holm, bh } in family {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | [{}, {}] | {} | {} | {} |",
            test.source,
            test.name(),
            test.differences.len(),
            points(test.stat().mean),
            points(t.ci95[0]),
            points(t.ci95[1]),
            p(t.p_value),
            p(*holm),
            p(*bh)
        );
    }
    text
}

/// The body of an inline adjusted section, `SOURCE | NAME`: the adjusted p-values of the
/// comparison the page's table (`family`, from [`page_family`]) lists from `SOURCE` (a sweep's
/// folder, or `pooled: FOLDER, ...`) as `NAME`.
pub(crate) fn adjusted_section(family: &[AdjustedTest], spec: &str) -> Result<String, JobError> {
    let (source, name) = spec.rsplit_once('|').ok_or_else(|| {
        JobError::invalid_config(format!(
            "results page: a section `adjusted: SOURCE | NAME`, got `{spec}`"
        ))
    })?;
    let (source, name) = (source.trim(), name.trim());
    let row = family
        .iter()
        .find(|row| row.test.source == source && row.test.name() == name)
        .ok_or_else(|| {
            JobError::invalid_config(format!(
                "results page: the table of every test has no `{name}` from {source} (a \
                 comparison repeated on the same runs is listed where it first appears)"
            ))
        })?;
    Ok(format!(
        "Holm p {}, Benjamini-Hochberg q {} over the page's {} tests",
        p(row.holm),
        p(row.bh),
        family.len()
    ))
}

/// Every section marker of `page` in order: its kind and what it names.
fn markers(page: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<!-- ") {
        let after = &rest[start + 5..];
        let Some(end) = after.find("-->") else { break };
        if let Some((kind, spec)) = after[..end].split_once(": ") {
            found.push((kind.trim(), spec.trim()));
        }
        rest = &after[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn holm_and_benjamini_hochberg_match_rs_p_adjust() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2), "holm") and "BH".
        let p = [0.01, 0.04, 0.03, 0.005, 0.2];
        close(&holm(&p), &[0.04, 0.09, 0.09, 0.025, 0.2]);
        close(&benjamini_hochberg(&p), &[0.025, 0.05, 0.05, 0.025, 0.2]);
        close(&holm(&[0.5]), &[0.5]);
        close(&benjamini_hochberg(&[0.9, 0.9]), &[0.9, 0.9]);
    }

    fn comparison(source: &str, seeds: &[usize], differences: &[f64]) -> PageTest {
        PageTest {
            source: source.into(),
            label: "half-mhe".into(),
            measure: Measure::Accuracy,
            seeds: seeds.to_vec(),
            differences: differences.to_vec(),
        }
    }

    #[test]
    fn a_comparison_repeated_on_the_same_runs_is_counted_once() {
        let first = comparison("results/a", &[40, 41], &[0.002, -0.001]);
        let adopted = comparison("results/controls", &[40, 41], &[0.002, -0.001]);
        let other_seeds = comparison("results/b", &[50, 51], &[0.002, -0.001]);
        let other_runs = comparison("results/c", &[40, 41], &[0.002, -0.0011]);
        let other_measure = PageTest {
            measure: Measure::RareRecall,
            ..first.clone()
        };
        let kept = distinct(vec![
            first.clone(),
            adopted,
            other_seeds.clone(),
            other_runs.clone(),
            other_measure.clone(),
        ]);
        assert_eq!(kept, [first, other_seeds, other_runs, other_measure]);
    }

    /// A fresh folder named for `test` holding the sweep `results/a` with `summary` as its
    /// `summary.json`.
    fn one_sweep(test: &str, summary: serde_json::Value) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("results/a")).unwrap();
        std::fs::write(root.join("results/a/summary.json"), summary.to_string()).unwrap();
        root
    }

    #[test]
    fn a_plans_tests_are_adjusted_over_themselves_in_the_plans_order() {
        let summary = serde_json::json!({
            "config": { "first_seed": 40, "seeds": 3 },
            "settings": [
                { "label": "baseline", "vs_baseline": null },
                { "label": "half", "vs_baseline": { "differences": [0.002, 0.004, 0.003] } },
                {
                    "label": "mhe",
                    "vs_baseline": { "differences": [0.001, -0.001, 0.002] },
                    "rare_class": { "vs_baseline": { "differences": [0.02, 0.04, 0.03] } },
                },
            ]
        });
        let root = one_sweep("planned", summary);
        let text = planned_section(&root, "results/a | mhe, half").unwrap();
        // Two degrees of freedom: p = 1 - t / sqrt(2 + t^2); t = 3 sqrt(3) gives 0.0351, and
        // t = 0.756 gives 0.529; Holm doubles the smaller.
        let rows = |text: &str| -> Vec<String> {
            let rows = text.lines().filter(|l| l.starts_with("| "));
            rows.skip(1).map(String::from).collect()
        };
        assert_eq!(
            rows(&text),
            [
                "| mhe | 3 | +0.07 | [-0.31, +0.45] | 0.15 | 2 of 3 | 0.529 | 0.529 |",
                "| half | 3 | +0.30 | [+0.05, +0.55] | 0.10 | 3 of 3 | 0.035 | 0.070 |",
            ]
        );
        assert!(
            text.starts_with(
                "The plan's 2 paired t-tests of results/a (test accuracy against its baseline,"
            ),
            "{text}"
        );
        // The recall differences (mean 3, sd 1 points) have half's t, so Holm doubles both p.
        let text = planned_section(&root, "results/a | mhe (rare-class recall), half").unwrap();
        assert_eq!(
            rows(&text),
            [
                "| mhe (rare-class recall) | 3 | +3.00 | [+0.52, +5.48] | 1.00 | 3 of 3 | 0.035 | \
                 0.070 |",
                "| half | 3 | +0.30 | [+0.05, +0.55] | 0.10 | 3 of 3 | 0.035 | 0.070 |",
            ]
        );
        assert!(text.contains("or the rare class's test recall where a row says so"));
        let one = planned_section(&root, "results/a | half").unwrap();
        assert!(
            one.starts_with("The plan's one paired t-test of results/a"),
            "{one}"
        );
        assert!(rows(&one)[0].ends_with("| 0.035 | 0.035 |"), "{one}");
        let missing = planned_section(&root, "results/a | so").unwrap_err();
        assert!(
            missing.to_string().contains("no comparison of `so`"),
            "{missing}"
        );
        assert!(planned_section(&root, "results/a").is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_sentence_quotes_one_tests_adjusted_p_values_inline() {
        let summary = serde_json::json!({
            "config": { "first_seed": 0, "seeds": 3 },
            "settings": [
                { "label": "half", "vs_baseline": { "differences": [0.002, 0.004, 0.003] } },
                { "label": "mhe", "vs_baseline": { "differences": [0.001, -0.001, 0.002] } },
            ]
        });
        let root = one_sweep("adjusted", summary);
        std::fs::write(root.join("results/a/summary.md"), "# A\n\ntable\n").unwrap();
        let page = |quote: &str| {
            format!(
                "<!-- summary: results/a -->\n<!-- end summary -->\nSo \
                 (<!-- adjusted: {quote} -->old<!-- end adjusted -->).\n"
            )
        };
        // p 0.0351 and 0.529 (the planned test's values): Holm and BH both double the smaller.
        let rendered = crate::experiment::render_page(&page("results/a | half"), &root).unwrap();
        assert!(
            rendered.ends_with(
                "So (<!-- adjusted: results/a | half -->Holm p 0.070, Benjamini-Hochberg q 0.070 \
                 over the page's 2 tests<!-- end adjusted -->).\n"
            ),
            "{rendered}"
        );
        let missing = crate::experiment::render_page(&page("results/a | so"), &root);
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("no `so` from results/a")
        );
        assert!(crate::experiment::render_page(&page("results/a"), &root).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn markers_are_read_in_page_order() {
        let page = "a <!-- summary: results/x -->\n<!-- end summary -->\n\
                    <!-- pooled: half | results/x, results/y -->\n<!-- end pooled -->";
        assert_eq!(
            markers(page),
            [
                ("summary", "results/x"),
                ("pooled", "half | results/x, results/y")
            ]
        );
        assert!(parse_pooled("no bar").is_err());
    }
}
