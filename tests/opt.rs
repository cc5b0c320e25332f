//! Orthogonal over-parameterization: the factor is the exponential of a skew matrix (a plane
//! rotation in closed form), orthogonal to rounding, and training moves the weights while
//! their hyperspherical energy stays at its initial value.

mod support;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Tensor};
use burn_mhe::{EnergyConfig, NeuronLayout, OrthogonalFactor, OrthogonalOverParameterization};
use support::*;

fn factor(generator: Vec<f64>, d: usize) -> OrthogonalFactor {
    OrthogonalFactor {
        generator: Param::from_tensor(f64_matrix(generator, d, &Device::flex())),
    }
}

#[test]
fn the_factor_of_a_plane_is_the_rotation_by_twice_the_generator() {
    // A = [[0, t/2], [-t/2, 0]]: A - A^T = [[0, t], [-t, 0]], exp = [[cos t, sin t], [-sin t, cos t]].
    for t in [0.3f64, 2.5, -7.0] {
        let rotation = values(factor(vec![0.0, t / 2.0, -t / 2.0, 0.0], 2).rotation());
        let expected = [t.cos(), t.sin(), -t.sin(), t.cos()];
        for (got, want) in rotation.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "t = {t}: {rotation:?}");
        }
    }
}

#[test]
fn the_factor_is_orthogonal_for_large_generators() {
    let d = 7;
    let generator: Vec<f64> = pseudo_random(d * d, 61).iter().map(|x| 3.0 * x).collect();
    let rotation = factor(generator, d).rotation();
    let product = values(rotation.clone().transpose().matmul(rotation));
    for i in 0..d {
        for j in 0..d {
            let expected = f64::from(u8::from(i == j));
            let got = product[i * d + j];
            assert!((got - expected).abs() < 1e-11, "({i}, {j}): {got}");
        }
    }
}

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    hidden: Linear,
    classifier: Linear,
}

impl Net {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let features = self.conv.forward(images).reshape([batch, 4 * 6 * 6]);
        self.classifier
            .forward(self.hidden.forward(features).tanh())
    }

    /// The energy of every weight as it is now (effective, after OPT's factor).
    fn energies(&self) -> Vec<f64> {
        let energy = EnergyConfig::new().init();
        let of = |weight: Tensor<2>, layout: NeuronLayout| {
            let neurons = layout.neurons(weight).unwrap().without_autodiff();
            values(energy.forward(neurons))[0]
        };
        let conv = self.conv.weight.val().reshape([4, 2 * 3 * 3]);
        vec![
            of(conv, NeuronLayout::Rows),
            of(self.hidden.weight.val(), NeuronLayout::Columns),
            of(self.classifier.weight.val(), NeuronLayout::Columns),
        ]
    }
}

/// The network's own parameters: conv 4 x 2 x 3 x 3 + 4, hidden 144 x 12 + 12, classifier
/// 12 x 5 + 5.
const WEIGHTS: usize = 4 * 2 * 9 + 4 + 144 * 12 + 12 + 12 * 5 + 5;

fn net(device: &Device) -> Net {
    Net {
        conv: Conv2dConfig::new([2, 4], [3, 3]).init(device),
        hidden: LinearConfig::new(4 * 6 * 6, 12).init(device),
        classifier: LinearConfig::new(12, 5).init(device),
    }
}

/// Five SGD steps on a fixed batch.
fn trained(mut net: Net, device: &Device) -> Net {
    let images = f32_matrix(&pseudo_random(3 * 2 * 8 * 8, 67), 8 * 8, device).reshape([3, 2, 8, 8]);
    let mut optimizer = SgdConfig::new().init();
    for _ in 0..5 {
        let loss = net.forward(images.clone()).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optimizer.step(0.5, net, grads);
    }
    net
}

#[test]
fn training_rotates_the_weights_and_keeps_their_energy() {
    let device = Device::flex().autodiff();
    let net = net(&device);
    let (initial, initial_hidden) = (net.energies(), values(net.hidden.weight.val()));
    let net = net.apply_reparameterization(OrthogonalOverParameterization::new());
    // Generators: 18 x 18 (conv rows), 144 x 144 and 12 x 12 (Linear columns).
    assert_eq!(net.num_params(), WEIGHTS + 18 * 18 + 144 * 144 + 12 * 12);

    let net = trained(net, &device);
    let moved = largest_change(&values(net.hidden.weight.val()), &initial_hidden);
    assert!(moved > 1e-3, "the weights did not move: {moved}");
    assert_eq!(
        values(net.hidden.weight.base()),
        initial_hidden,
        "W0 is frozen"
    );
    for (after, before) in net.energies().into_iter().zip(initial) {
        assert_close(after, before, 1e-5, "energy under OPT");
    }
}

#[test]
fn an_excluded_layer_trains_directly_beside_the_rotated_ones() {
    let device = Device::flex().autodiff();
    let net = net(&device);
    let (initial, initial_classifier) = (net.energies(), values(net.classifier.weight.val()));
    let opt = OrthogonalOverParameterization::new().exclude("classifier");
    let net = net.apply_reparameterization(opt);
    // The classifier has no generator: 18 x 18 and 144 x 144 only.
    assert_eq!(net.num_params(), WEIGHTS + 18 * 18 + 144 * 144);

    let net = trained(net, &device);
    let energies = net.energies();
    for (after, before) in energies[..2].iter().zip(&initial) {
        assert_close(*after, *before, 1e-5, "energy of a rotated layer");
    }
    let classifier = values(net.classifier.weight.val());
    assert!(largest_change(&classifier, &initial_classifier) > 1e-3);
    let changed = (energies[2] - initial[2]).abs() / initial[2];
    assert!(changed > 1e-4, "the classifier's energy moves: {changed}");
}
