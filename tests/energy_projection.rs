//! Compressive MHE (random projections): the energy is the mean energy of the projected
//! neurons, the gradient matches finite differences, and projections change at every call.

mod support;

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, ProjectionConfig, RandomProjection};
use support::*;

fn projections(
    values: Vec<f64>,
    count: usize,
    d: usize,
    dims: usize,
    device: &Device,
) -> Tensor<3> {
    Tensor::from_data(
        TensorData::new(values, [count, d, dims]),
        (device, DType::F64),
    )
}

/// `W P` for one `d x dims` projection, row-major.
fn project(w: &[f64], p: &[f64], d: usize, dims: usize) -> Vec<f64> {
    w.chunks(d)
        .flat_map(|row| {
            (0..dims).map(move |j| (0..d).map(|k| row[k] * p[k * dims + j]).sum::<f64>())
        })
        .collect()
}

#[test]
fn energy_is_the_mean_over_projections_and_resampled_every_call() {
    let device = Device::flex();
    let (n, d, dims, count) = (9, 12, 4, 3);
    let config = ProjectionConfig::new()
        .with_dims(dims)
        .with_count(count)
        .with_seed(5);
    let energy = EnergyConfig::new()
        .with_s(1.0)
        .with_projection(Some(config.clone()))
        .init()
        .unwrap();
    let plain = EnergyConfig::new().with_s(1.0).init().unwrap();
    let w = pseudo_random(n * d, 31);
    let reference = RandomProjection::new(config);
    for call in 0..2u64 {
        let p = reference.matrices(call, d);
        let expected: f64 = p
            .chunks(d * dims)
            .map(|pk| values(plain.forward(f64_matrix(project(&w, pk, d, dims), dims, &device)))[0])
            .sum::<f64>()
            / count as f64;
        let got = values(energy.forward(f64_matrix(w.clone(), d, &device)))[0];
        assert_close(got, expected, 1e-12, &format!("call {call}"));
    }
    let first = values(energy.clone().forward(f64_matrix(w.clone(), d, &device)))[0];
    let second = values(energy.forward(f64_matrix(w, d, &device)))[0];
    assert_ne!(first, second, "projections must change between calls");
}

#[test]
fn projected_gradient_matches_finite_differences() {
    let device = Device::flex();
    let (n, d, dims, count) = (6, 5, 3, 2);
    let p = projections(pseudo_random(count * d * dims, 41), count, d, dims, &device);
    for (name, config) in official_variants_both_spaces() {
        let energy = config.init().unwrap();
        let w = pseudo_random(n * d, 43);
        let at = |x: Vec<f64>| {
            values(
                energy
                    .projected_value_and_grad(f64_matrix(x, d, &device), p.clone())
                    .0,
            )[0]
        };
        let (_, grad) =
            energy.projected_value_and_grad(f64_matrix(w.clone(), d, &device), p.clone());
        let grad = values(grad);
        let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for i in 0..w.len() {
            let (mut plus, mut minus) = (w.clone(), w.clone());
            plus[i] += 1e-6;
            minus[i] -= 1e-6;
            let numeric = (at(plus) - at(minus)) / 2e-6;
            assert!(
                (grad[i] - numeric).abs() <= 1e-6 * scale,
                "{name} entry {i}: {} vs {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn autodiff_gets_the_projected_gradient() {
    let device = Device::flex().autodiff();
    let config = ProjectionConfig::new().with_dims(8).with_count(4);
    let energy = EnergyConfig::new()
        .with_projection(Some(config))
        .init()
        .unwrap();
    let neurons = f64_matrix(pseudo_random(10 * 16, 47), 16, &device).require_grad();
    let e = energy.forward(neurons.clone());
    let grad = values(neurons.grad(&e.backward()).unwrap());
    assert!(grad.iter().all(|g| g.is_finite()) && grad.iter().any(|g| *g != 0.0));
    assert!(
        EnergyConfig::new()
            .with_projection(Some(ProjectionConfig::new().with_count(0)))
            .init()
            .is_err()
    );
}
