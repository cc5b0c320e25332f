//! Where a job's images come from: the dataset, its folder (burn's download for the full MNIST
//! without one; the MNIST subset built into the binary) and its IDX files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{DataSplits, SplitPlan};
use crate::error::JobError;
use crate::idx::IdxDataset;

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The folder of the MNIST subset in this crate's sources (the binary carries its own copy:
/// [`mnist_subset`]).
#[cfg(test)]
pub(crate) const MNIST_SUBSET_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-subset");

/// One of the MNIST subset's files, built into every binary (`mhe train` runs its main job
/// offline and anywhere, also installed outside a checkout): the name errors give it, and its
/// contents.
macro_rules! built_in {
    ($name:literal) => {
        (
            Path::new(concat!("(built-in mnist-subset)/", $name)),
            include_bytes!(concat!("../data/mnist-subset/", $name)).as_slice(),
        )
    };
}

/// The MNIST subset shipped with this crate (2,500 training and 500 test digits, 250 and 50 of
/// each class, MIT licence): its training and test files, from the copy built into the binary.
///
/// ```
/// use burn::data::dataset::Dataset;
///
/// let (train, test) = mhe_experiments::mnist_subset();
/// assert_eq!((train.len(), test.len()), (2500, 500));
/// assert_eq!(train.image_shape(), [28, 28]);
/// ```
pub fn mnist_subset() -> (IdxDataset, IdxDataset) {
    let parse = |images, labels| {
        IdxDataset::parse(images, labels, CLASSES).expect("the built-in subset is valid (tested)")
    };
    (
        parse(
            built_in!("train-images-idx3-ubyte"),
            built_in!("train-labels-idx1-ubyte"),
        ),
        parse(
            built_in!("t10k-images-idx3-ubyte"),
            built_in!("t10k-labels-idx1-ubyte"),
        ),
    )
}

/// The number of classes of every dataset here (digits, clothing types).
pub const CLASSES: usize = 10;

/// A dataset in the MNIST file layout (`train-images-idx3-ubyte[.gz]`, ... in one folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DatasetChoice {
    /// The MNIST digits shipped with this crate ([`mnist_subset`]): offline and anywhere, from
    /// the copy built into the binary.
    MnistSubset,
    /// Fashion-MNIST, by default from /usr/share/datasets/fashion-mnist (Debian's
    /// dataset-fashion-mnist).
    FashionMnist,
    /// The full MNIST (60,000 + 10,000 digits): the data folder, or burn's download into its
    /// cache (build feature `mnist-download`).
    Mnist,
    /// Any folder of MNIST-format files, given as the data folder.
    Idx,
}

impl DatasetChoice {
    /// The training and test files, split by `plan`: from `data_dir` if given, otherwise from
    /// the dataset's own place ([`folder`](Self::folder)).
    ///
    /// # Errors
    /// As [`folder`](Self::folder), and [`JobError::Data`] for files that are missing or
    /// malformed.
    pub fn load(self, data_dir: Option<&str>, plan: &SplitPlan) -> Result<DataSplits, JobError> {
        match self.folder(data_dir)? {
            Some(folder) => DataSplits::load(&folder, plan),
            None => {
                let (train, test) = mnist_subset();
                Ok(DataSplits::split(train, test, plan))
            }
        }
    }

    /// The folder read: `data_dir` if given, otherwise the dataset's own place (`None` for the
    /// MNIST subset, which is built into the binary); for the full MNIST without a folder, burn
    /// downloads it first (feature `mnist-download`).
    ///
    /// # Errors
    /// [`JobError::MissingDataDir`] for a folder that does not exist; an invalid configuration
    /// for `idx` without a folder.
    pub fn folder(self, data_dir: Option<&str>) -> Result<Option<PathBuf>, JobError> {
        let folder = match (data_dir, self) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Self::MnistSubset) => return Ok(None),
            (None, Self::FashionMnist) => PathBuf::from(FASHION_MNIST_DIR),
            (None, Self::Mnist) => crate::download::download_mnist()?,
            (None, Self::Idx) => {
                return Err(JobError::invalid_config(
                    "dataset `idx` needs a data folder (--data-dir)".into(),
                ));
            }
        };
        if folder.is_dir() {
            Ok(Some(folder))
        } else {
            Err(JobError::MissingDataDir(folder))
        }
    }
}

/// The images and labels of a split (`train` or `t10k`), raw or gzip, directly in `folder` or
/// in its subfolder `subfolder` (burn's download cache keeps `train/` and `test/`).
pub(crate) fn load_pair(
    folder: &Path,
    split: &str,
    subfolder: &str,
) -> Result<IdxDataset, JobError> {
    let file = |kind: &str| {
        let name = format!("{split}-{kind}");
        let mut candidates = [folder.to_path_buf(), folder.join(subfolder)]
            .into_iter()
            .flat_map(|dir| [dir.join(&name), dir.join(format!("{name}.gz"))]);
        let first = folder.join(&name);
        candidates.find(|path| path.exists()).unwrap_or(first)
    };
    Ok(IdxDataset::load(
        &file("images-idx3-ubyte"),
        &file("labels-idx1-ubyte"),
        CLASSES,
    )?)
}

#[cfg(test)]
mod tests {
    use burn::data::dataset::Dataset;

    use super::*;

    /// The shipped subset copied into burn's download cache layout (`train/`, `test/`).
    fn burn_cache_layout() -> PathBuf {
        let root = std::env::temp_dir().join(format!("burn-mhe-cache-{}", std::process::id()));
        for (split, subfolder) in [("train", "train"), ("t10k", "test")] {
            std::fs::create_dir_all(root.join(subfolder)).unwrap();
            for kind in ["images-idx3-ubyte", "labels-idx1-ubyte"] {
                let name = format!("{split}-{kind}");
                let from = Path::new(MNIST_SUBSET_DIR).join(&name);
                std::fs::copy(from, root.join(subfolder).join(name)).unwrap();
            }
        }
        root
    }

    #[test]
    fn reads_burns_download_cache_layout_like_a_flat_folder() {
        let root = burn_cache_layout();
        let folder = DatasetChoice::Mnist.folder(root.to_str()).unwrap().unwrap();
        let shipped = Path::new(MNIST_SUBSET_DIR);
        for (split, subfolder) in [("train", "train"), ("t10k", "test")] {
            let cached = load_pair(&folder, split, subfolder).unwrap();
            let flat = load_pair(shipped, split, subfolder).unwrap();
            assert_eq!(cached.len(), flat.len());
            for index in [0, 17, flat.len() - 1] {
                assert_eq!(cached.get(index).unwrap(), flat.get(index).unwrap());
            }
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_built_in_subset_is_the_shipped_folder() {
        let (train, test) = mnist_subset();
        let shipped = Path::new(MNIST_SUBSET_DIR);
        assert_eq!(train, load_pair(shipped, "train", "train").unwrap());
        assert_eq!(test, load_pair(shipped, "t10k", "test").unwrap());
        assert_eq!(DatasetChoice::MnistSubset.folder(None).unwrap(), None);
    }

    #[cfg(not(feature = "mnist-download"))]
    #[test]
    fn mnist_without_a_folder_needs_the_download_feature() {
        let error = DatasetChoice::Mnist.folder(None).unwrap_err().to_string();
        assert!(error.contains("mnist-download"), "{error}");
    }

    #[test]
    fn missing_folders_are_errors() {
        assert!(matches!(
            DatasetChoice::Idx.folder(Some("/no/such/folder")),
            Err(JobError::MissingDataDir(_))
        ));
        assert!(matches!(
            DatasetChoice::Idx.folder(None),
            Err(JobError::Train(burn_mhe_train::TrainError::InvalidConfig(
                _
            )))
        ));
    }
}
