//! The choices an energy is configured with (distance, log convention, reduction over pairs)
//! and the range check shared by every configuration.

use burn::config::Config;

use crate::error::MheError;

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
