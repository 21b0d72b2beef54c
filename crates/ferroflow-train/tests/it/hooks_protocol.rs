//! The hook-protocol parts of `basic_session_run_hooks_test.py` (BH-058, BH-059, BH-061, BH-063) with
//! test-local hooks: `end` gets the raw session and may run final ops; `before_run` feeds. The standard
//! hooks themselves belong to the hooks issue.

use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, Fetched, SessionExt};
use ferroflow_train::{SessionRunArgs, SessionRunContext, SessionRunHook, SingularMonitoredSession};
use parking_lot::Mutex;
use std::sync::Arc;

/// A minimal FinalOpsHook: runs `final_ops` with `feeds` in `end`.
struct FinalOps {
    final_ops: Fetch,
    feeds: Vec<(Output, Tensor)>,
    values: Arc<Mutex<Option<Fetched>>>,
}

impl SessionRunHook for FinalOps {
    fn end(&mut self, session: Option<&mut dyn ferroflow_session::Session>) -> Result<()> {
        if let Some(s) = session {
            *self.values.lock() = Some(s.run(self.final_ops.clone(), &self.feeds)?);
        }
        Ok(())
    }
}

fn final_values(g: GraphBuilder, final_ops: Fetch, feeds: Vec<(Output, Tensor)>) -> Result<Fetched> {
    let values = Arc::default();
    let hook = FinalOps { final_ops, feeds, values: Arc::clone(&values) };
    let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
    sess.close()?;
    let v = values.lock().take();
    Ok(v.unwrap())
}

// BH-058 test_final_ops_is_scalar_tensor, BH-059 test_final_ops_is_tensor
#[test]
fn bh058_bh059_final_ops_in_end() -> Result<()> {
    let mut g = GraphBuilder::new();
    let four = g.constant(Tensor::scalar(4i32))?;
    assert_eq!(final_values(g, four.into(), vec![])?.scalar::<i32>()?, 4);
    let mut g = GraphBuilder::new();
    let t = g.constant(Tensor::vector(vec![1i32, 6, 3, 5, 2, 4]))?;
    assert_eq!(final_values(g, t.into(), vec![])?.tensor()?.to_vec::<i32>()?, [1, 6, 3, 5, 2, 4]);
    Ok(())
}

// BH-061 test_final_ops_with_dictionary
#[test]
fn bh061_final_ops_with_feed() -> Result<()> {
    let mut g = GraphBuilder::new();
    let p = g.placeholder(DType::I32, PartialShape::known(&[2]), "p")?;
    let y = g.identity(p)?;
    let v = final_values(g, y.into(), vec![(p, Tensor::vector(vec![4i32, -3]))])?;
    assert_eq!(v.tensor()?.to_vec::<i32>()?, [4, -3]);
    Ok(())
}

// BH-063 test_feeding_placeholder (a FeedFnHook: feeds from a function in every before_run)
#[test]
fn bh063_feeding_placeholder() -> Result<()> {
    struct FeedFn<F>(F);
    impl<F: FnMut() -> Vec<(Output, Tensor)> + Send> SessionRunHook for FeedFn<F> {
        fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
            Ok(Some(SessionRunArgs::default().with_feeds((self.0)())))
        }
    }
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::scalar(), "x")?;
    let one = g.constant(Tensor::scalar(1.0f32))?;
    let y = g.add(x, one)?;
    let mut sess = SingularMonitoredSession::builder(g)
        .hook(FeedFn(move || vec![(x, Tensor::scalar(1.0f32))]))
        .build()?;
    assert_eq!(sess.run(y, &[])?.scalar::<f32>()?, 2.0);
    Ok(())
}
