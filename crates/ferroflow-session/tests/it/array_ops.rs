//! Forward values and build-time errors of the array ops.

use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_graph::ops::array_ops::StridedSliceMasks;
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{DirectSession, SessionExt};

fn run(g: &mut GraphBuilder, y: Output) -> Result<Tensor> {
    let mut sess = DirectSession::new(g.finalize());
    sess.run(y, &[])?.into_tensor()
}

fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n as i32).collect::<Vec<_>>()).unwrap()
}

#[test]
fn shape_ops_give_tf_values() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.constant(iota(&[2, 3]))?;
    let tr = g.transpose(x, None)?;
    let ex = g.expand_dims(x, 0)?;
    let sq = g.squeeze(ex, &[])?;
    let cat = g.concat(&[x, x], 0)?;
    let st = g.stack(&[x, x], 2)?;
    let un = g.unstack(x, 1)?;
    let sl = g.slice(x, &[1, 1], &[1, -1])?;
    let tile = g.tile(x, &[1, 2])?;
    let pad = g.pad(x, &[(1, 0), (0, 1)])?;
    let size = g.size(x)?;
    let rank = g.rank(x)?;
    assert_eq!(g.shape(tr)?.to_string(), "[3,2]");
    assert_eq!(g.shape(st)?.to_string(), "[2,3,2]");
    assert_eq!(g.shape(pad)?.to_string(), "[3,4]");
    let graph = g.finalize();
    let mut sess = DirectSession::new(graph);
    let v = |sess: &mut DirectSession, y: Output| -> Result<(Vec<usize>, Vec<i32>)> {
        let t = sess.run(y, &[])?.into_tensor()?;
        Ok((t.shape().to_vec(), t.to_vec::<i32>()?))
    };
    assert_eq!(v(&mut sess, tr)?, (vec![3, 2], vec![0, 3, 1, 4, 2, 5]));
    assert_eq!(v(&mut sess, sq)?, (vec![2, 3], vec![0, 1, 2, 3, 4, 5]));
    assert_eq!(v(&mut sess, cat)?.0, vec![4, 3]);
    assert_eq!(v(&mut sess, st)?.1, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(v(&mut sess, un[1])?, (vec![2], vec![1, 4]));
    assert_eq!(v(&mut sess, sl)?, (vec![1, 2], vec![4, 5]));
    assert_eq!(v(&mut sess, tile)?.1, vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    assert_eq!(v(&mut sess, pad)?.1, vec![0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 5, 0]);
    assert_eq!(v(&mut sess, size)?, (vec![], vec![6]));
    assert_eq!(v(&mut sess, rank)?, (vec![], vec![2]));
    Ok(())
}

#[test]
fn strided_slice_follows_python_semantics() -> Result<()> {
    // x = arange(24).reshape(2, 3, 4); x[1, :, ::-2] and x[-1:, 1:, 3] and x[:, ::-1]
    type Case = (&'static [i64], &'static [i64], &'static [i64], StridedSliceMasks, Vec<usize>, Vec<i32>);
    let cases: Vec<Case> = vec![
        (
            &[1, 0, 0],
            &[0, 0, 0],
            &[1, 1, -2],
            StridedSliceMasks { begin_mask: 0b110, end_mask: 0b110, shrink_axis_mask: 0b001 },
            vec![3, 2],
            vec![15, 13, 19, 17, 23, 21],
        ),
        (
            &[-1, 1, 3],
            &[0, 0, 0],
            &[1, 1, 1],
            StridedSliceMasks { begin_mask: 0, end_mask: 0b011, shrink_axis_mask: 0b100 },
            vec![1, 2],
            vec![19, 23],
        ),
        (
            &[0, 0],
            &[0, 0],
            &[1, -1],
            StridedSliceMasks { begin_mask: 0b11, end_mask: 0b11, shrink_axis_mask: 0 },
            vec![2, 3, 4],
            vec![8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 20, 21, 22, 23, 16, 17, 18, 19, 12, 13, 14, 15],
        ),
    ];
    for (begin, end, strides, masks, shape, values) in cases {
        let mut g = GraphBuilder::new();
        let x = g.constant(iota(&[2, 3, 4]))?;
        let y = g.strided_slice(x, begin, end, strides, masks)?;
        assert_eq!(g.shape(y)?.to_shape().map(|s| s.0), Some(shape.clone()));
        let t = run(&mut g, y)?;
        assert_eq!(t.shape(), shape.as_slice());
        assert_eq!(t.to_vec::<i32>()?, values, "{begin:?} {end:?} {strides:?}");
    }
    Ok(())
}

#[test]
fn gather_one_hot_and_likes() -> Result<()> {
    let mut g = GraphBuilder::new();
    let emb = g.constant(Tensor::from_vec(&[3, 2], vec![0.0f32, 0.5, 1.0, 1.5, 2.0, 2.5])?)?;
    let ids = g.placeholder(DType::I32, PartialShape::new(vec![None]), "ids")?;
    let rows = g.gather(emb, ids, 0)?;
    let oh = g.one_hot(ids, 3, 1.0, 0.0, DType::F32)?;
    let z = g.zeros_like(rows)?;
    let o = g.ones_like(rows)?;
    let bm = {
        let a = g.constant(Tensor::from_vec(&[2, 1, 2], vec![1.0f32, 2.0, 3.0, 4.0])?)?;
        let b = g.constant(Tensor::from_vec(&[2, 2, 1], vec![1.0f32, 1.0, 2.0, 0.5])?)?;
        g.batch_matmul(a, b, false, false)?
    };
    let mut sess = DirectSession::new(g.finalize());
    let feed = [(ids, Tensor::vector(vec![2i32, 0]))];
    let out = crate::tensors(sess.run(vec![rows, oh, z, o, bm], &feed)?);
    assert_eq!(out[0].to_vec::<f32>()?, vec![2.0, 2.5, 0.0, 0.5]);
    assert_eq!(out[1].to_vec::<f32>()?, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert_eq!(out[2].to_vec::<f32>()?, vec![0.0; 4]);
    assert_eq!(out[3].to_vec::<f32>()?, vec![1.0; 4]);
    assert_eq!(out[4].shape(), &[2, 1, 1]);
    assert_eq!(out[4].to_vec::<f32>()?, vec![3.0, 8.0]);
    let err = sess.run(rows, &[(ids, Tensor::vector(vec![3i32]))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.to_string().contains("not in [0, 3)"), "{err}");
    Ok(())
}

#[test]
fn bad_shapes_are_rejected_at_build_time_naming_the_input() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::known(&[2, 3]), "x")?;
    let y = g.placeholder(DType::F32, PartialShape::known(&[3, 3]), "y")?;
    let errors = [
        g.transpose(x, Some(&[0, 0])).unwrap_err(),
        g.concat(&[x, y], 1).unwrap_err(),
        g.stack(&[x, y], 0).unwrap_err(),
        g.squeeze(x, &[0]).unwrap_err(),
        g.slice(x, &[1, 0], &[2, 3]).unwrap_err(),
        g.tile(x, &[2]).unwrap_err(),
        g.batch_matmul(x, x, false, false).unwrap_err(),
        g.expand_dims(x, 4).unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains("'x:0'"), "error does not name the input: {e}");
    }
    Ok(())
}

#[test]
fn degenerate_inputs_do_not_panic() -> Result<()> {
    let mut g = GraphBuilder::new();
    let s = g.constant(Tensor::scalar(3.0f32))?;
    let sl = g.slice(s, &[], &[])?;
    let empty = g.constant(Tensor::from_vec::<f32>(&[2, 0, 3], vec![])?)?;
    let sl2 = g.slice(empty, &[1, 0, 1], &[1, 0, 2])?;
    let t = g.transpose(empty, None)?;
    let c = g.concat(&[empty, empty], 1)?;
    let mut sess = DirectSession::new(g.finalize());
    let out = crate::tensors(sess.run(vec![sl, sl2, t, c], &[])?);
    assert_eq!(out[0].to_vec::<f32>()?, vec![3.0]);
    assert_eq!(out[1].shape(), &[1, 0, 2]);
    assert_eq!(out[2].shape(), &[3, 0, 2]);
    assert_eq!(out[3].shape(), &[2, 0, 3]);
    Ok(())
}
