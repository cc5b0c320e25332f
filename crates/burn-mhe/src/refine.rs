//! CoMHE's learned projections (Lin et al., CVPR 2020): one inner step on the projections before
//! the energy. Angle-preserving: a descent step on `L(P) = ||cos(W P) - cos(W)||_F`, so that the
//! projection keeps the neurons' angles. Adversarial: an ascent step on the projected energy, so
//! that the weights are regularized where the projection makes them look least spread.

use burn::tensor::Tensor;

use crate::energy::HypersphericalEnergy;
use crate::projection::ProjectionKind;
use crate::unit::{normalize, through_normalization};

impl HypersphericalEnergy {
    /// `projections` (`[K, d, pd]`, multiplying the neurons `[N, d]` from the right) after the
    /// configured inner step, each projection by the gradient of its own loss: unchanged for
    /// random projections (or none configured), `P - inner_lr dL/dP` for angle-preserving ones,
    /// `P + inner_lr dE/dP` for adversarial ones. Without autodiff.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - `projections`: `[K, d, pd]`
    /// - output: `[K, d, pd]`
    pub fn refine_projections(&self, neurons: Tensor<2>, projections: Tensor<3>) -> Tensor<3> {
        let Some(config) = &self.config().projection else {
            return projections;
        };
        let neurons = neurons.without_autodiff();
        let projections = projections.without_autodiff();
        let projected = neurons.clone().unsqueeze::<3>().matmul(projections.clone());
        let (grad_projected, sign) = match config.kind {
            ProjectionKind::Random => return projections,
            ProjectionKind::AnglePreserving => {
                (self.angle_distortion_grad(&neurons, projected), -1.0)
            }
            ProjectionKind::Adversarial => (self.batch_value_and_grad(projected).1, 1.0),
        };
        // dL/dP_k = W^T dL/d(W P_k).
        let grad = neurons.transpose().unsqueeze::<3>().matmul(grad_projected);
        projections + grad.mul_scalar(sign * config.inner_lr)
    }

    /// `||cos(V_k) - cos(W)||_F` for every projection `V_k = W P_k` (`[K]`), the cosines taken
    /// with this energy's `eps`. Without autodiff.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - `projections`: `[K, d, pd]`
    /// - output: `[K]`
    pub fn angle_distortion(&self, neurons: Tensor<2>, projections: Tensor<3>) -> Tensor<1> {
        let neurons = neurons.without_autodiff();
        let projected = neurons
            .clone()
            .unsqueeze::<3>()
            .matmul(projections.without_autodiff());
        let (difference, _) = self.cosine_difference(&neurons, projected);
        difference
            .powi_scalar(2)
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .sqrt()
    }

    /// `dL/dV_k` of `L_k = ||cos(V_k) - cos(W)||_F` for the projected neurons `V` (`[K, N, pd]`).
    fn angle_distortion_grad(&self, neurons: &Tensor<2>, projected: Tensor<3>) -> Tensor<3> {
        let (difference, (units, inv_norms)) = self.cosine_difference(neurons, projected);
        let length = difference
            .clone()
            .powi_scalar(2)
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .sqrt()
            .clamp_min(f64::MIN_POSITIVE)
            .reshape([-1, 1, 1]);
        // dL/dC = D / L; C = U U^T with D symmetric: dL/dU = 2 (D / L) U.
        let grad_units = (difference / length).matmul(units.clone()).mul_scalar(2.0);
        through_normalization(units, inv_norms, grad_units)
    }

    /// `cos(V_k) - cos(W)` (`[K, N, N]`) and the unit rows of `V` with their inverse norms.
    fn cosine_difference(
        &self,
        neurons: &Tensor<2>,
        projected: Tensor<3>,
    ) -> (Tensor<3>, (Tensor<3>, Tensor<3>)) {
        let eps = self.config().eps;
        let (original, _) = normalize(neurons.clone(), eps);
        let original = original
            .clone()
            .matmul(original.transpose())
            .unsqueeze::<3>();
        let (units, inv_norms) = normalize(projected, eps);
        let cosines = units.clone().matmul(units.clone().swap_dims(1, 2));
        (cosines - original, (units, inv_norms))
    }
}
