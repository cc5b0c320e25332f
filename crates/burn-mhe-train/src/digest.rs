//! A fingerprint of a model's weights: two runs that end with the same digest ended with the
//! same parameters, bit for bit.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// FNV-1a (64 bits) over the bits of every float parameter (batch-norm running statistics
/// included), in the module's visiting order, as 16 hex digits. Parameter ids and the file
/// format play no part, unlike a checkpoint's bytes.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_mhe_train::weights_digest;
///
/// let device = Device::flex();
/// // burn draws initial values at a parameter's first use: here, the digest.
/// let seeded = |seed| {
///     device.seed(seed);
///     weights_digest(&LinearConfig::new(3, 2).init(&device))
/// };
/// assert_eq!(seeded(1), seeded(1));
/// assert_ne!(seeded(1), seeded(2));
/// ```
pub fn weights_digest<M: Module>(module: &M) -> String {
    let mut digest = Fnv1a(0xCBF2_9CE4_8422_2325);
    module.visit(&mut digest);
    format!("{:016x}", digest.0)
}

struct Fnv1a(u64);

impl ModuleVisitor for Fnv1a {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param.val().into_data().convert::<f32>();
        for value in values.iter::<f32>() {
            for byte in value.to_bits().to_le_bytes() {
                self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
            }
        }
    }
}
