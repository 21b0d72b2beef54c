//! The reference models are built as `tf1_bench.py` builds them: variable names, shapes, batches.

use ferroflow::prelude::*;
use ferroflow::{build_reference, reference_batch, ReferenceModel};

#[test]
fn cnn_has_tf1_bench_variables_and_trains_a_step() -> Result<()> {
    let mut g = GraphBuilder::new();
    let m = build_reference(&mut g, ReferenceModel::Cnn)?;
    let vars: Vec<(String, Vec<usize>)> =
        g.graph().trainable_variables().iter().map(|v| (v.name.clone(), v.shape.dims().to_vec())).collect();
    let expected: Vec<(String, Vec<usize>)> = [
        ("k1", vec![5, 5, 1, 32]),
        ("c1", vec![32]),
        ("k2", vec![5, 5, 32, 64]),
        ("c2", vec![64]),
        ("w", vec![7 * 7 * 64, 10]),
        ("bw", vec![10]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(vars, expected);
    let (xb, yb) = reference_batch(ReferenceModel::Cnn)?;
    assert_eq!((xb.shape(), yb.shape()), (&[64, 28, 28, 1][..], &[64, 10][..]));
    assert_eq!(ReferenceModel::from_name("cnn")?.batch(), 64);
    // Two examples are enough to check that a step runs and lowers the loss.
    let x2 = Tensor::from_vec(&[2, 28, 28, 1], xb.to_vec::<f32>()?[..2 * 784].to_vec())?;
    let y2 = Tensor::from_vec(&[2, 10], yb.to_vec::<f32>()?[..20].to_vec())?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(m.init, &[])?;
    let feeds = [(m.x, x2), (m.y, y2)];
    let before = sess.run(m.loss, &feeds)?.scalar::<f32>()?;
    for _ in 0..3 {
        sess.run(m.train_op, &feeds)?;
    }
    let after = sess.run(m.loss, &feeds)?.scalar::<f32>()?;
    assert!(after < before, "{before} -> {after}");
    Ok(())
}
