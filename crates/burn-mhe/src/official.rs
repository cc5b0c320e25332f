//! The six energies of the released code and its loss weights: the one table that the
//! regularizer's defaults, the experiments, the CLI's cross-check and the tests read.

use crate::config::{Distance, EnergyConfig};

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
