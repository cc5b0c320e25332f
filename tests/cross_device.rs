//! The same weights give the same energy and gradient on every compiled-in backend.
//! wgpu runs on whatever adapter is present (Mesa's software Vulkan driver in CI); it compiles
//! shaders on first use, so it is checked in one test with a few variants.

mod support;

use burn::tensor::Device;
use burn_mhe::{EnergyConfig, LayerObjective, Objective};
use support::*;

/// The loss and its autodiff gradients (neurons, then the pole of MHP and MHC) in float32 on
/// `device`.
fn loss_and_gradients(
    objective: &LayerObjective,
    input: &[f64],
    cols: usize,
    device: Device,
) -> Vec<f64> {
    let device = device.autodiff();
    let neurons = f32_matrix(input, cols, &device).require_grad();
    let pole = f32_matrix(&pseudo_random(cols, 5), cols, &device)
        .reshape([cols])
        .require_grad();
    let with_pole = objective.objective().has_pole();
    let loss = objective
        .forward(neurons.clone(), with_pole.then(|| pole.clone()))
        .unwrap();
    let grads = loss.backward();
    let mut out = values(loss);
    out.extend(values(neurons.grad(&grads).unwrap()));
    if with_pole {
        out.extend(values(pole.grad(&grads).unwrap()));
    }
    out
}

/// Every official power in both spaces (as MHE objectives), then the family's objectives.
fn every_objective() -> Vec<(String, LayerObjective)> {
    let energies = official_variants_both_spaces()
        .into_iter()
        .map(|(name, config)| (name, Objective::Mhe.init(&config)));
    let family = Objective::others().map(|objective| {
        let layer = objective.init(&EnergyConfig::new());
        (objective.label().to_string(), layer)
    });
    energies.chain(family).collect()
}

fn assert_devices_agree(cases: &[(String, LayerObjective)], other: fn() -> Device, name: &str) {
    let input = pseudo_random(24 * 10, 17);
    for (variant, objective) in cases {
        let reference = loss_and_gradients(objective, &input, 10, Device::flex());
        let candidate = loss_and_gradients(objective, &input, 10, other());
        let scale = reference
            .iter()
            .skip(1)
            .map(|g| g.abs())
            .fold(0.0, f64::max);
        assert_close(
            candidate[0],
            reference[0],
            1e-5,
            &format!("{name} {variant} energy"),
        );
        for (i, (a, b)) in candidate.iter().zip(&reference).enumerate().skip(1) {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{name} {variant} gradient entry {i}: {a} vs {b} (scale {scale})"
            );
        }
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_agrees_with_flex() {
    #[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; we still support it.
    assert_devices_agree(&every_objective(), Device::ndarray, "ndarray");
}

/// burn's LibTorch backend, in builds made with `RUSTFLAGS="--cfg burn_mhe_libtorch"` (see
/// docs/benchmarks.md): every objective, with burn's autodiff over LibTorch's kernels.
#[cfg(burn_mhe_libtorch)]
#[test]
fn libtorch_agrees_with_flex() {
    #[allow(deprecated)] // burn 0.22 deprecates burn-tch; builds with the cfg still get it.
    assert_devices_agree(&every_objective(), Device::libtorch, "libtorch");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_agrees_with_flex() {
    let few: Vec<_> = every_objective()
        .into_iter()
        .filter(|(name, _)| {
            let names = [
                "0 half=false",
                "2 half=true",
                "a1 half=false",
                "mma",
                "mgd",
                "mhc",
            ];
            names.contains(&name.as_str())
        })
        .collect();
    assert_eq!(few.len(), 6);
    assert_devices_agree(
        &few,
        || Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        "wgpu",
    );
}
