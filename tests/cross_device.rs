//! The same weights give the same energy and gradient on every compiled-in backend.
//! wgpu runs on whatever adapter is present (Mesa's software Vulkan driver in CI); it compiles
//! shaders on first use, so it is checked in one test with a few variants.

mod support;

use burn::tensor::Device;
use burn_mhe::EnergyConfig;
use support::*;

/// Energy and autodiff gradient in float32 on `device`.
fn energy_and_gradient(
    config: &EnergyConfig,
    input: &[f64],
    cols: usize,
    device: Device,
) -> Vec<f64> {
    let neurons = f32_matrix(input, cols, &device.autodiff()).require_grad();
    let energy = config.init().unwrap().forward(neurons.clone());
    let grads = energy.backward();
    let mut out = values(energy);
    out.extend(values(neurons.grad(&grads).unwrap()));
    out
}

fn assert_devices_agree(configs: &[(String, EnergyConfig)], other: fn() -> Device, name: &str) {
    let input = pseudo_random(24 * 10, 17);
    for (variant, config) in configs {
        let reference = energy_and_gradient(config, &input, 10, Device::flex());
        let candidate = energy_and_gradient(config, &input, 10, other());
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
    assert_devices_agree(&official_variants_both_spaces(), Device::ndarray, "ndarray");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_agrees_with_flex() {
    let few: Vec<_> = official_variants_both_spaces()
        .into_iter()
        .filter(|(name, _)| {
            ["0 half=false", "2 half=true", "a1 half=false"].contains(&name.as_str())
        })
        .collect();
    assert_eq!(few.len(), 3);
    assert_devices_agree(
        &few,
        || Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        "wgpu",
    );
}
