//! A data loader whose item order in each epoch is a function of a seed and the epoch alone, so
//! that a run resumed at any epoch sees exactly the batches the uninterrupted run saw.
//!
//! burn's `DataLoaderBuilder::shuffle(seed)` draws every epoch's order from one generator that
//! advances with each epoch and starts afresh when a stopped run is resumed: the resumed run
//! then trains epoch `k + 1` on epoch 1's order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::transform::PartialDataset;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::Device;

/// Batches of a dataset in an order drawn afresh for each epoch from `(seed, epoch)`.
///
/// Each call of [`DataLoader::iter`] serves the next epoch;
/// [`starting_after`](Self::starting_after) makes the first call serve a later epoch, as a
/// resumed run needs.
///
/// ```
/// use std::sync::Arc;
/// use burn::data::dataloader::DataLoader;
/// use burn::data::dataloader::batcher::Batcher;
/// use burn::data::dataset::InMemDataset;
/// use burn::tensor::Device;
/// use burn_mhe_train::EpochOrderLoader;
///
/// #[derive(Clone)]
/// struct Ids;
/// impl Batcher<u32, Vec<u32>> for Ids {
///     fn batch(&self, items: Vec<u32>, _: &Device) -> Vec<u32> { items }
/// }
/// let epoch = |loader: &EpochOrderLoader<u32, Vec<u32>>| -> Vec<u32> {
///     loader.iter().flat_map(|batch| batch.unwrap()).collect()
/// };
/// let data = Arc::new(InMemDataset::new((0..10).collect::<Vec<u32>>()));
/// let fresh = EpochOrderLoader::new(data.clone(), Arc::new(Ids), 4, 7, Device::flex());
/// let (first, second) = (epoch(&fresh), epoch(&fresh));
/// assert_ne!(first, second);
/// let resumed = EpochOrderLoader::new(data, Arc::new(Ids), 4, 7, Device::flex()).starting_after(1);
/// assert_eq!(epoch(&resumed), second);
/// ```
pub struct EpochOrderLoader<I, O> {
    dataset: Arc<dyn Dataset<I>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    seed: u64,
    /// The epoch (from 0) that the next `iter` serves.
    next_epoch: AtomicUsize,
    device: Device,
}

impl<I, O> EpochOrderLoader<I, O> {
    /// Batches of `batch_size` items (the last one smaller) of `dataset`, shuffled by `seed`,
    /// made by `batcher` on `device`.
    pub fn new(
        dataset: Arc<dyn Dataset<I>>,
        batcher: Arc<dyn Batcher<I, O>>,
        batch_size: usize,
        seed: u64,
        device: Device,
    ) -> Self {
        Self {
            dataset,
            batcher,
            batch_size: batch_size.max(1),
            seed,
            next_epoch: AtomicUsize::new(0),
            device,
        }
    }

    /// The same loader with `epochs` epochs already served: the next `iter` serves epoch
    /// `epochs + 1`.
    pub fn starting_after(self, epochs: usize) -> Self {
        self.next_epoch.store(epochs, Ordering::SeqCst);
        self
    }

    /// The item order of epoch `epoch` (from 0).
    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut state = self.seed ^ (epoch as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        permutation(self.dataset.len(), burn_mhe::split_mix64(&mut state))
    }

    fn with(&self, dataset: Arc<dyn Dataset<I>>, device: Device) -> Self {
        Self {
            dataset,
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            next_epoch: AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst)),
            device,
        }
    }
}

impl<I, O> DataLoader<O> for EpochOrderLoader<I, O>
where
    I: Send + Sync + Clone + 'static,
    O: Send + 'static,
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        Box::new(EpochIterator {
            loader: self,
            order: self.order(epoch),
            position: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.dataset.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(self.with(self.dataset.clone(), device.clone()))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        let part = PartialDataset::new(self.dataset.clone(), start, end);
        Arc::new(self.with(Arc::new(part), self.device.clone()))
    }
}

/// One epoch of an [`EpochOrderLoader`].
struct EpochIterator<'a, I, O> {
    loader: &'a EpochOrderLoader<I, O>,
    order: Vec<usize>,
    position: usize,
}

impl<I, O> Iterator for EpochIterator<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.order.len() {
            return None;
        }
        let end = (self.position + self.loader.batch_size).min(self.order.len());
        let items: Result<Vec<I>, DatasetError> = self.order[self.position..end]
            .iter()
            .map(|&index| self.loader.dataset.get(index))
            .collect();
        self.position = end;
        Some(items.map(|items| self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I, O> DataLoaderIterator<O> for EpochIterator<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress {
            items_processed: self.position,
            items_total: self.order.len(),
            unit: None,
        }
    }
}

/// A permutation of `0..len` from `seed` (Fisher-Yates over SplitMix64): the order of each
/// epoch, and of the image job's validation split.
#[doc(hidden)]
pub fn permutation(len: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = || burn_mhe::split_mix64(&mut state);
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_seeded_shuffle() {
        let a = permutation(100, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, permutation(100, 1));
        assert_ne!(a, permutation(100, 2));
        assert_ne!(a, sorted);
    }
}
