//! The final evaluation, as a hook: when the monitored session ends cleanly (last step, end of input or
//! preemption), it measures loss and accuracy over whole example sets with the raw session, in chunks so
//! that a large set (MNIST) does not need one huge batch.

use super::data::Examples;
use ferroflow_core::Result;
use ferroflow_graph::Output;
use ferroflow_session::{Fetch, Session, SessionExt};
use ferroflow_train::SessionRunHook;
use std::sync::{Arc, Mutex};

/// Examples evaluated per run.
const CHUNK: usize = 1000;

/// What the evaluation measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// The global step at the end.
    pub global_step: i64,
    /// Mean loss over the training examples.
    pub train_loss: f32,
    /// Accuracy over the training examples.
    pub train_accuracy: f64,
    /// Accuracy over the held-out examples.
    pub eval_accuracy: f64,
}

/// The tensors an evaluation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalTensors {
    /// Images to feed.
    pub x: Output,
    /// Labels to feed.
    pub y: Output,
    /// Mean loss.
    pub loss: Output,
    /// Accuracy.
    pub accuracy: Output,
    /// The global step.
    pub global_step: Output,
}

/// Evaluates in `end`; the result is read through [`EvaluationHook::result`]'s handle.
#[derive(Debug)]
pub struct EvaluationHook {
    tensors: EvalTensors,
    train: Examples,
    eval: Examples,
    result: Arc<Mutex<Option<Evaluation>>>,
}

impl EvaluationHook {
    /// A hook measuring `train` and `eval`.
    pub fn new(tensors: EvalTensors, train: Examples, eval: Examples) -> EvaluationHook {
        EvaluationHook { tensors, train, eval, result: Arc::default() }
    }

    /// The shared slot the result lands in (the hook itself moves into the session).
    pub fn result(&self) -> Arc<Mutex<Option<Evaluation>>> {
        Arc::clone(&self.result)
    }

    /// Mean loss and accuracy over `examples`, weighting each chunk by its size.
    fn measure(&self, session: &mut dyn Session, examples: &Examples) -> Result<(f32, f64)> {
        let t = &self.tensors;
        let (mut loss, mut hits) = (0.0f64, 0.0f64);
        let mut start = 0;
        while start < examples.len() {
            let chunk = examples.slice(start, CHUNK)?;
            let n = chunk.len() as f64;
            let labels = ferroflow_core::Tensor::vector(chunk.labels);
            let feeds = [(t.x, chunk.images), (t.y, labels)];
            let out = session.run(Fetch::List(vec![t.loss.into(), t.accuracy.into()]), &feeds)?;
            loss += f64::from(out.get(0)?.scalar::<f32>()?) * n;
            hits += f64::from(out.get(1)?.scalar::<f32>()?) * n;
            start += CHUNK;
        }
        let n = examples.len().max(1) as f64;
        Ok(((loss / n) as f32, hits / n))
    }
}

impl SessionRunHook for EvaluationHook {
    fn name(&self) -> &str {
        "EvaluationHook"
    }

    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        let Some(session) = session else { return Ok(()) };
        let global_step = session.run(self.tensors.global_step, &[])?.scalar::<i64>()?;
        let (train_loss, train_accuracy) = self.measure(session, &self.train)?;
        let (_, eval_accuracy) = self.measure(session, &self.eval)?;
        let evaluation = Evaluation { global_step, train_loss, train_accuracy, eval_accuracy };
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(evaluation);
        }
        Ok(())
    }
}
