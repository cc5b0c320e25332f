//! The memory-bounded path: layers whose pair matrices exceed the memory budget are processed
//! in blocks of rows, with the same energy and gradient as the one-block (dense) path.

mod support;

use burn::tensor::{Device, Tensor};
use burn_mhe::{BudgetSource, EnergyConfig};
use support::*;

fn energy_and_gradient(
    config: &EnergyConfig,
    input: &[f64],
    cols: usize,
    float64: bool,
) -> Vec<f64> {
    let device = Device::flex();
    let neurons = if float64 {
        f64_matrix(input.to_vec(), cols, &device)
    } else {
        f32_matrix(input, cols, &device)
    };
    let (value, grad) = config.init().value_and_grad(neurons);
    let mut out = values(value);
    out.extend(values(grad));
    out
}

fn assert_same(blocked: &[f64], dense: &[f64], rel: f64, what: &str) {
    assert_close(blocked[0], dense[0], rel, &format!("{what} energy"));
    let scale = dense.iter().skip(1).map(|g| g.abs()).fold(0.0, f64::max);
    for (i, (a, b)) in blocked.iter().zip(dense).enumerate().skip(1) {
        assert!(
            (a - b).abs() <= rel * scale,
            "{what} gradient {i}: {a} vs {b}"
        );
    }
}

/// `block_rows` of a float32 layer of `n` neurons on `device`, `batch` layers at once.
fn rows(energy: &burn_mhe::HypersphericalEnergy, batch: usize, n: usize, device: &Device) -> usize {
    energy.block_rows(&Tensor::<3>::zeros([batch, n, 1], device))
}

#[test]
fn block_rows_follow_the_budget() {
    let flex = Device::flex();
    let energy = EnergyConfig::new()
        .with_memory_budget_mib(Some(budget_for_rows(64)))
        .init();
    assert_eq!(rows(&energy, 1, 1000, &flex), 64);
    assert_eq!(rows(&energy, 1, 40, &flex), 40);
    assert_eq!(rows(&energy, 4, 1000, &flex), 32);
    let default = EnergyConfig::new().init();
    // 256 MiB on the CPU: blocks of 2590 rows, so a 65536-neuron layer takes 26 row blocks.
    assert_eq!(default.budget(&flex).source, BudgetSource::Default);
    assert_eq!(rows(&default, 1, 65536, &flex), 2590);
    for bad in [0.0, -1.0, f64::NAN] {
        let config = EnergyConfig::new().with_memory_budget_mib(Some(bad));
        assert!(config.try_init().is_err(), "{bad}");
    }
}

/// On a GPU runtime the budget follows the device, and no intermediate exceeds half of its
/// largest buffer even under a larger configured budget (Mesa's lavapipe in CI: 128 MiB).
#[cfg(feature = "wgpu")]
#[test]
fn blocks_fit_the_largest_buffer_of_a_gpu_device() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    let memory = burn_mhe::DeviceMemory::of(&device);
    let largest = memory
        .largest_buffer
        .expect("wgpu reports its largest buffer") as f64;
    let energy = EnergyConfig::new().init();
    let budget = energy.budget(&device);
    match memory.total {
        Some(total) => assert_eq!(
            budget.bytes,
            total as f64 * burn_mhe::MemoryBudget::DEVICE_MEMORY_SHARE
        ),
        None => assert_eq!(budget.bytes, largest.max(256.0 * 1024.0 * 1024.0)),
    }
    let generous = EnergyConfig::new().with_memory_budget_mib(Some(1e6)).init();
    // A float32 `[rows, rows]` intermediate within half of the largest buffer.
    let by_buffer = (largest / 2.0 / 4.0).sqrt() as usize;
    for n in [4096, 16384, 65536] {
        let block = rows(&energy, 1, n, &device);
        assert!(block <= by_buffer.min(n), "{n}: {block} rows");
        assert_eq!(rows(&generous, 1, n, &device), by_buffer.min(n), "{n}");
    }
}

#[test]
fn uneven_blocks_match_the_dense_path_for_every_variant() {
    let input = pseudo_random(7 * 5, 23);
    for (name, config) in official_variants_both_spaces() {
        let dense = energy_and_gradient(&config, &input, 5, true);
        // Blocks of 2 rows: 2 + 2 + 2 + 1.
        let blocked_config = config
            .clone()
            .with_memory_budget_mib(Some(budget_for_rows(2)));
        let blocked = energy_and_gradient(&blocked_config, &input, 5, true);
        assert_same(&blocked, &dense, 1e-12, &name);
    }
}

#[test]
fn a_wide_float32_layer_matches_in_blocks_of_64() {
    let input = pseudo_random(300 * 16, 29);
    let config = EnergyConfig::new().with_s(1.0).with_half_space(true);
    let dense = energy_and_gradient(&config, &input, 16, false);
    let blocked = energy_and_gradient(
        &config.with_memory_budget_mib(Some(budget_for_rows(64))),
        &input,
        16,
        false,
    );
    assert_same(&blocked, &dense, 1e-5, "300 x 16, s = 1, half-space");
}
