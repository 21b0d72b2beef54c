//! The MLP training step the architecture promises to run faster than TensorFlow: 784-256-10, batch
//! 128, matmul + bias_add + relu + sparse softmax cross-entropy, their gradients and plain SGD.

use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Operation, Output, VariableOptions};
use ferroflow_session::{DirectSession, RunRequest, Session, SessionOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

struct Mlp {
    x: Output,
    y: Output,
    loss: Output,
    train: Vec<Operation>,
    init: Operation,
}

fn uniform(rng: &mut StdRng, shape: &[usize], scale: f32) -> Result<Tensor> {
    let n = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| rng.gen_range(-scale..scale)).collect::<Vec<f32>>())
}

fn build(g: &mut GraphBuilder, sizes: [usize; 3], learning_rate: f32) -> Result<Mlp> {
    let [input, hidden, classes] = sizes;
    let mut rng = StdRng::seed_from_u64(1);
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(input)]), "x")?;
    let y = g.placeholder(DType::I32, PartialShape::new(vec![None]), "y")?;
    let mut vars = Vec::new();
    let mut h = x;
    for (i, (fan_in, fan_out)) in [(input, hidden), (hidden, classes)].into_iter().enumerate() {
        let w0 =
            g.constant(uniform(&mut rng, &[fan_in, fan_out], (6.0 / (fan_in + fan_out) as f32).sqrt())?)?;
        let b0 = g.constant(Tensor::from_vec(&[fan_out], vec![0.0f32; fan_out])?)?;
        let w = g.variable(&format!("w{i}"), w0, VariableOptions::default())?;
        let b = g.variable(&format!("b{i}"), b0, VariableOptions::default())?;
        let z = g.matmul(h, w.value(), false, false)?;
        let z = g.bias_add(z, b.value())?;
        h = if i == 0 { g.relu(z)? } else { z };
        vars.push(w);
        vars.push(b);
    }
    let xent = g.sparse_softmax_cross_entropy_with_logits(y, h)?;
    let loss = g.reduce_mean(xent, None, false)?;
    let values: Vec<Output> = vars.iter().map(|v| v.value()).collect();
    let grads = g.gradients(&[loss], &values, None)?;
    let lr = g.constant(Tensor::scalar(learning_rate))?;
    let mut train = Vec::new();
    for (v, grad) in vars.iter().zip(grads) {
        let grad = grad.ok_or_else(|| ferroflow_core::Error::internal("missing gradient"))?;
        let step = g.mul(lr, grad)?;
        train.push(g.assign_sub(v, step)?.op());
    }
    let init = g.global_variables_initializer()?;
    Ok(Mlp { x, y, loss, train, init })
}

fn batch(rng: &mut StdRng, n: usize, input: usize, classes: usize) -> Result<(Tensor, Tensor)> {
    // Labels are a simple function of the features so that the loss can fall.
    let xs: Vec<f32> = (0..n * input).map(|_| rng.gen_range(0.0..1.0)).collect();
    let ys: Vec<i32> = xs.chunks(input).map(|r| ((r[0] + r[1]) * classes as f32 / 2.0) as i32).collect();
    let ys = ys.into_iter().map(|v| v.clamp(0, classes as i32 - 1)).collect();
    Ok((Tensor::from_vec(&[n, input], xs)?, Tensor::from_vec(&[n], ys)?))
}

fn step(sess: &mut DirectSession, m: &Mlp, x: &Tensor, y: &Tensor) -> Result<f32> {
    let mut request = RunRequest::new().feed(m.x, x.clone()).feed(m.y, y.clone());
    for &t in &m.train {
        request = request.target(t);
    }
    let i = request.fetch(m.loss);
    let out = sess.run_request(&request)?;
    out.values.get(i).ok_or_else(|| ferroflow_core::Error::internal("no loss"))?.scalar_value::<f32>()
}

#[test]
fn mlp_sgd_loss_falls() -> Result<()> {
    let mut g = GraphBuilder::new();
    let m = build(&mut g, [16, 32, 4], 0.5)?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run_request(&RunRequest::new().target(m.init))?;
    let mut rng = StdRng::seed_from_u64(2);
    let (x, y) = batch(&mut rng, 64, 16, 4)?;
    let first = step(&mut sess, &m, &x, &y)?;
    let mut last = first;
    for _ in 0..100 {
        last = step(&mut sess, &m, &x, &y)?;
    }
    assert!(last < 0.7 * first, "loss went from {first} to {last}");
    Ok(())
}

/// Times the 784-256-10 step. Run with
/// `cargo test --release -p ferroflow-session --test it -- --ignored --nocapture mlp_step_timing`.
#[test]
#[ignore = "timing; run in release on an idle machine"]
fn mlp_step_timing() -> Result<()> {
    for threads in [1usize, 2] {
        let mut g = GraphBuilder::new();
        let m = build(&mut g, [784, 256, 10], 0.1)?;
        let options = SessionOptions { intra_op_parallelism_threads: threads, ..Default::default() };
        let mut sess = DirectSession::with_options(g.finalize(), options);
        sess.run_request(&RunRequest::new().target(m.init))?;
        let mut rng = StdRng::seed_from_u64(3);
        let (x, y) = batch(&mut rng, 128, 784, 10)?;
        for _ in 0..50 {
            step(&mut sess, &m, &x, &y)?;
        }
        let mut times = Vec::new();
        for _ in 0..15 {
            let t0 = Instant::now();
            for _ in 0..100 {
                step(&mut sess, &m, &x, &y)?;
            }
            times.push(t0.elapsed().as_secs_f64() * 1e3 / 100.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "mlp step, {threads} thread(s): min {:.3} ms, median {:.3} ms, max {:.3} ms",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    Ok(())
}
