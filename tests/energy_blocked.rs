//! The memory-bounded path: layers whose pair matrices exceed the memory budget are processed
//! in blocks of rows, with the same energy and gradient as the one-block (dense) path.

mod support;

use burn::tensor::Device;
use burn_mhe::EnergyConfig;
use support::*;

/// A budget that makes `block_rows` return `rows` for one layer.
fn budget_for_rows(rows: usize) -> f64 {
    (10 * 4 * rows * rows) as f64 / (1024.0 * 1024.0) + 1e-12
}

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
    let (value, grad) = config.init().unwrap().value_and_grad(neurons);
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

#[test]
fn block_rows_follow_the_budget() {
    let energy = EnergyConfig::new()
        .with_memory_budget_mib(budget_for_rows(64))
        .init()
        .unwrap();
    assert_eq!(energy.block_rows(1, 1000), 64);
    assert_eq!(energy.block_rows(1, 40), 40);
    assert_eq!(energy.block_rows(4, 1000), 32);
    let default = EnergyConfig::new().init().unwrap();
    // 256 MiB: blocks of 2590 rows, so a 65536-neuron layer takes 26 row blocks.
    assert_eq!(default.block_rows(1, 65536), 2590);
    assert!(
        EnergyConfig::new()
            .with_memory_budget_mib(0.0)
            .init()
            .is_err()
    );
}

#[test]
fn uneven_blocks_match_the_dense_path_for_every_variant() {
    let input = pseudo_random(7 * 5, 23);
    for (name, config) in official_variants_both_spaces() {
        let dense = energy_and_gradient(&config, &input, 5, true);
        // Blocks of 2 rows: 2 + 2 + 2 + 1.
        let blocked_config = config.clone().with_memory_budget_mib(budget_for_rows(2));
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
        &config.with_memory_budget_mib(budget_for_rows(64)),
        &input,
        16,
        false,
    );
    assert_same(&blocked, &dense, 1e-5, "300 x 16, s = 1, half-space");
}
