//! Paired comparisons of a configuration against its baseline over the same seeds: per-seed
//! differences, a t-interval and t-test, the Wilcoxon signed-rank test, and McNemar's test on
//! the per-item test predictions. Distributions come from `statrs`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

/// Student's one-sample t-test of the mean of `values` against 0, and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    /// The t statistic.
    pub t: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// The 95% confidence interval of the mean.
    pub ci95: [f64; 2],
}

impl TTest {
    /// The test of `values`; `None` for fewer than two values or values without spread (the
    /// statistic is then undefined).
    ///
    /// ```
    /// use mhe_experiments::experiment::TTest;
    ///
    /// let test = TTest::of(&[0.012, 0.004, 0.009, -0.002, 0.007]).unwrap();
    /// assert!((test.p_value - 0.06583762058156797).abs() < 1e-12); // SciPy's ttest_1samp
    /// assert!(TTest::of(&[0.01, 0.01]).is_none());
    /// ```
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        if values.len() < 2 || variance <= 0.0 || !variance.is_finite() {
            return None;
        }
        let standard_error = (variance / n).sqrt();
        let t = mean / standard_error;
        let distribution = StudentsT::new(0.0, 1.0, n - 1.0).ok()?;
        let half_width = distribution.inverse_cdf(0.975) * standard_error;
        Some(Self {
            t,
            p_value: (2.0 * distribution.sf(t.abs())).min(1.0),
            ci95: [mean - half_width, mean + half_width],
        })
    }
}

/// The two-sided p-value of the Wilcoxon signed-rank test that `differences` are symmetric
/// about 0.
///
/// Zeros are dropped (Wilcoxon's rule), ties get average ranks, and the p-value is exact: the
/// signed-rank sum's distribution over all sign assignments of the observed ranks. SciPy's
/// `wilcoxon` gives the same numbers for small samples. `None` when every difference is 0.
///
/// With `n` nonzero differences the smallest possible p-value is `2 / 2^n`: `0.0625` for five
/// seeds, so five seeds can never reach `p < 0.05` with this test.
///
/// ```
/// use mhe_experiments::experiment::wilcoxon_signed_rank;
///
/// assert_eq!(wilcoxon_signed_rank(&[0.012, 0.004, 0.009, -0.002, 0.007]), Some(0.125));
/// assert_eq!(wilcoxon_signed_rank(&[0.01, 0.02, 0.03, 0.04, 0.05]), Some(0.0625));
/// ```
pub fn wilcoxon_signed_rank(differences: &[f64]) -> Option<f64> {
    let nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    if nonzero.is_empty() {
        return None;
    }
    // Doubled average ranks are whole numbers, so the sum's distribution fits in integers.
    let doubled = doubled_ranks(&nonzero.iter().map(|d| d.abs()).collect::<Vec<_>>());
    let total: usize = doubled.iter().sum();
    let observed: usize = doubled
        .iter()
        .zip(&nonzero)
        .filter(|(_, d)| **d > 0.0)
        .map(|(r, _)| r)
        .sum();
    // ways[s]: the share of sign assignments whose positive ranks sum to s.
    let mut ways = vec![0.0f64; total + 1];
    ways[0] = 1.0;
    for &rank in &doubled {
        for sum in (rank..=total).rev() {
            ways[sum] = 0.5 * ways[sum] + 0.5 * ways[sum - rank];
        }
        ways[..rank].iter_mut().for_each(|w| *w *= 0.5);
    }
    let lower: f64 = ways[..=observed].iter().sum();
    let upper: f64 = ways[observed..].iter().sum();
    Some((2.0 * lower.min(upper)).min(1.0))
}

/// Twice the average rank (from 1) of each value among `values`.
fn doubled_ranks(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold equal values: ranks start+1 ..= end, doubled average.
        for &index in &order[start..end] {
            ranks[index] = start + 1 + end;
        }
        start = end;
    }
    ranks
}

/// McNemar's exact test of two classifiers on the same test items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Items only the configuration classifies correctly.
    pub only_this: usize,
    /// Items only the baseline classifies correctly.
    pub only_baseline: usize,
    /// The two-sided exact (binomial) p-value; 1 when the two never disagree.
    pub p_value: f64,
}

impl McNemar {
    /// The test from each item's correctness under the configuration and the baseline.
    ///
    /// ```
    /// use mhe_experiments::experiment::McNemar;
    ///
    /// let test = McNemar::from_counts(3, 12);
    /// assert!((test.p_value - 0.03515625).abs() < 1e-12); // SciPy's binomtest(3, 15)
    /// ```
    pub fn of(this_correct: &[bool], baseline_correct: &[bool]) -> Self {
        let pairs = this_correct.iter().zip(baseline_correct);
        let only_this = pairs.clone().filter(|(a, b)| **a && !**b).count();
        let only_baseline = pairs.filter(|(a, b)| !**a && **b).count();
        Self::from_counts(only_this, only_baseline)
    }

    /// The test from the two discordant counts.
    pub fn from_counts(only_this: usize, only_baseline: usize) -> Self {
        let n = (only_this + only_baseline) as u64;
        let p_value = match Binomial::new(0.5, n) {
            Ok(binomial) if n > 0 => {
                let smaller = only_this.min(only_baseline) as u64;
                (2.0 * binomial.cdf(smaller)).min(1.0)
            }
            _ => 1.0,
        };
        Self {
            only_this,
            only_baseline,
            p_value,
        }
    }
}

/// A configuration against its baseline over the seeds both ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// The baseline's label.
    pub baseline: String,
    /// Per seed (in seed order): this configuration's test accuracy minus the baseline's.
    pub differences: Vec<f64>,
    /// Their mean.
    pub mean_difference: f64,
    /// t-test and 95% interval of the mean difference (`None` below two seeds or without
    /// spread).
    pub t_test: Option<TTest>,
    /// Wilcoxon signed-rank p-value of the differences.
    pub wilcoxon_p: Option<f64>,
    /// McNemar's test on the test items, per seed.
    pub mcnemar: Vec<McNemar>,
}

impl PairedComparison {
    /// The comparison from each seed's test accuracies and per-item correctness, for this
    /// configuration and its baseline (the same seeds, in the same order).
    pub fn of(baseline: &str, this: &[(f64, Vec<bool>)], reference: &[(f64, Vec<bool>)]) -> Self {
        let scores = |runs: &[(f64, Vec<bool>)]| -> Vec<f64> {
            runs.iter().map(|(score, _)| *score).collect()
        };
        let paired = PairedDifferences::of(&scores(this), &scores(reference));
        Self {
            baseline: baseline.to_string(),
            differences: paired.differences,
            mean_difference: paired.mean_difference,
            t_test: paired.t_test,
            wilcoxon_p: paired.wilcoxon_p,
            mcnemar: this
                .iter()
                .zip(reference)
                .map(|((_, a), (_, b))| McNemar::of(a, b))
                .collect(),
        }
    }
}

/// One per-seed quantity of a configuration against its baseline's (e.g. the train-test gap):
/// the differences, their mean, t-test and Wilcoxon p-value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifferences {
    /// Per seed (in seed order): this configuration's value minus the baseline's.
    pub differences: Vec<f64>,
    /// Their mean.
    pub mean_difference: f64,
    /// t-test and 95% interval of the mean difference (`None` below two seeds or without
    /// spread).
    pub t_test: Option<TTest>,
    /// Wilcoxon signed-rank p-value of the differences.
    pub wilcoxon_p: Option<f64>,
}

impl PairedDifferences {
    /// `this[k] - reference[k]` for each seed `k`, with their statistics.
    ///
    /// ```
    /// use mhe_experiments::experiment::PairedDifferences;
    ///
    /// let paired = PairedDifferences::of(&[0.3, 0.5, 0.4], &[0.1, 0.2, 0.3]);
    /// assert!((paired.mean_difference - 0.2).abs() < 1e-12);
    /// assert_eq!(paired.differences.len(), 3);
    /// ```
    pub fn of(this: &[f64], reference: &[f64]) -> Self {
        let differences: Vec<f64> = this.iter().zip(reference).map(|(a, b)| a - b).collect();
        Self {
            mean_difference: differences.iter().sum::<f64>() / differences.len() as f64,
            t_test: TTest::of(&differences),
            wilcoxon_p: wilcoxon_signed_rank(&differences),
            differences,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-3)
    }

    /// Reference values: SciPy 1.17.1, `scipy.stats.ttest_1samp(d, 0)` and its
    /// `confidence_interval(0.95)`, `scipy.stats.wilcoxon(d)` (method "auto"),
    /// `scipy.stats.binomtest(k, n, 0.5)`.
    #[test]
    fn t_test_matches_scipy() {
        let test = TTest::of(&[0.012, 0.004, 0.009, -0.002, 0.007]).unwrap();
        assert!(close(test.t, 2.5131234497501733), "{test:?}");
        assert!(close(test.p_value, 0.06583762058156797), "{test:?}");
        assert!(close(test.ci95[0], -0.0006286718357758269), "{test:?}");
        assert!(close(test.ci95[1], 0.012628671835775828), "{test:?}");
        assert!(TTest::of(&[0.5]).is_none());
    }

    #[test]
    fn wilcoxon_matches_scipy_with_ties_and_zeros() {
        let tied = [
            1.5, -2.0, 3.0, 1.5, 4.0, -1.0, 2.0, 2.5, 0.5, 3.5, -0.5, 2.0,
        ];
        assert!(close(wilcoxon_signed_rank(&tied).unwrap(), 0.02978515625));
        let with_zero = [0.01, 0.0, -0.02, 0.03, 0.04, 0.05];
        assert!(close(wilcoxon_signed_rank(&with_zero).unwrap(), 0.1875));
        let mut twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        for i in [2, 5, 7] {
            twenty[i] = -twenty[i];
        }
        assert!(close(
            wilcoxon_signed_rank(&twenty).unwrap(),
            0.0003948211669921875
        ));
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]), None);
    }

    #[test]
    fn mcnemar_matches_scipys_binomial_test() {
        assert!(close(McNemar::from_counts(3, 12).p_value, 0.03515625));
        assert!(close(
            McNemar::from_counts(40, 61).p_value,
            0.046044066929342785
        ));
        assert_eq!(McNemar::from_counts(5, 5).p_value, 1.0);
        assert_eq!(McNemar::from_counts(0, 0).p_value, 1.0);
        let test = McNemar::of(&[true, true, false, false], &[false, true, true, false]);
        assert_eq!((test.only_this, test.only_baseline), (1, 1));
    }

    #[test]
    fn a_comparison_pairs_seed_with_seed() {
        let run = |accuracy: f64, correct: &[bool]| (accuracy, correct.to_vec());
        let this = [
            run(0.75, &[true, true, true, false]),
            run(0.5, &[true, true, false, false]),
        ];
        let base = [
            run(0.5, &[true, false, true, false]),
            run(0.5, &[true, true, false, false]),
        ];
        let comparison = PairedComparison::of("baseline", &this, &base);
        assert_eq!(comparison.differences, [0.25, 0.0]);
        assert_eq!(comparison.mean_difference, 0.125);
        assert_eq!(comparison.mcnemar[0].only_this, 1);
        assert_eq!(comparison.mcnemar[1].p_value, 1.0);
        assert_eq!(comparison.wilcoxon_p, Some(1.0));
    }
}
