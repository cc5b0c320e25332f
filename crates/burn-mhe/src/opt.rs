//! Orthogonal over-parameterization (OPT, Liu et al., CVPR 2021) as a burn reparameterization:
//! a layer's weight becomes `W = R W0`, `W0` its initial (random) weight, frozen, and `R` a
//! learned orthogonal matrix. `R` rotates every neuron the same way, so the angles between
//! neurons, and with them the hyperspherical energy, stay those of the initialization: the
//! layer is as uniform as its random start throughout training.
//!
//! `R = exp(A - A^T)` for a learned `A` (zero at the start: `R = I`), the exponential map of a
//! skew-symmetric matrix, exactly orthogonal. The paper's Cayley transform `(I + S)(I - S)^-1`
//! needs an inverse or a linear solve, which burn 0.22.1 does not offer on tensors; the
//! exponential map needs only products (scaling and squaring of a degree-12 Taylor polynomial),
//! agrees with `cayley(S / 2)` to second order in `S` and has burn's autodiff for its gradient.

use burn::module::{Module, Param, Reparameterization, Reparameterizer};
use burn::tensor::{Bool, Tensor};

/// Degree of the Taylor polynomial of `exp` after scaling to a norm of at most `1/2`: its
/// truncation error is below `0.5^13 / 13! < 2e-14`.
const TAYLOR_DEGREE: usize = 12;

/// The orthogonal factor `R = exp(A - A^T)` of one weight (`A`: `[d, d]`).
///
/// A rank-2 weight is a burn `Linear` weight `[d_in, d_out]` whose columns are neurons:
/// `W = R W0`. A weight of rank 3 or more is a convolution `[out, in, k...]` whose rows,
/// flattened, are neurons: `W = W0 R^T` on the rows.
#[derive(Module, Debug)]
pub struct OrthogonalFactor {
    /// `A`; the rotation is the exponential of its skew-symmetric part times two.
    pub generator: Param<Tensor<2>>,
}

impl OrthogonalFactor {
    /// `R = exp(A - A^T)`, `[d, d]`, differentiable with respect to `A`.
    pub fn rotation(&self) -> Tensor<2> {
        let generator = self.generator.val();
        let skew = generator.clone() - generator.transpose();
        let [d, _] = skew.dims();
        let norm = skew
            .clone()
            .powi_scalar(2)
            .sum()
            .sqrt()
            .into_scalar::<f64>();
        let squarings = if norm > 0.5 {
            (norm / 0.5).log2().ceil() as u32
        } else {
            0
        };
        let scaled = skew.div_scalar(2f64.powi(squarings as i32));
        let diagonal = Tensor::<2, Bool>::diag_mask([d, d], 0, &scaled.device()).bool_not();
        let identity = scaled.zeros_like().mask_fill(diagonal, 1.0);
        // Horner: exp(T) ~ I + T (I + T/2 (I + T/3 (...))).
        let mut exp = identity.clone();
        for k in (1..=TAYLOR_DEGREE).rev() {
            exp = identity.clone() + scaled.clone().matmul(exp).div_scalar(k as f64);
        }
        (0..squarings).fold(exp, |exp, _| exp.clone().matmul(exp))
    }
}

impl Reparameterization for OrthogonalFactor {
    const NAME: &'static str = "opt";

    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let shape = base.dims();
        let rotation = self.rotation();
        if D == 2 {
            let columns = base.reshape([shape[0], shape[1]]);
            rotation.matmul(columns).reshape(shape)
        } else {
            let dim = shape[1..].iter().product::<usize>();
            let rows = base.reshape([shape[0], dim]);
            rows.matmul(rotation.transpose()).reshape(shape)
        }
    }
}

/// Applies OPT to every weight of rank 2 or more whose path ends in `weight` (`Linear` and
/// convolution weights), except those under the `exclude` prefixes: the weight is frozen as
/// `W0` and gets an [`OrthogonalFactor`] starting at the identity. Rank-2 weights are taken as
/// `Linear` weights (neurons in columns): exclude an `Embedding`, whose rows are its vectors.
/// The released code (wy1iu/OPT) leaves the last layer plain, so that the lengths of the
/// classifier's neurons, the logits' scale, can grow: exclude it by its path.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::Device;
/// use burn_mhe::OrthogonalOverParameterization;
///
/// #[derive(Module, Debug)]
/// struct Mlp {
///     hidden: Linear,
///     classifier: Linear,
/// }
///
/// let device = Device::flex().autodiff();
/// let mlp = Mlp {
///     hidden: LinearConfig::new(8, 16).init(&device),
///     classifier: LinearConfig::new(16, 4).init(&device),
/// };
/// let before = mlp.hidden.weight.val().into_data();
/// let opt = mlp.clone().apply_reparameterization(OrthogonalOverParameterization::new());
/// // The same weights at the start (R = I), plus one 8 x 8 and one 16 x 16 generator.
/// opt.hidden.weight.val().into_data().assert_approx_eq::<f32>(&before, Default::default());
/// let weights = (8 * 16 + 16) + (16 * 4 + 4);
/// assert_eq!(opt.num_params(), weights + 8 * 8 + 16 * 16);
/// // As released: the classifier stays plain, only the hidden layer gets a generator.
/// let released = OrthogonalOverParameterization::new().exclude("classifier");
/// assert_eq!(mlp.apply_reparameterization(released).num_params(), weights + 8 * 8);
/// ```
#[derive(Debug, Clone, Default)]
pub struct OrthogonalOverParameterization {
    exclude: Vec<String>,
}

impl OrthogonalOverParameterization {
    /// OPT on every `Linear` and convolution weight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves the weights under the module-path prefix `prefix` as they are.
    pub fn exclude(mut self, prefix: impl Into<String>) -> Self {
        self.exclude.push(prefix.into());
        self
    }
}

impl Reparameterizer for OrthogonalOverParameterization {
    type Reparam = OrthogonalFactor;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<OrthogonalFactor>) {
        let excluded = self
            .exclude
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()));
        if D < 2 || excluded || !path.ends_with("weight") {
            return (param, None);
        }
        let shape = param.lazy_shape();
        let dim = match D {
            2 => shape[0],
            _ => shape[1..].iter().product(),
        };
        let generator = Tensor::<2>::zeros([dim, dim], &param.lazy_device());
        let factor = OrthogonalFactor {
            generator: Param::from_tensor(generator),
        };
        (param.set_require_grad(false), Some(factor))
    }
}
