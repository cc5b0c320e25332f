//! The CubeCL kernel path on wgpu (`EnergyPath::Kernel`: two matrix products and one kernel
//! over the `N x N` cosines) gives the energy and gradient of float64 on the CPU, for every
//! official variant in both spaces, for layers wider than a cube's threads, for batches of
//! layers, and at coincident, antipodal and zero neurons; and the regularizer, which batches a
//! model's hidden layers of one size there, gives the CPU's penalty and gradients. wgpu runs on whatever adapter is
//! present (Mesa's software Vulkan driver in CI).

mod support;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, DeviceKind};
use burn_mhe::{EnergyConfig, EnergyPath, MheRegularizerConfig};
use support::*;

fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

/// The energies then the gradients of the layers `[B, N, cols]` of `input`: float32 on wgpu
/// through the kernel, or float64 on the CPU (the tensor path).
fn energies_and_gradients(
    config: &EnergyConfig,
    input: &[f64],
    shape: [usize; 3],
    on_wgpu: bool,
) -> Vec<f64> {
    let [b, n, cols] = shape;
    let layers = if on_wgpu {
        f32_matrix(input, cols, &wgpu())
    } else {
        f64_matrix(input.to_vec(), cols, &Device::flex())
    }
    .reshape([b, n, cols]);
    let energy = config.init();
    if on_wgpu {
        assert_eq!(energy.path(&layers), EnergyPath::Kernel, "{shape:?}");
    }
    let (values_, grads) = energy.batch_value_and_grad(layers);
    let mut out = values(values_);
    out.extend(values(grads));
    out
}

/// Each energy within `rel` of the reference's, each gradient entry within `rel` of the largest
/// gradient entry.
fn assert_matches_float64(config: &EnergyConfig, input: &[f64], shape: [usize; 3], what: &str) {
    let kernel = energies_and_gradients(config, input, shape, true);
    let reference = energies_and_gradients(config, input, shape, false);
    let layers = shape[0];
    for (i, (a, b)) in kernel.iter().zip(&reference).take(layers).enumerate() {
        assert_close(*a, *b, 2e-5, &format!("{what}: energy of layer {i}"));
    }
    let scale = reference[layers..]
        .iter()
        .map(|g| g.abs())
        .fold(0.0, f64::max);
    assert!(scale > 0.0, "{what}: zero gradient");
    for (i, (a, b)) in kernel.iter().zip(&reference).enumerate().skip(layers) {
        assert!(a.is_finite(), "{what}: gradient {i} is {a}");
        assert!(
            (a - b).abs() <= 2e-5 * scale,
            "{what}: gradient {i}: {a} vs {b} (scale {scale})"
        );
    }
}

#[test]
fn the_kernel_matches_float64_for_every_official_variant() {
    let input = pseudo_random(40 * 12, 7);
    for (name, config) in official_variants_both_spaces() {
        assert_matches_float64(&config, &input, [1, 40, 12], &name);
    }
}

/// 300 neurons: each of a row's 128 threads takes two or three columns, and the diagonal falls
/// to a thread other than the first; three layers in one batch.
#[test]
fn wide_layers_and_batches_match_float64() {
    let input = pseudo_random(3 * 300 * 9, 11);
    for (name, config) in official_variants_both_spaces()
        .into_iter()
        .filter(|(name, _)| ["0 half=true", "a2 half=false"].contains(&name.as_str()))
    {
        assert_matches_float64(&config, &input, [3, 300, 9], &name);
    }
}

/// The energy and gradient of the layer `input` (`cols` columns) in float32 on wgpu, through
/// the kernel, or with a budget too small for the whole pair matrix, through the blocked path
/// (burn's own kernels on the same cosines).
fn on_wgpu(config: &EnergyConfig, input: &[f64], cols: usize, blocked: bool) -> (f64, Vec<f64>) {
    let layer = f32_matrix(input, cols, &wgpu());
    let energy = match blocked {
        true => config.clone().with_memory_budget_mib(Some(1e-5)).init(),
        false => config.init(),
    };
    let expected = match blocked {
        true => EnergyPath::Blocked,
        false => EnergyPath::Kernel,
    };
    assert_eq!(energy.path(&layer.clone().unsqueeze()), expected);
    let (value, grad) = energy.value_and_grad(layer);
    (values(value)[0], values(grad))
}

/// Coincident, antipodal and zero neurons beside ordinary ones: energy and gradient finite, and
/// the energy within `1e-5` of the blocked tensor path's on the same device. (Against float64
/// both are off by up to `7e-4` here, as the CPU's float32 is: a coincident pair's cosine
/// rounds differently in every float32 product, and its `d^-s` sits at the floor of `d2`.)
#[test]
fn degenerate_neurons_stay_finite_and_match_the_tensor_path() {
    let mut input = pseudo_random(8 * 5, 3);
    let first: Vec<f64> = input[..5].to_vec();
    input[5..10].copy_from_slice(&first);
    for (k, value) in first.iter().enumerate() {
        input[10 + k] = -value;
    }
    input[15..20].fill(0.0);
    for (name, config) in official_variants_both_spaces() {
        let (kernel, grad) = on_wgpu(&config, &input, 5, false);
        assert!(
            kernel.is_finite() && grad.iter().all(|g| g.is_finite()),
            "{name}: {kernel} {grad:?}"
        );
        let (blocked, _) = on_wgpu(&config, &input, 5, true);
        assert_close(kernel, blocked, 1e-5, &format!("{name}: energy"));
    }
}

/// On an ordinary layer the gradient agrees too, in half space (where the diagonal carries the
/// mirrored pair's coupling).
#[test]
fn the_kernel_matches_the_blocked_tensor_path_on_wgpu() {
    let input = pseudo_random(64 * 7, 5);
    let config = EnergyConfig::new().with_half_space(true);
    let (kernel_value, kernel_grad) = on_wgpu(&config, &input, 7, false);
    let (blocked_value, blocked_grad) = on_wgpu(&config, &input, 7, true);
    assert_close(kernel_value, blocked_value, 1e-5, "energy");
    let scale = blocked_grad.iter().map(|g| g.abs()).fold(0.0, f64::max);
    for (a, b) in kernel_grad.iter().zip(&blocked_grad) {
        assert!((a - b).abs() <= 1e-5 * scale, "gradient: {a} vs {b}");
    }
}

#[derive(Module, Debug)]
struct Net {
    hidden: Vec<Linear>,
    classifier: Linear,
}

/// The regularizer's penalty and the weights' gradients of `net` on `device`.
fn penalty_and_gradients(net: &Net, device: &Device) -> Vec<f64> {
    let net = net.clone().fork(&device.clone().autodiff());
    let mhe = MheRegularizerConfig::official(EnergyConfig::new().with_half_space(true)).init(&net);
    let penalty = mhe.penalty(&net);
    let grads = penalty.backward();
    let mut out = values(penalty);
    for linear in net.hidden.iter().chain([&net.classifier]) {
        out.extend(values(linear.weight.grad(&grads).unwrap()));
    }
    out
}

/// On wgpu the hidden layers of one size are computed as one batch, zero-padded to the widest
/// (three layers of 8 neurons with 5, 8 and 12 inputs; one of 4): the penalty and every
/// weight's gradient are the CPU's, where each layer is computed alone.
#[test]
fn batched_hidden_layers_give_the_penalty_and_gradients_of_layers_alone() {
    let flex = Device::flex().autodiff();
    let net = Net {
        hidden: [(5, 8), (8, 8), (12, 8), (8, 4)]
            .map(|(inputs, outputs)| LinearConfig::new(inputs, outputs).init(&flex))
            .into(),
        classifier: LinearConfig::new(4, 3).init(&flex),
    };
    let reference = penalty_and_gradients(&net, &flex);
    let batched = penalty_and_gradients(&net, &wgpu());
    assert_close(batched[0], reference[0], 2e-5, "penalty");
    let scale = reference[1..].iter().map(|g| g.abs()).fold(0.0, f64::max);
    for (i, (a, b)) in batched.iter().zip(&reference).enumerate().skip(1) {
        assert!((a - b).abs() <= 2e-5 * scale, "gradient {i}: {a} vs {b}");
    }
}
