//! Forward values, shape inference, batch normalization updates and dropout.

use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_graph::ops::conv_ops::{BatchNormConfig, Conv2DOptions, Padding};
use ferroflow_graph::{CollectionItem, GraphBuilder, GraphKeys};
use ferroflow_session::{DirectSession, SessionExt};

fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|v| v as f32).collect::<Vec<_>>()).unwrap()
}

#[test]
fn conv_and_pool_values_match_tf() -> Result<()> {
    let mut g = GraphBuilder::new();
    // 1x3x3x1 image 0..9, 2x2 filter of ones: VALID sums each 2x2 block, SAME pads bottom/right.
    let x = g.constant(iota(&[1, 3, 3, 1]))?;
    let w = g.constant(Tensor::from_vec(&[2, 2, 1, 1], vec![1.0f32; 4])?)?;
    let valid = g.conv2d(x, w, Conv2DOptions::new(1, Padding::Valid))?;
    let same = g.conv2d(x, w, Conv2DOptions::new(1, Padding::Same))?;
    let mp = g.max_pool(x, [2, 2], [2, 2], Padding::Same)?;
    let ap = g.avg_pool(x, [2, 2], [2, 2], Padding::Same)?;
    let dw = g.constant(Tensor::from_vec(&[1, 1, 1, 2], vec![1.0f32, -2.0])?)?;
    let depthwise = g.depthwise_conv2d(x, dw, Conv2DOptions::new(2, Padding::Valid))?;
    // conv2d_transpose with stride 2 spreads each input pixel into a 2x2 block.
    let t_in = g.constant(Tensor::from_vec(&[1, 2, 2, 1], vec![1.0f32, 2.0, 3.0, 4.0])?)?;
    let tr = g.conv2d_transpose(t_in, w, &[1, 4, 4, 1], Conv2DOptions::new(2, Padding::Same))?;
    assert_eq!(g.shape(valid)?.to_string(), "[1,2,2,1]");
    assert_eq!(g.shape(same)?.to_string(), "[1,3,3,1]");
    assert_eq!(g.shape(mp)?.to_string(), "[1,2,2,1]");
    assert_eq!(g.shape(depthwise)?.to_string(), "[1,2,2,2]");
    let mut sess = DirectSession::new(g.finalize());
    let out = crate::tensors(sess.run(vec![valid, same, mp, ap, depthwise, tr], &[])?);
    let v = |i: usize| out[i].to_vec::<f32>().unwrap();
    assert_eq!(v(0), vec![8.0, 12.0, 20.0, 24.0]);
    assert_eq!(v(1), vec![8.0, 12.0, 7.0, 20.0, 24.0, 13.0, 13.0, 15.0, 8.0]);
    assert_eq!(v(2), vec![4.0, 5.0, 7.0, 8.0]);
    assert_eq!(v(3), vec![2.0, 3.5, 6.5, 8.0]);
    assert_eq!(v(4), vec![0.0, 0.0, 2.0, -4.0, 6.0, -12.0, 8.0, -16.0]);
    assert_eq!(v(5), vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0]);
    Ok(())
}

#[test]
fn bad_conv_shapes_are_rejected_naming_the_input() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(5), Some(5), Some(3)]), "images")?;
    let w = g.placeholder(DType::F32, PartialShape::known(&[3, 3, 2, 8]), "w")?;
    let w6 = g.placeholder(DType::F32, PartialShape::known(&[6, 6, 3, 8]), "w6")?;
    let flat = g.placeholder(DType::F32, PartialShape::known(&[4, 5]), "flat")?;
    let errors = [
        g.conv2d(x, w, Conv2DOptions::default()).unwrap_err(),
        g.conv2d(x, w6, Conv2DOptions::new(1, Padding::Valid)).unwrap_err(),
        g.max_pool(flat, [2, 2], [2, 2], Padding::Valid).unwrap_err(),
        g.depthwise_conv2d(x, w, Conv2DOptions::default()).unwrap_err(),
        g.fused_batch_norm(flat, w, w, None, None, 1e-3, true).unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.to_string().contains("'images:0'") || e.to_string().contains("'flat:0'"), "{e}");
    }
    // A kernel-time mismatch names the node too.
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::unknown_dims(4), "x")?;
    let w = g.constant(Tensor::from_vec(&[3, 3, 2, 1], vec![0.0f32; 18])?)?;
    let y = g.conv2d(x, w, Conv2DOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    let err = sess.run(y, &[(x, iota(&[1, 4, 4, 3]))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.to_string().contains("Conv2D"), "{err}");
    Ok(())
}

#[test]
fn batch_normalization_trains_and_updates_moving_averages() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(2)]), "x")?;
    let cfg = BatchNormConfig { momentum: 0.5, ..Default::default() };
    let layer = g.batch_norm_layer("bn", 2, DType::F32, cfg)?;
    let y_train = g.apply_batch_norm(&layer, x, true)?;
    let y_eval = g.apply_batch_norm(&layer, x, false)?;
    let updates: Vec<_> = g.collection(GraphKeys::UPDATE_OPS).iter().map(CollectionItem::as_op).collect();
    assert_eq!(updates.len(), 2);
    let names: Vec<String> = g.global_variables().iter().map(|v| v.name.clone()).collect();
    assert_eq!(names, vec!["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]);
    assert_eq!(g.trainable_variables().len(), 2);
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    let batch = Tensor::from_vec(&[4, 2], vec![1.0f32, 10.0, 3.0, 10.0, 5.0, 20.0, 7.0, 20.0])?;
    let mut fetch: Vec<ferroflow_session::Fetch> = vec![y_train.into()];
    fetch.extend(updates.iter().map(|&u| ferroflow_session::Fetch::Op(u)));
    let y = sess.run(fetch, &[(x, batch.clone())])?.get(0)?.tensor()?.to_vec::<f32>()?;
    // Column 0: mean 4, biased variance 5 -> (x - 4) / sqrt(5.001).
    assert!((y[0] - (-3.0 / 5.001f32.sqrt())).abs() < 1e-5, "{y:?}");
    // moving = moving - (moving - batch) * 0.5 with the unbiased batch variance (20/3 and 100/3).
    let mm = sess.run(layer.moving_mean.value(), &[])?.into_tensor()?.to_vec::<f32>()?;
    let mv = sess.run(layer.moving_variance.value(), &[])?.into_tensor()?.to_vec::<f32>()?;
    assert_eq!(mm, vec![2.0, 7.5]);
    assert!((mv[0] - (0.5 + 10.0 / 3.0)).abs() < 1e-5 && (mv[1] - (0.5 + 50.0 / 3.0)).abs() < 1e-4, "{mv:?}");
    // Inference uses the moving statistics.
    let ye = sess.run(y_eval, &[(x, batch)])?.into_tensor()?.to_vec::<f32>()?;
    assert!((ye[0] - (1.0 - 2.0) / (mv[0] + 1e-3).sqrt()).abs() < 1e-5, "{ye:?}");
    Ok(())
}

#[test]
fn dropout_is_seeded_scaled_and_masks_its_gradient() -> Result<()> {
    let draw = || -> Result<(Vec<f32>, Vec<f32>)> {
        let mut g = GraphBuilder::new();
        g.set_random_seed(7);
        let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(100)]), "x")?;
        let y = g.dropout(x, 0.25, None, true)?;
        let off = g.dropout(x, 0.25, None, false)?;
        assert_eq!(off, x);
        let loss = g.reduce_sum(y, None, false)?;
        let dx =
            g.gradients(&[loss], &[x], None)?[0].ok_or_else(|| ferroflow_core::Error::internal("no grad"))?;
        let mut sess = DirectSession::new(g.finalize());
        let ones = Tensor::from_vec(&[10, 100], vec![1.0f32; 1000])?;
        let out = crate::tensors(sess.run(vec![y, dx], &[(x, ones)])?);
        Ok((out[0].to_vec::<f32>()?, out[1].to_vec::<f32>()?))
    };
    let (y, dx) = draw()?;
    // With x = 1 the output is the mask itself, and the gradient of sum(y) is the same mask.
    assert_eq!(y, dx);
    assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    let kept = y.iter().filter(|&&v| v > 0.0).count();
    assert!((700..800).contains(&kept), "kept {kept} of 1000 at rate 0.25");
    // Same graph seed, same masks in a new session.
    assert_eq!(draw()?.0, y);
    Ok(())
}
