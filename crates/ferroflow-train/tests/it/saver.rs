//! Saver: round trips of every dtype through a DirectSession, naming, the state file, retention, restore
//! errors, falling back past a damaged checkpoint, and TF reading our checkpoint.

use crate::common::*;
use ferroflow_checkpoint::{checkpoint_exists, data_filename, CheckpointState};
use ferroflow_core::{Code, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Variable, VariableOptions};
use ferroflow_session::{DirectSession, Session, SessionExt};
use ferroflow_train::{ChiefSessionCreator, MonitoredSession, Saver, SaverOptions, Scaffold};

fn all_dtypes(g: &mut GraphBuilder) -> Result<Vec<(Variable, Tensor)>> {
    let values = vec![
        ("f32", Tensor::from_vec(&[2, 2], vec![1.5f32, -2.0, 3.25, 0.0])?),
        ("f64", Tensor::vector(vec![1e-300f64, 2.5])),
        ("i32", Tensor::vector(vec![i32::MIN, 7, i32::MAX])),
        ("i64", Tensor::scalar(1i64 << 40)),
        ("u8", Tensor::vector(vec![0u8, 255, 17])),
        ("bool", Tensor::vector(vec![true, false, true])),
        ("string", Tensor::vector(vec![b"hello".to_vec(), Vec::new(), b"\xff\x00".to_vec()])),
    ];
    g.with_name_scope("scope", |g| {
        let mut out = Vec::new();
        for (name, t) in values {
            let c = g.constant(t.clone())?;
            out.push((g.variable(name, c, VariableOptions::default())?, t));
        }
        Ok(out)
    })
}

#[test]
fn round_trip_every_dtype_through_a_direct_session() -> Result<()> {
    let dir = tempdir();
    let mut g = GraphBuilder::new();
    let vars = all_dtypes(&mut g)?;
    let init = g.global_variables_initializer()?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let graph = g.finalize();
    let mut sess = DirectSession::new(graph.clone());
    sess.run(init, &[])?;
    let prefix = saver.save(&mut sess, dir.path().join("model.ckpt"), Some(100))?.unwrap();
    assert_eq!(prefix, dir.path().join("model.ckpt-100"));
    assert!(dir.path().join("model.ckpt-100.index").is_file());
    assert!(data_filename(&prefix, 0, 1).is_file());

    // A fresh session: nothing initialized until restored.
    let mut fresh = DirectSession::new(graph);
    assert!(fresh.run(vars[0].0.value(), &[]).is_err());
    saver.restore(&mut fresh, &prefix)?;
    for (v, t) in &vars {
        assert_eq!(&fresh.run(v.value(), &[])?.into_tensor()?, t, "{}", v.name);
    }
    let state = CheckpointState::read(dir.path())?.unwrap();
    assert_eq!(state.model_checkpoint_path, prefix.to_string_lossy());
    Ok(())
}

#[test]
fn retention_keeps_max_to_keep_and_the_state_file_lists_them() -> Result<()> {
    let dir = tempdir();
    let (mut g, gstep, do_step) = gstep_graph()?;
    let init = g.global_variables_initializer()?;
    let saver = Saver::new(&mut g, None, SaverOptions { max_to_keep: Some(2), ..Default::default() })?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    for _ in 0..4 {
        let step = sess.run(do_step, &[])?.scalar::<i64>()?;
        saver.save(&mut sess, dir.path().join("model.ckpt"), Some(step))?;
    }
    let base = dir.path().join("model.ckpt");
    assert!(!checkpoint_exists(format!("{}-1", base.display())));
    assert!(!checkpoint_exists(format!("{}-2", base.display())));
    assert!(checkpoint_exists(format!("{}-3", base.display())));
    assert!(checkpoint_exists(format!("{}-4", base.display())));
    let state = CheckpointState::read(dir.path())?.unwrap();
    assert_eq!(state.all_model_checkpoint_paths.len(), 2);
    assert_eq!(saver.last_checkpoints().len(), 2);
    let _ = gstep;
    Ok(())
}

#[test]
fn restore_names_a_missing_variable_and_a_mismatch() -> Result<()> {
    let dir = tempdir();
    {
        let mut g = GraphBuilder::new();
        let c = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
        g.variable("v", c, VariableOptions::default())?;
        let init = g.global_variables_initializer()?;
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        let mut sess = DirectSession::new(g.finalize());
        sess.run(init, &[])?;
        saver.save(&mut sess, dir.path().join("model.ckpt"), Some(1))?;
    }
    let prefix = dir.path().join("model.ckpt-1");
    let try_restore = |build: &dyn Fn(&mut GraphBuilder) -> Result<()>| -> Result<ferroflow_core::Error> {
        let mut g = GraphBuilder::new();
        build(&mut g)?;
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        let mut sess = DirectSession::new(g.finalize());
        Ok(saver.restore(&mut sess, &prefix).unwrap_err())
    };
    let missing = try_restore(&|g| {
        let c = g.constant(Tensor::scalar(1.0f32))?;
        g.variable("w", c, VariableOptions::default()).map(|_| ())
    })?;
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("Key w not found in checkpoint"), "{missing}");
    assert!(missing.message().starts_with("Restoring from checkpoint failed."), "{missing}");
    let shape = try_restore(&|g| {
        let c = g.constant(Tensor::vector(vec![1.0f32, 2.0, 3.0]))?;
        g.variable("v", c, VariableOptions::default()).map(|_| ())
    })?;
    assert_eq!(shape.code(), Code::InvalidArgument);
    assert!(shape.message().contains("v") && shape.message().contains("mismatch"), "{shape}");
    let dtype = try_restore(&|g| {
        let c = g.constant(Tensor::vector(vec![1.0f64, 2.0]))?;
        g.variable("v", c, VariableOptions::default()).map(|_| ())
    })?;
    assert_eq!(dtype.code(), Code::InvalidArgument);
    assert!(dtype.message().contains("tensor_name = v; expected dtype"), "{dtype}");
    let mut g = GraphBuilder::new();
    let c = g.constant(Tensor::scalar(1.0f32))?;
    g.variable("v", c, VariableOptions::default())?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    let err = saver.restore(&mut sess, dir.path().join("nope")).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("The passed save_path is not a valid checkpoint: "));
    let err = saver.save(&mut sess, dir.path().join("missing_dir/model.ckpt"), Some(1)).unwrap_err();
    assert!(err.message().contains("doesn't exist, can't save."), "{err}");
    Ok(())
}

#[test]
fn restore_falls_back_past_a_damaged_latest_checkpoint() -> Result<()> {
    let dir = tempdir();
    let (mut g, gstep, do_step) = gstep_graph()?;
    let init = g.global_variables_initializer()?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    for _ in 0..2 {
        let step = sess.run(do_step, &[])?.scalar::<i64>()?;
        saver.save(&mut sess, dir.path().join("model.ckpt"), Some(step))?;
    }
    // Damage the newest data file (as a crash mid-write on a non-atomic filesystem would).
    let data = data_filename(dir.path().join("model.ckpt-2"), 0, 1);
    let mut bytes = std::fs::read(&data)?;
    for b in &mut bytes {
        *b ^= 0xff;
    }
    std::fs::write(&data, bytes)?;
    assert_eq!(Saver::latest_valid_checkpoint(dir.path())?, Some(dir.path().join("model.ckpt-1")));

    let (g, gstep2, _) = gstep_graph()?;
    let mut ms = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
        .build()?;
    assert_eq!(i64_of(&ms.run(gstep2.value(), &[])?), 1, "restored the valid step-1 checkpoint");
    let _ = gstep;
    Ok(())
}

// The real TensorFlow reads our checkpoint and our state file.
#[test]
fn tensorflow_reads_our_checkpoint() -> Result<()> {
    let Some(py) =
        ferroflow_oracle::python("ferroflow-train saver interop").map_err(ferroflow_core::Error::internal)?
    else {
        return Ok(());
    };
    let dir = tempdir();
    let mut g = GraphBuilder::new();
    let vars = all_dtypes(&mut g)?;
    let (gstep, _) = add_gstep(&mut g)?;
    let init = g.global_variables_initializer()?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    let prefix = saver.save(&mut sess, dir.path().join("model.ckpt"), Some(42))?.unwrap();
    let script = format!(
        r#"
import tensorflow as tf
d = {dir:?}
p = tf.train.latest_checkpoint(d)
assert p == {prefix:?}, p
r = tf.train.load_checkpoint(p)
m = r.get_variable_to_shape_map()
print(sorted(m.items()))
print(r.get_tensor("global_step"), r.get_tensor("scope/f32").tolist(), r.get_tensor("scope/string").tolist(), r.get_tensor("scope/bool").tolist())
"#,
        dir = dir.path().to_string_lossy(),
        prefix = prefix.to_string_lossy()
    );
    let out = ferroflow_oracle::run(&py, &["-c", &script]).map_err(ferroflow_core::Error::internal)?;
    assert!(out.contains("('global_step', [])"), "{out}");
    assert!(out.contains("('scope/f32', [2, 2])"), "{out}");
    assert!(
        out.contains("0 [[1.5, -2.0], [3.25, 0.0]] [b'hello', b'', b'\\xff\\x00'] [True, False, True]"),
        "{out}"
    );
    let _ = (vars, gstep, sess.close());
    Ok(())
}

#[test]
fn max_to_keep_none_and_keep_every_n_hours() -> Result<()> {
    let dir = tempdir();
    let (mut g, _, do_step) = gstep_graph()?;
    let init = g.global_variables_initializer()?;
    let keep_all = Saver::new(&mut g, None, SaverOptions { max_to_keep: None, ..Default::default() })?;
    // 1e-6 hours = 3.6 ms: the first checkpoint that falls out of the window is kept for good.
    let hourly = Saver::new(
        &mut g,
        None,
        SaverOptions {
            max_to_keep: Some(1),
            keep_checkpoint_every_n_hours: 1e-6,
            name: "save_hourly".into(),
            ..Default::default()
        },
    )?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    std::thread::sleep(std::time::Duration::from_millis(20));
    let all_dir = dir.path().join("all");
    let hourly_dir = dir.path().join("hourly");
    std::fs::create_dir_all(&all_dir)?;
    std::fs::create_dir_all(&hourly_dir)?;
    for _ in 0..3 {
        let step = sess.run(do_step, &[])?.scalar::<i64>()?;
        keep_all.save(&mut sess, all_dir.join("model.ckpt"), Some(step))?;
        hourly.save(&mut sess, hourly_dir.join("model.ckpt"), Some(step))?;
    }
    for step in 1..=3 {
        assert!(checkpoint_exists(all_dir.join(format!("model.ckpt-{step}"))), "max_to_keep=None keeps all");
    }
    let state = CheckpointState::read(&all_dir)?.unwrap();
    assert_eq!(
        state.all_model_checkpoint_paths,
        [all_dir.join("model.ckpt-3").to_string_lossy()],
        "only the newest listed"
    );
    assert!(checkpoint_exists(hourly_dir.join("model.ckpt-1")), "preserved by keep_checkpoint_every_n_hours");
    assert!(checkpoint_exists(hourly_dir.join("model.ckpt-3")));
    assert_eq!(hourly.last_checkpoints(), [hourly_dir.join("model.ckpt-3")]);
    Ok(())
}

// A checkpoint written by TensorFlow's own Saver is restored by a MonitoredSession.
#[test]
fn monitored_session_restores_a_tensorflow_checkpoint() -> Result<()> {
    let Some(py) = ferroflow_oracle::python("ferroflow-train restore TF checkpoint")
        .map_err(ferroflow_core::Error::internal)?
    else {
        return Ok(());
    };
    let dir = tempdir();
    let script = format!(
        r#"
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
g = tf.Graph()
with g.as_default():
    v = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="dense/kernel")
    gs = tf.train.get_or_create_global_step()
    inc = tf.assign_add(gs, 7)
    saver = tf.train.Saver()
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        s.run(inc)
        print(saver.save(s, {base:?}, global_step=gs))
"#,
        base = dir.path().join("model.ckpt").to_string_lossy()
    );
    let out = ferroflow_oracle::run(&py, &["-c", &script]).map_err(ferroflow_core::Error::internal)?;
    assert!(out.contains("model.ckpt-7"), "{out}");

    let mut g = GraphBuilder::new();
    let gstep = g.get_or_create_global_step()?;
    let zeros = g.constant(Tensor::from_vec(&[2, 3], vec![0.0f32; 6])?)?;
    let kernel = g.variable("dense/kernel", zeros, VariableOptions::default())?;
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
        .build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 7);
    assert_eq!(sess.run(kernel.value(), &[])?.tensor()?.to_vec::<f32>()?, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    Ok(())
}
