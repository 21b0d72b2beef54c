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
    fn gradients_of_math_and_nn_ops_match_finite_differences() -> Result<()> {
        // Inputs stay away from kinks (0 for relu/abs, 6 for relu6, ties for max/min), where finite
        // differences and the one-sided TF gradient legitimately disagree.
        let a = Tensor::from_vec(&[2, 3], vec![0.5f64, -1.0, 2.0, 1.5, 0.3, -0.7])?;
        let pos = Tensor::from_vec(&[2, 3], vec![0.5f64, 1.2, 2.0, 1.5, 0.3, 0.7])?;
        let wide = Tensor::from_vec(&[2, 3], vec![-0.5f64, 6.5, 2.0, 5.5, 0.3, -3.0])?;
        let row = Tensor::from_vec(&[3], vec![0.2f64, 0.4, -1.5])?;
        let with_zero = Tensor::from_vec(&[2, 3], vec![2.0f64, 0.0, 3.0, 1.0, 4.0, 0.5])?;
        let soft_labels = Tensor::from_vec(&[2, 3], vec![0.2f64, 0.3, 0.5, 0.6, 0.1, 0.3])?;
        let bias = Tensor::from_vec(&[3], vec![0.1f64, -0.2, 0.3])?;
        let cases: Vec<(&str, Vec<Tensor>, Box<BuildFn>)> = vec![
            ("sqrt", vec![pos.clone()], Box::new(|g, x| g.sqrt(x[0]))),
            ("rsqrt", vec![pos.clone()], Box::new(|g, x| g.rsqrt(x[0]))),
            ("exp", vec![a.clone()], Box::new(|g, x| g.exp(x[0]))),
            ("log", vec![pos.clone()], Box::new(|g, x| g.log(x[0]))),
            ("reciprocal", vec![a.clone()], Box::new(|g, x| g.reciprocal(x[0]))),
            ("abs", vec![a.clone()], Box::new(|g, x| g.abs(x[0]))),
            ("sigmoid", vec![a.clone()], Box::new(|g, x| g.sigmoid(x[0]))),
            ("tanh", vec![a.clone()], Box::new(|g, x| g.tanh(x[0]))),
            ("relu", vec![a.clone()], Box::new(|g, x| g.relu(x[0]))),
            ("relu6", vec![wide.clone()], Box::new(|g, x| g.relu6(x[0]))),
            ("leaky_relu", vec![a.clone()], Box::new(|g, x| g.leaky_relu(x[0], 0.2))),
            ("elu", vec![a.clone()], Box::new(|g, x| g.elu(x[0]))),
            ("selu", vec![a.clone()], Box::new(|g, x| g.selu(x[0]))),
            ("softplus", vec![wide.clone()], Box::new(|g, x| g.softplus(x[0]))),
            ("maximum broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.maximum(x[0], x[1]))),
            ("minimum broadcast", vec![a.clone(), row.clone()], Box::new(|g, x| g.minimum(x[0], x[1]))),
            ("pow", vec![pos.clone(), a.clone()], Box::new(|g, x| g.pow(x[0], x[1]))),
            ("pow broadcast", vec![pos.clone(), row.clone()], Box::new(|g, x| g.pow(x[0], x[1]))),
            (
                "squared_difference broadcast",
                vec![a.clone(), row.clone()],
                Box::new(|g, x| g.squared_difference(x[0], x[1])),
            ),
            (
                "select",
                vec![a.clone(), pos.clone()],
                Box::new(|g, x| {
                    let c =
                        g.constant(Tensor::from_vec(&[2, 3], vec![true, false, true, false, false, true])?)?;
                    g.select(c, x[0], x[1])
                }),
            ),
            (
                "select rows",
                vec![a.clone(), pos.clone()],
                Box::new(|g, x| {
                    let c = g.constant(Tensor::vector(vec![false, true]))?;
                    g.select(c, x[0], x[1])
                }),
            ),
            (
                "clip_by_value",
                vec![a.clone()],
                Box::new(|g, x| {
                    let lo = g.constant(Tensor::scalar(-0.8f64))?;
                    let hi = g.constant(Tensor::scalar(1.0f64))?;
                    g.clip_by_value(x[0], lo, hi)
                }),
            ),
            (
                "clip_by_global_norm (clipping)",
                vec![a.clone(), row.clone()],
                Box::new(|g, x| {
                    let (c, norm) = g.clip_by_global_norm(&[Some(x[0]), None, Some(x[1])], 1.5)?;
                    let (Some(c0), Some(c2)) = (c[0], c[2]) else {
                        return Err(Error::internal("clip_by_global_norm dropped a tensor"));
                    };
                    let s0 = g.reduce_sum(c0, None, false)?;
                    let s2 = g.reduce_sum(c2, None, false)?;
                    let t = g.add(s0, s2)?;
                    g.add(t, norm)
                }),
            ),
            (
                "clip_by_global_norm (no clipping)",
                vec![row.clone()],
                Box::new(|g, x| {
                    let (c, _) = g.clip_by_global_norm(&[Some(x[0])], 100.0)?;
                    c[0].ok_or_else(|| Error::internal("clip_by_global_norm dropped a tensor"))
                }),
            ),
            ("reduce_max axis", vec![a.clone()], Box::new(|g, x| g.reduce_max(x[0], Some(&[1]), false))),
            ("reduce_max all", vec![a.clone()], Box::new(|g, x| g.reduce_max(x[0], None, false))),
            ("reduce_min keep", vec![a.clone()], Box::new(|g, x| g.reduce_min(x[0], Some(&[0]), true))),
            ("reduce_prod axis", vec![a.clone()], Box::new(|g, x| g.reduce_prod(x[0], Some(&[1]), false))),
            (
                "reduce_prod zero",
                vec![with_zero.clone()],
                Box::new(|g, x| g.reduce_prod(x[0], Some(&[-1]), true)),
            ),
            ("reduce_prod all", vec![with_zero.clone()], Box::new(|g, x| g.reduce_prod(x[0], None, false))),
            ("softmax", vec![a.clone()], Box::new(|g, x| g.softmax(x[0]))),
            ("log_softmax", vec![a.clone()], Box::new(|g, x| g.log_softmax(x[0]))),
            (
                "sparse_softmax_cross_entropy_with_logits",
                vec![a.clone()],
                Box::new(|g, x| {
                    let labels = g.constant(Tensor::vector(vec![2i64, 0]))?;
                    let loss = g.sparse_softmax_cross_entropy_with_logits(labels, x[0])?;
                    g.reduce_mean(loss, None, false)
                }),
            ),
            (
                "softmax_cross_entropy_with_logits (logits and labels)",
                vec![a.clone(), soft_labels.clone()],
                Box::new(|g, x| g.softmax_cross_entropy_with_logits(x[1], x[0])),
            ),
            ("bias_add", vec![a.clone(), bias.clone()], Box::new(|g, x| g.bias_add(x[0], x[1]))),
            ("check_numerics", vec![a.clone()], Box::new(|g, x| g.check_numerics(x[0], "x"))),
            ("l2_normalize axis", vec![a.clone()], Box::new(|g, x| g.l2_normalize(x[0], &[1], 1e-12))),
            ("l2_normalize all", vec![a.clone()], Box::new(|g, x| g.l2_normalize(x[0], &[0, 1], 1e-12))),
            (
                "mlp layer: relu(bias_add(matmul))",
                vec![a.clone(), Tensor::from_vec(&[3, 2], vec![0.3f64, -0.2, 0.5, 0.1, -0.4, 0.6])?],
                Box::new(|g, x| {
                    let m = g.matmul(x[0], x[1], false, false)?;
                    let b = g.constant(Tensor::vector(vec![0.05f64, -0.03]))?;
                    let z = g.bias_add(m, b)?;
                    g.relu(z)
                }),
            ),
        ];
        for (name, inputs, f) in cases {
            let err = compute_gradient_error(&inputs, 1e-6, f)?;
            assert!(err < 1e-6, "{name}: gradient error {err}");
        }
        Ok(())
    }

    #[test]
    fn max_gradient_is_shared_between_ties() -> Result<()> {
        // TF's _MinOrMaxGrad: two maxima each get half of the gradient.
        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::vector(vec![1.0f64, 3.0, 3.0, 2.0]))?;
        let y = g.reduce_max(x, None, false)?;
        let grads = g.gradients(&[y], &[x], None)?;
        let gx = grads[0].ok_or_else(|| Error::internal("no gradient"))?;
        let mut sess = DirectSession::new(g.finalize());
        assert_eq!(sess.run(gx, &[])?.tensor()?.to_vec::<f64>()?, vec![0.0, 0.5, 0.5, 0.0]);
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
