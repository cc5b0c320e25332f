//! The six energies of the released code and its loss weights, and the released setup of the
//! uniformity family's objectives: the one table that the regularizer's defaults, the
//! experiments, the CLI and the tests read.

use crate::config::Distance;
use crate::energy::EnergyConfig;
use crate::objective::Objective;

/// One energy of the released code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfficialVariant {
    /// Its name in the released code (`'0'`, `'1'`, `'2'`, `'a0'`, `'a1'`, `'a2'`).
    pub name: &'static str,
    /// Its label in tables and on the command line (`s=0` ... `a2`).
    pub label: &'static str,
    /// Euclidean or angular.
    pub distance: Distance,
    /// The power (`0`: logarithmic).
    pub s: f64,
}

/// Every energy of the released code, in its order.
pub const OFFICIAL_VARIANTS: [OfficialVariant; 6] = [
    variant("0", "s=0", Distance::Euclidean, 0.0),
    variant("1", "s=1", Distance::Euclidean, 1.0),
    variant("2", "s=2", Distance::Euclidean, 2.0),
    variant("a0", "a0", Distance::Angular, 0.0),
    variant("a1", "a1", Distance::Angular, 1.0),
    variant("a2", "a2", Distance::Angular, 2.0),
];

const fn variant(
    name: &'static str,
    label: &'static str,
    distance: Distance,
    s: f64,
) -> OfficialVariant {
    OfficialVariant {
        name,
        label,
        distance,
        s,
    }
}

impl OfficialVariant {
    /// Its energy (full space, the official epsilons and conventions).
    pub fn energy(&self) -> EnergyConfig {
        EnergyConfig::new()
            .with_distance(self.distance)
            .with_s(self.s)
    }
}

/// The released code's loss weights `(hidden, output)` for `energy`: 1 and 10, ten times less
/// for the angular energies of power `s > 0` (`a1`, `a2`).
///
/// ```
/// use burn_mhe::{Distance, EnergyConfig, official_loss_weights};
///
/// assert_eq!(official_loss_weights(&EnergyConfig::new()), (1.0, 10.0));
/// let a2 = EnergyConfig::new().with_distance(Distance::Angular).with_s(2.0);
/// assert_eq!(official_loss_weights(&a2), (0.1, 1.0));
/// ```
pub fn official_loss_weights(energy: &EnergyConfig) -> (f64, f64) {
    let damped = energy.distance == Distance::Angular && energy.s > 0.0;
    let scale = if damped { 0.1 } else { 1.0 };
    (scale, 10.0 * scale)
}

/// How the released code of the uniformity family (wy1iu/Sphere-Uniformity, VGG on CIFAR-100)
/// applies one of its objectives: the loss weights of the hidden and output layers and
/// whether hidden layers take the half-space set (output layers never do).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FamilySetup {
    /// Loss weight of each hidden layer's term.
    pub hidden_weight: f64,
    /// Loss weight of the output layer's term.
    pub output_weight: f64,
    /// Hidden layers regularize the neurons and their negations.
    pub hidden_half_space: bool,
}

/// The released code's setup of `objective`: MHS 0.1 and 1, MGD, MHC and r-MHP 0.01 and 0.1, MHP
/// 1 and 10, each with half-space hidden layers (r-MHP, on unnormalized neurons, has no half
/// space). MMA is not in that code (Wang et al. released their own); it gets MHE's weights, 1
/// and 10, in full space, as MHE (`s = 2`) itself. SO and SRIP, the orthogonality controls, are
/// not in that code either: they get the starting weights of Bansal et al.'s schedules (SO
/// 1e-2, SRIP 1e-1, held constant here) on the hidden layers only, as their released code
/// regularizes the conv layers and not the classifier (output weight 0), without half space.
///
/// ```
/// use burn_mhe::{Objective, official_family_setup};
///
/// let mgd = official_family_setup(Objective::Mgd);
/// assert_eq!((mgd.hidden_weight, mgd.output_weight, mgd.hidden_half_space), (0.01, 0.1, true));
/// ```
pub fn official_family_setup(objective: Objective) -> FamilySetup {
    let setup = |hidden_weight, output_weight, hidden_half_space| FamilySetup {
        hidden_weight,
        output_weight,
        hidden_half_space,
    };
    match objective {
        Objective::Mhe | Objective::Mma => setup(1.0, 10.0, false),
        Objective::Mhs => setup(0.1, 1.0, true),
        Objective::Mhp => setup(1.0, 10.0, true),
        Objective::Mgd | Objective::Mhc => setup(0.01, 0.1, true),
        Objective::RMhp => setup(0.01, 0.1, false),
        Objective::So => setup(0.01, 0.0, false),
        Objective::Srip => setup(0.1, 0.0, false),
    }
}
