//! The digits CNN shared by the `cnn_digits` example and its integration test: loading the data, the
//! graph (conv 3x3x16 + relu + max-pool, conv 3x3x32 + relu + max-pool, dense 10, softmax
//! cross-entropy) and `MomentumOptimizer`.

use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::optimizer::{MomentumOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, VariableOptions};
use ferroflow_session::{DirectSession, SessionExt, SessionOptions};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::io::Read;

/// Images (8x8, scaled to [0, 1]) and labels.
#[derive(Debug, Clone, Default)]
pub struct Digits {
    /// `n * 64` pixels, row-major.
    pub images: Vec<f32>,
    /// `n` labels in 0..10.
    pub labels: Vec<i32>,
}

impl Digits {
    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The examples at `idx`, as an `[n, 8, 8, 1]` tensor and a label vector.
    pub fn batch(&self, idx: &[usize]) -> Result<(Tensor, Tensor)> {
        let mut px = Vec::with_capacity(idx.len() * 64);
        let mut lb = Vec::with_capacity(idx.len());
        for &i in idx {
            px.extend_from_slice(&self.images[i * 64..(i + 1) * 64]);
            lb.push(self.labels[i]);
        }
        Ok((Tensor::from_vec(&[idx.len(), 8, 8, 1], px)?, Tensor::vector(lb)))
    }
}

/// Reads `digits.csv.gz`: 64 pixel values 0..16 and a label per line.
///
/// # Errors
/// `NotFound` when the file is missing; `InvalidArgument` for a malformed line.
pub fn load_digits(path: &std::path::Path) -> Result<Digits> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut d = Digits::default();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let vals: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::invalid_argument(format!("line {}: {e}", n + 1)))?;
        if vals.len() != 65 {
            return Err(Error::invalid_argument(format!(
                "line {}: {} values, expected 65",
                n + 1,
                vals.len()
            )));
        }
        d.images.extend(vals[..64].iter().map(|v| v / 16.0));
        d.labels.push(vals[64] as i32);
    }
    Ok(d)
}

/// The digits file of the repository.
pub fn default_data_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/digits.csv.gz")
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// Graph-level seed (variables) and the shuffling seed.
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// SGD learning rate.
    pub learning_rate: f64,
    /// Momentum coefficient.
    pub momentum: f64,
    /// Held-out fraction.
    pub test_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 42,
            epochs: 30,
            batch_size: 32,
            learning_rate: 0.05,
            momentum: 0.9,
            test_fraction: 0.2,
        }
    }
}

/// What training reached.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// Accuracy on the held-out examples.
    pub test_accuracy: f64,
    /// Accuracy on the training examples.
    pub train_accuracy: f64,
    /// Mean loss of the last epoch.
    pub final_loss: f64,
    /// Training steps run.
    pub steps: usize,
}

/// The mean softmax cross-entropy of `logits` against one-hot `labels` (TF1's usual classification loss).
pub fn mean_xent(g: &mut GraphBuilder, logits: Output, onehot: Output) -> Result<Output> {
    let per_example = g.softmax_cross_entropy_with_logits(onehot, logits)?;
    g.reduce_mean(per_example, None, false)
}

struct Model {
    x: Output,
    labels: Output,
    logits: Output,
    loss: Output,
    train: Operation,
    init: Operation,
}

fn conv_layer(g: &mut GraphBuilder, name: &str, x: Output, cin: usize, cout: usize) -> Result<Output> {
    let k = g.get_variable(
        &format!("{name}/kernel"),
        &[3, 3, cin, cout],
        DType::F32,
        Initializer::GlorotUniform { seed: None },
        VariableOptions::default(),
    )?;
    let b = g.get_variable(
        &format!("{name}/bias"),
        &[cout],
        DType::F32,
        Initializer::Zeros,
        VariableOptions::default(),
    )?;
    let c = g.conv2d(x, k.value(), Conv2DOptions::new(1, Padding::Same))?;
    let z = g.bias_add(c, b.value())?;
    let h = g.relu(z)?;
    g.max_pool(h, [2, 2], [2, 2], Padding::Valid)
}

fn build(cfg: &TrainConfig) -> Result<(GraphBuilder, Model)> {
    let mut g = GraphBuilder::new();
    g.set_random_seed(cfg.seed as i64);
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(8), Some(8), Some(1)]), "x")?;
    let labels = g.placeholder(DType::I32, PartialShape::new(vec![None]), "labels")?;
    let h1 = conv_layer(&mut g, "conv1", x, 1, 16)?;
    let h2 = conv_layer(&mut g, "conv2", h1, 16, 32)?;
    let flat = g.reshape(h2, &[-1, 2 * 2 * 32])?;
    let w = g.get_variable(
        "dense/kernel",
        &[128, 10],
        DType::F32,
        Initializer::GlorotUniform { seed: None },
        VariableOptions::default(),
    )?;
    let b =
        g.get_variable("dense/bias", &[10], DType::F32, Initializer::Zeros, VariableOptions::default())?;
    let mm = g.matmul(flat, w.value(), false, false)?;
    let logits = g.bias_add(mm, b.value())?;
    let onehot = g.one_hot(labels, 10, 1.0, 0.0, DType::F32)?;
    let loss = mean_xent(&mut g, logits, onehot)?;

    let mut optimizer = MomentumOptimizer::new(cfg.learning_rate, cfg.momentum, false);
    let train = optimizer.minimize(&mut g, loss, None, None)?;
    let init = g.global_variables_initializer()?;
    Ok((g, Model { x, labels, logits, loss, train, init }))
}

fn accuracy(sess: &mut DirectSession, m: &Model, data: &Digits, idx: &[usize]) -> Result<f64> {
    let (xb, yb) = data.batch(idx)?;
    let logits = sess.run(m.logits, &[(m.x, xb)])?.into_tensor()?.to_vec::<f32>()?;
    let labels = yb.to_vec::<i32>()?;
    let correct = logits
        .chunks_exact(10)
        .zip(&labels)
        .filter(|(row, &l)| {
            let best =
                row.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 as i32 == l
        })
        .count();
    Ok(correct as f64 / idx.len().max(1) as f64)
}

/// Trains on a seeded split of `data` and reports held-out accuracy.
///
/// # Errors
/// Any error from building or running the graph.
pub fn train(data: &Digits, cfg: &TrainConfig) -> Result<Report> {
    let (mut g, m) = build(cfg)?;
    let options = SessionOptions { intra_op_parallelism_threads: 1, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    sess.run(m.init, &[])?;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut rng);
    let n_test = (data.len() as f64 * cfg.test_fraction).round() as usize;
    let (test, train_idx) = order.split_at(n_test);
    let mut train_idx = train_idx.to_vec();
    let (mut steps, mut final_loss) = (0, f64::NAN);
    for _ in 0..cfg.epochs {
        train_idx.shuffle(&mut rng);
        let (mut total, mut batches) = (0.0, 0);
        for batch in train_idx.chunks(cfg.batch_size) {
            let (xb, yb) = data.batch(batch)?;
            let out = sess.run(
                vec![m.loss.into(), ferroflow_session::Fetch::Op(m.train)],
                &[(m.x, xb), (m.labels, yb)],
            )?;
            total += f64::from(out.get(0)?.scalar::<f32>()?);
            batches += 1;
            steps += 1;
        }
        final_loss = total / f64::from(batches.max(1));
    }
    Ok(Report {
        test_accuracy: accuracy(&mut sess, &m, data, test)?,
        train_accuracy: accuracy(&mut sess, &m, data, &train_idx)?,
        final_loss,
        steps,
    })
}
