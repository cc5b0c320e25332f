//! The hyperspherical energy of a layer and its closed-form gradient.

use burn::config::Config;
use burn::tensor::{Bool, Device, Tensor};

use crate::config::{Convention, Distance, PairReduction, non_negative};
use crate::error::MheError;
#[cfg(feature = "flex")]
use crate::flex_dense::DenseEnergy;
use crate::kernel::PairKernel;
use crate::memory::{DeviceMemory, MemoryBudget};
use crate::projection::{ProjectionConfig, RandomProjection};
use crate::unit::{normalize, through_normalization, with_gradient};
use crate::validate::check_neurons;

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
    /// Memory for the `N x N` intermediates, in MiB (`None`: a quarter of the device's memory
    /// where it reports it, else its largest buffer, else
    /// [`MemoryBudget::DEFAULT_MIB`](crate::MemoryBudget::DEFAULT_MIB); see
    /// [`MemoryBudget`]). Layers whose pairwise matrices do not fit, or whose single
    /// intermediates exceed half of the device's largest buffer, are processed in blocks of rows
    /// of the upper triangle, with the same result.
    #[config(default = "None")]
    pub memory_budget_mib: Option<f64>,
    /// Compressive MHE: the mean energy of random projections of the neurons, new at every
    /// call (`None`: the neurons themselves).
    #[config(default = "None")]
    pub projection: Option<ProjectionConfig>,
}

impl EnergyConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// As [`try_init`](Self::try_init).
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
        match self.memory_budget_mib {
            Some(mib) if !(mib.is_finite() && mib > 0.0) => Err(MheError::InvalidConfig {
                field: "memory_budget_mib",
                reason: format!("must be a finite number > 0, got {mib}"),
            }),
            _ => Ok(()),
        }
    }

    /// Builds the energy.
    ///
    /// # Panics
    ///
    /// On a configuration [`try_init`](Self::try_init) refuses.
    pub fn init(&self) -> HypersphericalEnergy {
        self.try_init().unwrap_or_else(|error| panic!("{error}"))
    }

    /// Checks the configuration and builds the energy.
    ///
    /// # Errors
    ///
    /// [`MheError::InvalidConfig`] for a negative or
    /// non-finite `s`, `eps`, `angle_eps` or memory budget, or an empty projection.
    pub fn try_init(&self) -> crate::Result<HypersphericalEnergy> {
        self.validate()?;
        Ok(HypersphericalEnergy {
            config: self.clone(),
            kernel: PairKernel::new(self.distance, self.convention, self.s, self.angle_eps),
            projection: self.projection.clone().map(RandomProjection::new),
        })
    }
}

/// The Minimum Hyperspherical Energy of a set of neurons (the rows of a matrix).
///
/// `E = reduce over pairs i < j of f(u_i, u_j)` with `u = w / sqrt(||w||^2 + eps)`, exactly as the
/// released code computes it (see `EnergyConfig` for the variants).
///
/// The gradient is not an autodiff trace through the `N x N` Gram matrix: it is the closed form
/// `dE/dU = A U` with `A_ij = f'(c_ij)` (one `(N x N)(N x d)` product), taken back through the
/// row normalization, and injected into the autodiff graph of the input. Callers on an autodiff
/// device get the exact gradient from `backward()` as from any other tensor operation.
///
/// # Degenerate input
/// [`forward`](Self::forward) never fails and never returns NaN for finite input:
/// - `N = 1` (full space) has no pairs: energy 0, gradient 0.
/// - A zero neuron normalizes to the zero vector (`eps > 0` keeps `0 / sqrt(eps) = 0`): its
///   cosine with every neuron is 0, so it sits at 90 degrees from all of them.
/// - Exact duplicates have `d^2 = 2 eps / (||w||^2 + eps) > 0`. Where rounding drives `2 - 2c`
///   to zero or below, `d^2` is clamped at `1e-6`.
/// - Cosines that round past `+-1` (float32, a large neuron and its negation) are clamped into
///   `[-1, 1]` before `acos`, and `1 - c^2` is floored at `1e-12`
///   in `acos`'s derivative.
///
/// [`try_forward`](Self::try_forward) rejects empty layers, non-finite values, zero and duplicate
/// neurons with a typed error instead.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use burn_mhe::{EnergyConfig, HypersphericalEnergy};
///
/// let device = Device::flex().autodiff();
/// // Three neurons in the plane, 120 degrees apart: the minimum-energy configuration.
/// let h = 3f32.sqrt() / 2.0;
/// let neurons = Tensor::<2>::from_data([[1.0, 0.0], [-0.5, h], [-0.5, -h]], &device).require_grad();
/// let energy = EnergyConfig::new().with_s(1.0).with_eps(0.0).init();
/// let e = energy.forward(neurons.clone());
/// assert!((e.clone().into_scalar::<f32>() - 1.0 / 3f32.sqrt()).abs() < 1e-6);
/// // At the optimum the gradient is normal to the sphere: zero after normalization.
/// let grad = neurons.grad(&e.backward()).unwrap();
/// assert!(grad.abs().max().into_scalar::<f32>() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct HypersphericalEnergy {
    config: EnergyConfig,
    kernel: PairKernel,
    projection: Option<RandomProjection>,
}

impl HypersphericalEnergy {
    /// The configuration this energy was built from.
    pub fn config(&self) -> &EnergyConfig {
        &self.config
    }

    /// Number of unordered pairs among the points of `neurons` rows (`2N` points in half-space).
    pub fn pairs(&self, neurons: usize) -> usize {
        if self.config.half_space {
            neurons * (2 * neurons).saturating_sub(1)
        } else {
            neurons * neurons.saturating_sub(1) / 2
        }
    }

    /// The energy of `neurons` (one neuron a row), differentiable on autodiff devices. Never
    /// fails: degenerate layers (zero, duplicate or antipodal neurons, fewer than two) give
    /// finite values and gradients (see `docs/numerics.md`).
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - output: `[1]`
    pub fn forward(&self, neurons: Tensor<2>) -> Tensor<1> {
        if !neurons.is_tracked() {
            return self.value_and_grad(neurons).0;
        }
        let (value, grad) = self.value_and_grad(neurons.clone().without_autodiff());
        with_gradient(value, neurons, grad)
    }

    /// Like [`forward`](Self::forward), after checking the neurons with
    /// [`check_neurons`](crate::check_neurons).
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - output: `[1]`
    ///
    /// # Errors
    ///
    /// `EmptyLayer`, `NonFinite`, `ZeroNeuron` or `DuplicateNeurons`
    /// ([`MheError`](crate::MheError)) for a layer the energy gives no meaning to.
    pub fn try_forward(&self, neurons: Tensor<2>) -> crate::Result<Tensor<1>> {
        check_neurons(&neurons)?;
        Ok(self.forward(neurons))
    }

    /// The energy (shape `[1]`) and its gradient with respect to `neurons` (same shape), computed
    /// in closed form without autodiff. An autodiff input is treated as a constant.
    ///
    /// With a projection configured (CoMHE), each call draws new projections and, for the
    /// learned kinds, refines them by one inner step
    /// ([`refine_projections`](Self::refine_projections)); the gradient is taken with the
    /// refined projections held fixed.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - output: the energy `[1]` and the gradient `[N, d]`
    pub fn value_and_grad(&self, neurons: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        match &self.projection {
            Some(projection) => {
                let [_, d] = neurons.dims();
                let projections = projection.next(d, &neurons);
                let projections = self.refine_projections(neurons.clone(), projections);
                self.projected_value_and_grad(neurons, projections)
            }
            None => self.direct_value_and_grad(neurons),
        }
    }

    /// The mean energy of the projected neurons `W P_k` over the projections `[K, d, pd]`, and
    /// its gradient with respect to `W`: `mean_k G_k P_k^T`.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[N, d]`
    /// - `projections`: `[K, d, pd]`
    /// - output: the energy `[1]` and the gradient `[N, d]`
    pub fn projected_value_and_grad(
        &self,
        neurons: Tensor<2>,
        projections: Tensor<3>,
    ) -> (Tensor<1>, Tensor<2>) {
        let neurons = neurons.without_autodiff();
        let projections = projections.without_autodiff();
        let [count, d, _] = projections.dims();
        let [n, _] = neurons.dims();
        let projected = neurons.unsqueeze::<3>().matmul(projections.clone());
        let (energies, grads) = self.batch_value_and_grad(projected);
        let grad = grads
            .matmul(projections.swap_dims(1, 2))
            .sum_dim(0)
            .reshape([n, d])
            .div_scalar(count as f64);
        (energies.mean(), grad)
    }

    /// The energy and gradient of the neurons themselves (no projection).
    fn direct_value_and_grad(&self, neurons: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [n, d] = neurons.dims();
        let (value, grad) = self.batch_value_and_grad(neurons.reshape([1, n, d]));
        (value, grad.reshape([n, d]))
    }

    /// The energies of `B` independent layers stacked as `[B, N, d]` (shape `[B]`) and their
    /// gradients (`[B, N, d]`), in closed form without autodiff: one batched Gram matrix and one
    /// batched `(N x N)(N x d)` product for all of them. Layers whose pairwise matrices exceed
    /// the memory budget are processed in square blocks of the upper triangle.
    ///
    /// # Shapes
    ///
    /// - `neurons`: `[B, N, d]`
    /// - output: the energies `[B]` and the gradients `[B, N, d]`
    pub fn batch_value_and_grad(&self, neurons: Tensor<3>) -> (Tensor<1>, Tensor<3>) {
        let neurons = neurons.without_autodiff();
        let [_, n, _] = neurons.dims();
        let pairs = self.pairs(n);
        if pairs == 0 {
            let zero = neurons
                .clone()
                .sum_dims_squeeze::<1, _>(&[1, 2])
                .mul_scalar(0.0);
            return (zero, neurons.zeros_like());
        }
        let scale = match self.config.reduction {
            PairReduction::MeanOverPairs => 1.0 / pairs as f64,
            PairReduction::SumOverPairs => 1.0,
        };

        #[cfg(feature = "flex")]
        if self.path(&neurons) == EnergyPath::Buffers {
            let dense = DenseEnergy {
                kernel: &self.kernel,
                half_space: self.config.half_space,
                eps: self.config.eps,
                scale,
            };
            if let Some(result) = dense.value_and_grad(&neurons) {
                return result;
            }
        }
        // Everything `N x d` is touched as few times as possible: for wide layers those passes,
        // not the `N x N` ones, are what costs beside the two products.
        let (units, inv_norms) = normalize(neurons, self.config.eps);
        // Back through u = w / r: dE/dw = (g - u <u, g>) / r for g = dE/du.
        let row_scale = inv_norms.mul_scalar(scale);
        let block = self.block_rows(&units);
        let (total, grad) = if block >= n {
            self.dense_value_and_grad(units, row_scale)
        } else {
            self.blocked_value_and_grad(units, row_scale, block)
        };
        (total.mul_scalar(scale), grad)
    }

    /// One block holding every pair: `g = A U` and `<u_i, g_i> = sum_j A_ij c_ij`, so the whole
    /// gradient is the single product `diag(row_scale) (A - diag(A o C) 1) U`, built in `N x N`.
    fn dense_value_and_grad(
        &self,
        units: Tensor<3>,
        row_scale: Tensor<3>,
    ) -> (Tensor<1>, Tensor<3>) {
        // One kernel over `N x N` with the radial term folded in; the rows' scale commutes with
        // the product, so it is applied to the smaller of `N x N` and `N x d`.
        #[cfg(feature = "wgpu")]
        if crate::cube_pass::applies(&units.device(), units.dtype()) {
            let [_, n, d] = units.dims();
            let cosines = units.clone().matmul(units.clone().swap_dims(1, 2));
            let (total, coupling) = self.kernel_pass(cosines, true, true, 1.0);
            let grad = if n <= d {
                (coupling * row_scale).matmul(units)
            } else {
                coupling.matmul(units) * row_scale
            };
            return (total, grad);
        }
        let [b, n, _] = units.dims();
        let terms = self.block_terms(units.clone(), units.clone(), true);
        let radial = (terms.coupling.clone() * terms.cosines).sum_dim(2);
        let on_diagonal = Tensor::<3, Bool>::diag_mask([b, n, n], 0, &units.device()).bool_not();
        let coupling = terms
            .coupling
            .clone()
            .mask_where(on_diagonal, terms.coupling - radial);
        (terms.sum, (coupling * row_scale).matmul(units))
    }

    /// Square blocks of the upper triangle, each off-diagonal block serving both of its row
    /// blocks: `g` is accumulated in `N x d`, the radial part removed at the end.
    fn blocked_value_and_grad(
        &self,
        units: Tensor<3>,
        row_scale: Tensor<3>,
        block: usize,
    ) -> (Tensor<1>, Tensor<3>) {
        let (total, grad_units) = self.pair_sums(units.clone(), block);
        (total, through_normalization(units, row_scale, grad_units))
    }

    /// The factor of a sum of pair values over ordered pairs: `1/2` in full space, where each
    /// unordered pair appears twice; 1 in half space, where the ordered pairs `(i, j)` and
    /// `(j, i)` stand for the pair among the neurons and the pair among their negations.
    fn value_factor(&self) -> f64 {
        if self.config.half_space { 1.0 } else { 0.5 }
    }

    /// The energy sum (`[B]`, counted `multiplicity` times) and the coupling of a block of
    /// cosines `[B, R, C]` by one kernel pass (`cube_pass.rs`).
    #[cfg(feature = "wgpu")]
    fn kernel_pass(
        &self,
        cosines: Tensor<3>,
        diagonal: bool,
        fold_radial: bool,
        multiplicity: f64,
    ) -> (Tensor<1>, Tensor<3>) {
        let pass = crate::cube_pass::PairPass {
            kernel: self.kernel,
            half_space: self.config.half_space,
            diagonal,
            fold_radial,
        };
        let (coupling, row_values) = pass.run(cosines);
        let sum = row_values
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(multiplicity * self.value_factor());
        (sum, coupling)
    }

    /// How [`batch_value_and_grad`](Self::batch_value_and_grad) computes the layers `[B, N, d]`
    /// of `neurons`, judged by device, precision, size and memory budget alone: `Buffers` for
    /// float32 layers on `flex` whose `N x N` matrix fits the budget, `Kernel` for float32
    /// layers on a cubecl device (wgpu) whose intermediates fit it. A layer reported
    /// `Buffers` of which a row's squared norm leaves `[2^-100, 2^100]` is computed on the tensor
    /// path instead (`Dense` or `Blocked`, as the budget allows), which this does not look at.
    pub fn path(&self, neurons: &Tensor<3>) -> EnergyPath {
        let [b, n, _] = neurons.dims();
        let budget = self.budget(&neurons.device());
        let pair_matrix_bytes = (4 * n * n) as f64;
        #[cfg(feature = "flex")]
        let on_flex = neurons.dtype() == burn::tensor::DType::F32
            && neurons.device() == burn::tensor::Device::flex();
        #[cfg(not(feature = "flex"))]
        let on_flex = false;
        #[cfg(feature = "wgpu")]
        let on_cube = crate::cube_pass::applies(&neurons.device(), neurons.dtype());
        #[cfg(not(feature = "wgpu"))]
        let on_cube = false;
        if on_flex && pair_matrix_bytes <= budget.bytes {
            EnergyPath::Buffers
        } else if budget.block_rows(b, n, neurons.dtype().size()) >= n {
            if on_cube {
                EnergyPath::Kernel
            } else {
                EnergyPath::Dense
            }
        } else {
            EnergyPath::Blocked
        }
    }

    /// The memory budget on `device`: the configured one, or one that follows the device.
    pub fn budget(&self, device: &Device) -> MemoryBudget {
        MemoryBudget::new(self.config.memory_budget_mib, DeviceMemory::of(device))
    }

    /// Rows per block for the layers `[B, N, d]` of `neurons` on their device
    /// ([`MemoryBudget::block_rows`]): `N` when the whole pair matrix fits.
    pub fn block_rows(&self, neurons: &Tensor<3>) -> usize {
        let [b, n, _] = neurons.dims();
        self.budget(&neurons.device())
            .block_rows(b, n, neurons.dtype().size())
    }

    /// The unscaled energy sum (`[B]`) and `dE/dU` of unit rows `units` (`[B, N, d]`), block by
    /// block over the upper triangle of the pair matrix.
    fn pair_sums(&self, units: Tensor<3>, block: usize) -> (Tensor<1>, Tensor<3>) {
        let [b, n, d] = units.dims();
        let starts: Vec<usize> = (0..n).step_by(block).collect();
        let rows = |start: usize| {
            units
                .clone()
                .slice([0..b, start..(start + block).min(n), 0..d])
        };
        let accumulate = |sum: &mut Option<Tensor<3>>, term: Tensor<3>| {
            *sum = Some(match sum.take() {
                Some(sum) => sum + term,
                None => term,
            });
        };
        let mut grads: Vec<Option<Tensor<3>>> = vec![None; starts.len()];
        let mut total = units
            .clone()
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(0.0);
        for (i, &row_start) in starts.iter().enumerate() {
            let left = rows(row_start);
            for (j, &col_start) in starts.iter().enumerate().skip(i) {
                let right = rows(col_start);
                let terms = self.block_terms(left.clone(), right.clone(), i == j);
                total = total + terms.sum;
                if i != j {
                    let back = terms.coupling.clone().swap_dims(1, 2).matmul(left.clone());
                    accumulate(&mut grads[j], back);
                }
                accumulate(&mut grads[i], terms.coupling.matmul(right));
            }
        }
        let grads = grads
            .into_iter()
            .map(|grad| grad.expect("every row block has its diagonal block"))
            .collect();
        (total, Tensor::cat(grads, 1))
    }

    /// The energy sum (`[B]`) of the pairs between two blocks of rows and their coupling matrix
    /// `A` (`dE/dU_left = A U_right`, `dE/dU_right = A^T U_left`). A diagonal block counts its
    /// pairs once; an off-diagonal block stands for itself and its transpose.
    fn block_terms(&self, left: Tensor<3>, right: Tensor<3>, diagonal: bool) -> BlockTerms {
        let [b, rows, _] = left.dims();
        let cols = right.dims()[1];
        let cosines = left.matmul(right.swap_dims(1, 2));
        // Each ordered pair of the full matrix appears once in the upper triangle of blocks.
        let multiplicity = if diagonal { 1.0 } else { 2.0 };
        #[cfg(feature = "wgpu")]
        if crate::cube_pass::applies(&cosines.device(), cosines.dtype()) {
            let (sum, coupling) = self.kernel_pass(cosines.clone(), diagonal, false, multiplicity);
            return BlockTerms {
                sum,
                coupling,
                cosines,
            };
        }
        let (mut values, mut slopes) = self.kernel.eval(cosines.clone());
        if diagonal {
            let mask =
                Tensor::<3, Bool>::diag_mask([b, rows, cols], 0, &cosines.device()).bool_not();
            values = values.mask_fill(mask.clone(), 0.0);
            slopes = slopes.mask_fill(mask, 0.0);
        }
        // Full space: E = 1/2 sum_{i != j} f(c_ij), dE/dU = F' U.
        // Half space adds the pairs (u_i, -u_j) for all i, j (the diagonal too):
        // E = sum_{i != j} f(c_ij) + sum_{i,j} f(-c_ij), dE/dU = 2 (F'(c) - F'(-c)) U.
        // (The full-space 1/2 is applied to the block's sum, not to every value.)
        let (values, coupling) = if self.config.half_space {
            let (mirror_values, mirror_slopes) = self.kernel.eval(cosines.clone().neg());
            (
                values + mirror_values,
                (slopes - mirror_slopes).mul_scalar(2.0),
            )
        } else {
            (values, slopes)
        };
        // Rows first, then their sums: float32 rounding grows with the length of each sum.
        let sum = values
            .sum_dim(2)
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(multiplicity * self.value_factor());
        BlockTerms {
            sum,
            coupling,
            cosines,
        }
    }
}

/// How the energy of a layer is computed (see [`HypersphericalEnergy::path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergyPath {
    /// On the `flex` backend's buffers: two gemm products and one pass over an `N x N` matrix.
    Buffers,
    /// Tensor operations on the whole `N x N` matrix at once.
    Dense,
    /// On a cubecl device (wgpu), float32: two matrix products and one CubeCL kernel
    /// over the whole `N x N` matrix (`cube_pass.rs`).
    Kernel,
    /// Tensor operations on square blocks of the upper triangle, within the memory budget.
    Blocked,
}

/// What one block of pairs contributes.
struct BlockTerms {
    /// The energy sum of its pairs (`[B]`).
    sum: Tensor<1>,
    /// `A` with `dE/dU_left = A U_right` (and `dE/dU_right = A^T U_left` off the diagonal).
    coupling: Tensor<3>,
    /// The cosines between the two blocks' rows.
    cosines: Tensor<3>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_are_the_official_ones() {
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
