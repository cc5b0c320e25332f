//! The injected closed-form gradient against float64 central finite differences, through
//! burn's autodiff as a user would call it.

mod support;

use burn::tensor::Device;
use burn_mhe::{Convention, EnergyConfig, PairReduction};
use support::*;

/// Central differences of the energy's value with respect to every input entry.
fn finite_differences(config: &EnergyConfig, input: &[f64], cols: usize, step: f64) -> Vec<f64> {
    let device = Device::flex();
    let energy = config.init();
    let at = |x: Vec<f64>| values(energy.forward(f64_matrix(x, cols, &device)))[0];
    (0..input.len())
        .map(|i| {
            let mut plus = input.to_vec();
            let mut minus = input.to_vec();
            plus[i] += step;
            minus[i] -= step;
            (at(plus) - at(minus)) / (2.0 * step)
        })
        .collect()
}

/// The gradient `backward()` gives on an autodiff device.
fn autodiff_gradient(config: &EnergyConfig, input: &[f64], cols: usize) -> Vec<f64> {
    let device = Device::flex().autodiff();
    let neurons = f64_matrix(input.to_vec(), cols, &device).require_grad();
    // Scale the energy so that the test also sees the chain rule through later operations.
    let loss = config.init().forward(neurons.clone()).mul_scalar(3.0);
    let grads = loss.backward();
    values(neurons.grad(&grads).unwrap())
        .into_iter()
        .map(|g| g / 3.0)
        .collect()
}

fn assert_gradient_matches(config: &EnergyConfig, input: &[f64], cols: usize, what: &str) {
    let numeric = finite_differences(config, input, cols, 1e-6);
    let analytic = autodiff_gradient(config, input, cols);
    let scale = numeric.iter().map(|g| g.abs()).fold(0.0, f64::max);
    for (i, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        assert!(
            (a - n).abs() <= 1e-6 * scale,
            "{what}, entry {i}: analytic {a} vs numeric {n} (scale {scale})"
        );
    }
}

#[test]
fn every_official_variant_matches_finite_differences() {
    let input = pseudo_random(5 * 7, 11);
    for (name, config) in official_variants() {
        for half_space in [false, true] {
            let config = config.clone().with_half_space(half_space);
            assert_gradient_matches(&config, &input, 7, &format!("{name} half={half_space}"));
        }
    }
}

#[test]
fn other_powers_conventions_and_reductions_match_finite_differences() {
    let input = pseudo_random(6 * 4, 5);
    let configs = [
        EnergyConfig::new().with_s(0.5),
        EnergyConfig::new().with_s(3.7).with_half_space(true),
        EnergyConfig::new()
            .with_s(0.0)
            .with_convention(Convention::Paper),
        EnergyConfig::new()
            .with_distance(burn_mhe::Distance::Angular)
            .with_s(1.5)
            .with_reduction(PairReduction::SumOverPairs),
        EnergyConfig::new().with_eps(0.0).with_s(1.0),
    ];
    for config in configs {
        assert_gradient_matches(&config, &input, 4, &format!("{config:?}"));
    }
}

#[test]
fn golden_input_gradient_matches_finite_differences() {
    let input = golden_neurons();
    for (name, config) in official_variants() {
        assert_gradient_matches(&config, &input, 18, name);
    }
}
