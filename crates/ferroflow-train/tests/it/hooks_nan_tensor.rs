//! `NanTensorHook` (TF has no test for it in `basic_session_run_hooks_test.py`): fail with TF's
//! message, request a stop, or roll back to the last checkpoint.

use crate::hooks_common::gs_graph;
use ferroflow_core::{Code, DType, PartialShape, Tensor};
use ferroflow_train::hooks::{CheckpointSaverHook, NanTensorHook, OnNan, NAN_LOSS_MESSAGE};
use ferroflow_train::{Every, MonitoredSession};

/// A graph whose loss is fed: `loss = identity(placeholder)`.
fn graph() -> (crate::hooks_common::GsGraph, ferroflow_graph::Output, ferroflow_graph::Output) {
    let mut gg = gs_graph(1);
    let p = gg.g.placeholder(DType::F32, PartialShape::scalar(), "loss_in").unwrap();
    let loss = gg.g.identity(p).unwrap();
    (gg, p, loss)
}

#[test]
fn fails_with_tf_message() {
    let (gg, p, loss) = graph();
    let mut sess =
        MonitoredSession::builder(gg.g).hook(NanTensorHook::new(loss, OnNan::Fail)).build().unwrap();
    sess.run(gg.train, &[(p, Tensor::scalar(1.0f32))]).unwrap();
    let e = sess.run(gg.train, &[(p, Tensor::scalar(f32::NAN))]).unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert!(e.message().contains(NAN_LOSS_MESSAGE), "{e}");
}

#[test]
fn requests_stop() {
    let (gg, p, loss) = graph();
    let mut sess =
        MonitoredSession::builder(gg.g).hook(NanTensorHook::new(loss, OnNan::Stop)).build().unwrap();
    sess.run(gg.train, &[(p, Tensor::scalar(1.0f32))]).unwrap();
    assert!(!sess.should_stop().unwrap());
    sess.run(gg.train, &[(p, Tensor::scalar(f32::NAN))]).unwrap();
    assert!(sess.should_stop().unwrap());
}

/// Rollback: restores the last checkpoint (global step back to the saved one), skips the batch, and
/// fails after `max_rollbacks`.
#[test]
fn rolls_back_then_gives_up() {
    let dir = crate::common::tempdir();
    let (gg, p, loss) = graph();
    let read = gg.gs.value();
    let on_nan = OnNan::Rollback { checkpoint_dir: dir.path().to_path_buf(), max_rollbacks: 2 };
    let mut sess = MonitoredSession::builder(gg.g)
        // Before the saver, so a NaN step is rolled back before it could be saved.
        .hook(NanTensorHook::new(loss, on_nan))
        .hook(CheckpointSaverHook::new(dir.path(), Every::Steps(2)).unwrap())
        .build()
        .unwrap();
    let ok = [(p, Tensor::scalar(1.0f32))];
    let nan = [(p, Tensor::scalar(f32::NAN))];
    for _ in 0..3 {
        sess.run(gg.train, &ok).unwrap(); // saves at 0 (creation) and 2
    }
    sess.run(gg.train, &nan).unwrap(); // step 4 -> rolled back to 2
    assert_eq!(sess.run(read, &ok).unwrap().scalar::<i64>().unwrap(), 2);
    assert!(!sess.should_stop().unwrap());
    sess.run(gg.train, &nan).unwrap(); // second rollback
    let e = sess.run(gg.train, &nan).unwrap_err(); // third NaN: gives up
    assert!(e.message().contains(NAN_LOSS_MESSAGE));
}
