//! The reference models of `tf1_bench.py` (`../shared/oracle/`), built the same way, for side-by-side
//! step timings with TensorFlow.

use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::optimizer::{GradientDescentOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, Variable, VariableOptions};
use rand::{Rng, SeedableRng};

/// Which reference model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceModel {
    /// 784-256-10 MLP, batch 128.
    Mlp,
    /// 28x28x1 -> conv 5x5x32 (SAME) + ReLU -> max pool 2 -> conv 5x5x64 (SAME) + ReLU -> max pool 2 ->
    /// dense 10, batch 64.
    Cnn,
    /// 4->2 linear softmax model, batch 8: almost no compute, measures per-step overhead.
    Tiny,
}

impl ReferenceModel {
    /// The model by its `tf1_bench.py` name.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown name.
    pub fn from_name(name: &str) -> Result<ReferenceModel> {
        match name {
            "mlp" => Ok(ReferenceModel::Mlp),
            "cnn" => Ok(ReferenceModel::Cnn),
            "tiny" => Ok(ReferenceModel::Tiny),
            other => {
                Err(Error::invalid_argument(format!("unknown reference model '{other}' (mlp, cnn, tiny)")))
            }
        }
    }

    /// The batch size `tf1_bench.py` uses.
    pub fn batch(self) -> usize {
        match self {
            ReferenceModel::Mlp => 128,
            ReferenceModel::Cnn => 64,
            ReferenceModel::Tiny => 8,
        }
    }
}

/// The handles of a built reference model.
#[derive(Debug, Clone)]
pub struct ReferenceGraph {
    /// Input placeholder.
    pub x: Output,
    /// One-hot label placeholder.
    pub y: Output,
    /// Mean softmax cross-entropy.
    pub loss: Output,
    /// One SGD step (learning rate 0.01) that also increments the global step.
    pub train_op: Operation,
    /// The global step.
    pub global_step: Variable,
    /// Initializes every variable.
    pub init: Operation,
}

/// Builds the model as `tf1_bench.py`'s `build` does (graph seed 0, the same initializers).
///
/// # Errors
/// As graph building.
pub fn build_reference(g: &mut GraphBuilder, model: ReferenceModel) -> Result<ReferenceGraph> {
    g.set_random_seed(0);
    let global_step = g.get_or_create_global_step()?;
    let normal = |s: f64| Initializer::RandomNormal { mean: 0.0, stddev: s, seed: None };
    let (x, y, logits) = match model {
        ReferenceModel::Mlp => {
            let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(784)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(10)]), "y")?;
            let opts = VariableOptions::default;
            let w1 = g.get_variable("w1", &[784, 256], DType::F32, normal(0.05), opts())?;
            let b1 = g.get_variable("b1", &[256], DType::F32, Initializer::Zeros, opts())?;
            let w2 = g.get_variable("w2", &[256, 10], DType::F32, normal(0.05), opts())?;
            let b2 = g.get_variable("b2", &[10], DType::F32, Initializer::Zeros, opts())?;
            let xw = g.matmul(x, w1.value(), false, false)?;
            let pre = g.add(xw, b1.value())?;
            let h = g.relu(pre)?;
            let hw = g.matmul(h, w2.value(), false, false)?;
            (x, y, g.add(hw, b2.value())?)
        }
        ReferenceModel::Cnn => {
            let x =
                g.placeholder(DType::F32, PartialShape::new(vec![None, Some(28), Some(28), Some(1)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(10)]), "y")?;
            let opts = VariableOptions::default;
            let k1 = g.get_variable("k1", &[5, 5, 1, 32], DType::F32, normal(0.1), opts())?;
            let c1 = g.get_variable("c1", &[32], DType::F32, Initializer::Zeros, opts())?;
            let k2 = g.get_variable("k2", &[5, 5, 32, 64], DType::F32, normal(0.05), opts())?;
            let c2 = g.get_variable("c2", &[64], DType::F32, Initializer::Zeros, opts())?;
            let w = g.get_variable("w", &[7 * 7 * 64, 10], DType::F32, normal(0.02), opts())?;
            let bw = g.get_variable("bw", &[10], DType::F32, Initializer::Zeros, opts())?;
            let conv = Conv2DOptions::new(1, Padding::Same);
            let h = g.conv2d(x, k1.value(), conv)?;
            let h = g.add(h, c1.value())?;
            let h = g.relu(h)?;
            let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
            let h = g.conv2d(h, k2.value(), conv)?;
            let h = g.add(h, c2.value())?;
            let h = g.relu(h)?;
            let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
            let h = g.reshape(h, &[-1, 7 * 7 * 64])?;
            let hw = g.matmul(h, w.value(), false, false)?;
            (x, y, g.add(hw, bw.value())?)
        }
        ReferenceModel::Tiny => {
            let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(4)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(2)]), "y")?;
            let w = g.get_variable("w", &[4, 2], DType::F32, normal(0.05), VariableOptions::default())?;
            (x, y, g.matmul(x, w.value(), false, false)?)
        }
    };
    let xent = g.softmax_cross_entropy_with_logits(y, logits)?;
    let loss = g.reduce_mean(xent, None, false)?;
    let train_op = GradientDescentOptimizer::new(0.01).minimize(g, loss, Some(&global_step), None)?;
    let init = g.global_variables_initializer()?;
    Ok(ReferenceGraph { x, y, loss, train_op, global_step, init })
}

/// A fixed batch shaped as `tf1_bench.py`'s `make_batch`: uniform `[0, 1)` inputs and one-hot labels
/// `(i * 7) % classes`.
///
/// # Errors
/// As tensor construction.
pub fn reference_batch(model: ReferenceModel) -> Result<(Tensor, Tensor)> {
    let batch = model.batch();
    let (shape, classes): (&[usize], usize) = match model {
        ReferenceModel::Mlp => (&[784], 10),
        ReferenceModel::Cnn => (&[28, 28, 1], 10),
        ReferenceModel::Tiny => (&[4], 2),
    };
    let features: usize = shape.iter().product();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let x: Vec<f32> = (0..batch * features).map(|_| rng.gen::<f32>()).collect();
    let mut y = vec![0f32; batch * classes];
    for i in 0..batch {
        y[i * classes + (i * 7) % classes] = 1.0;
    }
    let x_shape: Vec<usize> = std::iter::once(batch).chain(shape.iter().copied()).collect();
    Ok((Tensor::from_vec(&x_shape, x)?, Tensor::from_vec(&[batch, classes], y)?))
}
