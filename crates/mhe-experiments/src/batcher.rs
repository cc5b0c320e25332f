//! From dataset items to batches of image tensors and class targets.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::Subset;
use crate::idx::ImageItem;
use burn_mhe_train::ClassBatch;

/// Stacks [`ImageItem`]s of one image size into `[batch, 1, rows, cols]` images.
#[derive(Debug, Clone, Copy)]
pub struct ImageBatcher {
    /// Image height and width.
    pub shape: [usize; 2],
}

impl Batcher<ImageItem, ClassBatch<Tensor<4>>> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ClassBatch<Tensor<4>> {
        let [rows, cols] = self.shape;
        let targets: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        let pixels: Vec<f32> = items.into_iter().flat_map(|item| item.pixels).collect();
        let images = TensorData::new(pixels, [targets.len(), 1, rows, cols]);
        ClassBatch {
            inputs: Tensor::from_data(images, device),
            targets: Tensor::<1, Int>::from_data(targets.as_slice(), device),
        }
    }
}

impl ImageBatcher {
    /// Every item of `split` in order, `size` items per batch, on `device`.
    pub fn batches<'a>(
        &'a self,
        split: &'a Subset,
        size: usize,
        device: &'a Device,
    ) -> impl Iterator<Item = ClassBatch<Tensor<4>>> + 'a {
        let size = size.max(1);
        (0..split.len()).step_by(size).map(move |start| {
            let items = (start..(start + size).min(split.len()))
                .map(|i| split.get(i).expect("index below len"))
                .collect();
            self.batch(items, device)
        })
    }
}
