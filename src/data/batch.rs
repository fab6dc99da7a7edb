//! Mini-batches of a split, in a seeded random order per epoch or in file order.
//!
//! The order of epoch `e` under seed `s` is the Fisher-Yates permutation drawn from
//! [`SplitMix64::for_stream`]`(s, e)`, so a run can be resumed at any epoch and reproduced on any
//! platform. A loader owns one image buffer and one label buffer of a full batch and refills them
//! for every batch, so iterating allocates nothing after construction.

use super::{Split, SplitMix64};

/// One mini-batch, borrowed from the buffers of a [`BatchLoader`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch<'a> {
    /// Indices of the examples within the split.
    pub indices: &'a [usize],
    /// Examples, `(indices.len(), features)` row-major.
    pub images: &'a [f32],
    /// Class index of each example.
    pub labels: &'a [i64],
}

impl Batch<'_> {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch has no examples; a loader never returns such a batch.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Iterates a split in mini-batches, reusing its buffers for every batch and epoch.
///
/// A batch borrows the loader's buffers, so the loader offers [`BatchLoader::next_batch`] in
/// place of [`Iterator`]:
///
/// ```no_run
/// # fn run(split: &dps::data::Split) {
/// use dps::data::BatchLoader;
///
/// let mut loader = BatchLoader::shuffled(split, 256, 42);
/// for epoch in 0..10 {
///     loader.start_epoch(epoch);
///     while let Some(batch) = loader.next_batch() {
///         // batch.images: (batch.len(), split.features()), batch.labels: (batch.len(),)
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BatchLoader<'a> {
    split: &'a Split,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    drop_last: bool,
    order: Vec<usize>,
    cursor: usize,
    images: Vec<f32>,
    labels: Vec<i64>,
}

impl<'a> BatchLoader<'a> {
    /// Creates a loader that visits the split in its stored order in every epoch, for
    /// evaluation.
    ///
    /// # Panics
    ///
    /// Panics if `batch_size` is 0.
    pub fn sequential(split: &'a Split, batch_size: usize) -> Self {
        Self::new(split, batch_size, None)
    }

    /// Creates a loader whose order is reshuffled for each epoch from `seed`, positioned at the
    /// start of epoch 0.
    ///
    /// # Panics
    ///
    /// Panics if `batch_size` is 0.
    pub fn shuffled(split: &'a Split, batch_size: usize, seed: u64) -> Self {
        Self::new(split, batch_size, Some(seed))
    }

    fn new(split: &'a Split, batch_size: usize, shuffle_seed: Option<u64>) -> Self {
        assert!(batch_size > 0, "batch size must be positive");
        let mut loader = Self {
            split,
            batch_size,
            shuffle_seed,
            drop_last: false,
            order: Vec::with_capacity(split.len()),
            cursor: 0,
            images: vec![0.0; batch_size * split.features()],
            labels: vec![0; batch_size],
        };
        loader.start_epoch(0);
        loader
    }

    /// Sets whether the last batch of an epoch is skipped when it is smaller than the batch
    /// size. Off by default, so every example is visited once per epoch.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Rewinds to the first batch of `epoch`, drawing that epoch's order when shuffling.
    pub fn start_epoch(&mut self, epoch: u64) {
        self.order.clear();
        self.order.extend(0..self.split.len());
        if let Some(seed) = self.shuffle_seed {
            SplitMix64::for_stream(seed, epoch).shuffle(&mut self.order);
        }
        self.cursor = 0;
    }

    /// Fills the buffers with the next batch of the current epoch, or returns `None` at its end.
    pub fn next_batch(&mut self) -> Option<Batch<'_>> {
        let remaining = self.order.len() - self.cursor;
        let size = remaining.min(self.batch_size);
        if size == 0 || (self.drop_last && size < self.batch_size) {
            return None;
        }

        let indices = &self.order[self.cursor..self.cursor + size];
        self.cursor += size;
        let images = &mut self.images[..size * self.split.features()];
        let labels = &mut self.labels[..size];
        self.split.batch_into(indices, images, labels);
        Some(Batch {
            indices,
            images,
            labels,
        })
    }

    /// Order of the examples in the current epoch.
    pub fn epoch_order(&self) -> &[usize] {
        &self.order
    }

    /// Index batches of the current epoch, for callers that gather examples themselves.
    pub fn index_batches(&self) -> impl Iterator<Item = &[usize]> {
        self.order
            .chunks(self.batch_size)
            .take(self.batches_per_epoch())
    }

    /// Number of batches that [`BatchLoader::next_batch`] returns per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.split.len() / self.batch_size
        } else {
            self.split.len().div_ceil(self.batch_size)
        }
    }

    /// Configured batch size; the last batch of an epoch may be smaller.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Domain;

    /// A pixel-domain split whose example `i` is filled with `i` and labelled `i % 10`.
    fn numbered_split(len: usize) -> Split {
        let features = Domain::Pixel.features();
        let examples = (0..len)
            .flat_map(|i| std::iter::repeat_n(i as f32, features))
            .collect();
        let labels = (0..len).map(|i| (i % 10) as u8).collect();
        Split::new(Domain::Pixel, examples, labels).unwrap()
    }

    fn collect_epoch(loader: &mut BatchLoader) -> Vec<Vec<usize>> {
        let mut batches = Vec::new();
        while let Some(batch) = loader.next_batch() {
            for (row, &index) in batch.images.chunks(784).zip(batch.indices) {
                assert!(
                    row.iter().all(|&v| v == index as f32),
                    "images of example {index}"
                );
            }
            for (&label, &index) in batch.labels.iter().zip(batch.indices) {
                assert_eq!(label, (index % 10) as i64, "label of example {index}");
            }
            batches.push(batch.indices.to_vec());
        }
        batches
    }

    #[test]
    fn sequential_visits_in_order() {
        let split = numbered_split(10);
        let mut loader = BatchLoader::sequential(&split, 4);
        let batches = collect_epoch(&mut loader);
        assert_eq!(
            batches,
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
        );
        assert_eq!(loader.batches_per_epoch(), 3);
    }

    #[test]
    fn drop_last_skips_partial_batch() {
        let split = numbered_split(10);
        let mut loader = BatchLoader::sequential(&split, 4).drop_last(true);
        assert_eq!(collect_epoch(&mut loader).len(), 2);
        assert_eq!(loader.batches_per_epoch(), 2);
        assert_eq!(loader.index_batches().count(), 2);
    }

    #[test]
    fn shuffled_epoch_is_permutation() {
        let split = numbered_split(25);
        let mut loader = BatchLoader::shuffled(&split, 8, 1);
        let mut visited: Vec<usize> = collect_epoch(&mut loader).concat();
        assert_ne!(visited, (0..25).collect::<Vec<_>>());
        visited.sort_unstable();
        assert_eq!(visited, (0..25).collect::<Vec<_>>());
    }

    #[test]
    fn epochs_differ_and_repeat() {
        let split = numbered_split(50);
        let mut loader = BatchLoader::shuffled(&split, 16, 3);
        let epoch0 = loader.epoch_order().to_vec();
        loader.start_epoch(1);
        let epoch1 = loader.epoch_order().to_vec();
        assert_ne!(epoch0, epoch1);
        loader.start_epoch(0);
        assert_eq!(loader.epoch_order(), epoch0.as_slice());

        let other_seed = BatchLoader::shuffled(&split, 16, 4);
        assert_ne!(other_seed.epoch_order(), epoch0.as_slice());
    }

    #[test]
    fn index_batches_match_next_batch() {
        let split = numbered_split(19);
        let mut loader = BatchLoader::shuffled(&split, 5, 8);
        let indices: Vec<Vec<usize>> = loader.index_batches().map(<[usize]>::to_vec).collect();
        assert_eq!(collect_epoch(&mut loader), indices);
    }

    #[test]
    #[should_panic(expected = "batch size must be positive")]
    fn zero_batch_size_panics() {
        let split = numbered_split(3);
        BatchLoader::sequential(&split, 0);
    }
}
