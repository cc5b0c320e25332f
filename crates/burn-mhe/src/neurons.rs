//! From burn layers' weights to neurons as rows.
//!
//! A neuron is one output unit's incoming weights, flattened. burn stores a `Linear` weight as
//! `[d_input, d_output]` (neurons are columns) and a convolution weight as
//! `[channels_out, channels_in / groups, k...]` (neurons are rows once the kernel is flattened).

use burn::nn::Linear;
use burn::nn::conv::{Conv1d, Conv2d, Conv3d};
use burn::tensor::Tensor;

use crate::error::{MheError, Result};

/// Where the neurons lie in a weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NeuronLayout {
    /// Neurons along the first axis; the other axes are flattened (convolutions, PyTorch linear).
    Rows,
    /// Neurons along the last axis of a rank-2 weight (burn's `Linear`: `[d_input, d_output]`).
    Columns,
}

impl NeuronLayout {
    /// The neurons of `weight` as the rows of a `[N, d]` matrix. Keeps the autodiff graph.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use burn_mhe::NeuronLayout;
    ///
    /// let conv_weight = Tensor::<4>::zeros([8, 3, 3, 3], &Device::flex());
    /// assert_eq!(NeuronLayout::Rows.neurons(conv_weight).unwrap().dims(), [8, 27]);
    /// let linear_weight = Tensor::<2>::zeros([784, 10], &Device::flex());
    /// assert_eq!(NeuronLayout::Columns.neurons(linear_weight).unwrap().dims(), [10, 784]);
    /// ```
    pub fn neurons<const D: usize>(self, weight: Tensor<D>) -> Result<Tensor<2>> {
        if D < 2 {
            return Err(MheError::RankTooLow { rank: D });
        }
        match self {
            NeuronLayout::Rows => Ok(flatten_rows(weight)),
            NeuronLayout::Columns if D == 2 => {
                let [rows, columns] = [weight.dims()[0], weight.dims()[1]];
                Ok(weight.reshape([rows, columns]).transpose())
            }
            NeuronLayout::Columns => Err(MheError::InvalidConfig {
                field: "layout",
                reason: format!("`Columns` needs a rank-2 weight, got rank {D}"),
            }),
        }
    }
}

/// A layer whose weight holds neurons: `layer.neurons()` is the `[N, d]` matrix the energy takes.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_mhe::Neurons;
///
/// let layer = LinearConfig::new(784, 10).init(&Device::flex());
/// assert_eq!(layer.neurons().dims(), [10, 784]);
/// ```
pub trait Neurons {
    /// The layer's neurons as rows, keeping the autodiff graph of its weight.
    fn neurons(&self) -> Tensor<2>;
}

impl Neurons for Linear {
    /// `[d_output, d_input]`: the columns of the `[d_input, d_output]` weight.
    fn neurons(&self) -> Tensor<2> {
        self.weight.val().transpose()
    }
}

macro_rules! conv_neurons {
    ($($layer:ty),*) => {$(
        impl Neurons for $layer {
            /// `[channels_out, channels_in / groups * kernel volume]`: the flattened filters.
            fn neurons(&self) -> Tensor<2> {
                flatten_rows(self.weight.val())
            }
        }
    )*};
}

conv_neurons!(Conv1d, Conv2d, Conv3d);

/// `[d0, d1, ...]` to `[d0, d1 * ...]`.
fn flatten_rows<const D: usize>(weight: Tensor<D>) -> Tensor<2> {
    let dims = weight.dims();
    weight.reshape([dims[0], dims[1..].iter().product::<usize>()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Device;

    #[test]
    fn linear_neurons_are_weight_columns() {
        let device = Device::flex();
        let layer = LinearConfig::new(5, 3).init(&device);
        let neurons = layer.neurons();
        assert_eq!(neurons.dims(), [3, 5]);
        let weight: Vec<f32> = layer.weight.val().to_data().try_to_vec().unwrap();
        let rows: Vec<f32> = neurons.to_data().try_to_vec().unwrap();
        // neuron 2, input 4 is weight[4][2]
        assert_eq!(rows[2 * 5 + 4], weight[4 * 3 + 2]);
    }

    #[test]
    fn conv_neurons_keep_output_channels_apart() {
        let device = Device::flex();
        let layer = Conv2dConfig::new([2, 4], [3, 3]).init(&device);
        let neurons = layer.neurons();
        assert_eq!(neurons.dims(), [4, 18]);
        let weight: Vec<f32> = layer.weight.val().to_data().try_to_vec().unwrap();
        let rows: Vec<f32> = neurons.to_data().try_to_vec().unwrap();
        // channel 3's weights are one contiguous block of 18 values.
        assert_eq!(&rows[3 * 18..], &weight[3 * 18..]);
    }

    #[test]
    fn columns_layout_needs_rank_two() {
        let weight = Tensor::<3>::zeros([2, 3, 4], &Device::flex());
        assert!(NeuronLayout::Columns.neurons(weight.clone()).is_err());
        assert_eq!(NeuronLayout::Rows.neurons(weight).unwrap().dims(), [2, 12]);
        let bias = Tensor::<1>::zeros([4], &Device::flex());
        assert_eq!(
            NeuronLayout::Rows.neurons(bias).unwrap_err(),
            MheError::RankTooLow { rank: 1 }
        );
    }
}
