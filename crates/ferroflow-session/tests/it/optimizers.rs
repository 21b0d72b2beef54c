//! Optimizers train, keep slots as global variables, and move the global step in the same run.

use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_graph::optimizer::{
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
};
use ferroflow_graph::{GraphBuilder, Initializer, VariableOptions};
use ferroflow_session::{DirectSession, SessionExt};

/// Fits y = 3x - 2 with the given optimizer; returns (final loss, global step, variable names).
fn fit(mut opt: impl Optimizer, steps: usize) -> Result<(f64, i64, Vec<String>)> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F64, PartialShape::new(vec![None, Some(1)]), "x")?;
    let y = g.placeholder(DType::F64, PartialShape::new(vec![None, Some(1)]), "y")?;
    let w = g.get_variable("w", &[1, 1], DType::F64, Initializer::Zeros, VariableOptions::default())?;
    let b = g.get_variable("b", &[1], DType::F64, Initializer::Zeros, VariableOptions::default())?;
    let xw = g.matmul(x, w.value(), false, false)?;
    let pred = g.add(xw, b.value())?;
    let err = g.sub(pred, y)?;
    let sq = g.square(err)?;
    let loss = g.reduce_mean(sq, None, false)?;
    let step = g.get_or_create_global_step()?;
    let train = opt.minimize(&mut g, loss, Some(&step), None)?;
    let init = g.global_variables_initializer()?;
    let names = g.global_variables().iter().map(|v| v.name.clone()).collect();
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    let xs: Vec<f64> = (0..16).map(|i| f64::from(i) / 8.0 - 1.0).collect();
    let ys: Vec<f64> = xs.iter().map(|v| 3.0 * v - 2.0).collect();
    let feeds = [(x, Tensor::from_vec(&[16, 1], xs)?), (y, Tensor::from_vec(&[16, 1], ys)?)];
    for _ in 0..steps {
        sess.run(train, &feeds)?;
    }
    let l = sess.run(loss, &feeds)?.scalar::<f64>()?;
    let s = sess.run(step.value(), &[])?.scalar::<i64>()?;
    Ok((l, s, names))
}

#[test]
fn every_optimizer_fits_a_line_and_counts_steps() -> Result<()> {
    type Fit = Box<dyn Fn() -> Result<(f64, i64, Vec<String>)>>;
    let cases: Vec<(&str, Fit, &[&str])> = vec![
        ("sgd", Box::new(|| fit(GradientDescentOptimizer::new(0.3), 300)), &[]),
        (
            "momentum",
            Box::new(|| fit(MomentumOptimizer::new(0.05, 0.9, false), 300)),
            &["w/Momentum", "b/Momentum"],
        ),
        ("nesterov", Box::new(|| fit(MomentumOptimizer::new(0.05, 0.9, true), 300)), &["w/Momentum"]),
        (
            "adam",
            Box::new(|| fit(AdamOptimizer::new(0.1), 500)),
            &["w/Adam", "w/Adam_1", "beta1_power", "beta2_power"],
        ),
        ("adagrad", Box::new(|| fit(AdagradOptimizer::new(1.0), 500)), &["w/Adagrad", "b/Adagrad"]),
        ("rmsprop", Box::new(|| fit(RMSPropOptimizer::new(0.01), 1500)), &["w/RMSProp", "w/RMSProp_1"]),
    ];
    for (name, run, slots) in cases {
        let (loss, step, vars) = run()?;
        assert!(loss < 1e-3, "{name}: final loss {loss}");
        assert!(step >= 300, "{name}: global step {step}");
        for s in slots {
            assert!(vars.iter().any(|v| v == s), "{name}: slot {s} missing from global variables {vars:?}");
        }
    }
    Ok(())
}

#[test]
fn one_sgd_step_matches_the_formula() -> Result<()> {
    let mut g = GraphBuilder::new();
    let w = g.get_variable(
        "w",
        &[2],
        DType::F32,
        Initializer::Value(Tensor::vector(vec![1.0f32, -2.0])),
        VariableOptions::default(),
    )?;
    let sq = g.square(w.value())?;
    let loss = g.reduce_sum(sq, None, false)?;
    let step = g.get_or_create_global_step()?;
    let train = GradientDescentOptimizer::new(0.1).minimize(&mut g, loss, Some(&step), None)?;
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    // Fetching the variable with the train op returns the value read before the update.
    let out = sess.run(ferroflow_session::Fetch::List(vec![w.value().into(), train.into()]), &[])?;
    assert_eq!(out.get(0)?.tensor()?.to_vec::<f32>()?, vec![1.0, -2.0]);
    // w -= 0.1 * 2w
    assert_eq!(sess.run(w.value(), &[])?.tensor()?.to_vec::<f32>()?, vec![0.8, -1.6]);
    assert_eq!(sess.run(step.value(), &[])?.scalar::<i64>()?, 1);
    Ok(())
}

#[test]
fn learning_rate_schedules_follow_tf() -> Result<()> {
    let mut g = GraphBuilder::new();
    let step = g.get_or_create_global_step()?;
    let exp = g.exponential_decay(0.1, &step, 10, 0.5, false)?;
    let stair = g.exponential_decay(0.1, &step, 10, 0.5, true)?;
    let poly = g.polynomial_decay(0.1, &step, 10, 0.01, 1.0, false)?;
    let piece = g.piecewise_constant(&step, &[5, 10], &[1.0, 0.5, 0.1])?;
    assert!(g.piecewise_constant(&step, &[5], &[1.0]).is_err());
    let one = g.constant(Tensor::scalar(1i64))?;
    let inc = g.assign_add(&step, one)?;
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    let mut seen = Vec::new();
    for _ in 0..=15 {
        let v = sess.run(vec![exp, stair, poly, piece], &[])?;
        seen.push((0..4).map(|i| v.get(i).and_then(|t| t.scalar::<f32>())).collect::<Result<Vec<_>>>()?);
        sess.run(inc, &[])?;
    }
    let close = |a: f32, b: f64| (f64::from(a) - b).abs() < 1e-6;
    assert!(close(seen[5][0], 0.1 * 0.5f64.powf(0.5)));
    assert!(close(seen[5][1], 0.1));
    assert!(close(seen[10][1], 0.05));
    assert!(close(seen[5][2], (0.1 - 0.01) * 0.5 + 0.01));
    assert!(close(seen[15][2], 0.01));
    assert!(
        close(seen[5][3], 1.0)
            && close(seen[6][3], 0.5)
            && close(seen[10][3], 0.5)
            && close(seen[11][3], 0.1)
    );
    Ok(())
}

#[test]
fn no_gradient_for_any_variable_is_an_error() -> Result<()> {
    let mut g = GraphBuilder::new();
    let w = g.get_variable("w", &[2], DType::F32, Initializer::Zeros, VariableOptions::default())?;
    let c = g.constant(Tensor::scalar(1.0f32))?;
    let err = GradientDescentOptimizer::new(0.1).minimize(&mut g, c, None, Some(&[w])).unwrap_err();
    assert_eq!(err.code(), ferroflow_core::Code::InvalidArgument);
    assert!(err.message().contains("No gradients provided"), "{err}");
    Ok(())
}
