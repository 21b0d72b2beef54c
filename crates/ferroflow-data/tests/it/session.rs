//! Iterator ops in a `DirectSession`: end of input as `OutOfRange`, initializers, errors from `run()`.

use ferroflow_core::{Code, DType, Error, PartialShape, Result, Tensor};
use ferroflow_data::{make_initializable_iterator, make_one_shot_iterator, range, DatasetExt, ElementSpec};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{DirectSession, SessionExt};

#[test]
fn one_shot_iterator_ends_with_out_of_range() -> Result<()> {
    let ds = range(0, 5, 1)?.batch(2, false)?;
    let mut g = GraphBuilder::new();
    let it = make_one_shot_iterator(&mut g, &ds)?;
    assert!(it.initializer().is_none());
    let next = it.get_next(&mut g)?;
    assert_eq!(g.dtype(next[0])?, DType::I64);
    assert_eq!(g.shape(next[0])?, &PartialShape::new(vec![None]));
    let doubled = g.add(next[0], next[0])?;
    let graph = g.finalize();
    let mut sess = DirectSession::new(graph.clone());
    assert_eq!(sess.run(doubled, &[])?.tensor()?.to_vec::<i64>()?, vec![0, 2]);
    assert_eq!(sess.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![2, 3]);
    assert_eq!(sess.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![4]);
    let end = sess.run(next[0], &[]).unwrap_err();
    assert_eq!(end.code(), Code::OutOfRange);
    assert!(end.message().starts_with("End of sequence"), "{end}");
    assert!(sess.run(next[0], &[]).unwrap_err().is_end_of_input(), "stays at the end");

    // A second session of the same frozen graph starts its own iterator.
    let mut other = DirectSession::new(graph);
    assert_eq!(other.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![0, 1]);
    Ok(())
}

#[test]
fn initializable_iterator_restarts() -> Result<()> {
    let ds = range(0, 3, 1)?;
    let mut g = GraphBuilder::new();
    let it = make_initializable_iterator(&mut g, &ds)?;
    let next = it.get_next(&mut g)?;
    let init = it.initializer().expect("initializable");
    let mut sess = DirectSession::new(g.finalize());
    let err = sess.run(next[0], &[]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("has not been initialized"), "{err}");
    sess.run(init, &[])?;
    assert_eq!(sess.run(next[0], &[])?.tensor()?.scalar_value::<i64>()?, 0);
    assert_eq!(sess.run(next[0], &[])?.tensor()?.scalar_value::<i64>()?, 1);
    sess.run(init, &[])?;
    let mut seen = Vec::new();
    loop {
        match sess.run(next[0], &[]) {
            Ok(v) => seen.push(v.tensor()?.scalar_value::<i64>()?),
            Err(e) if e.is_end_of_input() => break,
            Err(e) => return Err(e),
        }
    }
    assert_eq!(seen, vec![0, 1, 2], "re-initializing starts over");
    Ok(())
}

#[test]
fn map_errors_surface_from_run_with_their_message() -> Result<()> {
    let ds = range(0, 3, 1)?.map(ElementSpec::scalar(DType::I64), |e| {
        let v = e[0].scalar_value::<i64>()?;
        if v == 1 {
            return Err(Error::invalid_argument(format!("label {v} is not allowed")));
        }
        Ok(e)
    })?;
    let mut g = GraphBuilder::new();
    let it = make_one_shot_iterator(&mut g, &ds)?;
    let next = it.get_next(&mut g)?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(next[0], &[])?;
    let err = sess.run(next[0], &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("label 1 is not allowed"), "{err}");
    // The failed element is consumed; the iterator goes on, as in TF.
    assert_eq!(sess.run(next[0], &[])?.tensor()?.scalar_value::<i64>()?, 2);
    Ok(())
}

#[test]
fn components_and_string_handles() -> Result<()> {
    let ds = ferroflow_data::from_tensor_slices(vec![
        Tensor::from_vec(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0])?,
        Tensor::vector(vec![7i64, 8]),
    ])?;
    let mut g = GraphBuilder::new();
    let it = make_one_shot_iterator(&mut g, &ds)?;
    let next = it.get_next(&mut g)?;
    assert_eq!(g.shape(next[0])?, &PartialShape::known(&[2]));
    let mut sess = DirectSession::new(g.finalize());
    let both = sess.run(vec![next[0], next[1]], &[])?;
    assert_eq!(both.get(0)?.tensor()?.to_vec::<f32>()?, vec![1.0, 2.0]);
    assert_eq!(both.get(1)?.tensor()?.scalar_value::<i64>()?, 7);
    let h = sess.run(it.string_handle(), &[])?;
    assert!(crate::text(h.tensor()?).starts_with("iterator:"));
    Ok(())
}
