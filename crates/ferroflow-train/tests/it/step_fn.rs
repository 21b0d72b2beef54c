//! MS-080..MS-094: `run_step_fn` and `StepContext`.

use ferroflow_core::{Code, Error, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output, Variable, VariableOptions};
use ferroflow_session::{DirectSession, Session, SessionExt};
use ferroflow_train::testing::{FnSessionCreator, SharedSession};
use ferroflow_train::{
    MonitoredSession, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
    SingularMonitoredSession, StepContext, STEP_FN_STOP_MESSAGE,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn cv_f32(g: &mut GraphBuilder) -> Result<(Output, Output)> {
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    let c = g.placeholder_with_default(zero, PartialShape::scalar(), "c")?;
    let v = g.identity(c)?;
    Ok((c, v))
}

fn close_to(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

// MS-080 test_step_fn_example
#[test]
fn ms080_step_fn_example() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = cv_f32(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let out = sess.run_step_fn(|ctx| ctx.run_with_hooks(v, &[(c, Tensor::scalar(3.2f32))]))?;
    assert!(close_to(out.scalar::<f32>()?, 3.2));
    Ok(())
}

// MS-081 test_step_function_stops
#[test]
fn ms081_step_function_stops() -> Result<()> {
    let g = GraphBuilder::new();
    let mut sess = MonitoredSession::builder(g).build()?;
    let r = sess.scope(|s| s.run_step_fn(|ctx| Err::<(), _>(ctx.request_stop())))?;
    assert_eq!(r, None, "ended silently");
    assert!(sess.is_closed());
    Ok(())
}

// MS-082 test_step_request_stop_without_a_with_block
#[test]
fn ms082_step_request_stop_without_a_with_block() -> Result<()> {
    let g = GraphBuilder::new();
    let mut sess = MonitoredSession::builder(g).build()?;
    let err = sess.run_step_fn(|ctx| Err::<(), _>(ctx.request_stop())).unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange);
    assert_eq!(err.message(), STEP_FN_STOP_MESSAGE);
    assert!(!sess.should_stop()?, "TF: should_stop stays False");
    Ok(())
}

// MS-083 test_step_request_stop_in_a_loop
#[test]
fn ms083_step_request_stop_in_a_loop() -> Result<()> {
    let g = GraphBuilder::new();
    let mut sess = MonitoredSession::builder(g).build()?;
    let r = sess.scope(|s| {
        let mut iterations = 0;
        while !s.should_stop()? {
            iterations += 1;
            s.run_step_fn(|ctx| Err::<(), _>(ctx.request_stop()))?;
            assert!(iterations < 1, "should have been stopped");
        }
        Ok(())
    })?;
    assert_eq!(r, None);
    Ok(())
}

// MS-084 test_step_request_stop_with_returning_a_type
#[test]
fn ms084_step_with_returning_a_type() -> Result<()> {
    let g = GraphBuilder::new();
    let mut sess = MonitoredSession::builder(g).build()?;
    let r = sess.scope(|s| s.run_step_fn(|_ctx| Ok("a type".to_string())))?;
    assert_eq!(r.as_deref(), Some("a type"));
    Ok(())
}

// MS-086 test_step_fn_belongs_to_a_class
#[test]
fn ms086_step_fn_belongs_to_a_class() -> Result<()> {
    struct Model {
        c: Output,
        v: Output,
    }
    impl Model {
        fn step_fn(&self, ctx: &mut StepContext<'_>) -> Result<f32> {
            ctx.run_with_hooks(self.v, &[(self.c, Tensor::scalar(3.2f32))])?.scalar::<f32>()
        }
    }
    let mut g = GraphBuilder::new();
    let (c, v) = cv_f32(&mut g)?;
    let model = Model { c, v };
    let mut sess = MonitoredSession::builder(g).build()?;
    assert!(close_to(sess.run_step_fn(|ctx| model.step_fn(ctx))?, 3.2));
    Ok(())
}

struct Stages {
    var: Variable,
    stage_0: Output,
    stage_1_0: Output,
    stage_1_1: Output,
    stage_2: Output,
}

fn stages(g: &mut GraphBuilder) -> Result<Stages> {
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    let var = g.variable("var", zero, VariableOptions::default())?;
    let k = |g: &mut GraphBuilder, x: f32| g.constant(Tensor::scalar(x));
    let (a, b, c, d) = (k(g, 0.3)?, k(g, 0.7)?, k(g, 0.5)?, k(g, 1.1)?);
    let stage_0 = g.assign_add(&var, a)?;
    let stage_1_0 = g.assign_add(&var, b)?;
    let stage_1_1 = g.with_control_dependencies(&[stage_1_0.op()], |g| g.assign_add(&var, c))?;
    let stage_2 = g.assign_add(&var, d)?;
    Ok(Stages { var, stage_0, stage_1_0, stage_1_1, stage_2 })
}

struct StageHook {
    stage_1_0: Output,
    stage_2: Output,
    var: Output,
    calls: Arc<AtomicUsize>,
}

impl SessionRunHook for StageHook {
    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Some(SessionRunArgs::new(self.stage_1_0)))
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, _: &SessionRunValues<'_>) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let s = ctx.session();
        assert!(close_to(s.run(self.var, &[])?.scalar::<f32>()?, 1.5));
        assert!(close_to(s.run(self.stage_2, &[])?.scalar::<f32>()?, 2.6));
        Ok(())
    }
}

fn step_fn_with_hooks(singular: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let st = stages(&mut g)?;
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = StageHook {
        stage_1_0: st.stage_1_0,
        stage_2: st.stage_2,
        var: st.var.value(),
        calls: Arc::clone(&calls),
    };
    let step = |ctx: &mut StepContext<'_>| -> Result<f32> {
        ctx.session()?.run(st.stage_0, &[])?;
        ctx.run_with_hooks(st.stage_1_1, &[])?.scalar::<f32>()
    };
    let r = if singular {
        let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
        sess.scope(|s| s.run_step_fn(step))?
    } else {
        let mut sess = MonitoredSession::builder(g).hook(hook).build()?;
        sess.scope(|s| s.run_step_fn(step))?
    };
    assert!(close_to(r.unwrap(), 1.5), "0.3 + 0.7 + 0.5");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

// MS-088 test_step_fn_with_hooks
#[test]
fn ms088_step_fn_with_hooks() -> Result<()> {
    step_fn_with_hooks(false)
}

// MS-089 test_step_fn_has_the_same_hooks_behavior_without_recovery
#[test]
fn ms089_step_fn_same_hooks_behavior_without_recovery() -> Result<()> {
    step_fn_with_hooks(true)
}

// MS-090 test_step_fn_with_hooks_and_request_stop
#[test]
fn ms090_step_fn_with_hooks_and_request_stop() -> Result<()> {
    let mut g = GraphBuilder::new();
    let st = stages(&mut g)?;
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = StageHook {
        stage_1_0: st.stage_1_0,
        stage_2: st.stage_2,
        var: st.var.value(),
        calls: Arc::clone(&calls),
    };
    let mut sess = MonitoredSession::builder(g).hook(hook).build()?;
    let r = sess.scope(|s| s.run_step_fn(|ctx| Err::<(), _>(ctx.request_stop())))?;
    assert_eq!(r, None);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "hooks never called");
    Ok(())
}

// MS-091 test_recovers_from_an_exception_in_step_fn
#[test]
fn ms091_recovers_from_an_exception_in_step_fn() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = cv_f32(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let mut trace = 0;
    let out = sess.run_step_fn(|ctx| {
        trace += 1;
        if trace == 1 {
            return Err(Error::aborted("Abort"));
        }
        ctx.run_with_hooks(v, &[(c, Tensor::scalar(3.2f32))])?.scalar::<f32>()
    })?;
    assert!(close_to(out, 3.2));
    assert_eq!(trace, 2);
    Ok(())
}

fn graph_state(g: &mut GraphBuilder) -> Result<(Variable, Output)> {
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    let state = g.variable("graph_state", zero, VariableOptions::default())?;
    let inc = g.constant(Tensor::scalar(0.31f32))?;
    let add = g.assign_add(&state, inc)?;
    Ok((state, add))
}

/// A counting creator over one shared, initialized session (state survives recoveries).
fn shared_creator(
    g: &mut GraphBuilder,
) -> Result<FnSessionCreator<impl FnMut() -> Result<Box<dyn Session>> + Send>> {
    let init = g.global_variables_initializer()?;
    let mut raw = DirectSession::new(ferroflow_train::Scaffold::new().finalize(g)?);
    raw.run(init, &[])?;
    let shared = SharedSession::new(Box::new(raw));
    Ok(FnSessionCreator::new(move || -> Result<Box<dyn Session>> { Ok(Box::new(shared.clone())) }))
}

// MS-092 test_recovers_from_an_exception_in_step_fn_after_hooks
#[test]
fn ms092_recovers_from_an_exception_in_step_fn_after_hooks() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = cv_f32(&mut g)?;
    let (state, add) = graph_state(&mut g)?;
    let creator = shared_creator(&mut g)?;
    let mut sess = MonitoredSession::builder(g).session_creator(creator).build()?;
    let mut counter = 0;
    let out = sess.run_step_fn(|ctx| {
        counter += 1;
        ctx.session()?.run(add, &[])?;
        let r = ctx.run_with_hooks(v, &[(c, Tensor::scalar(3.2f32))])?.scalar::<f32>()?;
        if counter == 1 {
            return Err(Error::aborted("Abort"));
        }
        Ok(r)
    })?;
    assert!(close_to(out, 3.2));
    assert_eq!(counter, 2, "the whole step_fn ran again");
    let s = sess.run(state.value(), &[])?.scalar::<f32>()?;
    assert!(close_to(s, 0.62), "{s}");
    Ok(())
}

// MS-093 test_step_fn_doesnt_recover_when_it_wasnt_asked_to
#[test]
fn ms093_step_fn_doesnt_recover_in_singular() -> Result<()> {
    let g = GraphBuilder::new();
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    let mut trace = 0;
    let err = sess
        .run_step_fn(|_ctx| {
            trace += 1;
            Err::<(), _>(Error::aborted("Abort"))
        })
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(trace, 1);
    Ok(())
}

// MS-094 test_step_fn_exception_from_before_run
#[test]
fn ms094_step_fn_exception_from_before_run() -> Result<()> {
    struct AbortOnceThenFetch {
        k: Output,
        aborted: bool,
    }
    impl SessionRunHook for AbortOnceThenFetch {
        fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
            if !self.aborted {
                self.aborted = true;
                return Err(Error::aborted("Abort"));
            }
            Ok(Some(SessionRunArgs::new(self.k)))
        }
        fn after_run(&mut self, _: &mut SessionRunContext<'_>, v: &SessionRunValues<'_>) -> Result<()> {
            assert!(close_to(v.results.unwrap().scalar::<f32>()?, 3.2));
            Ok(())
        }
    }
    let mut g = GraphBuilder::new();
    let (c, v) = cv_f32(&mut g)?;
    let k = g.constant(Tensor::scalar(3.2f32))?;
    let (state, add) = graph_state(&mut g)?;
    let creator = shared_creator(&mut g)?;
    let mut sess = MonitoredSession::builder(g)
        .session_creator(creator)
        .hook(AbortOnceThenFetch { k, aborted: false })
        .build()?;
    let mut counter = 0;
    let out = sess.run_step_fn(|ctx| {
        counter += 1;
        ctx.session()?.run(add, &[])?;
        ctx.run_with_hooks(v, &[(c, Tensor::scalar(1.3f32))])?.scalar::<f32>()
    })?;
    assert!(close_to(out, 1.3));
    assert_eq!(counter, 2);
    assert!(close_to(sess.run(state.value(), &[])?.scalar::<f32>()?, 0.62));
    Ok(())
}
