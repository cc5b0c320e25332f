//! The energies of several layers at once: layers with the same number of neurons are
//! zero-padded to the widest of them and computed as one batch, so that a GPU runs one set of
//! kernel launches per size instead of one per layer.
//!
//! Zero columns change neither a row's norm nor any cosine, so each padded layer has the
//! energy of the layer itself; its gradient's padded columns are zero and are cut off.

use burn::tensor::{DType, Device, Tensor};

use crate::energy::HypersphericalEnergy;
use crate::unit::with_gradient;

impl HypersphericalEnergy {
    /// The energy of each layer of `layers` (each `[N_k, d_k]`, one neuron a row),
    /// differentiable on autodiff devices, as [`forward`](Self::forward) gives it: layers of
    /// one `N` are computed together, zero-padded to their widest `d`, in one
    /// [`batch_value_and_grad`](Self::batch_value_and_grad). One launch per size instead of
    /// one per layer is what pays on a GPU; on a CPU, padding narrow layers to wide ones costs
    /// more than it saves (the regularizer batches only on cubecl devices). With a projection
    /// (CoMHE) every layer is computed alone, with projections of its own width.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use burn_mhe::EnergyConfig;
    ///
    /// let device = Device::flex();
    /// let narrow = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], &device);
    /// let wide = Tensor::<2>::from_floats([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]], &device);
    /// let energy = EnergyConfig::new().init();
    /// let together = energy.forward_layers(vec![narrow.clone(), wide.clone()]);
    /// for (layer, batched) in [narrow, wide].into_iter().zip(together) {
    ///     let alone = energy.forward(layer).into_scalar::<f32>();
    ///     assert!((batched.into_scalar::<f32>() - alone).abs() <= 1e-6 * alone.abs());
    /// }
    /// ```
    ///
    /// # Shapes
    ///
    /// - `layers`: each `[N_k, d_k]`, on one device
    /// - output: one `[1]` per layer, in the order of `layers`
    pub fn forward_layers(&self, layers: Vec<Tensor<2>>) -> Vec<Tensor<1>> {
        if self.config().projection.is_some() {
            return layers
                .into_iter()
                .map(|layer| self.forward(layer))
                .collect();
        }
        let mut energies: Vec<Option<Tensor<1>>> = vec![None; layers.len()];
        let mut sizes: Vec<usize> = layers.iter().map(|layer| layer.dims()[0]).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for n in sizes {
            let members: Vec<usize> = (0..layers.len())
                .filter(|&k| layers[k].dims()[0] == n)
                .collect();
            let group: Vec<Tensor<2>> = members.iter().map(|&k| layers[k].clone()).collect();
            for (k, energy) in members.into_iter().zip(self.forward_same_size(group)) {
                energies[k] = Some(energy);
            }
        }
        energies
            .into_iter()
            .map(|energy| energy.expect("every layer belongs to the group of its size"))
            .collect()
    }

    /// [`forward_layers`](Self::forward_layers) of layers that all have the same `N`.
    fn forward_same_size(&self, layers: Vec<Tensor<2>>) -> Vec<Tensor<1>> {
        if layers.len() == 1 {
            return layers
                .into_iter()
                .map(|layer| self.forward(layer))
                .collect();
        }
        let widest = layers
            .iter()
            .map(|layer| layer.dims()[1])
            .max()
            .unwrap_or(0);
        let padded: Vec<Tensor<2>> = layers
            .iter()
            .map(|layer| {
                let layer = layer.clone().without_autodiff();
                let [n, d] = layer.dims();
                if d == widest {
                    return layer;
                }
                let zeros = Tensor::<2>::zeros([n, widest - d], &layer.device());
                Tensor::cat(vec![layer, zeros], 1)
            })
            .collect();
        let (values, grads) = self.batch_value_and_grad(Tensor::stack(padded, 0));
        layers
            .into_iter()
            .enumerate()
            .map(|(k, layer)| {
                let [n, d] = layer.dims();
                let value = values.clone().narrow(0, k, 1);
                let grad = grads.clone().slice([k..k + 1, 0..n, 0..d]).reshape([n, d]);
                with_gradient(value, layer, grad)
            })
            .collect()
    }
}

/// Whether batching layers pays on `device` for layers of `dtype`: on the kernel path of a
/// cubecl device (wgpu), where each operation is a launch; not on the CPU backends.
pub(crate) fn pays_on(device: &Device, dtype: DType) -> bool {
    #[cfg(feature = "wgpu")]
    return crate::cube_pass::applies(device, dtype);
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (device, dtype);
        false
    }
}
