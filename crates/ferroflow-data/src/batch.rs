//! `Dataset.batch`: consecutive elements stacked along a new first dimension.

use crate::batch_util::stack_owned;
use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};

/// Stacks `batch_size` consecutive elements; the last batch may be smaller unless `drop_remainder`.
///
/// Mirrors `Dataset.batch(batch_size, drop_remainder)`: the batch dimension is static only with
/// `drop_remainder`; elements of different shapes fail with `InvalidArgument`.
#[derive(Debug)]
pub struct BatchDataset {
    input: DatasetRef,
    batch_size: usize,
    drop_remainder: bool,
    spec: ElementSpec,
}

/// The spec of batches of `input`'s elements.
pub(crate) fn batched_spec(
    input: &ElementSpec,
    shapes: &[PartialShape],
    batch_size: usize,
    drop_remainder: bool,
) -> Result<ElementSpec> {
    let batch_dim = drop_remainder.then_some(batch_size);
    let shapes = shapes
        .iter()
        .map(|s| match s.dims() {
            Some(d) => {
                let mut dims = vec![batch_dim];
                dims.extend_from_slice(d);
                PartialShape::new(dims)
            }
            None => PartialShape::unknown(),
        })
        .collect();
    ElementSpec::new(input.dtypes.clone(), shapes)
}

impl BatchDataset {
    /// `input.batch(batch_size, drop_remainder)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero batch size.
    pub fn new(input: DatasetRef, batch_size: usize, drop_remainder: bool) -> Result<BatchDataset> {
        if batch_size == 0 {
            return Err(Error::invalid_argument("Batch size must be greater than zero."));
        }
        let spec =
            batched_spec(input.element_spec(), &input.element_spec().shapes, batch_size, drop_remainder)?;
        Ok(BatchDataset { input, batch_size, drop_remainder, spec })
    }
}

struct BatchIterator {
    input: Box<dyn DatasetIterator>,
    batch_size: usize,
    drop_remainder: bool,
    /// The input's elements are one string scalar, so batches are gathered through
    /// [`DatasetIterator::next_strings`].
    strings: bool,
}

/// Room for the elements of one batch, reserved up to a bound: a huge batch size must not reserve
/// memory that no input will fill (or abort on an impossible allocation).
fn batch_buffer<T>(batch_size: usize) -> Vec<T> {
    Vec::with_capacity(batch_size.min(1 << 16))
}

/// Whether `got` elements pulled for a batch of `n` make one: not none, and all `n` when the
/// remainder is dropped.
fn makes_batch(got: usize, n: usize, drop_remainder: bool) -> bool {
    got > 0 && !(drop_remainder && got < n)
}

/// Pulls up to `n` elements; `None` when there are none.
pub(crate) fn pull(
    input: &mut dyn DatasetIterator,
    n: usize,
    drop_remainder: bool,
) -> Result<Option<Vec<Element>>> {
    let mut elements = batch_buffer(n);
    while elements.len() < n {
        match input.next()? {
            Some(e) => elements.push(e),
            None => break,
        }
    }
    Ok(makes_batch(elements.len(), n, drop_remainder).then_some(elements))
}

impl Dataset for BatchDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        let input = self.input.element_spec();
        let strings = input.dtypes == [DType::String] && input.shapes == [PartialShape::scalar()];
        Ok(Box::new(BatchIterator {
            input: self.input.make_iterator(ctx)?,
            batch_size: self.batch_size,
            drop_remainder: self.drop_remainder,
            strings,
        }))
    }
}

impl BatchIterator {
    /// A batch of string scalars (records, lines), gathered straight into the batch's vector.
    fn next_string_batch(&mut self) -> Result<Option<Element>> {
        let mut records = batch_buffer(self.batch_size);
        self.input.next_strings(self.batch_size, &mut records)?;
        let n = records.len();
        if !makes_batch(n, self.batch_size, self.drop_remainder) {
            return Ok(None);
        }
        Ok(Some(vec![Tensor::from_vec(&[n], records)?]))
    }
}

impl DatasetIterator for BatchIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if self.strings {
            return self.next_string_batch();
        }
        let Some(elements) = pull(self.input.as_mut(), self.batch_size, self.drop_remainder)? else {
            return Ok(None);
        };
        let components = elements.first().map_or(0, Vec::len);
        let mut columns: Vec<Vec<Tensor>> =
            (0..components).map(|_| Vec::with_capacity(elements.len())).collect();
        for e in elements {
            for (column, t) in columns.iter_mut().zip(e) {
                column.push(t);
            }
        }
        columns.into_iter().map(stack_owned).collect::<Result<Vec<_>>>().map(Some)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("batch");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("batch")?;
        self.input.restore(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        from_tensor_slices, Compression, DatasetExt, IteratorState, IteratorStateWriter, TFRecordDataset,
        TextLineDataset,
    };
    use ferroflow_record::RecordWriter;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    fn write_records(path: &Path, records: &[Vec<u8>], compression: Compression) -> Result<()> {
        let mut w = RecordWriter::with_compression(std::fs::File::create(path)?, compression);
        for r in records {
            w.write_record(r)?;
        }
        w.into_inner()?;
        Ok(())
    }

    /// Two files of 5 and 4 records ("a0".."a4", "b0".."b3").
    fn two_files(dir: &Path, compression: Compression) -> Result<Vec<PathBuf>> {
        [("a", 5), ("b", 4)]
            .into_iter()
            .map(|(name, n)| {
                let path = dir.join(format!("{name}-{compression:?}.tfrecord"));
                let records: Vec<Vec<u8>> = (0..n).map(|i| format!("{name}{i}").into_bytes()).collect();
                write_records(&path, &records, compression)?;
                Ok(path)
            })
            .collect()
    }

    /// Two text files of 5 and 3 lines, with `\r\n` and `\n` endings, an empty line, and a last line
    /// without an ending.
    fn two_text_files(dir: &Path, compression: Compression) -> Result<Vec<PathBuf>> {
        [("a", "a0\r\na1\n\na3\r\na4"), ("b", "b0\nb1\nb2\n")]
            .into_iter()
            .map(|(name, text)| {
                let path = dir.join(format!("{name}-{compression:?}.txt"));
                let file = std::fs::File::create(&path)?;
                match compression {
                    Compression::Gzip => {
                        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
                        enc.write_all(text.as_bytes())?;
                        enc.finish()?;
                    }
                    _ => std::fs::write(&path, text)?,
                }
                Ok(path)
            })
            .collect()
    }

    fn state(it: &dyn DatasetIterator) -> Result<IteratorState> {
        let mut w = IteratorStateWriter::new();
        it.save(&mut w)?;
        Ok(w.finish())
    }

    /// What the batch iterator's state is after it pulled `reference`'s elements one by one.
    fn batch_state_over(reference: &dyn DatasetIterator) -> Result<IteratorState> {
        let mut w = IteratorStateWriter::new();
        w.tag("batch");
        reference.save(&mut w)?;
        Ok(w.finish())
    }

    fn strings(batch: &Element) -> Result<Vec<Vec<u8>>> {
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].rank(), 1);
        batch[0].to_vec::<Vec<u8>>()
    }

    /// Batches of `input` (string scalars) hold its elements in order; after each batch the state is
    /// the one the element-by-element path leaves (the input's state after as many `next` calls), and
    /// a fresh iterator restored from it continues with the same batches.
    fn check_string_batches(input: &DatasetRef, batch_size: usize, drop_remainder: bool) -> Result<()> {
        let what = format!("batch({batch_size}, {drop_remainder})");
        let records: Vec<Vec<u8>> = input
            .collect_elements()?
            .iter()
            .map(|e| e[0].scalar_value::<Vec<u8>>())
            .collect::<Result<_>>()?;
        let expected: Vec<Vec<Vec<u8>>> = records
            .chunks(batch_size)
            .filter(|c| !drop_remainder || c.len() == batch_size)
            .map(<[Vec<u8>]>::to_vec)
            .collect();
        let batched = input.batch(batch_size, drop_remainder)?;
        let mut it = batched.make_iterator(IteratorContext::default())?;
        let mut reference = input.make_iterator(IteratorContext::default())?;
        for k in 0..=expected.len() {
            let saved = state(it.as_ref())?;
            assert_eq!(saved, batch_state_over(reference.as_ref())?, "{what}: state after {k} batches");
            let mut fresh = batched.make_iterator(IteratorContext::default())?;
            fresh.restore(&mut saved.reader())?;
            let mut rest = Vec::new();
            while let Some(b) = fresh.next()? {
                rest.push(strings(&b)?);
            }
            assert_eq!(rest, expected[k..].to_vec(), "{what}: resumed after {k} batches");
            if let Some(want) = expected.get(k) {
                let got = it.next()?.map(|b| strings(&b)).transpose()?;
                assert_eq!(got.as_ref(), Some(want), "{what}: batch {k}");
                for _ in 0..want.len() {
                    reference.next()?;
                }
                if want.len() < batch_size {
                    // A short batch is short because its pull met the end of input.
                    assert!(reference.next()?.is_none());
                }
            }
        }
        assert!(it.next()?.is_none(), "{what}: end");
        assert!(it.next()?.is_none(), "{what}: end again");
        while reference.next()?.is_some() {}
        assert_eq!(state(it.as_ref())?, batch_state_over(reference.as_ref())?, "{what}: state at the end");
        Ok(())
    }

    #[test]
    fn string_batches_match_the_element_path_across_files_and_epochs() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for compression in [Compression::None, Compression::Gzip] {
            let records = TFRecordDataset::new(two_files(dir.path(), compression)?, compression)?.into_ref();
            let lines =
                TextLineDataset::new(two_text_files(dir.path(), compression)?, compression)?.into_ref();
            for input in [records, lines] {
                let repeated = input.repeat(Some(2));
                for batch_size in 1..=10 {
                    for drop_remainder in [false, true] {
                        check_string_batches(&input, batch_size, drop_remainder)?;
                        check_string_batches(&repeated, batch_size, drop_remainder)?;
                    }
                }
            }
        }
        // A source without a fast path goes through `next` (the default `next_strings`).
        let slices = from_tensor_slices(vec![Tensor::vector(
            (0..7).map(|i| format!("s{i}").into_bytes()).collect::<Vec<_>>(),
        )])?;
        for drop_remainder in [false, true] {
            check_string_batches(&slices, 3, drop_remainder)?;
            check_string_batches(&slices.repeat(Some(2)), 3, drop_remainder)?;
        }
        Ok(())
    }

    /// One call's outcome: the batch's strings, or the error's code.
    type Outcome = std::result::Result<Option<Vec<Vec<u8>>>, ferroflow_core::Code>;

    /// The outcomes of `calls` calls of `next` on a fresh iterator.
    fn outcomes(ds: &DatasetRef, calls: usize) -> Result<Vec<Outcome>> {
        let mut it = ds.make_iterator(IteratorContext::default())?;
        (0..calls)
            .map(|_| match it.next() {
                Ok(b) => Ok(Ok(b.map(|b| b[0].to_vec::<Vec<u8>>()).transpose()?)),
                Err(e) => Ok(Err(e.code())),
            })
            .collect()
    }

    #[test]
    fn string_batches_fail_and_go_on_like_the_element_path() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let good = two_files(dir.path(), Compression::None)?;
        let missing = dir.path().join("missing.tfrecord");
        let corrupt = dir.path().join("corrupt.tfrecord");
        write_records(&corrupt, &[b"c0".to_vec(), b"c1".to_vec(), b"c2".to_vec()], Compression::None)?;
        let mut bytes = std::fs::read(&corrupt)?;
        // The second record's payload: its data CRC fails.
        bytes[12 + 2 + 4 + 12] ^= 1;
        std::fs::write(&corrupt, bytes)?;
        // The same batches built from elements whose shape the batch cannot know: the element path.
        let by_element = |ds: &DatasetRef| -> Result<DatasetRef> {
            ds.map(ElementSpec::new(vec![DType::String], vec![PartialShape::unknown()])?, Ok)
        };
        let lists = [
            vec![good[0].clone(), missing.clone(), good[1].clone()],
            vec![missing.clone()],
            vec![corrupt.clone(), good[1].clone()],
            vec![good[1].clone(), corrupt.clone()],
            // An epoch whose only element comes before an error in the same pull still counts as
            // producing, so `repeat` goes on.
            vec![corrupt],
        ];
        // The batches and errors of both paths agree over the source, and over it repeated.
        let agree = |source: DatasetRef, files: &[PathBuf]| -> Result<()> {
            for input in [source.clone(), source.repeat(Some(3)), source.repeat(None)] {
                for (batch_size, drop_remainder) in [(2, false), (2, true), (3, false), (4, true)] {
                    let fast = outcomes(&input.batch(batch_size, drop_remainder)?, 16)?;
                    let slow = outcomes(&by_element(&input)?.batch(batch_size, drop_remainder)?, 16)?;
                    assert_eq!(fast, slow, "{files:?}: batch({batch_size}, {drop_remainder})");
                }
            }
            Ok(())
        };
        for files in lists {
            agree(TFRecordDataset::new(files.clone(), Compression::None)?.into_ref(), &files)?;
        }
        let texts = two_text_files(dir.path(), Compression::None)?;
        for files in [vec![texts[0].clone(), missing.clone(), texts[1].clone()], vec![missing]] {
            agree(TextLineDataset::new(files.clone(), Compression::None)?.into_ref(), &files)?;
        }
        Ok(())
    }
}
