//! Saving and restoring iterator state: a run stopped and resumed sees exactly the elements an
//! uninterrupted run sees.

use crate::{example, write_tfrecord};
use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_data::{
    from_tensor_slices, make_initializable_iterator, make_one_shot_iterator, parse_example_dataset, range,
    Compression, DatasetExt, DatasetRef, ElementSpec, FeatureSpec, FixedLenFeature, IdxDataset, Iterator,
    IteratorStateWriter, TFRecordDataset,
};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{DirectSession, SessionExt};
use std::path::PathBuf;
use std::sync::Arc;

/// Three TFRecord files of Examples (one gzipped), interleaved, parsed, shuffled, batched, repeated
/// and prefetched: every stateful piece at once.
fn pipeline(dir: &std::path::Path) -> Result<DatasetRef> {
    let mut files = Vec::new();
    for f in 0..3i64 {
        let path = dir.join(format!("part-{f}.tfrecord"));
        let compression = if f == 1 { Compression::Gzip } else { Compression::None };
        let records: Vec<Vec<u8>> = (0..17).map(|i| example(100 * f + i)).collect();
        write_tfrecord(&path, &records, compression)?;
        files.push(path);
    }
    let names = from_tensor_slices(vec![Tensor::vector(
        files.iter().map(|p| p.display().to_string().into_bytes()).collect::<Vec<_>>(),
    )])?;
    let records = names.interleave(
        ElementSpec::scalar(DType::String),
        |e| {
            let name = PathBuf::from(crate::text(&e[0]));
            let gz = name.display().to_string().contains("part-1");
            Ok(TFRecordDataset::new(vec![name], if gz { Compression::Gzip } else { Compression::None })?
                .into_ref())
        },
        2,
        3,
    )?;
    let spec = FeatureSpec::new(vec![
        ("label".into(), FixedLenFeature::new(DType::I64, &[])),
        ("x".into(), FixedLenFeature::new(DType::F32, &[2])),
    ])?;
    let parsed = parse_example_dataset(&records, spec)?;
    let skipped = parsed.skip(2).shard(1, 0)?.filter(|e| Ok(e[0].scalar_value::<i64>()? != 5));
    skipped.shuffle(16, (7, 11), true)?.batch(4, false)?.repeat(Some(3)).prefetch(2)
}

fn run_to_end(sess: &mut DirectSession, next: Output, out: &mut Vec<Vec<i64>>) -> Result<()> {
    loop {
        match sess.run(next, &[]) {
            Ok(v) => out.push(v.tensor()?.to_vec::<i64>()?),
            Err(e) if e.is_end_of_input() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn resumed_runs_see_the_uninterrupted_sequence() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ds = pipeline(dir.path())?;
    let mut g = GraphBuilder::new();
    let it = make_initializable_iterator(&mut g, &ds)?;
    let next = it.get_next(&mut g)?;
    let save = it.serialize(&mut g)?;
    let state_in = g.placeholder(DType::String, PartialShape::scalar(), "state")?;
    let load = it.deserialize(&mut g, state_in)?;
    let init = it.initializer().expect("initializable");
    let graph = g.finalize();

    let mut expected = Vec::new();
    let mut sess = DirectSession::new(graph.clone());
    sess.run(init, &[])?;
    run_to_end(&mut sess, next[0], &mut expected)?;
    assert_eq!(expected.len(), 36, "3 epochs of 48 examples in batches of 4");

    for stop_after in [0usize, 1, 5, 12, 13, 29, 35, 36] {
        let mut got = Vec::new();
        let state = {
            // The first run, "killed" after `stop_after` batches.
            let mut first = DirectSession::new(graph.clone());
            first.run(init, &[])?;
            for _ in 0..stop_after {
                got.push(first.run(next[0], &[])?.tensor()?.to_vec::<i64>()?);
            }
            first.run(save, &[])?.into_tensor()?
        };
        let mut second = DirectSession::new(graph.clone());
        second.run(load, &[(state_in, state)])?;
        run_to_end(&mut second, next[0], &mut got)?;
        assert_eq!(got, expected, "resumed after {stop_after} batches");
    }
    Ok(())
}

#[test]
fn state_restores_into_a_rebuilt_graph() -> Result<()> {
    // A new process rebuilds the same pipeline and graph; the state carries over.
    let build = |dir: &std::path::Path| -> Result<(Arc<ferroflow_graph::Graph>, Iterator, Output)> {
        let mut g = GraphBuilder::new();
        let it = make_one_shot_iterator(&mut g, &pipeline(dir)?)?;
        let next = it.get_next(&mut g)?;
        Ok((g.finalize(), it, next[0]))
    };
    let dir = tempfile::tempdir()?;
    let (graph, it, next) = build(dir.path())?;
    let mut sess = DirectSession::new(graph.clone());
    let mut expected = Vec::new();
    run_to_end(&mut sess, next, &mut expected)?;

    let mut sess = DirectSession::new(graph.clone());
    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(sess.run(next, &[])?.tensor()?.to_vec::<i64>()?);
    }
    let state = it.save_state(&graph, sess.resources())?;
    drop(sess);

    let (graph2, it2, next2) = build(dir.path())?;
    let mut sess2 = DirectSession::new(graph2.clone());
    it2.restore_state(&graph2, sess2.resources(), &state)?;
    run_to_end(&mut sess2, next2, &mut got)?;
    assert_eq!(got, expected);
    Ok(())
}

#[test]
fn index_sources_resume_in_constant_time() -> Result<()> {
    // A hand-made state at element 10^15 of a range: a replaying restore would never finish.
    let mut g = GraphBuilder::new();
    let it = make_one_shot_iterator(&mut g, &range(0, i64::MAX, 1)?)?;
    let next = it.get_next(&mut g)?;
    let graph = g.finalize();
    let mut w = IteratorStateWriter::new();
    w.tag("iterator");
    w.u64(1);
    w.bool(true);
    w.tag("range");
    w.i64(1_000_000_000_000_000);
    let mut sess = DirectSession::new(graph.clone());
    it.restore_state(&graph, sess.resources(), &w.finish().to_tensor())?;
    assert_eq!(sess.run(next[0], &[])?.tensor()?.scalar_value::<i64>()?, 1_000_000_000_000_000);

    // from_tensor_slices and IDX store the row index: the state does not grow with the position.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("items-idx1-ubyte");
    std::fs::write(&path, ferroflow_data::encode_idx(&Tensor::vector((0..=255u8).collect()))?)?;
    for ds in [
        from_tensor_slices(vec![Tensor::vector((0..1000i64).collect())])?,
        IdxDataset::new(&path)?.into_ref(),
    ] {
        let mut g = GraphBuilder::new();
        let it = make_one_shot_iterator(&mut g, &ds)?;
        let next = it.get_next(&mut g)?;
        let graph = g.finalize();
        let mut sess = DirectSession::new(graph.clone());
        sess.run(next[0], &[])?;
        let early = it.save_state(&graph, sess.resources())?;
        for _ in 0..200 {
            sess.run(next[0], &[])?;
        }
        let late = it.save_state(&graph, sess.resources())?;
        assert_eq!(early.byte_size(), late.byte_size());
        let mut fresh = DirectSession::new(graph.clone());
        it.restore_state(&graph, fresh.resources(), &late)?;
        let v = fresh.run(next[0], &[])?.into_tensor()?.cast(DType::I64)?.scalar_value::<i64>()?;
        assert_eq!(v, 201);
    }
    Ok(())
}

#[test]
fn a_state_of_another_pipeline_is_rejected() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = make_one_shot_iterator(&mut g, &range(0, 3, 1)?)?;
    let b = make_one_shot_iterator(&mut g, &range(0, 3, 1)?.batch(2, false)?)?;
    let next_a = a.get_next(&mut g)?;
    let graph = g.finalize();
    let mut sess = DirectSession::new(graph.clone());
    sess.run(next_a[0], &[])?;
    let state = a.save_state(&graph, sess.resources())?;
    let err = b.restore_state(&graph, sess.resources(), &state).unwrap_err();
    assert_eq!(err.code(), ferroflow_core::Code::InvalidArgument);
    assert!(err.message().contains("expected a 'batch' iterator, found 'range'"), "{err}");
    let err = b.restore_state(&graph, sess.resources(), &Tensor::string("garbage")).unwrap_err();
    assert_eq!(err.code(), ferroflow_core::Code::InvalidArgument);
    Ok(())
}

/// Every prefix of `ds`, saved and restored into a fresh iterator, continues with the same elements.
fn check_every_resume_point(ds: &DatasetRef) -> Result<()> {
    let all = ds.collect_elements()?;
    for k in 0..=all.len() {
        let mut it = ds.make_iterator(Default::default())?;
        for _ in 0..k {
            it.next()?;
        }
        let mut w = IteratorStateWriter::new();
        it.save(&mut w)?;
        let state = w.finish();
        let mut fresh = ds.make_iterator(Default::default())?;
        fresh.restore(&mut state.reader())?;
        let mut rest = Vec::new();
        while let Some(e) = fresh.next()? {
            rest.push(e);
        }
        assert_eq!(rest, all[k..].to_vec(), "resumed after {k} elements");
    }
    Ok(())
}

#[test]
fn file_sources_resume_at_every_element() -> Result<()> {
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let plain = dir.path().join("a.txt");
    std::fs::write(&plain, "one\ntwo\r\nthree\n")?;
    let gz = dir.path().join("b.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz)?, flate2::Compression::default());
    enc.write_all(b"four\nfive\n")?;
    enc.finish()?;
    check_every_resume_point(
        &ferroflow_data::TextLineDataset::new(vec![plain.clone(), plain], Compression::None)?.into_ref(),
    )?;
    check_every_resume_point(&ferroflow_data::TextLineDataset::new(vec![gz], Compression::Gzip)?.into_ref())?;

    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "h1,h2\n1,\"a\nb\"\n2,c\n3,d\n")?;
    let ds = ferroflow_data::CsvDataset::new(
        vec![csv.clone(), csv],
        vec![Tensor::scalar(0i64), Tensor::string("")],
    )?
    .header(true)
    .into_ref();
    check_every_resume_point(&ds)?;

    let records: Vec<Vec<u8>> = (0..5).map(example).collect();
    for c in [Compression::None, Compression::Zlib] {
        let path = dir.path().join(format!("r-{c:?}.tfrecord"));
        write_tfrecord(&path, &records, c)?;
        check_every_resume_point(&TFRecordDataset::new(vec![path.clone(), path], c)?.into_ref())?;
    }
    let il = range(0, 4, 1)?.interleave(
        ElementSpec::scalar(DType::I64),
        |e| range(0, e[0].scalar_value::<i64>()? + 1, 1),
        3,
        2,
    )?;
    check_every_resume_point(
        &il.shuffle(3, (1, 2), true)?.repeat(Some(2)).padded_batch(2, None, None, false)?,
    )?;
    Ok(())
}
