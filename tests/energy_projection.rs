//! Compressive MHE: the energy is the mean energy of the projected neurons, the gradient
//! matches finite differences, projections change at every call, and the learned kinds' inner
//! step follows the gradient of its own loss.

mod support;

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, ProjectionConfig, ProjectionKind, RandomProjection};
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
        .init();
    let plain = EnergyConfig::new().with_s(1.0).init();
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
        let energy = config.init();
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
    let energy = EnergyConfig::new().with_projection(Some(config)).init();
    let neurons = f64_matrix(pseudo_random(10 * 16, 47), 16, &device).require_grad();
    let e = energy.forward(neurons.clone());
    let grad = values(neurons.grad(&e.backward()).unwrap());
    assert!(grad.iter().all(|g| g.is_finite()) && grad.iter().any(|g| *g != 0.0));
    assert!(
        EnergyConfig::new()
            .with_projection(Some(ProjectionConfig::new().with_count(0)))
            .try_init()
            .is_err()
    );
}

/// `||cos(W P) - cos(W)||_F` in float64 for one projection, cosines with `eps`.
fn angle_distortion(w: &[f64], p: &[f64], d: usize, dims: usize, eps: f64) -> f64 {
    let cosines = |rows: &[f64], cols: usize| {
        let units: Vec<Vec<f64>> = rows
            .chunks(cols)
            .map(|r| {
                let norm = (r.iter().map(|x| x * x).sum::<f64>() + eps).sqrt();
                r.iter().map(|x| x / norm).collect()
            })
            .collect();
        units
            .iter()
            .flat_map(|a| {
                units
                    .iter()
                    .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<f64>>()
    };
    let (original, projected) = (cosines(w, d), cosines(&project(w, p, d, dims), dims));
    original
        .iter()
        .zip(&projected)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// One projection's inner loss as a function of its entries.
fn inner_loss(kind: ProjectionKind, w: &[f64], d: usize, dims: usize) -> impl Fn(&[f64]) -> f64 {
    let plain = EnergyConfig::new().init();
    let w = w.to_vec();
    move |p: &[f64]| match kind {
        ProjectionKind::AnglePreserving => angle_distortion(&w, p, d, dims, 1e-4),
        _ => values(plain.forward(f64_matrix(project(&w, p, d, dims), dims, &Device::flex())))[0],
    }
}

#[test]
fn the_learned_kinds_take_one_step_along_their_own_gradient() {
    let device = Device::flex();
    let (n, d, dims, count, lr) = (7, 6, 3, 2, 1e-3);
    let w = pseudo_random(n * d, 51);
    let p = pseudo_random(count * d * dims, 53);
    for (kind, sign) in [
        (ProjectionKind::AnglePreserving, -1.0),
        (ProjectionKind::Adversarial, 1.0),
    ] {
        let projection = ProjectionConfig::new()
            .with_dims(dims)
            .with_count(count)
            .with_kind(kind)
            .with_inner_lr(lr);
        let energy = EnergyConfig::new().with_projection(Some(projection)).init();
        let drawn = projections(p.clone(), count, d, dims, &device);
        let refined =
            values(energy.refine_projections(f64_matrix(w.clone(), d, &device), drawn.clone()));
        let distortion = values(energy.angle_distortion(f64_matrix(w.clone(), d, &device), drawn));
        for (k, distortion) in distortion.iter().enumerate() {
            let range = k * d * dims..(k + 1) * d * dims;
            let (before, after) = (&p[range.clone()], &refined[range]);
            let loss = inner_loss(kind, &w, d, dims);
            let expected = angle_distortion(&w, before, d, dims, 1e-4);
            assert_close(*distortion, expected, 1e-12, "angle distortion");
            for i in 0..d * dims {
                let (mut plus, mut minus) = (before.to_vec(), before.to_vec());
                plus[i] += 1e-6;
                minus[i] -= 1e-6;
                let numeric = (loss(&plus) - loss(&minus)) / 2e-6;
                let step = (after[i] - before[i]) / lr;
                assert_close(
                    step,
                    sign * numeric,
                    1e-6,
                    &format!("{kind:?} {k} entry {i}"),
                );
            }
            // The step does what it is for: less distortion, or more energy.
            let change = loss(after) - loss(before);
            assert!(
                sign * change > 0.0,
                "{kind:?} projection {k}: change {change}"
            );
        }
    }
}

#[test]
fn the_weights_gradient_holds_the_refined_projections_fixed() {
    let device = Device::flex();
    let (n, d, dims, count) = (8, 10, 4, 3);
    let projection = ProjectionConfig::new()
        .with_dims(dims)
        .with_count(count)
        .with_kind(ProjectionKind::Adversarial)
        .with_seed(9);
    let energy = EnergyConfig::new()
        .with_projection(Some(projection.clone()))
        .init();
    let w = f64_matrix(pseudo_random(n * d, 55), d, &device);
    let drawn = projections(
        RandomProjection::new(projection).matrices(0, d),
        count,
        d,
        dims,
        &device,
    );
    let refined = energy.refine_projections(w.clone(), drawn);
    let (value, grad) = energy.value_and_grad(w.clone());
    let (expected_value, expected_grad) = energy.projected_value_and_grad(w, refined);
    assert_eq!(values(value), values(expected_value));
    assert_eq!(values(grad), values(expected_grad));
}
