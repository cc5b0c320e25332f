//! Points on a sphere of minimum energy: the Thomson, Riesz, Smale (log) and Tammes problems,
//! solved with this crate's own energy and closed-form gradient.
//!
//! Every restart runs at once as one batch on the device (`[restarts, N, D]` tensors): a
//! Riemannian L-BFGS on the product of spheres, with an Armijo backtracking line search and
//! the retraction `x <- (x + a p) / |x + a p|`, until the gradient vanishes to float64 precision.

use burn::config::Config;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::angles::AngleStats;
use crate::config::{Convention, Distance, PairReduction, non_negative};
use crate::energy::EnergyConfig;
use crate::energy::HypersphericalEnergy;
use crate::error::MheError;
use crate::random::gaussian_values;

/// Number of (step, gradient change) pairs L-BFGS remembers.
const MEMORY: usize = 12;
/// Armijo's sufficient-decrease constant.
const ARMIJO: f64 = 1e-4;
/// Backtracking halvings tried before a restart counts as converged.
const MAX_HALVINGS: usize = 40;
/// A restart has converged when no gradient entry exceeds this times `max(|E|, 1)`.
const GRADIENT_TOLERANCE: f64 = 1e-13;
/// Near the minimum the energy stops resolving progress (float64 rounding), so a step that
/// keeps the energy within this relative slack and shrinks the gradient is accepted too.
const ROUNDING_SLACK: f64 = 1e-14;
/// Two energies within this relative distance count as the same minimum.
const HIT_TOLERANCE: f64 = 1e-8;

/// A point-placement problem: `points` unit vectors in `R^dim` and the energy to minimize.
///
/// ```
/// use burn::tensor::Device;
/// use burn_mhe::SphereConfig;
///
/// // Thomson's problem for 4 electrons: the regular tetrahedron.
/// let solution = SphereConfig::new(4, 3).with_restarts(2).solve(&Device::flex()).unwrap();
/// assert!((solution.energy - 3.674234614).abs() < 1e-8);
/// assert!((solution.min_angle_deg.unwrap() - 109.4712206).abs() < 1e-6);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct SphereConfig {
    /// Number of points `N >= 2`.
    pub points: usize,
    /// Dimension `D >= 2` of the space around the sphere `S^(D-1)`.
    pub dim: usize,
    /// Euclidean (chord) or angular distance.
    #[config(default = "Distance::Euclidean")]
    pub distance: Distance,
    /// Power `s >= 0` of the kernel `d^-s` (`0`: the log energy `log(1/d)`; `1`: Thomson).
    #[config(default = 1.0)]
    pub s: f64,
    /// Place `N` lines instead of points: the energy of the `2N` points `[X; -X]`.
    #[config(default = false)]
    pub half_space: bool,
    /// Independent random starts; the best result is kept.
    #[config(default = 16)]
    pub restarts: usize,
    /// Most optimizer iterations per start.
    #[config(default = 5000)]
    pub steps: usize,
    /// Seed of the random starting points.
    #[config(default = 0)]
    pub seed: u64,
}

/// The best configuration found.
#[derive(Debug, Clone, PartialEq)]
pub struct SphereSolution {
    /// `N x D` unit vectors, row-major.
    pub points: Vec<f64>,
    /// The energy as a sum over pairs (physics convention; `2N` points in half-space).
    pub energy: f64,
    /// Smallest angle between two points (between two lines in half-space), degrees.
    pub min_angle_deg: Option<f64>,
    /// Mean pairwise angle (between lines in half-space), degrees.
    pub mean_angle_deg: Option<f64>,
    /// The final energy of every restart.
    pub energies: Vec<f64>,
    /// How many restarts reached the best energy (within a relative `1e-8`).
    pub hits: usize,
}

impl SphereConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> crate::Result<()> {
        let at_least = |field, value: usize, min: usize| {
            (value >= min).then_some(()).ok_or(MheError::InvalidConfig {
                field,
                reason: format!("must be at least {min}, got {value}"),
            })
        };
        at_least("points", self.points, 2)?;
        at_least("dim", self.dim, 2)?;
        at_least("restarts", self.restarts, 1)?;
        non_negative("s", self.s)
    }

    /// The energy minimized: unit points (`eps = 0`), no angle offset, the paper's log
    /// convention and the sum over pairs.
    pub fn energy_config(&self) -> EnergyConfig {
        EnergyConfig::new()
            .with_distance(self.distance)
            .with_s(self.s)
            .with_half_space(self.half_space)
            .with_eps(0.0)
            .with_angle_eps(0.0)
            .with_convention(Convention::Paper)
            .with_reduction(PairReduction::SumOverPairs)
    }

    /// Minimizes the energy from every restart on `device` (in float64 where it supports it)
    /// and returns the best configuration.
    pub fn solve(&self, device: &Device) -> crate::Result<SphereSolution> {
        self.validate()?;
        let problem = Batch {
            energy: self.energy_config().try_init()?,
            shape: [self.restarts, self.points, self.dim],
            device: device.clone(),
            dtype: if device.supports_dtype(DType::F64) {
                DType::F64
            } else {
                DType::F32
            },
        };
        let start = random_sphere_points(self.restarts * self.points, self.dim, self.seed);
        let (points, energies) = problem.minimize(start, self.steps);

        let (best, &energy) = energies
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one restart");
        let hits = energies
            .iter()
            .filter(|&&e| (e - energy).abs() <= HIT_TOLERANCE * energy.abs().max(1e-300))
            .count();
        let size = self.points * self.dim;
        let best_points = points[best * size..(best + 1) * size].to_vec();
        let tensor = Tensor::<2>::from_data(
            TensorData::new(best_points.clone(), [self.points, self.dim]),
            (device, problem.dtype),
        );
        let angles = AngleStats::of(&tensor, self.half_space);
        Ok(SphereSolution {
            points: best_points,
            energy,
            min_angle_deg: angles.min_deg,
            mean_angle_deg: angles.mean_deg,
            energies,
            hits,
        })
    }
}

/// All restarts of one problem, evaluated together on a device.
struct Batch {
    energy: HypersphericalEnergy,
    shape: [usize; 3],
    device: Device,
    dtype: DType,
}

/// One restart's optimizer state, on the host.
struct Restart {
    energy: f64,
    grad: Vec<f64>,
    /// L-BFGS memory: steps `s`, gradient changes `y`, and `1 / <s, y>`.
    memory: Vec<(Vec<f64>, Vec<f64>, f64)>,
    converged: bool,
}

impl Batch {
    /// Energies (`[B]`) and tangent gradients (`B x N x D`) of all restarts at `points`.
    fn evaluate(&self, points: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let data = TensorData::new(points.to_vec(), self.shape).convert_dtype(self.dtype);
        let tensor = Tensor::<3>::from_data(data, (&self.device, self.dtype));
        let (energies, grads) = self.energy.batch_value_and_grad(tensor);
        let energies = energies.into_data().iter::<f64>().collect();
        (energies, grads.into_data().iter::<f64>().collect())
    }

    /// Runs L-BFGS on every restart from `points` (`B * N` unit rows of length `D`); returns the
    /// final points and energies.
    fn minimize(&self, mut points: Vec<f64>, steps: usize) -> (Vec<f64>, Vec<f64>) {
        let size = self.shape[1] * self.shape[2];
        let (energies, grads) = self.evaluate(&points);
        let mut restarts: Vec<Restart> = energies
            .into_iter()
            .zip(grads.chunks(size))
            .map(|(energy, grad)| Restart {
                energy,
                grad: grad.to_vec(),
                memory: Vec::new(),
                converged: false,
            })
            .collect();
        for _ in 0..steps {
            if restarts.iter().all(|r| r.converged) {
                break;
            }
            let trial = self.backtrack(&points, &restarts);
            self.advance(&mut points, &mut restarts, trial);
        }
        let energies = restarts.iter().map(|r| r.energy).collect();
        (points, energies)
    }

    /// One Armijo backtracking line search of every restart along its L-BFGS direction, all
    /// restarts evaluated together at each halving.
    fn backtrack(&self, points: &[f64], restarts: &[Restart]) -> Trial {
        let [_, n, dim] = self.shape;
        let size = n * dim;
        let directions: Vec<Vec<f64>> = restarts
            .iter()
            .zip(points.chunks(size))
            .map(|(r, x)| r.direction(x, dim))
            .collect();
        let slopes: Vec<f64> = directions
            .iter()
            .zip(restarts)
            .map(|(p, r)| dot(p, &r.grad))
            .collect();
        // The first step of a fresh memory is scaled to move points by about 0.1 radian.
        let mut steps_taken: Vec<f64> = restarts
            .iter()
            .zip(&directions)
            .map(|(r, p)| {
                if r.memory.is_empty() {
                    (0.1 / max_abs(p)).min(1.0)
                } else {
                    1.0
                }
            })
            .collect();
        let mut accepted: Vec<bool> = restarts.iter().map(|r| r.converged).collect();
        let mut trial = points.to_vec();
        let mut trial_energies = Vec::new();
        let mut trial_grads = Vec::new();
        for _ in 0..MAX_HALVINGS {
            for b in (0..restarts.len()).filter(|&b| !accepted[b]) {
                let range = b * size..(b + 1) * size;
                trial[range.clone()].copy_from_slice(&retract(
                    &points[range],
                    &directions[b],
                    steps_taken[b],
                    dim,
                ));
            }
            (trial_energies, trial_grads) = self.evaluate(&trial);
            let pending: Vec<usize> = (0..restarts.len()).filter(|&b| !accepted[b]).collect();
            for b in pending {
                let current = &restarts[b];
                let bound = current.energy + ARMIJO * steps_taken[b] * slopes[b];
                let slack = current.energy + ROUNDING_SLACK * current.energy.abs();
                let range = b * size..(b + 1) * size;
                let flatter = max_abs(&trial_grads[range]) < max_abs(&current.grad);
                if trial_energies[b] <= bound || (trial_energies[b] <= slack && flatter) {
                    accepted[b] = true;
                } else {
                    steps_taken[b] *= 0.5;
                }
            }
            if accepted.iter().all(|&a| a) {
                break;
            }
        }
        Trial {
            points: trial,
            energies: trial_energies,
            grads: trial_grads,
            accepted,
        }
    }

    /// Moves every restart whose line search found a decrease to its trial point and updates
    /// its memory; a restart that found none has converged.
    fn advance(&self, points: &mut [f64], restarts: &mut [Restart], trial: Trial) {
        let size = self.shape[1] * self.shape[2];
        for (b, restart) in restarts.iter_mut().enumerate() {
            if restart.converged {
                continue;
            }
            let range = b * size..(b + 1) * size;
            if !trial.accepted[b] {
                // No decrease is possible along the best direction: a minimum to the
                // precision of the arithmetic.
                restart.converged = true;
                continue;
            }
            let new_grad = trial.grads[range.clone()].to_vec();
            restart.update(
                &points[range.clone()],
                &trial.points[range.clone()],
                trial.energies[b],
                new_grad,
            );
            points[range.clone()].copy_from_slice(&trial.points[range]);
        }
    }
}

/// The outcome of one line search of all restarts.
struct Trial {
    /// The trial points of every restart (the current points for converged ones).
    points: Vec<f64>,
    /// Their energies and gradients, as last evaluated.
    energies: Vec<f64>,
    grads: Vec<f64>,
    /// Whether each restart's trial point satisfied the decrease condition.
    accepted: Vec<bool>,
}

impl Restart {
    /// The L-BFGS direction `-H g` (two-loop recursion), projected onto the tangent space at
    /// `x`; steepest descent when the memory gives no descent direction.
    fn direction(&self, x: &[f64], dim: usize) -> Vec<f64> {
        let mut q: Vec<f64> = self.grad.clone();
        let mut alphas = Vec::with_capacity(self.memory.len());
        for (s, y, rho) in self.memory.iter().rev() {
            let alpha = rho * dot(s, &q);
            axpy(-alpha, y, &mut q);
            alphas.push(alpha);
        }
        if let Some((s, y, _)) = self.memory.last() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), alpha) in self.memory.iter().zip(alphas.into_iter().rev()) {
            let beta = rho * dot(y, &q);
            axpy(alpha - beta, s, &mut q);
        }
        let mut p: Vec<f64> = q.into_iter().map(|v| -v).collect();
        project_tangent(x, &mut p, dim);
        if dot(&p, &self.grad) < 0.0 {
            p
        } else {
            self.grad.iter().map(|g| -g).collect()
        }
    }

    /// Records an accepted step from `x` to `x_new`.
    fn update(&mut self, x: &[f64], x_new: &[f64], energy: f64, grad: Vec<f64>) {
        let s: Vec<f64> = x_new.iter().zip(x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = grad.iter().zip(&self.grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 && sy.is_finite() {
            if self.memory.len() == MEMORY {
                self.memory.remove(0);
            }
            self.memory.push((s, y, 1.0 / sy));
        }
        self.energy = energy;
        self.grad = grad;
        if max_abs(&self.grad) <= GRADIENT_TOLERANCE * energy.abs().max(1.0) {
            self.converged = true;
        }
    }
}

/// `normalize(x + a p)` row by row.
fn retract(x: &[f64], p: &[f64], a: f64, dim: usize) -> Vec<f64> {
    let mut out: Vec<f64> = x.iter().zip(p).map(|(x, p)| x + a * p).collect();
    for row in out.chunks_mut(dim) {
        let norm = dot(row, row).sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    out
}

/// Removes from each row of `v` its component along the matching unit row of `x`.
fn project_tangent(x: &[f64], v: &mut [f64], dim: usize) {
    for (x, v) in x.chunks(dim).zip(v.chunks_mut(dim)) {
        let radial = dot(x, v);
        v.iter_mut().zip(x).for_each(|(v, x)| *v -= radial * x);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// `rows` points drawn uniformly on the unit sphere in `R^dim` (normalized Gaussians).
pub fn random_sphere_points(rows: usize, dim: usize, seed: u64) -> Vec<f64> {
    let zeros = vec![0.0; rows * dim];
    retract(&zeros, &gaussian_values(rows * dim, seed), 1.0, dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known Thomson minima (sums of 1/r over pairs on S^2), from the reference.
    const THOMSON: [f64; 11] = [
        0.500000000,
        1.732050808,
        3.674234614,
        6.474691495,
        9.985281374,
        14.452977414,
        19.675287861,
        25.759986531,
        32.716949460,
        40.596450508,
        49.165253058,
    ];

    #[test]
    fn reaches_the_thomson_minima_for_two_to_twelve_points() {
        let device = Device::flex();
        for (n, expected) in (2..=12).zip(THOMSON) {
            let solution = SphereConfig::new(n, 3)
                .with_restarts(6)
                .solve(&device)
                .unwrap();
            // The table has 9 decimals.
            assert!(
                (solution.energy - expected).abs() <= 1e-9 * expected.max(1.0) + 5e-10,
                "N = {n}: {} vs {expected}",
                solution.energy
            );
            assert!(solution.hits >= 1 && solution.hits <= 6);
            for row in solution.points.chunks(3) {
                assert!((dot(row, row) - 1.0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn tammes_angles_of_the_octahedron_and_icosahedron() {
        let device = Device::flex();
        for (n, angle) in [(6, 90.0), (12, 63.4349488)] {
            let solution = SphereConfig::new(n, 3)
                .with_restarts(4)
                .solve(&device)
                .unwrap();
            let min = solution.min_angle_deg.unwrap();
            assert!((min - angle).abs() < 1e-6, "N = {n}: {min} vs {angle}");
        }
    }

    #[test]
    fn simplex_and_orthonormal_closed_forms_in_high_dimension() {
        let device = Device::flex();
        // N = D + 1 = 10: the regular simplex, log energy -17.966423165, s = 2 energy 20.25.
        for (s, expected) in [(0.0, -17.966423165), (2.0, 20.25)] {
            let solution = SphereConfig::new(10, 9)
                .with_s(s)
                .with_restarts(2)
                .solve(&device)
                .unwrap();
            assert!(
                (solution.energy - expected).abs() < 1e-8,
                "s = {s}: {}",
                solution.energy
            );
        }
        // Half-space with N = D = 10: an orthonormal set, s = 2 energy 92.5, lines at 90 deg.
        let solution = SphereConfig::new(10, 10)
            .with_s(2.0)
            .with_half_space(true)
            .with_restarts(2)
            .solve(&device)
            .unwrap();
        assert!((solution.energy - 92.5).abs() < 1e-8, "{}", solution.energy);
        assert!((solution.min_angle_deg.unwrap() - 90.0).abs() < 1e-5);
    }

    #[test]
    fn gradient_is_tangent_to_the_sphere() {
        let device = Device::flex();
        let config = SphereConfig::new(7, 4)
            .with_distance(Distance::Angular)
            .with_s(1.5);
        let points = random_sphere_points(7, 4, 3);
        let tensor = Tensor::<2>::from_data(
            TensorData::new(points.clone(), [7, 4]),
            (&device, DType::F64),
        );
        let energy = config.energy_config().init();
        let (_, grad) = energy.value_and_grad(tensor);
        let grad: Vec<f64> = grad.into_data().iter::<f64>().collect();
        let scale = max_abs(&grad);
        assert!(scale > 1e-3);
        for (x, g) in points.chunks(4).zip(grad.chunks(4)) {
            assert!(dot(x, g).abs() < 1e-12 * scale);
        }
    }

    #[test]
    fn rejects_impossible_problems() {
        let device = Device::flex();
        for (config, field) in [
            (SphereConfig::new(1, 3), "points"),
            (SphereConfig::new(4, 1), "dim"),
            (SphereConfig::new(4, 3).with_restarts(0), "restarts"),
            (SphereConfig::new(4, 3).with_s(-1.0), "s"),
        ] {
            match config.solve(&device) {
                Err(MheError::InvalidConfig { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: expected an error, got {other:?}"),
            }
        }
    }
}
