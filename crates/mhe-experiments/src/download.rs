//! The full MNIST through burn's own downloader (`burn_dataset::vision::MnistDataset`), behind
//! the `mnist-download` feature.
//!
//! burn stores the files, uncompressed, in `<cache>/burn-dataset/mnist/train/` and
//! `<cache>/burn-dataset/mnist/test/` (`<cache>` is `~/.cache` on Linux); [`DataSplits::load`]
//! reads that layout as well as the flat one, so `--data-dir ~/.cache/burn-dataset/mnist` reads
//! a cache filled earlier without the network.
//!
//! The download itself cannot be exercised by this repository's tests, which run offline.
//!
//! [`DataSplits::load`]: crate::DataSplits::load

use std::path::PathBuf;

use crate::error::JobError;

/// Downloads MNIST (60,000 + 10,000 digits) into burn's cache unless it is there already, and
/// returns the folder holding its `train/` and `test/` subfolders.
#[cfg(feature = "mnist-download")]
pub fn download_mnist() -> Result<PathBuf, JobError> {
    use burn_dataset::vision::MnistDataset;

    let folder = dirs::cache_dir()
        .ok_or_else(|| JobError::Download("this system has no cache folder".into()))?
        .join("burn-dataset")
        .join("mnist");
    // burn's downloader panics when the network or the disk fails.
    std::panic::catch_unwind(|| {
        MnistDataset::train();
        MnistDataset::test();
    })
    .map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        JobError::Download(format!("burn's MNIST download failed: {reason}"))
    })?;
    Ok(folder)
}

/// Without the `mnist-download` feature there is nothing to download with: an error saying how
/// to get the files.
#[cfg(not(feature = "mnist-download"))]
pub fn download_mnist() -> Result<PathBuf, JobError> {
    Err(JobError::invalid_config(
        "dataset `mnist` without a data folder is downloaded by burn, which this build leaves \
         out: rebuild with `--features mnist-download`, or pass the folder of the MNIST files \
         (--data-dir)"
            .into(),
    ))
}
