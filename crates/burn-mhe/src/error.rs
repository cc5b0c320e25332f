//! Typed errors for everything that can be wrong with an energy's input or configuration.

use thiserror::Error;

/// What can be wrong with a configuration or with the neurons handed to an energy.
///
/// The infallible entry points ([`HypersphericalEnergy::forward`](crate::HypersphericalEnergy::forward),
/// the regularizer's `penalty`) never return these: they stay finite on degenerate layers so that
/// training cannot crash. The `try_*` entry points and the CLI check their input and report
/// problems with this type.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MheError {
    /// A configuration value is out of its range.
    #[error("invalid configuration: `{field}` {reason}")]
    InvalidConfig {
        /// The configuration field at fault.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// The layer has no neurons or neurons of dimension zero.
    #[error("empty layer: {neurons} neurons of dimension {dim}")]
    EmptyLayer {
        /// Number of neurons (rows).
        neurons: usize,
        /// Dimension of each neuron (columns).
        dim: usize,
    },
    /// A weight tensor has too few dimensions to hold neurons.
    #[error("a weight of rank {rank} cannot hold neurons: rank 2 or more is needed")]
    RankTooLow {
        /// The rank found.
        rank: usize,
    },
    /// The default output layer, the last `Linear` in field order, feeds another `Linear`
    /// while a different `Linear` feeds none: the model probably declares its head first.
    #[error(
        "the output layer is taken to be `{chosen}` (the last Linear in field order), but its \
         outputs feed another Linear while `{likely}` feeds none: declare the classifier last \
         or name it with OutputSelector::Path"
    )]
    AmbiguousOutput {
        /// The layer the default rule picks.
        chosen: String,
        /// The layer whose outputs feed no other `Linear`.
        likely: String,
    },
    /// A layer-selection rule names a path that is not in the model.
    #[error("no layer of the model matches the rule for `{path}`")]
    UnmatchedRule {
        /// The path of the rule.
        path: String,
    },
    /// A neuron holds a NaN or an infinite value.
    #[error("neuron {index} holds a non-finite value")]
    NonFinite {
        /// Row of the offending neuron.
        index: usize,
    },
    /// A neuron is exactly zero, so it has no direction on the sphere.
    #[error("neuron {index} is zero and has no direction on the sphere")]
    ZeroNeuron {
        /// Row of the zero neuron.
        index: usize,
    },
    /// Two neurons point in the same direction.
    #[error("neurons {first} and {second} point in the same direction")]
    DuplicateNeurons {
        /// Row of the first neuron.
        first: usize,
        /// Row of the second neuron.
        second: usize,
    },
}

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, MheError>;
