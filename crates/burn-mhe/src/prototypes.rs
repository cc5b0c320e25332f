//! Hyperspherical prototype networks (Mettes et al., NeurIPS 2019): class prototypes placed
//! uniformly on the sphere before training (for example by [`SphereConfig`]), then fixed; a
//! network learns to map each input close to its class's prototype.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::sphere::{SphereConfig, SphereSolution};
use crate::unit::normalize;
use crate::validate::check_neurons;

/// A classifier head with fixed unit class prototypes `p_1..p_K` (rows, `[K, d]`).
///
/// Scores are the cosines `cos(z, p_k)` of the features `z`; the loss is Mettes et al.'s
/// `mean over the batch of (1 - cos(z, p_y))^2`; the prediction is the nearest prototype. The
/// prototypes are a constant of the module: they take no gradient, and a model that holds the
/// head gets them from its constructor again when a checkpoint is loaded.
///
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use burn_mhe::{PrototypeHead, SphereConfig};
///
/// let device = Device::flex().autodiff();
/// // Four classes in 3-D: the prototypes of least energy form a regular tetrahedron.
/// let head = PrototypeHead::solved(&SphereConfig::new(4, 3).with_restarts(4), &device).unwrap();
/// let features = Tensor::<2>::from_data([[0.2, -0.1, 0.9], [1.0, 0.5, -0.3]], &device).require_grad();
/// let targets = Tensor::<1, Int>::from_data([2, 0], &device);
/// let loss = head.loss(features.clone(), targets);
/// assert!(loss.clone().into_scalar::<f32>() >= 0.0);
/// assert!(features.grad(&loss.backward()).is_some());
/// ```
#[derive(Module, Debug)]
pub struct PrototypeHead {
    prototypes: Tensor<2>,
}

impl PrototypeHead {
    /// Added to `||z||^2` when the features are normalized: a zero feature vector has cosine 0
    /// with every prototype and a finite gradient.
    pub const FEATURE_EPS: f64 = 1e-12;

    /// A head with the rows of `prototypes` (`[K, d]`, normalized here) as class prototypes.
    ///
    /// # Errors
    ///
    /// `EmptyLayer`, `NonFinite`, `ZeroNeuron` or `DuplicateNeurons`
    /// ([`MheError`](crate::MheError)): prototypes must be distinct directions.
    pub fn new(prototypes: Tensor<2>) -> crate::Result<Self> {
        check_neurons(&prototypes)?;
        let (units, _) = normalize(prototypes, 0.0);
        Ok(Self { prototypes: units })
    }

    /// A head whose prototypes are the points of `solution` (`dim` coordinates a point, as
    /// [`SphereConfig::solve`] returns them), on `device`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn from_solution(
        solution: &SphereSolution,
        dim: usize,
        device: &Device,
    ) -> crate::Result<Self> {
        let rows = solution.points.len() / dim.max(1);
        let values: Vec<f32> = solution.points.iter().map(|&x| x as f32).collect();
        Self::new(Tensor::from_data(
            TensorData::new(values, [rows, dim]),
            device,
        ))
    }

    /// Solves `config` (classes as `points`, feature dimension as `dim`) and builds the head.
    ///
    /// # Errors
    ///
    /// [`MheError::InvalidConfig`](crate::MheError::InvalidConfig) for a bad sphere
    /// configuration.
    pub fn solved(config: &SphereConfig, device: &Device) -> crate::Result<Self> {
        let solution = config.solve(&device.clone().without_autodiff())?;
        Self::from_solution(&solution, config.dim, device)
    }

    /// The unit prototypes, `[K, d]`.
    pub fn prototypes(&self) -> Tensor<2> {
        self.prototypes.clone()
    }

    /// `cos(z_b, p_k)` for every feature row `z_b` and prototype `p_k`.
    ///
    /// # Shapes
    ///
    /// - `features`: `[B, d]`
    /// - output: `[B, K]`
    pub fn cosines(&self, features: Tensor<2>) -> Tensor<2> {
        let (units, _) = normalize(features, Self::FEATURE_EPS);
        units.matmul(self.prototypes.clone().transpose())
    }

    /// `mean_b (1 - cos(z_b, p_{y_b}))^2`.
    ///
    /// # Shapes
    ///
    /// - `features`: `[B, d]`
    /// - `targets`: `[B]` class indices
    /// - output: `[1]`
    pub fn loss(&self, features: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.loss_of_cosines(self.cosines(features), targets)
    }

    /// [`loss`](Self::loss) from cosines already computed by [`cosines`](Self::cosines).
    ///
    /// # Shapes
    ///
    /// - `cosines`: `[B, K]`
    /// - `targets`: `[B]`
    /// - output: `[1]`
    pub fn loss_of_cosines(&self, cosines: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        cosines
            .gather(1, targets.unsqueeze_dim(1))
            .neg()
            .add_scalar(1.0)
            .powi_scalar(2)
            .mean()
    }

    /// The nearest prototype of every feature row.
    ///
    /// # Shapes
    ///
    /// - `features`: `[B, d]`
    /// - output: `[B]`
    pub fn predict(&self, features: Tensor<2>) -> Tensor<1, Int> {
        self.cosines(features).argmax(1).squeeze_dim(1)
    }
}
