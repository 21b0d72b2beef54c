//! The `Dataset` trait (TF's `DatasetBase`) and the chainable transformations on [`DatasetRef`].

use crate::{
    BatchDataset, ConcatenateDataset, DatasetIterator, Element, ElementSpec, FilterDataset,
    IgnoreErrorsDataset, InterleaveDataset, MapDataset, PaddedBatchDataset, PrefetchDataset, RepeatDataset,
    ShardDataset, ShuffleDataset, SkipDataset, TakeDataset, ZipDataset,
};
use ferroflow_core::{Result, Tensor};
use ferroflow_session::BackgroundThreads;
use std::fmt;
use std::sync::Arc;

/// Where a new iterator sits in the life of the pipeline, and the session it runs in.
///
/// `repeat` and re-initialization create fresh iterators of the same dataset; `shuffle` with
/// `reshuffle_each_iteration` mixes `iteration` into its seed so each of them sees another order,
/// deterministically (so a restored iterator reshuffles like the original one would have).
#[derive(Clone, Debug, Default)]
pub struct IteratorContext {
    /// A number that differs between iterations of the same dataset (0 for the first).
    pub iteration: u64,
    /// The session's background threads, where `prefetch` hands its producer thread so that the
    /// session's coordinator stops and joins it; `None` outside a session (the iterator then stops its
    /// own thread).
    pub threads: Option<Arc<BackgroundThreads>>,
    /// Set below `ignore_errors`: an element error is then dropped downstream, so a background thread
    /// must not report it to the coordinator as fatal.
    pub errors_ignored: bool,
}

impl IteratorContext {
    /// The context of iteration `i` of a child, below this one.
    pub fn child(&self, i: u64) -> IteratorContext {
        // The first child keeps the parent's number, so `shuffle(..).repeat(n)` sees in its first epoch
        // the order `shuffle(..)` alone would; later ones are mixed (splitmix64) so that nested repeats
        // do not collide.
        if i == 0 {
            return self.clone();
        }
        let mut z = self.iteration.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        IteratorContext { iteration: z ^ (z >> 31), ..self.clone() }
    }
}

/// A recipe for a sequence of elements (TF's `tf.data.Dataset`): immutable, shared, and able to start
/// any number of independent iterators.
pub trait Dataset: Send + Sync + fmt::Debug {
    /// The dtypes and shapes of the elements.
    fn element_spec(&self) -> &ElementSpec;

    /// A new iterator at the first element.
    ///
    /// # Errors
    /// `NotFound` for a missing input file, and other errors of opening the input.
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>>;
}

/// A shared dataset, the handle users chain transformations on.
pub type DatasetRef = Arc<dyn Dataset>;

/// A function of one element (for [`DatasetExt::map`]).
pub type MapFn = Arc<dyn Fn(Element) -> Result<Element> + Send + Sync>;

/// A predicate on one element (for [`DatasetExt::filter`]).
pub type PredicateFn = Arc<dyn Fn(&[Tensor]) -> Result<bool> + Send + Sync>;

/// A function from an element to a dataset (for [`DatasetExt::interleave`]).
pub type DatasetFn = Arc<dyn Fn(&[Tensor]) -> Result<DatasetRef> + Send + Sync>;

/// The transformations of `tf.data.Dataset`, chained on a [`DatasetRef`].
///
/// Build-time checks (bad sizes, mismatched element specs) fail with `InvalidArgument`.
pub trait DatasetExt {
    /// `map(f)`: applies `f` to each element; `output_spec` is what `f` returns (TF infers it by
    /// tracing; a Rust closure cannot be traced). Elements not matching it fail with
    /// `InvalidArgument`; an error of `f` surfaces unchanged.
    fn map(
        &self,
        output_spec: ElementSpec,
        f: impl Fn(Element) -> Result<Element> + Send + Sync + 'static,
    ) -> Result<DatasetRef>;
    /// `filter(predicate)`: keeps the elements for which the predicate is true.
    fn filter(&self, predicate: impl Fn(&[Tensor]) -> Result<bool> + Send + Sync + 'static) -> DatasetRef;
    /// `shuffle(buffer_size, seed, reshuffle_each_iteration)`; seeds are TF's (seed, seed2) pair, see
    /// [`ShuffleDataset`].
    fn shuffle(
        &self,
        buffer_size: usize,
        seed: (i64, i64),
        reshuffle_each_iteration: bool,
    ) -> Result<DatasetRef>;
    /// `batch(batch_size, drop_remainder)`.
    fn batch(&self, batch_size: usize, drop_remainder: bool) -> Result<DatasetRef>;
    /// `padded_batch(batch_size, padded_shapes, padding_values, drop_remainder)`; see
    /// [`PaddedBatchDataset`].
    fn padded_batch(
        &self,
        batch_size: usize,
        padded_shapes: Option<Vec<ferroflow_core::PartialShape>>,
        padding_values: Option<Vec<Tensor>>,
        drop_remainder: bool,
    ) -> Result<DatasetRef>;
    /// `repeat(count)`; `None` repeats forever.
    fn repeat(&self, count: Option<u64>) -> DatasetRef;
    /// `take(count)`.
    fn take(&self, count: u64) -> DatasetRef;
    /// `skip(count)`.
    fn skip(&self, count: u64) -> DatasetRef;
    /// `shard(num_shards, index)`: every `num_shards`-th element starting at `index`.
    fn shard(&self, num_shards: u64, index: u64) -> Result<DatasetRef>;
    /// `concatenate(other)`: this dataset's elements, then `other`'s.
    fn concatenate(&self, other: &DatasetRef) -> Result<DatasetRef>;
    /// `prefetch(buffer_size)`: produces up to `buffer_size` elements ahead on a background thread.
    fn prefetch(&self, buffer_size: usize) -> Result<DatasetRef>;
    /// `interleave(f, cycle_length, block_length)`; see [`InterleaveDataset`].
    fn interleave(
        &self,
        output_spec: ElementSpec,
        f: impl Fn(&[Tensor]) -> Result<DatasetRef> + Send + Sync + 'static,
        cycle_length: usize,
        block_length: usize,
    ) -> Result<DatasetRef>;
    /// `apply(tf.data.experimental.ignore_errors())`: drops elements whose production failed.
    fn ignore_errors(&self) -> DatasetRef;
    /// All elements, by running a fresh iterator to the end (for tests and small datasets).
    ///
    /// # Errors
    /// The first error of the iterator.
    fn collect_elements(&self) -> Result<Vec<Element>>;
}

impl DatasetExt for DatasetRef {
    fn map(
        &self,
        output_spec: ElementSpec,
        f: impl Fn(Element) -> Result<Element> + Send + Sync + 'static,
    ) -> Result<DatasetRef> {
        Ok(Arc::new(MapDataset::new(Arc::clone(self), output_spec, Arc::new(f))?))
    }
    fn filter(&self, predicate: impl Fn(&[Tensor]) -> Result<bool> + Send + Sync + 'static) -> DatasetRef {
        Arc::new(FilterDataset::new(Arc::clone(self), Arc::new(predicate)))
    }
    fn shuffle(
        &self,
        buffer_size: usize,
        seed: (i64, i64),
        reshuffle_each_iteration: bool,
    ) -> Result<DatasetRef> {
        Ok(Arc::new(ShuffleDataset::new(Arc::clone(self), buffer_size, seed, reshuffle_each_iteration)?))
    }
    fn batch(&self, batch_size: usize, drop_remainder: bool) -> Result<DatasetRef> {
        Ok(Arc::new(BatchDataset::new(Arc::clone(self), batch_size, drop_remainder)?))
    }
    fn padded_batch(
        &self,
        batch_size: usize,
        padded_shapes: Option<Vec<ferroflow_core::PartialShape>>,
        padding_values: Option<Vec<Tensor>>,
        drop_remainder: bool,
    ) -> Result<DatasetRef> {
        Ok(Arc::new(PaddedBatchDataset::new(
            Arc::clone(self),
            batch_size,
            padded_shapes,
            padding_values,
            drop_remainder,
        )?))
    }
    fn repeat(&self, count: Option<u64>) -> DatasetRef {
        Arc::new(RepeatDataset::new(Arc::clone(self), count))
    }
    fn take(&self, count: u64) -> DatasetRef {
        Arc::new(TakeDataset::new(Arc::clone(self), count))
    }
    fn skip(&self, count: u64) -> DatasetRef {
        Arc::new(SkipDataset::new(Arc::clone(self), count))
    }
    fn shard(&self, num_shards: u64, index: u64) -> Result<DatasetRef> {
        Ok(Arc::new(ShardDataset::new(Arc::clone(self), num_shards, index)?))
    }
    fn concatenate(&self, other: &DatasetRef) -> Result<DatasetRef> {
        Ok(Arc::new(ConcatenateDataset::new(Arc::clone(self), Arc::clone(other))?))
    }
    fn prefetch(&self, buffer_size: usize) -> Result<DatasetRef> {
        Ok(Arc::new(PrefetchDataset::new(Arc::clone(self), buffer_size)?))
    }
    fn interleave(
        &self,
        output_spec: ElementSpec,
        f: impl Fn(&[Tensor]) -> Result<DatasetRef> + Send + Sync + 'static,
        cycle_length: usize,
        block_length: usize,
    ) -> Result<DatasetRef> {
        Ok(Arc::new(InterleaveDataset::new(
            Arc::clone(self),
            output_spec,
            Arc::new(f),
            cycle_length,
            block_length,
        )?))
    }
    fn ignore_errors(&self) -> DatasetRef {
        Arc::new(IgnoreErrorsDataset::new(Arc::clone(self)))
    }
    fn collect_elements(&self) -> Result<Vec<Element>> {
        let mut it = self.make_iterator(IteratorContext::default())?;
        let mut out = Vec::new();
        while let Some(e) = it.next()? {
            out.push(e);
        }
        Ok(out)
    }
}

/// `tf.data.Dataset.zip(datasets)`: elements made of one element of each, until the shortest ends.
///
/// # Errors
/// `InvalidArgument` for an empty list.
pub fn zip(datasets: &[DatasetRef]) -> Result<DatasetRef> {
    Ok(Arc::new(ZipDataset::new(datasets.to_vec())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_contexts_keep_the_first_and_separate_the_rest() {
        let root = IteratorContext::default();
        let n = |c: IteratorContext| c.iteration;
        assert_eq!(n(root.child(0)), root.iteration, "a first epoch sees what a single iteration sees");
        let a = root.child(1);
        let b = root.child(2);
        assert_ne!(a.iteration, b.iteration);
        assert_ne!(n(a.child(1)), n(b.child(1)));
        assert_ne!(n(root.child(1).child(2)), n(root.child(2).child(1)), "nesting order matters");
        let errors_ignored = IteratorContext { errors_ignored: true, ..IteratorContext::default() };
        assert!(errors_ignored.child(3).errors_ignored, "children inherit the session and error handling");
    }
}
