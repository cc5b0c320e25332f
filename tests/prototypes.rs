//! The prototype head against a float64 implementation of Mettes et al.'s loss written here,
//! its gradient against finite differences, prototypes solved on the sphere, and bad input.

mod support;

use burn::tensor::{Device, Int, Tensor};
use burn_mhe::{MheError, PrototypeHead, SphereConfig};
use support::*;

/// `mean_b (1 - cos(z_b, p_{y_b}))^2` in float64.
fn reference_loss(features: &[f64], dim: usize, prototypes: &[f64], targets: &[usize]) -> f64 {
    let unit = |row: &[f64], eps: f64| {
        let norm = (row.iter().map(|x| x * x).sum::<f64>() + eps).sqrt();
        row.iter().map(|x| x / norm).collect::<Vec<_>>()
    };
    let total: f64 = features
        .chunks(dim)
        .zip(targets)
        .map(|(z, &y)| {
            let z = unit(z, PrototypeHead::FEATURE_EPS);
            let p = unit(&prototypes[y * dim..(y + 1) * dim], 0.0);
            let cosine: f64 = z.iter().zip(&p).map(|(a, b)| a * b).sum();
            (1.0 - cosine).powi(2)
        })
        .sum();
    total / targets.len() as f64
}

fn targets(classes: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    Tensor::from_data(values.as_slice(), device)
}

#[test]
fn the_loss_and_its_gradient_match_the_formula() {
    let (dim, classes) = (5, [3, 0, 2, 2, 1, 3]);
    let prototypes = pseudo_random(4 * dim, 8);
    let features = pseudo_random(classes.len() * dim, 9);
    let device = Device::flex().autodiff();
    let head = PrototypeHead::new(f64_matrix(prototypes.clone(), dim, &device)).unwrap();
    let input = f64_matrix(features.clone(), dim, &device).require_grad();
    let loss = head.loss(input.clone(), targets(&classes, &device));
    let expected = reference_loss(&features, dim, &prototypes, &classes);
    assert_close(values(loss.clone())[0], expected, 1e-12, "loss");

    let grad = values(input.grad(&loss.backward()).unwrap());
    let step = 1e-6;
    for i in 0..features.len() {
        let (mut plus, mut minus) = (features.clone(), features.clone());
        plus[i] += step;
        minus[i] -= step;
        let numeric = (reference_loss(&plus, dim, &prototypes, &classes)
            - reference_loss(&minus, dim, &prototypes, &classes))
            / (2.0 * step);
        assert!(
            (grad[i] - numeric).abs() <= 1e-7,
            "entry {i}: {} vs {numeric}",
            grad[i]
        );
    }
}

#[test]
fn solved_prototypes_form_a_simplex_and_predict_the_nearest() {
    let device = Device::flex();
    // Five classes in 5-D: the regular simplex, cosines -1/4.
    let head = PrototypeHead::solved(&SphereConfig::new(5, 5).with_restarts(4), &device).unwrap();
    let prototypes = head.prototypes();
    let cosines = values(prototypes.clone().matmul(prototypes.clone().transpose()));
    for i in 0..5 {
        for j in 0..5 {
            let expected = if i == j { 1.0 } else { -0.25 };
            assert_close(
                cosines[i * 5 + j],
                expected,
                1e-5,
                &format!("cos({i}, {j})"),
            );
        }
    }
    // Features near prototypes 4, 1 and 1 (scaled, perturbed): predicted as those classes, and
    // a feature at its own prototype has loss 0.
    let near = prototypes
        .clone()
        .select(0, targets(&[4, 1, 1], &device))
        .mul_scalar(3.0)
        .add_scalar(0.01);
    let predicted: Vec<i64> = head.predict(near).into_data().iter::<i64>().collect();
    assert_eq!(predicted, [4, 1, 1]);
    let exact = head.loss(prototypes.slice([0..1, 0..5]), targets(&[0], &device));
    assert!(values(exact)[0] < 1e-12);
}

#[test]
fn prototypes_must_be_distinct_directions_and_zero_features_stay_finite() {
    let device = Device::flex().autodiff();
    let zero = f32_matrix(&[1.0, 0.0, 0.0, 0.0], 2, &device);
    assert!(matches!(
        PrototypeHead::new(zero),
        Err(MheError::ZeroNeuron { index: 1 })
    ));
    let same = f32_matrix(&[1.0, 1.0, 2.0, 2.0], 2, &device);
    assert!(matches!(
        PrototypeHead::new(same),
        Err(MheError::DuplicateNeurons { .. })
    ));
    let head = PrototypeHead::new(f32_matrix(&[1.0, 0.0, 0.0, 1.0], 2, &device)).unwrap();
    let features = f32_matrix(&[0.0, 0.0], 2, &device).require_grad();
    let loss = head.loss(features.clone(), targets(&[1], &device));
    assert_eq!(values(loss.clone()), [1.0]);
    let grad = values(features.grad(&loss.backward()).unwrap());
    assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
}
