//! Configuration of one hyperspherical energy.

use burn::config::Config;

use crate::error::MheError;
use crate::projection::ProjectionConfig;

/// How the distance between two neurons on the sphere is measured.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Distance {
    /// Chord length `d = ||u_i - u_j||`, through `d^2 = 2 - 2 cos`.
    Euclidean,
    /// Normalized geodesic angle `t = acos(cos) / pi + angle_eps`, in `(0, 1]`.
    Angular,
}

/// Which constant factor the log energy (`s = 0`) carries.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Convention {
    /// The released TensorFlow code: `f = -log(d^2) = 2 log(1/d)` for Euclidean `s = 0`.
    Official,
    /// The paper: `f = log(1/d)` for Euclidean `s = 0`. Identical to `Official` otherwise.
    Paper,
}

/// How the pair energies of a layer are combined.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum PairReduction {
    /// Mean over unordered pairs (the released code; independent of the layer width).
    MeanOverPairs,
    /// Sum over unordered pairs (the physics convention of the Thomson problem).
    SumOverPairs,
}

/// `mean` and `sum` on a command line (burn's `Config` derive keeps `clap`'s variant
/// attributes out, so the names are given here).
#[cfg(feature = "clap")]
impl clap::ValueEnum for PairReduction {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::MeanOverPairs, Self::SumOverPairs]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            Self::MeanOverPairs => ("mean", "Mean over unordered pairs (the released code)"),
            Self::SumOverPairs => ("sum", "Sum over unordered pairs (the Thomson problem's)"),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

/// The default [`EnergyConfig::memory_budget_mib`].
pub const DEFAULT_MEMORY_BUDGET_MIB: f64 = 256.0;

/// One hyperspherical energy: distance, power, half-space, numerical epsilons, conventions.
///
/// The defaults are the official ones: Euclidean distance, `s = 2`, full space, `eps = 1e-4`,
/// `angle_eps = 1e-4`, the official log convention and the mean over pairs.
///
/// ```
/// use burn_mhe::{Distance, EnergyConfig};
///
/// let config = EnergyConfig::new().with_distance(Distance::Angular).with_s(1.0);
/// assert!(config.validate().is_ok());
/// assert!(EnergyConfig::new().with_s(-1.0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct EnergyConfig {
    /// Euclidean (chord) or angular distance.
    #[config(default = "Distance::Euclidean")]
    pub distance: Distance,
    /// Power `s >= 0` of the Riesz kernel `f = d^-s`; `0` selects the log energy.
    #[config(default = 2.0)]
    pub s: f64,
    /// Half-space MHE: the energy of the `2N` points `[W; -W]`.
    #[config(default = false)]
    pub half_space: bool,
    /// Added to `||w||^2` inside the normalizing square root: `u = w / sqrt(||w||^2 + eps)`.
    #[config(default = 1e-4)]
    pub eps: f64,
    /// Added to `theta / pi` in the angular energy.
    #[config(default = 1e-4)]
    pub angle_eps: f64,
    /// Constant factor of the Euclidean log energy.
    #[config(default = "Convention::Official")]
    pub convention: Convention,
    /// Mean or sum over pairs.
    #[config(default = "PairReduction::MeanOverPairs")]
    pub reduction: PairReduction,
    /// Memory for the `N x N` intermediates, in MiB. Layers whose pairwise matrices do not fit
    /// are processed in blocks of rows of the upper triangle, with the same result.
    #[config(default = "DEFAULT_MEMORY_BUDGET_MIB")]
    pub memory_budget_mib: f64,
    /// Compressive MHE: the mean energy of random projections of the neurons, new at every
    /// call (`None`: the neurons themselves).
    #[config(default = "None")]
    pub projection: Option<ProjectionConfig>,
}

impl EnergyConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> crate::Result<()> {
        non_negative("s", self.s)?;
        non_negative("eps", self.eps)?;
        non_negative("angle_eps", self.angle_eps)?;
        if let Some(projection) = &self.projection {
            if projection.dims == 0 || projection.count == 0 {
                return Err(MheError::InvalidConfig {
                    field: "projection",
                    reason: format!("needs dims and count of at least 1, got {projection:?}"),
                });
            }
            non_negative("projection.inner_lr", projection.inner_lr)?;
        }
        if self.memory_budget_mib.is_finite() && self.memory_budget_mib > 0.0 {
            Ok(())
        } else {
            Err(MheError::InvalidConfig {
                field: "memory_budget_mib",
                reason: format!(
                    "must be a finite number > 0, got {}",
                    self.memory_budget_mib
                ),
            })
        }
    }
}

/// Rejects NaN, infinite and negative values of a field that must be a finite `x >= 0`.
pub(crate) fn non_negative(field: &'static str, value: f64) -> crate::Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(MheError::InvalidConfig {
            field,
            reason: format!("must be a finite number >= 0, got {value}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_official_ones() {
        let config = EnergyConfig::new();
        assert_eq!(config.distance, Distance::Euclidean);
        assert_eq!(config.s, 2.0);
        assert!(!config.half_space);
        assert_eq!(config.eps, 1e-4);
        assert_eq!(config.angle_eps, 1e-4);
        assert_eq!(config.convention, Convention::Official);
        assert_eq!(config.reduction, PairReduction::MeanOverPairs);
    }

    #[test]
    fn rejects_out_of_range_fields() {
        for (config, field) in [
            (EnergyConfig::new().with_s(-0.5), "s"),
            (EnergyConfig::new().with_s(f64::NAN), "s"),
            (EnergyConfig::new().with_eps(-1e-4), "eps"),
            (
                EnergyConfig::new().with_angle_eps(f64::INFINITY),
                "angle_eps",
            ),
        ] {
            match config.validate() {
                Err(MheError::InvalidConfig { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected an error on {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn round_trips_through_json() {
        let config = EnergyConfig::new()
            .with_distance(Distance::Angular)
            .with_half_space(true)
            .with_s(0.5);
        let json = serde_json::to_string(&config).unwrap();
        let back: EnergyConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
    }
}
