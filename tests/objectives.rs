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
        Objective::So => gram_residual(values, cols)
            .iter()
            .flatten()
            .map(|x| x * x)
            .sum(),
        Objective::Srip => symmetric_eigenvalues(gram_residual(values, cols))
            .into_iter()
            .map(f64::abs)
            .fold(0.0, f64::max),
        Objective::Mhe => unreachable!("MHE has its own golden tests"),
    }
}

/// The Gram matrix of the smaller side of the rows `values` (`cols` wide) minus the identity.
fn gram_residual(values: &[f64], cols: usize) -> Vec<Vec<f64>> {
    let rows: Vec<&[f64]> = values.chunks(cols).collect();
    let columns: Vec<Vec<f64>> = (0..cols)
        .map(|k| rows.iter().map(|row| row[k]).collect())
        .collect();
    let side: Vec<&[f64]> = match rows.len() <= cols {
        true => rows,
        false => columns.iter().map(Vec::as_slice).collect(),
    };
    (0..side.len())
        .map(|i| {
            (0..side.len())
                .map(|j| dot(side[i], side[j]) - if i == j { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

/// The eigenvalues of a symmetric matrix by cyclic Jacobi rotations (no power iteration).
fn symmetric_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p].clone(), a[q].clone());
                for (k, (apk, aqk)) in row_p.iter().zip(&row_q).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

fn init(objective: Objective, half_space: bool) -> LayerObjective {
    let config = EnergyConfig::new()
        .with_eps(EPS)
        .with_half_space(half_space);
    objective.init(&config)
}

/// Every objective of the family in full and half space, then the orthogonality controls
/// (r-MHP, SO and SRIP, on unnormalized neurons, have no half space).
fn cases() -> Vec<(Objective, bool)> {
    let raw = |objective: Objective| objective == Objective::RMhp || objective.is_orthogonality();
    Objective::others()
        .flat_map(|objective| [(objective, false), (objective, true)])
        .filter(|&(objective, half)| !(half && raw(objective)))
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

/// Value and gradient of an orthogonality control in float64.
fn orthogonality(objective: Objective, rows: &[f64], cols: usize) -> (f64, Vec<f64>) {
    let pole = vec![1.0; cols];
    let (value, grad, _) = computed((objective, false), rows, cols, &pole, DType::F64);
    (value, grad)
}

#[test]
fn orthogonality_controls_match_their_formulas_on_both_sides_of_the_gram() {
    // 4 rows of 9 (the rows' Gram, as on conv layers) and the 7 x 5 of the other tests (the
    // columns' Gram).
    for (rows, cols) in [(pseudo_random(4 * 9, 41), 9), (input().0, 5)] {
        for objective in Objective::others().filter(|o| o.is_orthogonality()) {
            let what = format!("{objective:?}, {} x {cols}", rows.len() / cols);
            let (value, grad) = orthogonality(objective, &rows, cols);
            let expected = reference(objective, &rows, cols, &[], false);
            assert_close(value, expected, 1e-12, &what);
            let at = |x: &[f64]| reference(objective, x, cols, &[], false);
            assert_gradients_close(&grad, &central_differences(at, &rows), &what);
            let pole = vec![1.0; cols];
            let (value32, ..) = computed((objective, false), &rows, cols, &pole, DType::F32);
            assert_close(value32, expected, 2e-5, &format!("{what} float32"));
        }
    }
}

#[test]
fn orthogonality_controls_match_closed_forms() {
    // c times an orthonormal frame of 3 in 4-D: W W^T = c^2 I, so SO = 3 (c^2 - 1)^2 and SRIP
    // = |c^2 - 1|; its transpose (4 x 3, the columns' side) gives the same.
    let c = 1.5f64;
    let frame = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0].map(|x| c * x);
    let transposed: Vec<f64> = (0..4)
        .flat_map(|k| (0..3).map(move |i| frame[4 * i + k]))
        .collect();
    for (rows, cols) in [(frame.to_vec(), 4), (transposed, 3)] {
        let so = orthogonality(Objective::So, &rows, cols).0;
        assert_close(so, 3.0 * (c * c - 1.0).powi(2), 1e-12, "SO, scaled frame");
        let srip = orthogonality(Objective::Srip, &rows, cols).0;
        assert_close(srip, c * c - 1.0, 1e-12, "SRIP, scaled frame");
    }
    // diag(2, 0.5, 1): G - I = diag(3, -0.75, 0). SO = 9 + 0.5625 with gradient 4 (G - I) W;
    // SRIP = 3, moved by w_11 alone: d(w_11^2 - 1)/dw_11 = 4.
    let diagonal = vec![2.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 1.0];
    let (so, so_grad) = orthogonality(Objective::So, &diagonal, 3);
    assert_close(so, 9.5625, 1e-12, "SO, diagonal");
    let expected = [24.0, 0.0, 0.0, 0.0, -1.5, 0.0, 0.0, 0.0, 0.0];
    for (got, want) in so_grad.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "SO gradient {so_grad:?}");
    }
    let (srip, srip_grad) = orthogonality(Objective::Srip, &diagonal, 3);
    assert_close(srip, 3.0, 1e-12, "SRIP, diagonal");
    let expected = [4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for (got, want) in srip_grad.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "SRIP gradient {srip_grad:?}");
    }
    // diag(0.1, 1.2): G - I = diag(-0.99, 0.44). The negative eigenvalue is the larger
    // singular value: SRIP = 0.99, d(1 - w_11^2)/dw_11 = -0.2.
    let (srip, srip_grad) = orthogonality(Objective::Srip, &[0.1, 0.0, 0.0, 1.2], 2);
    assert_close(srip, 0.99, 1e-12, "SRIP, negative eigenvalue");
    for (got, want) in srip_grad.iter().zip([-0.2, 0.0, 0.0, 0.0]) {
        assert!((got - want).abs() < 1e-12, "SRIP gradient {srip_grad:?}");
    }
    // A zero layer: G - I = -I, SO = 2, SRIP = 1; nothing moves it (its gradients are zero).
    let zero = vec![0.0; 6];
    assert_eq!(orthogonality(Objective::So, &zero, 3), (2.0, vec![0.0; 6]));
    let (srip, srip_grad) = orthogonality(Objective::Srip, &zero, 3);
    assert_close(srip, 1.0, 1e-12, "SRIP, zero layer");
    assert!(srip_grad.iter().all(|g| *g == 0.0), "{srip_grad:?}");
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
