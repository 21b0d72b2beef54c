//! Every transformation, checked on small inputs against what `tf.data` gives.

use crate::{int_rows, ints};
use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_data::{
    from_tensor_slices, from_tensors, range, zip, DatasetExt, DatasetIterator, ElementSpec, IteratorContext,
};

#[test]
fn sources() -> Result<()> {
    assert_eq!(ints(&range(0, 5, 1)?)?, vec![0, 1, 2, 3, 4]);
    assert_eq!(ints(&range(5, 0, -2)?)?, vec![5, 3, 1]);
    assert_eq!(range(0, 3, 0).unwrap_err().code(), Code::InvalidArgument);
    let one = from_tensors(vec![Tensor::vector(vec![1i64, 2])])?;
    assert_eq!(int_rows(&one.collect_elements()?)?, vec![vec![1, 2]]);
    assert_eq!(one.element_spec().shapes, vec![PartialShape::known(&[2])]);
    let rows = from_tensor_slices(vec![
        Tensor::from_vec(&[3, 2], vec![1i64, 2, 3, 4, 5, 6])?,
        Tensor::vector(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]),
    ])?;
    assert_eq!(rows.element_spec().dtypes, vec![DType::I64, DType::String]);
    let e = rows.collect_elements()?;
    assert_eq!(int_rows(&e)?, vec![vec![1, 2], vec![3, 4], vec![5, 6]]);
    assert_eq!(crate::text(&e[2][1]), "c");
    let bad = from_tensor_slices(vec![Tensor::vector(vec![1i64]), Tensor::vector(vec![1i64, 2])]);
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);
    Ok(())
}

#[test]
fn map_filter_take_skip_shard() -> Result<()> {
    let ds = range(0, 10, 1)?;
    let sq = ds.map(ElementSpec::scalar(DType::I64), |e| {
        Ok(vec![Tensor::scalar(e[0].scalar_value::<i64>()?.pow(2))])
    })?;
    assert_eq!(ints(&sq.take(4))?, vec![0, 1, 4, 9]);
    let odd = ds.filter(|e| Ok(e[0].scalar_value::<i64>()? % 2 == 1));
    assert_eq!(ints(&odd)?, vec![1, 3, 5, 7, 9]);
    assert_eq!(ints(&ds.skip(7))?, vec![7, 8, 9]);
    assert_eq!(ints(&ds.skip(20))?, Vec::<i64>::new());
    assert_eq!(ints(&ds.take(0))?, Vec::<i64>::new());
    assert_eq!(ints(&ds.shard(3, 1)?)?, vec![1, 4, 7]);
    assert_eq!(ds.shard(3, 3).unwrap_err().code(), Code::InvalidArgument);
    // A map whose output does not match its declared spec.
    let lying = ds.map(ElementSpec::scalar(DType::F32), Ok)?;
    let err = lying.collect_elements().unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("dtype int64, expected float32"), "{err}");
    Ok(())
}

#[test]
fn batch_and_padded_batch() -> Result<()> {
    let ds = range(0, 7, 1)?;
    let b = ds.batch(3, false)?;
    assert_eq!(b.element_spec().shapes, vec![PartialShape::new(vec![None])]);
    assert_eq!(int_rows(&b.collect_elements()?)?, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    let b = ds.batch(3, true)?;
    assert_eq!(b.element_spec().shapes, vec![PartialShape::known(&[3])]);
    assert_eq!(int_rows(&b.collect_elements()?)?, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    assert_eq!(ds.batch(0, false).unwrap_err().code(), Code::InvalidArgument);

    // padded_batch of ragged vectors: [0], [1, 1], [2, 2, 2], ...
    let ragged =
        ds.take(4).map(ElementSpec::new(vec![DType::I64], vec![PartialShape::new(vec![None])])?, |e| {
            let v = e[0].scalar_value::<i64>()?;
            Ok(vec![Tensor::vector(vec![v; v as usize + 1])])
        })?;
    let p = ragged.padded_batch(2, None, Some(vec![Tensor::scalar(-1i64)]), false)?;
    let got = p.collect_elements()?;
    assert_eq!(got[0][0].shape(), &[2, 2]);
    assert_eq!(got[0][0].to_vec::<i64>()?, vec![0, -1, 1, 1]);
    assert_eq!(got[1][0].shape(), &[2, 4]);
    assert_eq!(got[1][0].to_vec::<i64>()?, vec![2, 2, 2, -1, 3, 3, 3, 3]);
    let fixed = ragged.padded_batch(4, Some(vec![PartialShape::known(&[5])]), None, true)?;
    assert_eq!(fixed.element_spec().shapes, vec![PartialShape::known(&[4, 5])]);
    assert_eq!(fixed.collect_elements()?[0][0].shape(), &[4, 5]);
    let too_small = ragged.padded_batch(4, Some(vec![PartialShape::known(&[2])]), None, false)?;
    assert_eq!(too_small.collect_elements().unwrap_err().code(), Code::InvalidArgument);
    // Batching differently shaped elements without padding fails as in TF.
    let err = ragged.batch(2, false)?.collect_elements().unwrap_err();
    assert!(err.message().contains("Cannot batch tensors with different shapes"), "{err}");
    Ok(())
}

#[test]
fn repeat_zip_concatenate() -> Result<()> {
    let ds = range(0, 3, 1)?;
    assert_eq!(ints(&ds.repeat(Some(2)))?, vec![0, 1, 2, 0, 1, 2]);
    assert_eq!(ints(&ds.repeat(None).take(7))?, vec![0, 1, 2, 0, 1, 2, 0]);
    assert_eq!(ints(&ds.take(0).repeat(None))?, Vec::<i64>::new(), "an empty dataset repeated forever ends");
    let z = zip(&[ds.clone(), range(10, 20, 1)?])?;
    let e = z.collect_elements()?;
    assert_eq!(e.len(), 3, "zip ends with the shortest input");
    assert_eq!(e[2][1].scalar_value::<i64>()?, 12);
    let c = ds.concatenate(&range(7, 9, 1)?)?;
    assert_eq!(ints(&c)?, vec![0, 1, 2, 7, 8]);
    let strings = from_tensors(vec![Tensor::string("x")])?;
    assert_eq!(ds.concatenate(&strings).unwrap_err().code(), Code::InvalidArgument);
    Ok(())
}

#[test]
fn shuffle_is_a_seeded_permutation() -> Result<()> {
    let ds = range(0, 100, 1)?;
    let a = ints(&ds.shuffle(10, (1, 2), true)?)?;
    let b = ints(&ds.shuffle(10, (1, 2), true)?)?;
    let c = ints(&ds.shuffle(10, (1, 3), true)?)?;
    assert_eq!(a, b, "same seed, same order");
    assert_ne!(a, c, "another seed, another order");
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    // A buffer of 10 never moves an element more than 9 places earlier.
    assert!(a.iter().enumerate().all(|(pos, &v)| v as usize <= pos + 9));

    let epochs = |reshuffle: bool| -> Result<(Vec<i64>, Vec<i64>)> {
        let all = ints(&range(0, 20, 1)?.shuffle(20, (5, 6), reshuffle)?.repeat(Some(2)))?;
        Ok((all[..20].to_vec(), all[20..].to_vec()))
    };
    let (e1, e2) = epochs(true)?;
    assert_ne!(e1, e2, "reshuffle_each_iteration gives each epoch its own order");
    let (e1, e2) = epochs(false)?;
    assert_eq!(e1, e2, "without reshuffling every epoch has the same order");
    assert_eq!(ds.shuffle(0, (1, 1), false).unwrap_err().code(), Code::InvalidArgument);
    Ok(())
}

#[test]
fn prefetch_keeps_order_and_errors_and_joins() -> Result<()> {
    let ds = range(0, 50, 1)?;
    assert_eq!(ints(&ds.prefetch(4)?)?, (0..50).collect::<Vec<_>>());
    let failing = ds.map(ElementSpec::scalar(DType::I64), |e| {
        if e[0].scalar_value::<i64>()? == 3 {
            return Err(ferroflow_core::Error::invalid_argument("bad element 3"));
        }
        Ok(e)
    })?;
    let mut it = failing.prefetch(2)?.make_iterator(IteratorContext::default())?;
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..60 {
        match it.next() {
            Ok(Some(e)) => seen.push(e[0].scalar_value::<i64>()?),
            Ok(None) => break,
            Err(e) => errors.push(e.message().to_string()),
        }
    }
    assert_eq!(errors, vec!["bad element 3".to_string()], "the error arrives in order, once");
    assert_eq!(seen.len(), 49);
    assert_eq!(seen[3], 4);

    // Stopping joins the thread even while the producer is blocked on a full buffer.
    let mut p = ferroflow_data::PrefetchIterator::new(
        range(0, i64::MAX, 1)?.make_iterator(IteratorContext::default())?,
        2,
    )?;
    assert_eq!(p.next()?.map(|e| e[0].scalar_value::<i64>()).transpose()?, Some(0));
    assert!(p.is_running());
    p.stop()?;
    assert!(!p.is_running());
    Ok(())
}

#[test]
fn interleave_over_datasets() -> Result<()> {
    // Like interleave over files: element i opens a dataset of [10*i, 10*i + 1, 10*i + 2].
    let sources = range(0, 3, 1)?;
    let f = |e: &[Tensor]| {
        let i = e[0].scalar_value::<i64>()?;
        range(10 * i, 10 * i + 3, 1)
    };
    let il = sources.interleave(ElementSpec::scalar(DType::I64), f, 2, 1)?;
    // tf.data.Dataset.range(3).interleave(lambda i: range(10*i, 10*i+3), cycle_length=2, block_length=1)
    assert_eq!(ints(&il)?, vec![0, 10, 1, 11, 2, 12, 20, 21, 22]);
    let il = sources.interleave(ElementSpec::scalar(DType::I64), f, 2, 2)?;
    assert_eq!(ints(&il)?, vec![0, 1, 10, 11, 2, 12, 20, 21, 22]);
    assert_eq!(
        sources.interleave(ElementSpec::scalar(DType::I64), f, 0, 1).unwrap_err().code(),
        Code::InvalidArgument
    );
    Ok(())
}

#[test]
fn ignore_errors_drops_failed_elements() -> Result<()> {
    let ds = range(0, 6, 1)?.map(ElementSpec::scalar(DType::I64), |e| {
        if e[0].scalar_value::<i64>()? % 3 == 0 {
            return Err(ferroflow_core::Error::invalid_argument("multiple of three"));
        }
        Ok(e)
    })?;
    assert!(ds.collect_elements().is_err());
    assert_eq!(ints(&ds.ignore_errors())?, vec![1, 2, 4, 5]);
    Ok(())
}

#[test]
fn iterator_after_end_stays_ended() -> Result<()> {
    let mut it = range(0, 1, 1)?.make_iterator(IteratorContext::default())?;
    assert!(it.next()?.is_some());
    assert!(it.next()?.is_none());
    assert!(it.next()?.is_none());
    Ok(())
}
