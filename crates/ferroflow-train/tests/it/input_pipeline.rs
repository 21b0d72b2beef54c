//! The TF1 end-of-input story with an in-graph input pipeline (issue 8): a monitored session used as a
//! scope ends cleanly at `OutOfRange`, calls hooks' `end` and writes the final checkpoint; and, beyond
//! TF1, iterators registered with `Iterator::saveable` are part of checkpoints, so a run killed and
//! resumed sees exactly the batches of an uninterrupted run, and resuming does not replay the input.

use ferroflow_checkpoint::BundleReader;
use ferroflow_core::{Code, DType, Error, Result, Tensor};
use ferroflow_data::{
    from_tensor_slices, make_initializable_iterator, make_one_shot_iterator, range, DatasetExt, DatasetRef,
    ElementSpec,
};
use ferroflow_graph::{CollectionItem, GraphBuilder, GraphKeys, Output, Variable, VariableOptions};
use ferroflow_session::{DirectSession, SessionExt};
use ferroflow_train::testing::RecordingHook;
use ferroflow_train::{MonitoredSession, MonitoredTrainingSession, Saver, SaverOptions, Scaffold};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The tensors of a training graph over a dataset: the batch of a one-shot iterator, and a train op
/// that counts steps.
struct Pipeline {
    batch: Output,
    train: Output,
    gs: Variable,
}

fn pipeline(ds: &DatasetRef, saveable: bool) -> Result<(GraphBuilder, Pipeline)> {
    let mut g = GraphBuilder::new();
    let gs = g.get_or_create_global_step()?;
    let it = make_one_shot_iterator(&mut g, ds)?;
    if saveable {
        it.saveable(&mut g)?;
    }
    let batch = it.get_next(&mut g)?[0];
    let one = g.constant(Tensor::scalar(1i64))?;
    // The step depends on the batch, so the run that hits the end of input does not count a step.
    let train = g.with_control_dependencies(&[batch.op()], |g| g.assign_add(&gs, one))?;
    Ok((g, Pipeline { batch, train, gs }))
}

/// The batches a run saw, in order.
type Batches = Vec<Vec<i64>>;

/// One training step: the batch it consumed.
fn step(sess: &mut MonitoredSession, p: &Pipeline) -> Result<Vec<i64>> {
    let out = sess.run(vec![p.batch, p.train], &[])?;
    out.get(0)?.tensor()?.to_vec::<i64>()
}

/// Training until the end of input inside `scope`: the batches seen.
fn train_to_end(sess: &mut MonitoredSession, p: &Pipeline) -> Result<Batches> {
    let mut seen = Vec::new();
    let ended = sess.scope(|s| -> Result<()> {
        loop {
            seen.push(step(s, p)?);
        }
    })?;
    assert!(ended.is_none(), "the loop only ends by OutOfRange");
    Ok(seen)
}

fn global_step_in(prefix: &Path) -> Result<i64> {
    BundleReader::open(prefix)?.read("global_step")?.scalar_value::<i64>()
}

/// Shuffling (reshuffled each epoch), repeating and batching: the position includes the shuffle
/// buffer, the generator, the epoch and the remainder of a batch.
fn shuffled_epochs() -> Result<DatasetRef> {
    range(0, 23, 1)?.shuffle(8, (7, 11), true)?.repeat(Some(3)).batch(5, false)
}

// A MonitoredTrainingSession over a finite dataset, used as a scope, ends cleanly at the end of input:
// `end` is called on every hook and the default CheckpointSaverHook saves at the last global step.
#[test]
fn end_of_input_ends_the_scope_calls_end_and_saves_the_final_checkpoint() -> Result<()> {
    let dir = crate::common::tempdir();
    let ds = from_tensor_slices(vec![Tensor::vector((0..10i64).collect())])?.batch(3, false)?;
    let (g, p) = pipeline(&ds, true)?;
    let (hook, log) = RecordingHook::new();
    let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).hook(hook).build()?;
    let seen = train_to_end(&mut sess, &p)?;
    assert_eq!(seen, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]);
    assert!(sess.is_closed(), "the scope closed the session");
    assert_eq!(log.count("end"), 1, "{:?}", log.snapshot());
    assert_eq!(log.count("after_run"), 4, "the failing run has no after_run: {:?}", log.snapshot());

    // The final checkpoint is at the last global step (4 steps; the fifth run hit the end).
    let latest = Saver::latest_checkpoint(dir.path())?.expect("a final checkpoint");
    assert!(latest.ends_with("model.ckpt-4"), "{}", latest.display());
    assert_eq!(global_step_in(&latest)?, 4);

    // It holds the exhausted iterator: a session restored from it is at the end of input at once.
    let (g2, p2) = pipeline(&ds, true)?;
    let mut sess = MonitoredTrainingSession::builder(g2).checkpoint_dir(dir.path()).build()?;
    assert_eq!(sess.run(p2.gs.value(), &[])?.scalar::<i64>()?, 4);
    assert!(train_to_end(&mut sess, &p2)?.is_empty());
    Ok(())
}

/// The batches of an uninterrupted run.
fn uninterrupted(ds: &DatasetRef) -> Result<Batches> {
    let (g, p) = pipeline(ds, true)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    train_to_end(&mut sess, &p)
}

/// Runs `k + lost` steps saving a checkpoint every `k` steps (so the last one is at step `k`), drops
/// everything as a crash would (no `close`, no `end`, no final save), then rebuilds the graph and a new
/// session from the checkpoint directory. Returns the batches before the crash and after the resume.
fn crash_and_resume(ds: &DatasetRef, k: i64, lost: i64, saveable: bool) -> Result<(Batches, Batches)> {
    let dir = crate::common::tempdir();
    let mut before = Vec::new();
    {
        let (g, p) = pipeline(ds, saveable)?;
        let mut sess = MonitoredTrainingSession::builder(g)
            .checkpoint_dir(dir.path())
            .save_checkpoint_steps(k)
            .build()?;
        for _ in 0..k + lost {
            before.push(step(&mut sess, &p)?);
        }
        drop(sess);
    }
    let latest = Saver::latest_checkpoint(dir.path())?.expect("a checkpoint");
    assert_eq!(global_step_in(&latest)?, k, "the checkpoint of step {k} is the newest");

    let (g, p) = pipeline(ds, saveable)?;
    let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).build()?;
    assert_eq!(sess.run(p.gs.value(), &[])?.scalar::<i64>()?, k, "restored global step");
    let after = train_to_end(&mut sess, &p)?;
    Ok((before, after))
}

// Kill and resume: after restoring the checkpoint of step k, the run sees exactly the batches the
// uninterrupted run saw from step k on (the steps after the checkpoint are lost and replayed), for
// checkpoints inside the first epoch, across epoch boundaries and at the partial last batch.
#[test]
fn a_run_killed_and_resumed_sees_the_batches_of_an_uninterrupted_run() -> Result<()> {
    let ds = shuffled_epochs()?;
    let reference = uninterrupted(&ds)?;
    // 69 elements in batches of 5: 13 full batches and one of 4.
    assert_eq!(reference.len(), 14);
    assert_eq!(reference.last().map(Vec::len), Some(4));
    let mut all: Vec<i64> = reference.concat();
    all.sort_unstable();
    let mut expected: Vec<i64> = (0..23).chain(0..23).chain(0..23).collect();
    expected.sort_unstable();
    assert_eq!(all, expected, "three epochs of 0..23");
    assert_ne!(reference.concat()[..23], reference.concat()[23..46], "each epoch is reshuffled");

    for (k, lost) in [(1, 0), (3, 2), (4, 3), (5, 1), (9, 4), (13, 0)] {
        let (before, after) = crash_and_resume(&ds, k, lost, true)?;
        let k = k as usize;
        assert_eq!(before, reference[..k + lost as usize], "k = {k}: before the crash");
        assert_eq!(after, reference[k..], "k = {k}: after the resume");
    }
    Ok(())
}

// The same with a map and a prefetching thread at the end of the pipeline: the elements the thread had
// produced ahead of the checkpoint are part of the saved position, not lost or repeated.
#[test]
fn a_prefetching_pipeline_resumes_exactly_too() -> Result<()> {
    let ds = shuffled_epochs()?
        .map(ElementSpec::new(vec![DType::I64], vec![ferroflow_core::PartialShape::new(vec![None])])?, |e| {
            Ok(vec![Tensor::vector(e[0].to_vec::<i64>()?.into_iter().map(|v| v * 10).collect())])
        })?
        .prefetch(3)?;
    let reference = uninterrupted(&ds)?;
    assert_eq!(reference.len(), 14);
    for (k, lost) in [(2, 1), (7, 3), (12, 1)] {
        let (before, after) = crash_and_resume(&ds, k, lost, true)?;
        let k = k as usize;
        assert_eq!(before, reference[..k + lost as usize], "k = {k}: before the crash");
        assert_eq!(after, reference[k..], "k = {k}: after the resume");
    }
    Ok(())
}

// The same kill and resume without registering the iterator: the resumed run starts the input over,
// which the comparison above would catch (the control that shows the test has teeth).
#[test]
fn without_a_saveable_iterator_a_resumed_run_starts_the_input_over() -> Result<()> {
    let ds = shuffled_epochs()?;
    let reference = uninterrupted(&ds)?;
    let (_, after) = crash_and_resume(&ds, 5, 1, false)?;
    assert_eq!(after, reference, "the whole input again");
    assert_ne!(after, reference[5..]);
    Ok(())
}

// Resuming at batch 10^6 of an index-based source costs O(1): the saved position is a few bytes, and
// restoring reads only the next batch. The input before batch 10^6 fails if it is ever produced again,
// so a replay could not pass. (The checkpoint at batch 10^6 comes from a run over `range` starting
// there: a range iterator's state is its next value, so it is the state `range(0, ..)` has after 10^6
// batches, without spending 4 * 10^6 steps in a test to get there.)
#[test]
fn resuming_at_batch_one_million_does_not_replay_the_input() -> Result<()> {
    const AT: i64 = 1_000_000;
    const B: i64 = 4;
    let spec = ElementSpec::scalar(DType::I64);
    let dir = crate::common::tempdir();
    {
        let ds = range((AT - 1) * B, i64::MAX, 1)?.map(spec.clone(), Ok)?.batch(B as usize, false)?;
        let (g, p) = pipeline(&ds, true)?;
        let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).build()?;
        assert_eq!(step(&mut sess, &p)?, vec![3_999_996, 3_999_997, 3_999_998, 3_999_999]);
        sess.close()?;
    }
    let latest = Saver::latest_checkpoint(dir.path())?.expect("a checkpoint");
    let reader = BundleReader::open(&latest)?;
    let key = "OneShotIterator/.ATTRIBUTES/ITERATOR_STATE";
    let state = reader.read(key)?.scalar_value::<Vec<u8>>()?;
    assert!(state.len() < 128, "the position at batch 10^6 is O(1): {} bytes", state.len());

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let ds = range(0, i64::MAX, 1)?
        .map(spec, move |e| {
            counted.fetch_add(1, Ordering::SeqCst);
            let v = e[0].scalar_value::<i64>()?;
            if v < AT * B {
                return Err(Error::internal(format!("element {v} was replayed")));
            }
            Ok(e)
        })?
        .batch(B as usize, false)?;
    let (g, p) = pipeline(&ds, true)?;
    let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).build()?;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "restoring produced no element");
    assert_eq!(step(&mut sess, &p)?, vec![4_000_000, 4_000_001, 4_000_002, 4_000_003], "batch 10^6");
    assert_eq!(calls.load(Ordering::SeqCst), 4, "only the elements of the next batch were produced");
    sess.close()?;
    Ok(())
}

// A registered iterator is saved under `<iterator>/.ATTRIBUTES/ITERATOR_STATE` after the variables; a
// checkpoint without it fails to restore with `NotFound` naming the key, as a missing variable does.
#[test]
fn the_iterator_key_is_in_the_checkpoint_and_its_absence_is_not_found() -> Result<()> {
    let dir = crate::common::tempdir();
    let ds = range(0, 10, 1)?;
    let build = |saveable: bool| -> Result<(GraphBuilder, Saver, Output)> {
        let mut g = GraphBuilder::new();
        let c = g.constant(Tensor::scalar(1.5f32))?;
        g.variable("v", c, VariableOptions::default())?;
        let it = make_one_shot_iterator(&mut g, &ds)?;
        if saveable {
            let state = it.saveable(&mut g)?;
            assert_eq!(it.saveable(&mut g)?, state, "registering twice registers once");
            assert_eq!(g.collection(GraphKeys::SAVEABLE_OBJECTS), [CollectionItem::Tensor(state)]);
        }
        let next = it.get_next(&mut g)?[0];
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        Ok((g, saver, next))
    };

    let (mut g, saver, next) = build(true)?;
    let key = "OneShotIterator/.ATTRIBUTES/ITERATOR_STATE";
    assert_eq!(saver.names(), ["v", key]);
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 0);
    let with = saver.save(&mut sess, dir.path().join("with"), None)?.expect("saved");
    let listed = BundleReader::open(&with)?.list()?;
    assert!(listed.iter().any(|(name, dtype, _)| name == key && *dtype == DType::String), "{listed:?}");
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 1);
    saver.restore(&mut sess, &with)?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 1, "restored to after element 0");

    let (mut g, saver, _) = build(false)?;
    assert_eq!(saver.names(), ["v"], "an unregistered iterator is not saved");
    let init = g.global_variables_initializer()?;
    let mut plain = DirectSession::new(g.finalize());
    plain.run(init, &[])?;
    let without = saver.save(&mut plain, dir.path().join("without"), None)?.expect("saved");

    let (mut g, saver, _) = build(true)?;
    let mut sess = DirectSession::new(g.finalize());
    let err = saver.restore(&mut sess, &without).unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    assert!(err.message().contains(&format!("Key {key} not found in checkpoint")), "{err}");

    // A state of another pipeline under the same key is refused, not misread.
    let mut g = GraphBuilder::new();
    let c = g.constant(Tensor::scalar(1.5f32))?;
    g.variable("v", c, VariableOptions::default())?;
    make_one_shot_iterator(&mut g, &range(0, 10, 1)?.batch(2, false)?)?.saveable(&mut g)?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    let err = saver.restore(&mut sess, &with).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("expected a 'batch' iterator, found 'range'"), "{err}");
    Ok(())
}

// A graph whose iterator is not registered writes the same bytes as the same graph without an
// iterator: checkpoints (and TF interop) are unchanged unless one opts in.
#[test]
fn an_unregistered_iterator_leaves_the_checkpoint_bytes_unchanged() -> Result<()> {
    let dir = crate::common::tempdir();
    let save = |with_iterator: bool, name: &str| -> Result<std::path::PathBuf> {
        let mut g = GraphBuilder::new();
        let c = g.constant(Tensor::vector(vec![1.0f32, 2.0, 3.0]))?;
        g.variable("w", c, VariableOptions::default())?;
        g.get_or_create_global_step()?;
        if with_iterator {
            let it = make_initializable_iterator(&mut g, &range(0, 3, 1)?)?;
            it.get_next(&mut g)?;
        }
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        let init = g.global_variables_initializer()?;
        let mut sess = DirectSession::new(g.finalize());
        sess.run(init, &[])?;
        Ok(saver.save(&mut sess, dir.path().join(name), Some(3))?.expect("saved"))
    };
    let a = save(false, "a")?;
    let b = save(true, "b")?;
    for suffix in [".index", ".data-00000-of-00001"] {
        let read = |p: &Path| std::fs::read(format!("{}{suffix}", p.display())).map_err(Error::from);
        assert_eq!(read(&a)?, read(&b)?, "{suffix}");
    }
    Ok(())
}

// An initializable iterator in a monitored session: the scaffold's init_fn starts it when the session
// is initialized, and when it is restored instead (TF runs no init_fn then) the registered iterator
// continues from the checkpoint.
#[test]
fn an_initializable_iterator_resumes_too() -> Result<()> {
    let dir = crate::common::tempdir();
    let ds = shuffled_epochs()?;
    let build = || -> Result<(GraphBuilder, Pipeline, Scaffold)> {
        let mut g = GraphBuilder::new();
        let gs = g.get_or_create_global_step()?;
        let it = make_initializable_iterator(&mut g, &ds)?;
        it.saveable(&mut g)?;
        let batch = it.get_next(&mut g)?[0];
        let one = g.constant(Tensor::scalar(1i64))?;
        let train = g.with_control_dependencies(&[batch.op()], |g| g.assign_add(&gs, one))?;
        let init = it.initializer().expect("initializable");
        let scaffold =
            Scaffold::new().with_init_fn(Arc::new(move |s: &mut dyn ferroflow_session::Session| {
                s.run_request(&ferroflow_session::RunRequest { targets: vec![init], ..Default::default() })
                    .map(|_| ())
            }));
        Ok((g, Pipeline { batch, train, gs }, scaffold))
    };
    let (g, p, scaffold) = build()?;
    let mut sess = MonitoredTrainingSession::builder(g)
        .scaffold(scaffold)
        .checkpoint_dir(dir.path())
        .save_checkpoint_steps(6)
        .build()?;
    let mut reference = Vec::new();
    for _ in 0..8 {
        reference.push(step(&mut sess, &p)?);
    }
    drop(sess);
    let (g, p, scaffold) = build()?;
    let mut sess =
        MonitoredTrainingSession::builder(g).scaffold(scaffold).checkpoint_dir(dir.path()).build()?;
    assert_eq!(sess.run(p.gs.value(), &[])?.scalar::<i64>()?, 6);
    let after = train_to_end(&mut sess, &p)?;
    assert_eq!(after[..2], reference[6..], "the lost steps come back as they were");
    assert_eq!(after.len(), 14 - 6);
    Ok(())
}

// The real TensorFlow reads a checkpoint holding an iterator state: the key is a string scalar whose
// bytes are ours, next to the variables.
#[test]
fn tensorflow_reads_a_checkpoint_with_an_iterator_state() -> Result<()> {
    let Some(py) =
        ferroflow_oracle::python("ferroflow-train iterator checkpoint interop").map_err(Error::internal)?
    else {
        return Ok(());
    };
    let dir = crate::common::tempdir();
    let (g, p) = pipeline(&shuffled_epochs()?, true)?;
    let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).build()?;
    step(&mut sess, &p)?;
    step(&mut sess, &p)?;
    sess.close()?;
    let latest = Saver::latest_checkpoint(dir.path())?.expect("a checkpoint");
    let key = "OneShotIterator/.ATTRIBUTES/ITERATOR_STATE";
    let ours = BundleReader::open(&latest)?.read(key)?.scalar_value::<Vec<u8>>()?;
    let script = format!(
        r#"
import tensorflow as tf
r = tf.train.load_checkpoint({prefix:?})
print(r.get_variable_to_dtype_map()[{key:?}].name, r.get_variable_to_shape_map()[{key:?}], r.get_tensor("global_step"))
print(r.get_tensor({key:?}).hex())
"#,
        prefix = latest.to_string_lossy(),
    );
    let out = ferroflow_oracle::run(&py, &["-c", &script]).map_err(Error::internal)?;
    let hex: String = ours.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(out.trim(), format!("string [] 2\n{hex}"), "{out}");
    Ok(())
}
