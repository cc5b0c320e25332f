//! What a layer's penalty measures: MHE or another objective of the hyperspherical-uniformity
//! family, each in its own file, all behind [`Objective`] and [`LayerObjective`].
//!
//! Adding an objective: a variant of [`Objective`] (with its row in [`Objective::ALL`]), its
//! file, and its branch in [`LayerObjective::value_and_grad`]. The CLI's `--objective`, the
//! regularizer and the tests' lists read the enum.

mod mgd;
mod mhs;
mod mma;
mod pole;
mod rmhp;
mod so;
mod srip;

use burn::config::Config;
use burn::tensor::Tensor;

use crate::energy::EnergyConfig;
use crate::energy::HypersphericalEnergy;
use crate::error::MheError;
use crate::unit::{normalize, through_normalization, with_gradient};

use pole::PoleKind;

/// A hyperspherical-uniformity objective of a layer's neurons (rows), to minimize, or one of
/// the orthogonality regularizers that serve as its controls (SO, SRIP).
///
/// Every objective but r-MHP, SO and SRIP normalizes the neurons first, `u = w / sqrt(||w||^2 + eps)` with
/// the energy configuration's `eps`, and with its `half_space` takes the neurons and their
/// negations as the points (`2N` of them), as the released code does on hidden layers; the
/// other fields of [`EnergyConfig`] shape MHE only.
/// See `docs/objectives.md` for the formulas and their sources.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Objective {
    /// Minimum hyperspherical energy (Liu et al. 2018): [`EnergyConfig`] in full.
    Mhe,
    /// Maximum of the minimal angles (Wang et al. 2020): `-mean_i min_j theta_ij`.
    Mma,
    /// Maximum hyperspherical separation (Liu et al. 2021): `-min_{i<j} d_ij^2`.
    Mhs,
    /// Maximum Gaussian potential determinant (Liu et al. 2021): `-log det(K + 1e-6 I)`,
    /// `K_ij = exp(-d_ij^2)`.
    Mgd,
    /// Minimum hyperspherical potential against a learnable pole (Liu et al. 2021):
    /// `mean_i 1 / ||p - u_i||^2`, the pole ascending.
    Mhp,
    /// Minimum hyperspherical covering against a learnable pole (Liu et al. 2021): the soft
    /// minimum of `||p - u_i||^2` (`gamma = 10`), the pole ascending.
    Mhc,
    /// Relaxed MHP on the unnormalized neurons (Liu et al. 2021): `||sum_i w_i||`.
    RMhp,
    /// Soft orthogonality (Bansal et al. 2018) on the raw weight: `||W W^T - I||_F^2` for
    /// `N <= d` rows, else `||W^T W - I||_F^2`.
    So,
    /// Spectral restricted isometry (Bansal et al. 2018) on the raw weight: the largest
    /// singular value of SO's residual, by power iteration run to convergence from a fixed
    /// start.
    Srip,
}

impl Objective {
    /// MGD's diagonal jitter: `K + jitter I` is factored (raised tenfold until it factors).
    pub const MGD_JITTER: f64 = mgd::MGD_JITTER;

    /// MHC's sharpness `gamma` in `-log mean exp(-gamma d^2) / gamma`.
    pub const MHC_GAMMA: f64 = pole::MHC_GAMMA;

    /// Every objective, MHE first, the orthogonality regularizers last.
    pub const ALL: [Objective; 9] = [
        Objective::Mhe,
        Objective::Mma,
        Objective::Mhs,
        Objective::Mgd,
        Objective::Mhp,
        Objective::Mhc,
        Objective::RMhp,
        Objective::So,
        Objective::Srip,
    ];

    /// The uniformity family's objectives but MHE (MMA, MHS, MGD, MHP, MHC, r-MHP), in the
    /// order of [`ALL`](Self::ALL).
    pub fn family() -> impl Iterator<Item = Objective> {
        Self::others().filter(|objective| !objective.is_orthogonality())
    }

    /// Every objective but MHE: the family's, then SO and SRIP.
    pub fn others() -> impl Iterator<Item = Objective> {
        Self::ALL
            .into_iter()
            .filter(|objective| *objective != Objective::Mhe)
    }

    /// Whether it is an orthogonality regularizer (SO, SRIP) rather than a uniformity
    /// objective: it takes the raw weight, norms included, and has no half space.
    pub fn is_orthogonality(self) -> bool {
        matches!(self, Objective::So | Objective::Srip)
    }

    /// Its name in tables and on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Objective::Mhe => "mhe",
            Objective::Mma => "mma",
            Objective::Mhs => "mhs",
            Objective::Mgd => "mgd",
            Objective::Mhp => "mhp",
            Objective::Mhc => "mhc",
            Objective::RMhp => "r-mhp",
            Objective::So => "so",
            Objective::Srip => "srip",
        }
    }

    /// Whether it learns a pole per layer (MHP, MHC).
    pub fn has_pole(self) -> bool {
        matches!(self, Objective::Mhp | Objective::Mhc)
    }

    /// The objective of one layer with `energy`.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use burn_mhe::{EnergyConfig, Objective};
    ///
    /// // Three neurons 120 degrees apart in the plane: each one's nearest angle is 120 degrees.
    /// let h = 3f64.sqrt() / 2.0;
    /// let neurons = Tensor::<2>::from_data([[1.0, 0.0], [-0.5, h], [-0.5, -h]], &Device::flex());
    /// let mma = Objective::Mma.init(&EnergyConfig::new().with_eps(0.0));
    /// let loss = mma.forward(neurons, None).unwrap().into_scalar::<f64>();
    /// assert!((loss + 2.0 * std::f64::consts::PI / 3.0).abs() < 1e-5);
    /// ```
    ///
    /// # Panics
    ///
    /// On an `energy` that [`EnergyConfig::try_init`] refuses.
    pub fn init(self, energy: &EnergyConfig) -> LayerObjective {
        self.try_init(energy)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Checks `energy` and builds this objective with it.
    ///
    /// # Errors
    ///
    /// [`MheError::InvalidConfig`] for an invalid `energy`.
    pub fn try_init(self, energy: &EnergyConfig) -> crate::Result<LayerObjective> {
        Ok(LayerObjective {
            objective: self,
            energy: energy.try_init()?,
        })
    }
}

/// One layer's objective, built by [`Objective::init`].
#[derive(Debug, Clone)]
pub struct LayerObjective {
    objective: Objective,
    energy: HypersphericalEnergy,
}

/// An objective's value and gradients.
#[derive(Debug, Clone)]
pub struct ObjectiveGradients {
    /// The loss, shape `[1]`.
    pub value: Tensor<1>,
    /// Its gradient with respect to the neurons, `[N, d]`.
    pub neurons: Tensor<2>,
    /// Its gradient with respect to the pole, `[d]` (MHP and MHC only).
    pub pole: Option<Tensor<1>>,
}

impl LayerObjective {
    /// Which objective this is.
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// The energy configuration it was built with.
    pub fn energy(&self) -> &HypersphericalEnergy {
        &self.energy
    }

    /// The loss of `neurons` (one neuron a row), differentiable on autodiff devices; for MHP and
    /// MHC against `pole`, whose gradient is sign-flipped so that an optimizer descending the
    /// total loss moves the pole up the objective (ascent) while the neurons go down.
    ///
    /// Never NaN for finite input: degenerate layers (zero, duplicate or antipodal neurons,
    /// fewer than two) give finite values and gradients.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - `pole`: `[d]`
    /// - output: `[1]`
    ///
    /// # Errors
    ///
    /// [`MheError::InvalidConfig`] when a pole objective gets no pole, or a pole of another
    /// dimension than the neurons.
    pub fn forward(&self, neurons: Tensor<2>, pole: Option<Tensor<1>>) -> crate::Result<Tensor<1>> {
        let grads = self.value_and_grad(
            neurons.clone().without_autodiff(),
            pole.clone().map(Tensor::without_autodiff),
        )?;
        let value = with_gradient(grads.value, neurons, grads.neurons);
        Ok(match (pole, grads.pole) {
            (Some(pole), Some(grad)) => with_gradient(value, pole, grad.neg()),
            _ => value,
        })
    }

    /// The loss and its gradients in closed form, without autodiff (autodiff inputs are
    /// treated as constants). The pole gradient is the true one (not sign-flipped).
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - `pole`: `[d]`
    ///
    /// # Errors
    ///
    /// As [`forward`](Self::forward).
    pub fn value_and_grad(
        &self,
        neurons: Tensor<2>,
        pole: Option<Tensor<1>>,
    ) -> crate::Result<ObjectiveGradients> {
        let neurons = neurons.without_autodiff();
        let [n, d] = neurons.dims();
        let pole = self.checked_pole(pole, d)?;
        let eps = self.energy.config().eps;
        let no_pole = |(value, grad): (Tensor<1>, Tensor<2>)| ObjectiveGradients {
            value,
            neurons: grad,
            pole: None,
        };
        let half_space = self.energy.config().half_space;
        let on_units = |loss: fn(Tensor<2>) -> (Tensor<1>, Tensor<2>)| {
            let (units, inv_norms) = normalize(neurons.clone(), eps);
            let (value, grad_units, ()) = on_points(half_space, units.clone(), |points| {
                let (value, grad) = loss(points);
                (value, grad, ())
            });
            no_pole((value, through_normalization(units, inv_norms, grad_units)))
        };
        let pairless = n < 2 && matches!(self.objective, Objective::Mma | Objective::Mhs);
        if n == 0 || pairless {
            let zero = neurons.zeros_like();
            let value = zero.clone().sum();
            return Ok(ObjectiveGradients {
                value,
                pole: pole.map(|pole| pole.zeros_like()),
                neurons: zero,
            });
        }
        let on_pole = |kind: PoleKind, pole: Tensor<1>| {
            let (units, inv_norms) = normalize(neurons.clone(), eps);
            let (pole_unit, pole_inv_norm) = normalize(pole.reshape([1, d]), eps);
            let (value, grad_units, grad_pole) = on_points(half_space, units.clone(), |points| {
                pole::value_and_grad(kind, points, pole_unit.clone())
            });
            let grad_pole = through_normalization(pole_unit, pole_inv_norm, grad_pole);
            ObjectiveGradients {
                value,
                neurons: through_normalization(units, inv_norms, grad_units),
                pole: Some(grad_pole.reshape([d])),
            }
        };
        Ok(match (self.objective, pole) {
            (Objective::Mhe, _) => no_pole(self.energy.value_and_grad(neurons)),
            (Objective::Mma, _) => on_units(mma::value_and_grad),
            (Objective::Mhs, _) => on_units(mhs::value_and_grad),
            (Objective::Mgd, _) => on_units(mgd::value_and_grad),
            (Objective::RMhp, _) => no_pole(rmhp::value_and_grad(neurons)),
            (Objective::So, _) => no_pole(so::value_and_grad(neurons)),
            (Objective::Srip, _) => no_pole(srip::value_and_grad(neurons)),
            (Objective::Mhp, Some(pole)) => on_pole(PoleKind::Potential, pole),
            (Objective::Mhc, Some(pole)) => on_pole(PoleKind::Covering, pole),
            (Objective::Mhp | Objective::Mhc, None) => {
                return Err(MheError::InvalidConfig {
                    field: "pole",
                    reason: format!("{} needs a pole of dimension {d}", self.objective.label()),
                });
            }
        })
    }

    /// The pole of a pole objective, checked against the neurons' dimension `d`; `None` for
    /// the others.
    fn checked_pole(&self, pole: Option<Tensor<1>>, d: usize) -> crate::Result<Option<Tensor<1>>> {
        match pole {
            Some(pole) if self.objective.has_pole() => {
                if pole.dims()[0] == d {
                    Ok(Some(pole.without_autodiff()))
                } else {
                    Err(MheError::InvalidConfig {
                        field: "pole",
                        reason: format!(
                            "has dimension {} where the neurons have {d}",
                            pole.dims()[0]
                        ),
                    })
                }
            }
            _ => Ok(None),
        }
    }
}

/// `loss` of the unit rows, or of the rows and their negations in half space (`2N` points), with
/// the gradient with respect to the rows (`g_i - g_{N+i}` in half space) and what else the loss
/// returns.
fn on_points<T>(
    half_space: bool,
    units: Tensor<2>,
    loss: impl FnOnce(Tensor<2>) -> (Tensor<1>, Tensor<2>, T),
) -> (Tensor<1>, Tensor<2>, T) {
    if !half_space {
        return loss(units);
    }
    let [n, d] = units.dims();
    let (value, grad, other) = loss(Tensor::cat(vec![units.clone(), units.neg()], 0));
    let grad = grad.clone().slice([0..n, 0..d]) - grad.slice([n..2 * n, 0..d]);
    (value, grad, other)
}
