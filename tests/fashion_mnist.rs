//! The real Fashion-MNIST files as Debian's `dataset-fashion-mnist` installs them (gzip IDX):
//! `.ci/run` installs the package; elsewhere `apt-get install dataset-fashion-mnist`, without
//! which the test prints why it skips (and fails under CI).

use std::path::Path;

use burn::data::dataset::Dataset;
use mhe_experiments::IdxDataset;

const ROOT: &str = "/usr/share/datasets/fashion-mnist";

#[test]
fn loads_both_splits_with_six_thousand_of_each_class() {
    let root = Path::new(ROOT);
    if !root.is_dir() {
        // CI (`.ci/run`, with CI set) installs the package: there a missing folder is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{ROOT} is missing although .ci/run installs dataset-fashion-mnist"
        );
        eprintln!("skipped: {ROOT} is missing (apt-get install dataset-fashion-mnist)");
        return;
    }
    for (split, count) in [("train", 60_000), ("t10k", 10_000)] {
        let images = root.join(format!("{split}-images-idx3-ubyte.gz"));
        let labels = root.join(format!("{split}-labels-idx1-ubyte.gz"));
        let data = IdxDataset::load(&images, &labels, 10).unwrap();
        assert_eq!((data.len(), data.image_shape()), (count, [28, 28]));
        let mut per_class = [0usize; 10];
        for i in 0..data.len() {
            per_class[data.get(i).unwrap().label] += 1;
        }
        assert_eq!(per_class, [count / 10; 10], "{split}");
    }
    // Fashion-MNIST's first training item is an ankle boot (class 9).
    let first = IdxDataset::load(
        &root.join("train-images-idx3-ubyte.gz"),
        &root.join("train-labels-idx1-ubyte.gz"),
        10,
    )
    .unwrap()
    .get(0)
    .unwrap();
    assert_eq!(first.label, 9);
}
