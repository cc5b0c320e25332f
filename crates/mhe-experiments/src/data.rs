//! Which images a job trains on: the train / validation / test splits of a dataset, a size limit
//! and class imbalance.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};
use serde::{Deserialize, Serialize};

use crate::dataset::{CLASSES, load_pair};
use crate::error::JobError;
use crate::idx::{IdxDataset, ImageItem};

/// Keep only a fraction of one class in the training split (the test split is untouched).
///
/// Written `CLASS:FRACTION` on the command line: `0:0.02` keeps 2% of class 0.
///
/// ```
/// use mhe_experiments::Imbalance;
///
/// let imbalance: Imbalance = "0:0.02".parse().unwrap();
/// assert_eq!((imbalance.class, imbalance.fraction), (0, 0.02));
/// assert!("0:1.5".parse::<Imbalance>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Imbalance {
    /// The class thinned out.
    pub class: usize,
    /// The fraction of its training items kept, in `[0, 1]`.
    pub fraction: f64,
}

impl FromStr for Imbalance {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected CLASS:FRACTION, e.g. 0:0.02");
        let (class, fraction) = text.split_once(':').ok_or_else(bad)?;
        let imbalance = Self {
            class: class.trim().parse().map_err(|_| bad())?,
            fraction: fraction.trim().parse().map_err(|_| bad())?,
        };
        imbalance.check().map(|()| imbalance)
    }
}

impl Imbalance {
    /// An error unless the class exists and the fraction is in `[0, 1]`.
    pub fn check(&self) -> Result<(), String> {
        if self.class >= CLASSES {
            return Err(format!(
                "imbalance class {} is not a class (0..{CLASSES})",
                self.class
            ));
        }
        if !(0.0..=1.0).contains(&self.fraction) {
            return Err(format!(
                "imbalance fraction {} is not in [0, 1]",
                self.fraction
            ));
        }
        Ok(())
    }
}

/// Some items of a dataset, in a given order.
#[derive(Debug, Clone)]
pub struct Subset {
    data: Arc<IdxDataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// Every item of `data`, in order.
    pub fn all(data: IdxDataset) -> Self {
        let indices = (0..data.len()).collect();
        Self {
            data: Arc::new(data),
            indices,
        }
    }

    /// The items of this subset at `positions`.
    fn pick(&self, positions: impl Iterator<Item = usize>) -> Self {
        Self {
            data: self.data.clone(),
            indices: positions.map(|p| self.indices[p]).collect(),
        }
    }

    /// The label of each item.
    pub fn labels(&self) -> Vec<usize> {
        self.indices.iter().map(|&i| self.data.label(i)).collect()
    }

    /// Image height and width.
    pub fn image_shape(&self) -> [usize; 2] {
        self.data.image_shape()
    }
}

impl Dataset<ImageItem> for Subset {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        self.data.get(self.indices[index])
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}

/// The three splits of a job's data.
#[derive(Debug, Clone)]
pub struct DataSplits {
    /// What the model is trained on.
    pub train: Subset,
    /// Held out of the training files, evaluated after every epoch.
    pub valid: Subset,
    /// The dataset's test files, evaluated once at the end.
    pub test: Subset,
}

/// How the training files are turned into the training and validation splits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitPlan {
    /// The share of the training files held out for validation, in `[0, 1)`.
    pub valid_fraction: f64,
    /// Use at most this many training items (after the validation split).
    pub train_limit: Option<usize>,
    /// Thin out one class of the training split.
    pub imbalance: Option<Imbalance>,
    /// Seeds the shuffle that picks the validation items.
    pub seed: u64,
}

impl DataSplits {
    /// Loads the training and test files of `folder` and splits them by `plan`.
    ///
    /// # Errors
    /// [`JobError::Data`] for files that are missing or malformed.
    pub fn load(folder: &Path, plan: &SplitPlan) -> Result<Self, JobError> {
        let train_files = load_pair(folder, "train", "train")?;
        let test = load_pair(folder, "t10k", "test")?;
        Ok(Self::split(train_files, test, plan))
    }

    /// The training files split by `plan` into training and validation items, and the test
    /// files.
    pub fn split(train_files: IdxDataset, test: IdxDataset, plan: &SplitPlan) -> Self {
        let (train_files, test) = (Subset::all(train_files), Subset::all(test));
        let order = burn_mhe_train::permutation(train_files.len(), plan.seed);
        let valid_count = (plan.valid_fraction * train_files.len() as f64).round() as usize;
        let (valid_order, train_order) = order.split_at(valid_count);
        let valid = train_files.pick(valid_order.iter().copied());
        let mut train = train_files.pick(train_order.iter().copied());
        if let Some(limit) = plan.train_limit {
            train = stratified_sample(&train, limit);
        }
        if let Some(imbalance) = plan.imbalance {
            train = thin_out(&train, imbalance);
        }
        Self { train, valid, test }
    }
}

/// At most `limit` items of `split` with its class proportions: each class keeps its share of
/// `limit` (largest remainders round the shares to whole items), taken from the front of the
/// split (already shuffled), in split order.
fn stratified_sample(split: &Subset, limit: usize) -> Subset {
    let labels = split.labels();
    if limit >= labels.len() {
        return split.clone();
    }
    let mut counts = [0usize; CLASSES];
    labels.iter().for_each(|&l| counts[l] += 1);
    let exact = counts.map(|c| c as f64 * limit as f64 / labels.len() as f64);
    let mut quota = exact.map(|share| share.floor() as usize);
    let mut by_remainder: Vec<usize> = (0..CLASSES).collect();
    by_remainder.sort_by(|&a, &b| {
        let remainder = |c: usize| exact[c] - quota[c] as f64;
        remainder(b).total_cmp(&remainder(a)).then(a.cmp(&b))
    });
    let missing = limit - quota.iter().sum::<usize>();
    by_remainder[..missing].iter().for_each(|&c| quota[c] += 1);
    let positions = (0..labels.len()).filter(|&p| {
        let class = labels[p];
        let take = quota[class] > 0;
        quota[class] = quota[class].saturating_sub(1);
        take
    });
    split.pick(positions)
}

/// Keeps the first `round(fraction * count)` items of the imbalanced class (the split is
/// already shuffled), and every item of the other classes.
fn thin_out(train: &Subset, imbalance: Imbalance) -> Subset {
    let labels = train.labels();
    let count = labels.iter().filter(|&&l| l == imbalance.class).count();
    let keep = (imbalance.fraction * count as f64).round() as usize;
    let mut seen = 0;
    let positions = (0..labels.len()).filter(|&p| {
        if labels[p] != imbalance.class {
            return true;
        }
        seen += 1;
        seen <= keep
    });
    train.pick(positions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::MNIST_SUBSET_DIR;

    fn subset() -> DataSplits {
        DataSplits::load(
            Path::new(MNIST_SUBSET_DIR),
            &SplitPlan {
                valid_fraction: 0.1,
                train_limit: None,
                imbalance: None,
                seed: 7,
            },
        )
        .unwrap()
    }

    #[test]
    fn splits_the_shipped_subset_without_overlap() {
        let splits = subset();
        assert_eq!(
            (splits.train.len(), splits.valid.len(), splits.test.len()),
            (2250, 250, 500)
        );
        let mut seen: Vec<usize> = splits.train.indices.clone();
        seen.extend(&splits.valid.indices);
        seen.sort_unstable();
        assert_eq!(seen, (0..2500).collect::<Vec<_>>());
    }

    #[test]
    fn imbalance_keeps_the_fraction_of_one_class_only() {
        let full = subset();
        let count = |s: &Subset, c| s.labels().iter().filter(|&&l| l == c).count();
        let plan = SplitPlan {
            valid_fraction: 0.1,
            train_limit: None,
            imbalance: Some("3:0.1".parse().unwrap()),
            seed: 7,
        };
        let thinned = DataSplits::load(Path::new(MNIST_SUBSET_DIR), &plan).unwrap();
        let before = count(&full.train, 3);
        assert_eq!(
            count(&thinned.train, 3),
            (before as f64 * 0.1).round() as usize
        );
        for class in (0..CLASSES).filter(|&c| c != 3) {
            assert_eq!(count(&thinned.train, class), count(&full.train, class));
        }
        assert_eq!(thinned.test.labels(), full.test.labels());
        assert_eq!(thinned.valid.labels(), full.valid.labels());
    }

    #[test]
    fn the_limit_samples_every_class_before_the_imbalance_thins_one() {
        let count = |s: &Subset, c| s.labels().iter().filter(|&&l| l == c).count();
        let full = subset();
        let plan = |limit, imbalance: Option<&str>| SplitPlan {
            valid_fraction: 0.1,
            train_limit: Some(limit),
            imbalance: imbalance.map(|i| i.parse().unwrap()),
            seed: 7,
        };
        let limited = DataSplits::load(Path::new(MNIST_SUBSET_DIR), &plan(900, None)).unwrap();
        assert_eq!(limited.train.len(), 900);
        // 900 of 2250 is 40% of every class, up to one item of rounding.
        for class in 0..CLASSES {
            let share = 0.4 * count(&full.train, class) as f64;
            assert!((count(&limited.train, class) as f64 - share).abs() < 1.0);
        }
        let both =
            DataSplits::load(Path::new(MNIST_SUBSET_DIR), &plan(900, Some("0:0.1"))).unwrap();
        let zeros = count(&limited.train, 0);
        assert_eq!(count(&both.train, 0), (0.1 * zeros as f64).round() as usize);
        assert_eq!(both.train.len(), 900 - zeros + count(&both.train, 0));
        for class in 1..CLASSES {
            assert_eq!(count(&both.train, class), count(&limited.train, class));
        }
        // A limit above the split's size keeps the whole split in its order.
        let all = DataSplits::load(Path::new(MNIST_SUBSET_DIR), &plan(5000, None)).unwrap();
        assert_eq!(all.train.indices, full.train.indices);
    }

    #[test]
    fn bad_imbalances_are_errors() {
        assert!("10:0.5".parse::<Imbalance>().is_err());
        assert!("x".parse::<Imbalance>().is_err());
        assert!("3:-0.1".parse::<Imbalance>().is_err());
    }
}
