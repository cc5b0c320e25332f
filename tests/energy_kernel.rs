//! The CubeCL kernel path on wgpu (`EnergyPath::Kernel`: two matrix products and one kernel
//! over the `N x N` cosines) gives the energy and gradient of float64 on the CPU, for every
//! official variant in both spaces, for layers wider than a cube's threads, for batches of
//! layers, and at coincident, antipodal and zero neurons; and the regularizer, which batches a
//! model's hidden layers of one size there, gives the CPU's penalty and gradients. wgpu runs on whatever adapter is
//! present (Mesa's software Vulkan driver in CI).

mod support;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, DeviceKind, Tensor};
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
    energies_then_gradients(energy.batch_value_and_grad(layers))
}

/// The layers `[B, N, cols]` of `input` through the kernel on wgpu against float64 on the CPU.
fn assert_matches_float64(config: &EnergyConfig, input: &[f64], shape: [usize; 3], what: &str) {
    let kernel = energies_and_gradients(config, input, shape, true);
    let reference = energies_and_gradients(config, input, shape, false);
    assert_same(&kernel, &reference, shape[0], 2e-5, what);
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

/// The energy and gradient of the layer `input` (`cols` columns) in float32 on wgpu: the whole
/// layer in one kernel pass, or in blocks of `block_rows` rows (a kernel pass per block, the
/// radial term taken through the normalization afterwards).
fn on_wgpu(
    config: &EnergyConfig,
    input: &[f64],
    cols: usize,
    block_rows: Option<usize>,
) -> Vec<f64> {
    let layer = f32_matrix(input, cols, &wgpu());
    let energy = match block_rows {
        Some(rows) => config
            .clone()
            .with_memory_budget_mib(Some(budget_for_rows(rows)))
            .init(),
        None => config.init(),
    };
    let batch = layer.clone().unsqueeze();
    match block_rows {
        Some(rows) => {
            assert_eq!(energy.path(&batch), EnergyPath::Blocked);
            assert_eq!(energy.block_rows(&batch), rows);
        }
        None => assert_eq!(energy.path(&batch), EnergyPath::Kernel),
    }
    energies_then_gradients(energy.value_and_grad(layer))
}

/// The float64 energy and gradient of the layer `input` on the CPU.
fn float64(config: &EnergyConfig, input: &[f64], cols: usize) -> Vec<f64> {
    let layer = f64_matrix(input.to_vec(), cols, &Device::flex());
    energies_then_gradients(config.init().value_and_grad(layer))
}

fn energies_then_gradients<const D: usize>((energies, grads): (Tensor<1>, Tensor<D>)) -> Vec<f64> {
    let mut out = values(energies);
    out.extend(values(grads));
    out
}

/// The first `energies` entries (energies) within `rel` of the reference's; the rest
/// (gradients) finite and within `rel` of the reference's largest.
fn assert_same(got: &[f64], want: &[f64], energies: usize, rel: f64, what: &str) {
    for (i, (a, b)) in got.iter().zip(want).take(energies).enumerate() {
        assert_close(*a, *b, rel, &format!("{what}: energy {i}"));
    }
    let scale = want[energies..].iter().map(|g| g.abs()).fold(0.0, f64::max);
    assert!(scale > 0.0, "{what}: zero gradient");
    for (i, (a, b)) in got.iter().zip(want).enumerate().skip(energies) {
        assert!(
            (a - b).abs() <= rel * scale,
            "{what}: gradient {i}: {a} vs {b} (scale {scale})"
        );
    }
}

/// In blocks (70 rows in blocks of 16: diagonal blocks, off-diagonal ones, and a last block
/// of 6 rows), every official variant in both spaces gives float64's energy and gradient.
#[test]
fn blocks_of_kernel_passes_match_float64_for_every_official_variant() {
    let input = pseudo_random(70 * 6, 13);
    for (name, config) in official_variants_both_spaces() {
        let blocked = on_wgpu(&config, &input, 6, Some(16));
        assert_same(&blocked, &float64(&config, &input, 6), 1, 2e-5, &name);
    }
}

/// Coincident, antipodal and zero neurons beside ordinary ones: energy and gradient finite,
/// the whole-layer pass and the blocked passes (rows of 3) within `1e-5` of each other, and
/// float64's energy within `1e-3`: float32 is off by up to `7e-4` here on every device, the
/// CPU's included (a coincident pair's cosine rounds differently in every float32 product, and
/// its `d^-s` sits at the floor of `d2`).
#[test]
fn degenerate_neurons_stay_finite_and_agree() {
    let mut input = pseudo_random(8 * 5, 3);
    let first: Vec<f64> = input[..5].to_vec();
    input[5..10].copy_from_slice(&first);
    for (k, value) in first.iter().enumerate() {
        input[10 + k] = -value;
    }
    input[15..20].fill(0.0);
    for (name, config) in official_variants_both_spaces() {
        let whole = on_wgpu(&config, &input, 5, None);
        let blocked = on_wgpu(&config, &input, 5, Some(3));
        for result in [&whole, &blocked] {
            assert!(result.iter().all(|v| v.is_finite()), "{name}: {result:?}");
        }
        assert_close(
            whole[0],
            blocked[0],
            1e-5,
            &format!("{name}: whole and blocked"),
        );
        let reference = float64(&config, &input, 5);
        assert_close(whole[0], reference[0], 1e-3, &format!("{name}: float64"));
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
    // Fixed weights `[inputs, outputs]` (burn's initializers draw new ones every run).
    let linear = |inputs: usize, outputs: usize, seed: u64| Linear {
        weight: Param::from_tensor(f32_matrix(
            &pseudo_random(inputs * outputs, seed),
            outputs,
            &flex,
        )),
        bias: None,
    };
    let net = Net {
        hidden: vec![
            linear(5, 8, 1),
            linear(8, 8, 2),
            linear(12, 8, 3),
            linear(8, 4, 4),
        ],
        classifier: linear(4, 3, 5),
    };
    let reference = penalty_and_gradients(&net, &flex);
    let batched = penalty_and_gradients(&net, &wgpu());
    assert_close(batched[0], reference[0], 2e-5, "penalty");
    let scale = reference[1..].iter().map(|g| g.abs()).fold(0.0, f64::max);
    for (i, (a, b)) in batched.iter().zip(&reference).enumerate().skip(1) {
        assert!((a - b).abs() <= 2e-5 * scale, "gradient {i}: {a} vs {b}");
    }
}
