//! Degenerate layers: every variant stays finite, in float32 and float64, for zero neurons,
//! exact duplicates, antipodal pairs, one neuron, one dimension, and extreme norms.

mod support;

use burn::tensor::Device;
use burn_mhe::{Distance, EnergyConfig};
use support::*;

/// Energy and gradient through autodiff, in float32 or float64.
fn energy_and_gradient(
    config: &EnergyConfig,
    input: &[f64],
    cols: usize,
    float64: bool,
) -> (f64, Vec<f64>) {
    let device = Device::flex().autodiff();
    let neurons = if float64 {
        f64_matrix(input.to_vec(), cols, &device)
    } else {
        f32_matrix(input, cols, &device)
    }
    .require_grad();
    let energy = config.init().forward(neurons.clone());
    let grads = energy.backward();
    (values(energy)[0], values(neurons.grad(&grads).unwrap()))
}

fn assert_finite_everywhere(case: &str, input: &[f64], cols: usize) -> Vec<(String, f64)> {
    let mut energies = Vec::new();
    for (name, config) in official_variants_both_spaces() {
        for float64 in [false, true] {
            let (energy, grad) = energy_and_gradient(&config, input, cols, float64);
            let what = format!("{case}: {name} f64={float64}");
            assert!(energy.is_finite(), "{what}: energy {energy}");
            assert!(
                grad.iter().all(|g| g.is_finite()),
                "{what}: gradient {grad:?}"
            );
            energies.push((what, energy));
        }
    }
    energies
}

#[test]
fn zero_neurons_are_finite_and_sit_at_ninety_degrees() {
    let input = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    assert_finite_everywhere("zero neurons", &input, 3);
    // A zero neuron has cosine 0 with the others: with s = 2 the pair energy is 1/2.
    let config = EnergyConfig::new().with_s(2.0);
    let (energy, _) = energy_and_gradient(&config, &[0.0, 0.0, 1.0, 0.0], 2, true);
    assert_close(energy, 0.5, 1e-12, "zero and unit neuron, s=2");
}

#[test]
fn exact_duplicates_are_finite_with_the_eps_distance() {
    let input = [0.3, -0.4, 0.5, 0.3, -0.4, 0.5, 1.0, 0.0, 0.0];
    assert_finite_everywhere("duplicates", &input, 3);
    // d^2 = 2 eps / (||w||^2 + eps) for a duplicated pair.
    let config = EnergyConfig::new().with_s(2.0);
    let (energy, _) = energy_and_gradient(&config, &[0.6, 0.8, 0.6, 0.8], 2, true);
    assert_close(energy, (1.0 + 1e-4) / 2e-4, 1e-9, "duplicate pair, s=2");
}

#[test]
fn antipodal_pairs_are_finite() {
    let input = [1.0, 2.0, -2.0, -1.0, -2.0, 2.0];
    assert_finite_everywhere("antipodal", &input, 3);
}

#[test]
fn one_neuron_has_zero_energy_in_full_space() {
    let energies = assert_finite_everywhere("N = 1", &[0.5, -0.2, 0.1], 3);
    for (what, energy) in energies {
        if what.contains("half=false") {
            assert_eq!(energy, 0.0, "{what}");
        }
    }
}

#[test]
fn one_dimension_is_finite() {
    assert_finite_everywhere("d = 1", &[1.0, -2.0, 3.0], 1);
}

#[test]
fn tiny_and_huge_norms_are_finite() {
    let tiny: Vec<f64> = pseudo_random(12, 3).into_iter().map(|x| x * 1e-8).collect();
    assert_finite_everywhere("norms 1e-8", &tiny, 4);
    let huge: Vec<f64> = pseudo_random(12, 4).into_iter().map(|x| x * 1e8).collect();
    assert_finite_everywhere("norms 1e8", &huge, 4);
    let near_duplicates = [1e8, 1.0, 0.0, 1e8, 1.0 + 1e-3, 0.0];
    assert_finite_everywhere("huge near-duplicates", &near_duplicates, 3);
}

#[test]
fn float32_negation_of_a_large_neuron_stays_finite_in_angular_half_space() {
    // Norm ~100: eps / ||w||^2 is below float32 resolution, so the cosine with the negated
    // copy rounds to -1 or past it.
    let input = [60.0, 80.0, 0.0, 0.0, 100.0, 0.0];
    let config = EnergyConfig::new()
        .with_distance(Distance::Angular)
        .with_s(0.0)
        .with_half_space(true);
    let (energy, grad) = energy_and_gradient(&config, &input, 3, false);
    assert!(energy.is_finite() && grad.iter().all(|g| g.is_finite()));
}
