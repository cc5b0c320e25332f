//! The `flex` buffer path (`EnergyPath::Buffers`: two gemm products on the raw rows, one pass
//! over the `N x N` matrix) against the tensor path in float64, and its fallbacks.

mod support;

use burn::tensor::{Device, Tensor};
use burn_mhe::{EnergyConfig, EnergyPath, HypersphericalEnergy};
use support::*;

/// The energy followed by the gradient, and the path taken, of `rows x cols` neurons.
fn energy_and_gradient(
    energy: &HypersphericalEnergy,
    input: &[f64],
    cols: usize,
    float64: bool,
) -> (Vec<f64>, EnergyPath) {
    let device = Device::flex();
    let neurons = if float64 {
        f64_matrix(input.to_vec(), cols, &device)
    } else {
        f32_matrix(input, cols, &device)
    };
    let path = energy.path(&neurons.clone().unsqueeze());
    let (value, grad) = energy.value_and_grad(neurons);
    let mut out = values(value);
    out.extend(values(grad));
    (out, path)
}

/// The energy within `rel`, and every gradient entry within `rel` of the largest one.
fn assert_matches(got: &[f64], reference: &[f64], rel: f64, what: &str) {
    assert_close(got[0], reference[0], rel, &format!("{what} energy"));
    let scale = reference
        .iter()
        .skip(1)
        .map(|g| g.abs())
        .fold(0.0, f64::max);
    assert!(scale > 0.0, "{what}: zero gradient");
    for (i, (a, b)) in got.iter().zip(reference).enumerate().skip(1) {
        assert!(
            (a - b).abs() <= rel * scale,
            "{what} gradient {i}: {a} vs {b}"
        );
    }
}

/// Float32 through the buffers against float64 through tensor operations.
fn assert_buffers_match_float64(config: &EnergyConfig, input: &[f64], cols: usize, what: &str) {
    let energy = config.init();
    let (buffers, path) = energy_and_gradient(&energy, input, cols, false);
    assert_eq!(path, EnergyPath::Buffers, "{what}");
    let (reference, path) = energy_and_gradient(&energy, input, cols, true);
    assert_eq!(path, EnergyPath::Dense, "{what}");
    assert_matches(&buffers, &reference, 1e-5, what);
}

#[test]
fn every_variant_matches_float64_tensor_operations() {
    let input = pseudo_random(40 * 12, 31);
    for (name, config) in official_variants_both_spaces() {
        assert_buffers_match_float64(&config, &input, 12, &name);
    }
    let paper_log = EnergyConfig::new()
        .with_s(0.0)
        .with_convention(burn_mhe::Convention::Paper);
    assert_buffers_match_float64(&paper_log, &input, 12, "paper log");
    let summed = EnergyConfig::new().with_reduction(burn_mhe::PairReduction::SumOverPairs);
    assert_buffers_match_float64(&summed, &input, 12, "sum over pairs");
}

#[test]
fn uneven_panels_on_both_threads_match_float64() {
    // 300 x 200: enough work (N^2 d above 2^24) for the threads; Gram panels of 64 columns, the
    // last of 44; rows of different norms.
    let input: Vec<f64> = pseudo_random(300 * 200, 37)
        .iter()
        .enumerate()
        .map(|(i, x)| x * (1.0 + (i / 200 % 7) as f64))
        .collect();
    for half_space in [false, true] {
        let config = EnergyConfig::new().with_s(1.0).with_half_space(half_space);
        let what = format!("300 x 200 half={half_space}");
        assert_buffers_match_float64(&config, &input, 200, &what);
    }
}

#[test]
fn norms_out_of_range_take_the_tensor_path_and_stay_finite() {
    let mut input = pseudo_random(20 * 6, 41);
    // Squared norms near 1e36: past 2^100, where products of raw float32 rows lose range.
    input[..6].iter_mut().for_each(|x| *x *= 1e18);
    let energy = EnergyConfig::new().init();
    let (huge, _) = energy_and_gradient(&energy, &input, 6, false);
    let (reference, _) = energy_and_gradient(&energy, &input, 6, true);
    assert!(huge.iter().all(|x| x.is_finite()), "{huge:?}");
    assert_close(huge[0], reference[0], 1e-5, "huge row energy");
    // A zero row with eps = 0 has no finite 1 / r.
    let mut input = pseudo_random(20 * 6, 43);
    input[6..12].iter_mut().for_each(|x| *x = 0.0);
    let energy = EnergyConfig::new().with_eps(0.0).init();
    let (zero, _) = energy_and_gradient(&energy, &input, 6, false);
    let (reference, _) = energy_and_gradient(&energy, &input, 6, true);
    assert!(zero.iter().all(|x| x.is_finite()), "{zero:?}");
    assert_matches(&zero, &reference, 5e-5, "zero row, eps = 0");
}

#[test]
fn a_batch_matches_its_layers_one_by_one() {
    let device = Device::flex();
    let energy = EnergyConfig::new().with_half_space(true).init();
    let input = pseudo_random(3 * 17 * 9, 47);
    let batch = f32_matrix(&input, 9, &device).reshape([3, 17, 9]);
    assert_eq!(energy.path(&batch), EnergyPath::Buffers);
    let (energies, grads) = energy.batch_value_and_grad(batch);
    let (energies, grads) = (values(energies), values(grads));
    for layer in 0..3 {
        let rows = &input[layer * 17 * 9..(layer + 1) * 17 * 9];
        let (alone, _) = energy_and_gradient(&energy, rows, 9, false);
        assert_close(energies[layer], alone[0], 1e-6, "batched energy");
        let grad = &grads[layer * 17 * 9..(layer + 1) * 17 * 9];
        assert_matches(
            &[alone[0]].iter().chain(grad).copied().collect::<Vec<_>>(),
            &alone,
            1e-6,
            "batched gradient",
        );
    }
}

#[test]
fn the_path_follows_device_precision_and_budget() {
    let device = Device::flex();
    let neurons = Tensor::<3>::zeros([1, 1024, 8], &device);
    let energy = |mib: f64| EnergyConfig::new().with_memory_budget_mib(Some(mib)).init();
    // One 1024 x 1024 float32 matrix is 4 MiB.
    assert_eq!(energy(4.0).path(&neurons), EnergyPath::Buffers);
    assert_eq!(energy(3.9).path(&neurons), EnergyPath::Blocked);
    let float64 = neurons.clone().cast(burn::tensor::DType::F64);
    assert_eq!(energy(40.0).path(&float64), EnergyPath::Dense);
    #[cfg(feature = "ndarray")]
    {
        #[allow(deprecated)] // burn 0.22 deprecates ndarray; the feature still builds it.
        let on_ndarray = neurons.to_device(&Device::ndarray());
        assert_eq!(energy(40.0).path(&on_ndarray), EnergyPath::Dense);
    }
}
