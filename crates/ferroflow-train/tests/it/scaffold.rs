//! MS-001..MS-010 (`ScaffoldTest`).

use ferroflow_core::{Code, DType, Result, Tensor};
use ferroflow_graph::{CollectionItem, GraphBuilder, GraphKeys, VariableOptions};
use ferroflow_session::{DirectSession, Session, SessionExt};
use ferroflow_train::{InitFn, Saver, SaverOptions, Scaffold};
use std::sync::Arc;

fn names(sess: &mut DirectSession, op: ferroflow_graph::Output) -> Result<Vec<String>> {
    let t = sess.run(op, &[])?.into_tensor()?;
    Ok(t.to_vec::<Vec<u8>>()?.into_iter().map(|b| String::from_utf8_lossy(&b).into_owned()).collect())
}

// MS-001 test_nothing_created_before_finalize
#[test]
fn ms001_nothing_created_before_finalize() {
    let s = Scaffold::new();
    assert!(s.init_op().is_none());
    assert!(s.init_feed_dict().is_none());
    assert!(s.init_fn().is_none());
    assert!(s.ready_op().is_none());
    assert!(s.ready_for_local_init_op().is_none());
    assert!(s.local_init_op().is_none());
    assert!(s.saver().is_none());
}

// MS-002 test_defaults_empty_graph
#[test]
fn ms002_defaults_empty_graph() -> Result<()> {
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    g.variable("my_var", zero, VariableOptions::default())?;
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    g.variable("my_local_var", zero, VariableOptions::local())?;
    let mut s = Scaffold::new();
    let graph = s.finalize(&mut g)?;
    assert!(s.init_feed_dict().is_none() && s.init_fn().is_none() && s.local_init_feed_dict().is_none());
    assert!(s.saver().is_some());
    assert_eq!(graph.dtype(s.ready_op().unwrap())?, DType::String);
    let mut sess = DirectSession::new(graph);
    assert_eq!(names(&mut sess, s.ready_op().unwrap())?, ["my_var", "my_local_var"]);
    assert_eq!(names(&mut sess, s.ready_for_local_init_op().unwrap())?, ["my_var"]);
    sess.run(s.init_op().unwrap(), &[])?;
    assert!(names(&mut sess, s.ready_for_local_init_op().unwrap())?.is_empty());
    sess.run(s.local_init_op().unwrap(), &[])?;
    assert!(names(&mut sess, s.ready_op().unwrap())?.is_empty());
    Ok(())
}

// MS-003 test_defaults_no_variables
#[test]
fn ms003_defaults_no_variables() -> Result<()> {
    let mut g = GraphBuilder::new();
    g.constant(Tensor::scalar(5i32))?;
    let mut s = Scaffold::new();
    s.finalize(&mut g)?;
    assert!(s.init_op().is_some() && s.ready_op().is_some() && s.ready_for_local_init_op().is_some());
    assert!(s.local_init_op().is_some() && s.saver().is_some());
    Ok(())
}

// MS-004 test_caches_values
#[test]
fn ms004_caches_values() -> Result<()> {
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    g.variable("my_var", zero, VariableOptions::default())?;
    let mut s1 = Scaffold::new();
    let mut s2 = Scaffold::new();
    s1.finalize(&mut g)?;
    s2.finalize(&mut g)?;
    assert_eq!(s1.init_op(), s2.init_op());
    assert_eq!(s1.ready_op(), s2.ready_op());
    assert_eq!(s1.ready_for_local_init_op(), s2.ready_for_local_init_op());
    assert_eq!(s1.local_init_op(), s2.local_init_op());
    assert_eq!(s1.saver(), s2.saver());
    Ok(())
}

// MS-005 test_raise_error_if_more_than_one_cached_item
#[test]
fn ms005_raise_error_if_more_than_one_cached_item() -> Result<()> {
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    g.variable("my_var", zero, VariableOptions::default())?;
    for _ in 0..2 {
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        g.add_to_collection(GraphKeys::SAVERS, CollectionItem::Op(saver.save_op()))?;
    }
    let err = Scaffold::new().finalize(&mut g).unwrap_err();
    assert!(err.message().contains("More than one item"), "{err}");
    Ok(())
}

fn explicit(g: &mut GraphBuilder, k: i32) -> Result<(Scaffold, Saver)> {
    let zero = g.constant(Tensor::scalar(0.0f32))?;
    let v = g.variable(&format!("v{k}"), zero, VariableOptions::default())?;
    let saver = Saver::new(g, Some(&[v]), SaverOptions::default())?;
    let op = |g: &mut GraphBuilder, n: &str| g.no_op(n);
    let init_fn: InitFn = Arc::new(|_: &mut dyn Session| Ok(()));
    let s = Scaffold::new()
        .with_init_op(op(g, "init2")?)
        .with_init_feed_dict(vec![])
        .with_init_fn(init_fn)
        .with_ready_op(g.constant(Tensor::vector(Vec::<i32>::new()))?)
        .with_ready_for_local_init_op(g.constant(Tensor::vector(vec![6i32]))?)
        .with_local_init_op(op(g, "local7")?)
        .with_local_init_feed_dict(vec![])
        .with_saver(saver.clone());
    Ok((s, saver))
}

// MS-006 test_uses_passed_values
#[test]
fn ms006_uses_passed_values() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (mut s, saver) = explicit(&mut g, 1)?;
    let before = (s.init_op(), s.ready_op(), s.ready_for_local_init_op(), s.local_init_op());
    s.finalize(&mut g)?;
    assert_eq!(before, (s.init_op(), s.ready_op(), s.ready_for_local_init_op(), s.local_init_op()));
    assert!(s.init_fn().is_some() && s.init_feed_dict().is_some() && s.local_init_feed_dict().is_some());
    assert_eq!(s.saver(), Some(&saver));
    Ok(())
}

// MS-007 test_graph_is_finalized
#[test]
fn ms007_graph_is_finalized() -> Result<()> {
    let mut g = GraphBuilder::new();
    Scaffold::new().finalize(&mut g)?;
    let err = g.constant(Tensor::scalar(12i32)).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("Graph is finalized and cannot be modified"));
    Ok(())
}

// MS-008 test_new_scaffold_from_default_scaffold
#[test]
fn ms008_new_scaffold_from_default_scaffold() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (explicit_s, saver) = explicit(&mut g, 1)?;
    let base = Scaffold::new();
    let s = Scaffold::copy_from(&base)
        .with_init_op(explicit_s.init_op().unwrap())
        .with_ready_op(explicit_s.ready_op().unwrap())
        .with_saver(saver.clone());
    assert_eq!(s.init_op(), explicit_s.init_op());
    assert_eq!(s.ready_op(), explicit_s.ready_op());
    assert_eq!(s.saver(), Some(&saver));
    assert!(s.local_init_op().is_none(), "the empty source contributes nothing");
    Ok(())
}

// MS-009 test_new_scaffold_from_existing_scaffold
#[test]
fn ms009_new_scaffold_from_existing_scaffold() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (source, _) = explicit(&mut g, 1)?;
    let (other, saver2) = explicit(&mut g, 2)?;
    let s = Scaffold::copy_from(&source)
        .with_init_op(other.init_op().unwrap())
        .with_ready_op(other.ready_op().unwrap())
        .with_local_init_op(other.local_init_op().unwrap())
        .with_saver(saver2.clone());
    assert_eq!(s.init_op(), other.init_op());
    assert_eq!(s.ready_op(), other.ready_op());
    assert_eq!(s.local_init_op(), other.local_init_op());
    assert_eq!(s.ready_for_local_init_op(), source.ready_for_local_init_op(), "not passed: copied");
    assert!(s.init_fn().is_some());
    assert_eq!(s.saver(), Some(&saver2));
    Ok(())
}

// Default summary op: None without summaries, merged with them.
#[test]
fn summary_op_defaults_to_merge_all() -> Result<()> {
    let mut g = GraphBuilder::new();
    let mut s = Scaffold::new();
    s.finalize(&mut g)?;
    assert!(s.summary_op().is_none());
    let mut g = GraphBuilder::new();
    let a = g.constant(Tensor::string(vec![0x0a, 0x01, 0x61]))?;
    let b = g.constant(Tensor::string(vec![0x0a, 0x01, 0x62]))?;
    g.add_to_collection(GraphKeys::SUMMARIES, CollectionItem::Tensor(a))?;
    g.add_to_collection(GraphKeys::SUMMARIES, CollectionItem::Tensor(b))?;
    let mut s = Scaffold::new();
    let graph = s.finalize(&mut g)?;
    let mut sess = DirectSession::new(graph);
    let merged = sess.run(s.summary_op().unwrap(), &[])?.tensor()?.scalar_value::<Vec<u8>>()?;
    assert_eq!(merged, [0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62]);
    Ok(())
}
