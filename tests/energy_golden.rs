//! The energy against the reference's golden values (official formula, float64) and the
//! closed-form optima: regular simplex and orthonormal half-space configurations.

mod support;

use burn::tensor::Device;
use burn_mhe::{Convention, EnergyConfig, PairReduction};
use support::*;

/// Golden energies `(power, mhe, half_mhe)`: the table "Golden values (official formula,
/// float64)" of `shared/mhe-reference.md`, the released TensorFlow code's energy of
/// `W[k, n] = sin(0.37 (4k + n) + 0.1)` (18 x 4, column `n` is neuron `n`), mean over pairs,
/// eps = 1e-4, computed in float64 by the reference's authors. To regenerate: evaluate the
/// formulas of that file's section 1 on this input in float64 (numpy is enough).
const GOLDEN: [(&str, f64, f64); 6] = [
    ("0", 1.1797757043, -0.2348418497),
    ("1", 1.9602908102, 1.1394912824),
    ("2", 4.4046989524, 2.0450342719),
    ("a0", 1.7144734293, 0.8324114633),
    ("a1", 6.0710726599, 3.2866293128),
    ("a2", 42.5650428108, 19.0800126404),
];

fn golden_energy(config: &EnergyConfig, device: &Device, float64: bool) -> f64 {
    let neurons = if float64 {
        f64_matrix(golden_neurons(), 18, device)
    } else {
        f32_matrix(&golden_neurons(), 18, device)
    };
    values(config.init().forward(neurons))[0]
}

#[test]
fn matches_all_twelve_golden_values_in_float64_and_float32() {
    let device = Device::flex();
    for ((name, config), (golden_name, full, half)) in official_variants().into_iter().zip(GOLDEN) {
        assert_eq!(name, golden_name);
        for (half_space, expected) in [(false, full), (true, half)] {
            let config = config.clone().with_half_space(half_space);
            let what = format!("power {name}, half_space {half_space}");
            // The golden values carry 10 decimals: compare to what they can resolve.
            assert_close(golden_energy(&config, &device, true), expected, 1e-9, &what);
            assert_close(
                golden_energy(&config, &device, false),
                expected,
                1e-5,
                &what,
            );
        }
    }
}

#[test]
fn golden_values_hold_on_an_autodiff_device() {
    let device = Device::flex().autodiff();
    let (_, config) = &official_variants()[3];
    let neurons = f64_matrix(golden_neurons(), 18, &device).require_grad();
    let energy = config.init().forward(neurons);
    assert_close(values(energy)[0], 1.7144734293, 1e-9, "a0 on autodiff");
}

#[test]
fn paper_convention_halves_the_log_energy_only() {
    let device = Device::flex();
    for (name, config) in official_variants() {
        let official = golden_energy(&config, &device, true);
        let paper = golden_energy(
            &config.clone().with_convention(Convention::Paper),
            &device,
            true,
        );
        let factor = if name == "0" { 0.5 } else { 1.0 };
        assert_close(paper, factor * official, 1e-12, name);
    }
}

/// `N` unit vectors in `R^N` with pairwise cosine `-1/(N-1)`: the regular simplex.
fn simplex(n: usize) -> Vec<f64> {
    let scale = (n as f64 / (n as f64 - 1.0)).sqrt();
    (0..n)
        .flat_map(|i| (0..n).map(move |k| (f64::from(u8::from(i == k)) - 1.0 / n as f64) * scale))
        .collect()
}

fn sum_energy(s: f64) -> EnergyConfig {
    EnergyConfig::new()
        .with_s(s)
        .with_eps(0.0)
        .with_convention(Convention::Paper)
        .with_reduction(PairReduction::SumOverPairs)
}

#[test]
fn regular_simplex_reaches_the_closed_form_and_is_stationary() {
    let device = Device::flex();
    for (s, expected) in [(0.0, -17.966423165), (1.0, 30.186917696), (2.0, 20.25)] {
        let energy = sum_energy(s).init();
        let (value, grad) = energy.value_and_grad(f64_matrix(simplex(10), 10, &device));
        assert_close(values(value)[0], expected, 1e-9, &format!("simplex s={s}"));
        let largest = values(grad).into_iter().map(f64::abs).fold(0.0, f64::max);
        assert!(
            largest < 1e-12,
            "simplex s={s} is not stationary: {largest}"
        );
    }
}

#[test]
fn orthonormal_neurons_reach_the_half_space_closed_form() {
    let device = Device::flex();
    let identity: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i % 11 == 0))).collect();
    for (s, expected) in [(0.0, -69.314718056), (2.0, 92.5)] {
        let energy = sum_energy(s).with_half_space(true).init();
        let (value, grad) = energy.value_and_grad(f64_matrix(identity.clone(), 10, &device));
        assert_close(
            values(value)[0],
            expected,
            1e-9,
            &format!("orthonormal s={s}"),
        );
        let largest = values(grad).into_iter().map(f64::abs).fold(0.0, f64::max);
        assert!(
            largest < 1e-12,
            "orthonormal s={s} is not stationary: {largest}"
        );
    }
}
