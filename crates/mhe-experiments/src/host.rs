//! Float tensors as float64 values on the host.

use burn::tensor::Tensor;

/// The values of a float tensor, row-major, as f64 on the host.
pub(crate) fn host_values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor")
}
