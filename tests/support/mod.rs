//! Helpers shared by the integration tests: float64 tensors, the reference's golden input, and
//! every energy variant of the released code.
#![allow(dead_code)]

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, OFFICIAL_VARIANTS};

/// A fresh path (whatever an earlier run left there removed, its parent folder made) for a
/// test's file or folder, in cargo's scratch folder of the target directory: the next run
/// reuses it, and nothing is left in the system's temporary folder.
pub fn scratch_path(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::remove_dir_all(&path)
        .or_else(|_| std::fs::remove_file(&path))
        .ok();
    std::fs::create_dir_all(path.parent().expect("a name under the scratch folder")).unwrap();
    path
}

/// A `[rows, cols]` float64 tensor from row-major values.
pub fn f64_matrix(values: Vec<f64>, cols: usize, device: &Device) -> Tensor<2> {
    let rows = values.len() / cols;
    Tensor::from_data(TensorData::new(values, [rows, cols]), (device, DType::F64))
}

/// A `[rows, cols]` float32 tensor from row-major values.
pub fn f32_matrix(values: &[f64], cols: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    let rows = values.len() / cols;
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// Every element of a tensor as float64.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

/// The reference's golden input: `W[k, n] = sin(0.37 (4k + n) + 0.1)`, `D = 18`, `N = 4`,
/// column `n` is neuron `n`; returned as 4 rows of 18.
pub fn golden_neurons() -> Vec<f64> {
    let (d, n) = (18, 4);
    (0..n)
        .flat_map(|neuron| (0..d).map(move |k| (0.37 * (4 * k + neuron) as f64 + 0.1).sin()))
        .collect()
}

/// Deterministic pseudo-random values in `[-1, 1)` (a 64-bit LCG), for test inputs.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// The six powers of the released code, by their names there: `0, 1, 2, a0, a1, a2`.
pub fn official_variants() -> Vec<(&'static str, EnergyConfig)> {
    OFFICIAL_VARIANTS
        .iter()
        .map(|variant| (variant.name, variant.energy()))
        .collect()
}

/// The largest change of any value from `before` to `after`.
pub fn largest_change(after: &[f64], before: &[f64]) -> f64 {
    let changes = after.iter().zip(before).map(|(a, b)| (a - b).abs());
    changes.fold(0.0, f64::max)
}

/// `|a - b| <= rel * max(|a|, |b|, floor)`.
pub fn assert_close(a: f64, b: f64, rel: f64, what: &str) {
    let scale = a.abs().max(b.abs()).max(1e-12);
    assert!(
        (a - b).abs() <= rel * scale,
        "{what}: {a} vs {b} (relative error {:.3e} > {rel:.1e})",
        (a - b).abs() / scale
    );
}

/// Every official power in full and half space, named like `"a1 half=true"`.
pub fn official_variants_both_spaces() -> Vec<(String, EnergyConfig)> {
    official_variants()
        .into_iter()
        .flat_map(|(name, config)| {
            [false, true].map(|half| {
                let name = format!("{name} half={half}");
                (name, config.clone().with_half_space(half))
            })
        })
        .collect()
}

/// A memory budget (MiB) under which one float32 layer is computed in blocks of `rows` rows
/// (`block_rows` returns `rows`).
pub fn budget_for_rows(rows: usize) -> f64 {
    (10 * 4 * rows * rows) as f64 / (1024.0 * 1024.0) + 1e-12
}
