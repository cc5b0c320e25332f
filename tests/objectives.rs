//! The hyperspherical-uniformity objectives against an independent float64 implementation
//! written here from the formulas, hand-derived closed forms, central finite differences of
//! that reference, and degenerate layers.

mod support;

use std::f64::consts::PI;

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_mhe::{EnergyConfig, LayerObjective, Objective};

const MGD_JITTER: f64 = Objective::MGD_JITTER;
const MHC_GAMMA: f64 = Objective::MHC_GAMMA;
use support::*;

const EPS: f64 = 1e-4;

/// Rows of `values` (`cols` wide) scaled by `1 / sqrt(||w||^2 + eps)`.
fn units(values: &[f64], cols: usize, eps: f64) -> Vec<Vec<f64>> {
    values
        .chunks(cols)
        .map(|row| {
            let norm = (row.iter().map(|x| x * x).sum::<f64>() + eps).sqrt();
            row.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `log det` of a symmetric positive definite matrix by Gaussian elimination without pivoting.
fn log_det(mut matrix: Vec<Vec<f64>>) -> f64 {
    let n = matrix.len();
    let mut total = 0.0;
    for k in 0..n {
        let pivot_row = matrix[k].clone();
        total += pivot_row[k].ln();
        for row in &mut matrix[k + 1..] {
            let factor = row[k] / pivot_row[k];
            for (entry, pivot_entry) in row.iter_mut().zip(&pivot_row).skip(k) {
                *entry -= factor * pivot_entry;
            }
        }
    }
    total
}

/// The objective's value, straight from its formula (`pole` for MHP and MHC), on the unit rows
/// or, in half space, on the rows and their negations (`2N` points).
fn reference(
    objective: Objective,
    values: &[f64],
    cols: usize,
    pole: &[f64],
    half_space: bool,
) -> f64 {
    let mut u = units(values, cols, EPS);
    if half_space {
        let negated: Vec<Vec<f64>> = u.iter().map(|r| r.iter().map(|x| -x).collect()).collect();
        u.extend(negated);
    }
    let n = u.len();
    let d2_to = |p: &[f64], v: &[f64]| (2.0 - 2.0 * dot(p, v)).max(1e-6);
    let others = |i: usize| (0..n).filter(move |&j| j != i);
    match objective {
        Objective::Mma => {
            let nearest = |i: usize| {
                others(i)
                    .map(|j| dot(&u[i], &u[j]).clamp(-1.0, 1.0).acos())
                    .fold(f64::INFINITY, f64::min)
            };
            -(0..n).map(nearest).sum::<f64>() / n as f64
        }
        Objective::Mhs => {
            let closest = (0..n)
                .flat_map(|i| others(i).map(move |j| (i, j)))
                .map(|(i, j)| 2.0 - 2.0 * dot(&u[i], &u[j]))
                .fold(f64::INFINITY, f64::min);
            -closest
        }
        Objective::Mgd => {
            let kernel = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| {
                            let k = (2.0 * dot(&u[i], &u[j]) - 2.0).exp();
                            k + if i == j { MGD_JITTER } else { 0.0 }
                        })
                        .collect()
                })
                .collect();
            -log_det(kernel)
        }
        Objective::Mhp | Objective::Mhc => {
            let p: Vec<f64> = units(pole, cols, EPS).remove(0);
            let d2: Vec<f64> = u.iter().map(|row| d2_to(&p, row)).collect();
            if objective == Objective::Mhp {
                d2.iter().map(|x| 1.0 / x).sum::<f64>() / n as f64
            } else {
                let mean = d2.iter().map(|x| (-MHC_GAMMA * x).exp()).sum::<f64>() / n as f64;
                -mean.ln() / MHC_GAMMA
            }
        }
        Objective::RMhp => (0..cols)
            .map(|k| values.chunks(cols).map(|row| row[k]).sum::<f64>().powi(2))
            .sum::<f64>()
            .sqrt(),
        Objective::Mhe => unreachable!("MHE has its own golden tests"),
    }
}

fn init(objective: Objective, half_space: bool) -> LayerObjective {
    let config = EnergyConfig::new()
        .with_eps(EPS)
        .with_half_space(half_space);
    objective.init(&config)
}

/// Every objective of the family in full and half space (r-MHP, on unnormalized neurons, has
/// no half space).
fn cases() -> Vec<(Objective, bool)> {
    Objective::family()
        .flat_map(|objective| [(objective, false), (objective, true)])
        .filter(|&(objective, half)| !(half && objective == Objective::RMhp))
        .collect()
}

fn f64_vector(values: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len()]),
        (device, DType::F64),
    )
}

/// Value, neuron gradient and pole gradient in closed form, on float64 or float32 tensors.
fn computed(
    (objective, half_space): (Objective, bool),
    values: &[f64],
    cols: usize,
    pole: &[f64],
    dtype: DType,
) -> (f64, Vec<f64>, Vec<f64>) {
    let device = Device::flex();
    let (neurons, pole) = if dtype == DType::F64 {
        (
            f64_matrix(values.to_vec(), cols, &device),
            f64_vector(pole, &device),
        )
    } else {
        (
            f32_matrix(values, cols, &device),
            f64_vector(pole, &device).cast(DType::F32),
        )
    };
    let pole = objective.has_pole().then_some(pole);
    let grads = init(objective, half_space)
        .value_and_grad(neurons, pole)
        .unwrap();
    let pole_grad = grads.pole.map(support::values).unwrap_or_default();
    (
        support::values(grads.value)[0],
        support::values(grads.neurons),
        pole_grad,
    )
}

fn input() -> (Vec<f64>, usize, Vec<f64>) {
    (pseudo_random(7 * 5, 23), 5, pseudo_random(5, 3))
}

#[test]
fn every_objective_matches_its_float64_formula() {
    let (values, cols, pole) = input();
    for case in cases() {
        let (objective, half) = case;
        let expected = reference(objective, &values, cols, &pole, half);
        let (value64, ..) = computed(case, &values, cols, &pole, DType::F64);
        assert_close(value64, expected, 1e-12, &format!("{case:?} float64"));
        let (value32, ..) = computed(case, &values, cols, &pole, DType::F32);
        assert_close(value32, expected, 2e-5, &format!("{case:?} float32"));
    }
}

/// Central differences of the reference with respect to every entry of `x`.
fn central_differences(at: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let step = 1e-6;
    (0..x.len())
        .map(|i| {
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[i] += step;
            minus[i] -= step;
            (at(&plus) - at(&minus)) / (2.0 * step)
        })
        .collect()
}

fn assert_gradients_close(analytic: &[f64], numeric: &[f64], what: &str) {
    let scale = numeric.iter().map(|g| g.abs()).fold(0.0, f64::max);
    assert!(scale > 0.0, "{what}: the gradient vanishes");
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= 1e-6 * scale,
            "{what}, entry {i}: analytic {a} vs numeric {n} (scale {scale})"
        );
    }
}

#[test]
fn every_gradient_matches_finite_differences_of_the_formula() {
    let (values, cols, pole) = input();
    for case in cases() {
        let (objective, half) = case;
        let (_, grad, pole_grad) = computed(case, &values, cols, &pole, DType::F64);
        let at = |x: &[f64]| reference(objective, x, cols, &pole, half);
        assert_gradients_close(
            &grad,
            &central_differences(at, &values),
            &format!("{case:?} neurons"),
        );
        if objective.has_pole() {
            let at = |p: &[f64]| reference(objective, &values, cols, p, half);
            assert_gradients_close(
                &pole_grad,
                &central_differences(at, &pole),
                &format!("{case:?} pole"),
            );
        }
    }
}

#[test]
fn forward_injects_the_gradient_and_flips_the_poles() {
    let (values, cols, pole) = input();
    let device = Device::flex().autodiff();
    for objective in Objective::family() {
        let neurons = f64_matrix(values.clone(), cols, &device).require_grad();
        let pole_param = f64_vector(&pole, &device).require_grad();
        let pole_arg = objective.has_pole().then(|| pole_param.clone());
        let loss = init(objective, false)
            .forward(neurons.clone(), pole_arg)
            .unwrap();
        let grads = loss.clone().mul_scalar(2.0).backward();
        let (value, grad, pole_grad) =
            computed((objective, false), &values, cols, &pole, DType::F64);
        assert_close(support::values(loss)[0], value, 1e-12, "value");
        let through = support::values(neurons.grad(&grads).unwrap());
        for (a, b) in through.iter().zip(&grad) {
            assert_close(
                *a,
                2.0 * b,
                1e-12,
                &format!("{objective:?} neuron gradient"),
            );
        }
        if objective.has_pole() {
            // Descending the loss moves the pole up its objective: the gradient is negated.
            let through = support::values(pole_param.grad(&grads).unwrap());
            for (a, b) in through.iter().zip(&pole_grad) {
                assert_close(*a, -2.0 * b, 1e-12, &format!("{objective:?} pole gradient"));
            }
        }
    }
}

#[test]
fn closed_forms_on_simplices_and_frames() {
    let device = Device::flex();
    let value = |objective: Objective, rows: Vec<f64>, cols: usize, pole: Option<Vec<f64>>| {
        let config = EnergyConfig::new().with_eps(0.0);
        let pole = pole.map(|p| f64_vector(&p, &device));
        let loss = objective.init(&config);
        support::values(loss.forward(f64_matrix(rows, cols, &device), pole).unwrap())[0]
    };
    let half = |objective: Objective, rows: Vec<f64>, cols: usize| {
        let config = EnergyConfig::new().with_eps(0.0).with_half_space(true);
        let loss = objective.init(&config);
        support::values(loss.forward(f64_matrix(rows, cols, &device), None).unwrap())[0]
    };
    // A regular simplex of 4 points in 3-D: every angle is acos(-1/3).
    let s = 1.0 / 3f64.sqrt();
    let tetrahedron = vec![s, s, s, s, -s, -s, -s, s, -s, -s, -s, s];
    let simplex_angle = (-1.0f64 / 3.0).acos();
    assert_close(
        value(Objective::Mma, tetrahedron.clone(), 3, None),
        -simplex_angle,
        1e-12,
        "MMA, tetrahedron",
    );
    // Its closest pairs are 2 + 2/3 apart; in half space, u_i and -u_j are 2 - 2/3 apart.
    assert_close(
        value(Objective::Mhs, tetrahedron.clone(), 3, None),
        -(2.0 + 2.0 / 3.0),
        1e-12,
        "MHS, tetrahedron",
    );
    assert_close(
        half(Objective::Mhs, tetrahedron, 3),
        -(2.0 - 2.0 / 3.0),
        1e-12,
        "half-space MHS, tetrahedron",
    );
    // An orthonormal frame of 3 in 4-D: 90 degrees everywhere, d^2 = 2.
    let frame = vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    assert_close(
        value(Objective::Mma, frame.clone(), 4, None),
        -PI / 2.0,
        1e-12,
        "MMA, frame",
    );
    assert_close(
        value(Objective::Mhs, frame.clone(), 4, None),
        -2.0,
        1e-12,
        "MHS, frame",
    );
    // K = (1 - a) I + a 11^T with a = e^-2 (plus the jitter): det = (1 - a + j)^2 (1 - a + j + 3a).
    let (a, j) = ((-2.0f64).exp(), MGD_JITTER);
    let det = (1.0 - a + j).powi(2) * (1.0 - a + j + 3.0 * a);
    assert_close(
        value(Objective::Mgd, frame.clone(), 4, None),
        -det.ln(),
        1e-12,
        "MGD, frame",
    );
    // A pole at 90 degrees from every neuron: d^2 = 2.
    let pole = Some(vec![0.0, 0.0, 0.0, 1.0]);
    assert_close(
        value(Objective::Mhp, frame.clone(), 4, pole.clone()),
        0.5,
        1e-12,
        "MHP",
    );
    assert_close(
        value(Objective::Mhc, frame.clone(), 4, pole),
        2.0,
        1e-12,
        "MHC",
    );
    assert_close(
        value(Objective::RMhp, frame, 4, None),
        3f64.sqrt(),
        1e-12,
        "r-MHP, frame",
    );
    // Antipodal neurons balance: r-MHP 0. They are as far apart as points can be (MHS -4),
    // but lie on one line: half-space MHS's worst, -(2 - 2) = 0.
    let antipodal = vec![0.6, 0.8, -0.6, -0.8];
    assert_eq!(value(Objective::RMhp, antipodal.clone(), 2, None), 0.0);
    assert_close(
        value(Objective::Mhs, antipodal.clone(), 2, None),
        -4.0,
        1e-12,
        "MHS, antipodal",
    );
    assert_close(
        half(Objective::Mhs, antipodal, 2),
        0.0,
        1e-12,
        "half-space MHS, antipodal",
    );
}

#[test]
fn degenerate_layers_give_finite_values_and_gradients() {
    let layers: [(&str, Vec<f64>, usize); 5] = [
        ("a zero neuron", vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0], 3),
        ("duplicates", vec![0.3, -0.4, 0.3, -0.4, 1.0, 0.0], 2),
        ("antipodal", vec![0.6, 0.8, -0.6, -0.8], 2),
        ("one neuron", vec![0.6, 0.8], 2),
        (
            "a large neuron and its negation",
            vec![1e4, 3e4, -1e4, -3e4],
            2,
        ),
    ];
    let device = Device::flex().autodiff();
    for (objective, half) in cases() {
        for (what, rows, cols) in &layers {
            let neurons = f32_matrix(rows, *cols, &device).require_grad();
            let pole = Tensor::<1>::ones([*cols], &device).require_grad();
            let pole_arg = objective.has_pole().then(|| pole.clone());
            let loss = init(objective, half)
                .forward(neurons.clone(), pole_arg)
                .unwrap();
            let grads = loss.backward();
            let mut all = support::values(loss);
            all.extend(support::values(neurons.grad(&grads).unwrap()));
            if objective.has_pole() {
                all.extend(support::values(pole.grad(&grads).unwrap()));
            }
            assert!(
                all.iter().all(|x| x.is_finite()),
                "{objective:?} half={half}, {what}: {all:?}"
            );
        }
    }
}

#[test]
fn pole_objectives_refuse_a_missing_or_mismatched_pole() {
    let device = Device::flex();
    let neurons = f32_matrix(&pseudo_random(12, 1), 4, &device);
    for objective in [Objective::Mhp, Objective::Mhc] {
        let missing = init(objective, false).forward(neurons.clone(), None);
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("needs a pole of dimension 4"),
            "{objective:?}"
        );
        let short = Tensor::<1>::from_data([1.0f32, 0.0, 0.0].as_slice(), &device);
        let mismatched = init(objective, false).forward(neurons.clone(), Some(short));
        assert!(mismatched.unwrap_err().to_string().contains("dimension 3"));
    }
}
