//! Checks symbolic gradients against central finite differences (TF's `tf.test.compute_gradient_error`).

use crate::{DirectSession, SessionExt};
use ferroflow_core::{Error, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The largest absolute difference between the symbolic gradient and central finite differences (step
/// `delta`) of `f` at the given f64 inputs.
///
/// `f` builds the function from one placeholder per input. To check every output element at once, the
/// scalar differentiated is `sum(f(x) * w)` with fixed random weights `w`.
///
/// # Errors
/// `InvalidArgument` when an input is not f64 or `f` returns a non-float tensor; any error from building
/// or running the graph (including `Unimplemented` for a missing gradient).
pub fn compute_gradient_error(
    inputs: &[Tensor],
    delta: f64,
    f: impl Fn(&mut GraphBuilder, &[Output]) -> Result<Output>,
) -> Result<f64> {
    let mut g = GraphBuilder::new();
    let xs = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.dtype() != ferroflow_core::DType::F64 {
                return Err(Error::invalid_argument("compute_gradient_error needs f64 inputs"));
            }
            g.placeholder(t.dtype(), PartialShape::known(t.shape()), &format!("x{i}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let y = f(&mut g, &xs)?;
    let y_static = g.shape(y)?.clone();
    let w = g.placeholder(ferroflow_core::DType::F64, y_static, "w")?;
    let weighted = g.mul(y, w)?;
    let loss = g.reduce_sum(weighted, None, false)?;
    let grads = g.gradients(&[loss], &xs, None)?;
    let mut sess = DirectSession::new(g.finalize());

    let feeds = |values: &[Tensor], weights: &Tensor| -> Vec<(Output, Tensor)> {
        let mut f: Vec<(Output, Tensor)> = xs.iter().copied().zip(values.iter().cloned()).collect();
        f.push((w, weights.clone()));
        f
    };
    let y_shape = {
        let mut f: Vec<(Output, Tensor)> = xs.iter().copied().zip(inputs.iter().cloned()).collect();
        f.truncate(xs.len());
        sess.run(y, &f)?.into_tensor()?
    };
    let mut rng = StdRng::seed_from_u64(7);
    let weights = Tensor::from_vec(
        y_shape.shape(),
        (0..y_shape.num_elements()).map(|_| rng.gen_range(0.5..1.5)).collect::<Vec<f64>>(),
    )?;
    let loss_at = |sess: &mut DirectSession, values: &[Tensor]| -> Result<f64> {
        sess.run(loss, &feeds(values, &weights))?.scalar::<f64>()
    };

    let mut worst = 0.0f64;
    for (i, x) in xs.iter().enumerate() {
        let _ = x;
        let symbolic = match grads[i] {
            Some(gr) => sess.run(gr, &feeds(inputs, &weights))?.into_tensor()?.to_vec::<f64>()?,
            None => vec![0.0; inputs[i].num_elements()],
        };
        let base = inputs[i].to_vec::<f64>()?;
        for (j, &s) in symbolic.iter().enumerate() {
            let mut probe = inputs.to_vec();
            let mut plus = base.clone();
            plus[j] += delta;
            probe[i] = Tensor::from_vec(inputs[i].shape(), plus)?;
            let lp = loss_at(&mut sess, &probe)?;
            let mut minus = base.clone();
            minus[j] -= delta;
            probe[i] = Tensor::from_vec(inputs[i].shape(), minus)?;
            let lm = loss_at(&mut sess, &probe)?;
            let numeric = (lp - lm) / (2.0 * delta);
            worst = worst.max((numeric - s).abs());
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    type BuildFn = dyn Fn(&mut GraphBuilder, &[Output]) -> Result<Output>;

    #[test]
    fn gradients_of_core_ops_match_finite_differences() -> Result<()> {
        let a = Tensor::from_vec(&[2, 3], vec![0.5f64, -1.0, 2.0, 1.5, 0.3, -0.7])?;
        let b = Tensor::from_vec(&[3, 2], vec![1.0f64, -0.5, 0.25, 2.0, -1.0, 0.75])?;
        let row = Tensor::from_vec(&[3], vec![2.0f64, 0.5, -1.5])?;
        let cases: Vec<(&str, Vec<Tensor>, Box<BuildFn>)> = vec![
            ("add broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.add(x[0], x[1]))),
            ("sub broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.sub(x[0], x[1]))),
            ("mul broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.mul(x[0], x[1]))),
            ("div broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.div(x[0], x[1]))),
            ("neg", vec![a.clone()], Box::new(|g, x| g.neg(x[0]))),
            ("square", vec![a.clone()], Box::new(|g, x| g.square(x[0]))),
            ("matmul", vec![a.clone(), b.clone()], Box::new(|g, x| g.matmul(x[0], x[1], false, false))),
            ("matmul ta tb", vec![b.clone(), a.clone()], Box::new(|g, x| g.matmul(x[0], x[1], true, true))),
            ("matmul ta", vec![a.clone(), a.clone()], Box::new(|g, x| g.matmul(x[0], x[1], true, false))),
            ("matmul tb", vec![a.clone(), a.clone()], Box::new(|g, x| g.matmul(x[0], x[1], false, true))),
            ("sum axis", vec![a.clone()], Box::new(|g, x| g.reduce_sum(x[0], Some(&[1]), false))),
            ("sum keep", vec![a.clone()], Box::new(|g, x| g.reduce_sum(x[0], Some(&[0]), true))),
            ("mean all", vec![a.clone()], Box::new(|g, x| g.reduce_mean(x[0], None, false))),
            ("mean axis", vec![a.clone()], Box::new(|g, x| g.reduce_mean(x[0], Some(&[0]), false))),
            ("add_n", vec![a.clone(), a.clone()], Box::new(|g, x| g.add_n(&[x[0], x[1], x[0]]))),
            (
                "reshape",
                vec![a.clone()],
                Box::new(|g, x| {
                    let r = g.reshape(x[0], &[3, -1])?;
                    g.square(r)
                }),
            ),
            ("identity", vec![a.clone()], Box::new(|g, x| g.identity(x[0]))),
        ];
        for (name, inputs, f) in cases {
            let err = compute_gradient_error(&inputs, 1e-6, f)?;
            assert!(err < 1e-6, "{name}: gradient error {err}");
        }
        Ok(())
    }

    #[test]
    fn non_differentiable_paths_give_none() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.placeholder(ferroflow_core::DType::F64, PartialShape::known(&[2]), "x")?;
        let z = g.placeholder(ferroflow_core::DType::F64, PartialShape::known(&[2]), "z")?;
        let s = g.stop_gradient(x)?;
        let y = g.square(s)?;
        let grads = g.gradients(&[y], &[x, z], None)?;
        assert_eq!(grads, vec![None, None]);
        Ok(())
    }
}
