//! DirectSession: fetch structures, pruning, feeds, errors, tracing, variables.

use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Initializer, VariableOptions};
use ferroflow_session::{
    DirectSession, Fetch, Fetched, RunMetadata, RunOptions, Session, SessionExt, TraceLevel,
};
use std::collections::BTreeMap;

#[test]
fn nested_fetches_come_back_in_the_same_shape() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = g.constant(Tensor::scalar(2.0f32))?;
    let b = g.square(a)?;
    let noop = g.no_op("noop")?;
    let mut map = BTreeMap::new();
    map.insert("a".to_string(), Fetch::from(a));
    map.insert("pair".to_string(), Fetch::List(vec![b.into(), noop.into()]));
    let mut sess = DirectSession::new(g.finalize());
    let out = sess.run(Fetch::Map(map), &[])?;
    assert_eq!(out.field("a")?.scalar::<f32>()?, 2.0);
    assert_eq!(out.field("pair")?.get(0)?.scalar::<f32>()?, 4.0);
    assert_eq!(out.field("pair")?.get(1)?, &Fetched::None);
    assert!(out.field("missing").is_err());
    Ok(())
}

#[test]
fn a_tensor_fetched_twice_is_computed_once() -> Result<()> {
    let mut g = GraphBuilder::new();
    let r = g.random_uniform(&[4], DType::F32, 0.0, 1.0, None)?;
    let mut sess = DirectSession::new(g.finalize());
    let out = sess.run(vec![r, r], &[])?;
    assert_eq!(out.get(0)?, out.get(1)?, "one evaluation serves both fetches");
    let again = sess.run(r, &[])?;
    assert_ne!(&again, out.get(0)?, "a new run draws new numbers");
    Ok(())
}

#[test]
fn plans_are_cached_per_signature() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::unknown(), "x")?;
    let y = g.square(x)?;
    let z = g.neg(y)?;
    let mut sess = DirectSession::new(g.finalize());
    for i in 0..5 {
        sess.run(y, &[(x, Tensor::scalar(i as f32))])?;
    }
    assert_eq!(sess.cached_plans(), 1);
    sess.run(z, &[(x, Tensor::scalar(1.0f32))])?;
    assert_eq!(sess.cached_plans(), 2);
    Ok(())
}

#[test]
fn pruning_runs_only_what_fetches_need_given_feeds() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::scalar(), "x")?;
    let unused = g.placeholder(DType::F32, PartialShape::scalar(), "unused")?;
    let two = g.constant(Tensor::scalar(2.0f32))?;
    let y = g.mul(x, two)?;
    let z = g.add(y, two)?;
    let _ = g.add(unused, two)?;
    let mut sess = DirectSession::new(g.finalize());
    assert_eq!(sess.run(z, &[(x, Tensor::scalar(3.0f32))])?.scalar::<f32>()?, 8.0);
    // Feeding an intermediate tensor replaces it: x is then not needed.
    assert_eq!(sess.run(z, &[(y, Tensor::scalar(10.0f32))])?.scalar::<f32>()?, 12.0);
    // A fed tensor can be fetched.
    assert_eq!(sess.run(y, &[(y, Tensor::scalar(1.5f32))])?.scalar::<f32>()?, 1.5);
    Ok(())
}

#[test]
fn placeholder_with_default_uses_the_default_unless_fed() -> Result<()> {
    let mut g = GraphBuilder::new();
    let d = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
    let p = g.placeholder_with_default(d, PartialShape::new(vec![None]), "p")?;
    let s = g.reduce_sum(p, None, false)?;
    let mut sess = DirectSession::new(g.finalize());
    assert_eq!(sess.run(s, &[])?.scalar::<f32>()?, 3.0);
    assert_eq!(sess.run(s, &[(p, Tensor::vector(vec![5.0f32; 3]))])?.scalar::<f32>()?, 15.0);
    Ok(())
}

#[test]
fn bad_feeds_and_fetches_are_invalid_arguments_naming_the_tensor() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(3)]), "x")?;
    let y = g.square(x)?;
    let mut other = GraphBuilder::new();
    let foreign = other.placeholder(DType::F32, PartialShape::scalar(), "foreign")?;
    let mut sess = DirectSession::new(g.finalize());

    let err = sess.run(y, &[(x, Tensor::from_vec(&[1, 3], vec![1i32, 2, 3])?)]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("'x:0'") && err.message().contains("int32"), "{err}");

    let err = sess.run(y, &[(x, Tensor::from_vec(&[1, 2], vec![1.0f32, 2.0])?)]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("shape [1,2]") && err.message().contains("[?,3]"), "{err}");

    let err = sess.run(y, &[(foreign, Tensor::scalar(1.0f32))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");

    let err = sess.run(y, &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("You must feed a value for placeholder tensor 'x'"), "{err}");
    assert!(err.message().contains("[?,3]"), "{err}");

    let err = sess.run(foreign, &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");

    let err =
        sess.run(y, &[(x, Tensor::zeros(DType::F32, &[1, 3])), (x, Tensor::zeros(DType::F32, &[1, 3]))]);
    assert_eq!(err.unwrap_err().code(), Code::InvalidArgument);
    Ok(())
}

#[test]
fn uninitialized_variables_fail_with_tf_message() -> Result<()> {
    let mut g = GraphBuilder::new();
    let w = g.get_variable("layer1/w", &[2], DType::F32, Initializer::Ones, VariableOptions::default())?;
    let v = g.get_variable("v", &[], DType::F32, Initializer::Zeros, VariableOptions::default())?;
    let is_init = g.is_variable_initialized(&w)?;
    let report = g.report_uninitialized_variables(None)?;
    let init_w = g.variables_initializer(std::slice::from_ref(&w), "init_w")?;
    let mut sess = DirectSession::new(g.finalize());
    let err = sess.run(w.value(), &[]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().starts_with("Attempting to use uninitialized value layer1/w"), "{err}");
    assert!(!sess.run(is_init, &[])?.scalar::<bool>()?);
    let names = sess.run(report, &[])?.into_tensor()?.to_vec::<Vec<u8>>()?;
    assert_eq!(names, vec![b"layer1/w".to_vec(), b"v".to_vec()]);
    sess.run(init_w, &[])?;
    assert!(sess.run(is_init, &[])?.scalar::<bool>()?);
    let names = sess.run(report, &[])?.into_tensor()?.to_vec::<Vec<u8>>()?;
    assert_eq!(names, vec![b"v".to_vec()]);
    let _ = v;
    Ok(())
}

#[test]
fn assignments_and_shape_checks() -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = g.get_variable("v", &[2], DType::I64, Initializer::Zeros, VariableOptions::default())?;
    let ones = g.constant(Tensor::vector(vec![1i64, 2]))?;
    let add = g.assign_add(&v, ones)?;
    let sub = g.assign_sub(&v, ones)?;
    let wrong = g.constant(Tensor::vector(vec![1i64, 2, 3]))?;
    assert_eq!(g.assign(&v, wrong).unwrap_err().code(), Code::InvalidArgument);
    let wrong_dtype = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
    assert_eq!(g.assign(&v, wrong_dtype).unwrap_err().code(), Code::InvalidArgument);
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    sess.run(add, &[])?;
    sess.run(add, &[])?;
    assert_eq!(sess.run(sub, &[])?.tensor()?.to_vec::<i64>()?, vec![1, 2]);
    Ok(())
}

#[test]
fn seeded_initializers_repeat_across_graphs_and_sessions() -> Result<()> {
    fn values(graph_seed: Option<i64>, op_seed: Option<i64>) -> Result<Vec<f32>> {
        let mut g = GraphBuilder::new();
        if let Some(s) = graph_seed {
            g.set_random_seed(s);
        }
        let inits = [
            Initializer::RandomNormal { mean: 0.0, stddev: 1.0, seed: op_seed },
            Initializer::TruncatedNormal { mean: 0.0, stddev: 1.0, seed: op_seed },
            Initializer::RandomUniform { minval: -1.0, maxval: 1.0, seed: op_seed },
            Initializer::GlorotUniform { seed: op_seed },
        ];
        let mut vars = Vec::new();
        for (i, init) in inits.into_iter().enumerate() {
            vars.push(g.get_variable(
                &format!("v{i}"),
                &[64],
                DType::F32,
                init,
                VariableOptions::default(),
            )?);
        }
        let init = g.global_variables_initializer()?;
        let mut sess = DirectSession::new(g.finalize());
        sess.run(init, &[])?;
        let mut out = Vec::new();
        for v in &vars {
            out.extend(sess.run(v.value(), &[])?.tensor()?.to_vec::<f32>()?);
        }
        Ok(out)
    }
    assert_eq!(values(Some(1), None)?, values(Some(1), None)?, "graph seed alone is deterministic");
    assert_eq!(values(None, Some(5))?, values(None, Some(5))?, "op seed alone is deterministic");
    assert_ne!(values(Some(1), None)?, values(Some(2), None)?);
    assert_ne!(values(None, None)?, values(None, None)?, "no seed: fresh numbers");
    let v = values(Some(3), None)?;
    let truncated = &v[64..128];
    assert!(truncated.iter().all(|x| x.abs() <= 2.0), "truncated normal stays within two deviations");
    let uniform = &v[128..192];
    assert!(uniform.iter().all(|x| (-1.0..1.0).contains(x)));
    let limit = (6.0f32 / 128.0).sqrt();
    assert!(v[192..].iter().all(|x| x.abs() <= limit), "glorot bound for fan_in = fan_out = 64");
    Ok(())
}

#[test]
fn control_dependencies_and_group_order_effects() -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = g.get_variable("v", &[], DType::F32, Initializer::Zeros, VariableOptions::default())?;
    let one = g.constant(Tensor::scalar(1.0f32))?;
    let inc = g.assign_add(&v, one)?;
    let after = g.with_dependencies(&[inc.op()], v.value())?;
    let both = g.group(&[inc.op()], "both")?;
    let init = g.global_variables_initializer()?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    sess.run(both, &[])?;
    assert_eq!(sess.run(v.value(), &[])?.scalar::<f32>()?, 1.0);
    sess.run(after, &[])?;
    assert_eq!(sess.run(v.value(), &[])?.scalar::<f32>()?, 2.0);
    Ok(())
}

#[test]
fn run_after_close_fails_clearly() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = g.constant(Tensor::scalar(1.0f32))?;
    let mut sess = DirectSession::new(g.finalize());
    sess.close()?;
    sess.close()?;
    let err = sess.run(a, &[]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("closed Session"), "{err}");
    Ok(())
}

#[test]
fn timeouts_are_deadline_exceeded() -> Result<()> {
    let mut g = GraphBuilder::new();
    let m = g.constant(Tensor::from_vec(&[256, 256], vec![0.001f32; 256 * 256])?)?;
    let mut x = m;
    for _ in 0..400 {
        x = g.matmul(x, m, false, false)?;
    }
    let mut sess = DirectSession::new(g.finalize());
    let options = RunOptions { timeout_in_ms: 1, ..Default::default() };
    let err = sess.run_with(x, &[], &options, None).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    Ok(())
}

#[test]
fn full_trace_fills_step_stats() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None]), "x")?;
    let y = g.square(x)?;
    let z = g.reduce_sum(y, None, false)?;
    let mut sess = DirectSession::new(g.finalize());
    let mut md = RunMetadata::default();
    let options = RunOptions { trace_level: TraceLevel::FullTrace, ..Default::default() };
    sess.run_with(z, &[(x, Tensor::vector(vec![1.0f32; 8]))], &options, Some(&mut md))?;
    let stats = &md.step_stats.dev_stats[0];
    assert!(stats.device.ends_with("CPU:0"));
    let square = stats.node_stats.iter().find(|n| n.op_type == "Square").expect("Square traced");
    assert!(square.all_start_micros > 0);
    assert!(square.all_end_rel_micros >= square.op_start_rel_micros);
    assert_eq!(square.outputs[0].shape.dims(), &[8]);
    assert_eq!(square.outputs[0].requested_bytes, 32);
    let mut untraced = RunMetadata::default();
    sess.run_with(z, &[(x, Tensor::vector(vec![1.0f32; 8]))], &RunOptions::default(), Some(&mut untraced))?;
    assert!(untraced.step_stats.dev_stats.is_empty());
    Ok(())
}

#[test]
fn kernel_errors_name_the_node() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::I32, PartialShape::unknown(), "x")?;
    let zero = g.constant(Tensor::scalar(0i32))?;
    let q = g.div(x, zero)?;
    let mut sess = DirectSession::new(g.finalize());
    let err = sess.run(q, &[(x, Tensor::scalar(4i32))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Integer division by zero") && err.message().contains("RealDiv"), "{err}");
    Ok(())
}

#[test]
fn sessions_are_object_safe_and_boxed() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = g.constant(Tensor::scalar(1i32))?;
    let mut boxed: Box<dyn Session> = Box::new(DirectSession::new(g.finalize()));
    assert_eq!(boxed.run(a, &[])?.scalar::<i32>()?, 1);
    Ok(())
}

#[test]
fn concurrent_executor_agrees_with_the_ordered_one() -> Result<()> {
    use ferroflow_graph::optimizer::{AdamOptimizer, Optimizer};
    use ferroflow_session::SessionOptions;
    fn train(inter_op: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut g = GraphBuilder::new();
        g.set_random_seed(3);
        let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(8)]), "x")?;
        // Four independent branches joined at the end: work the concurrent executor can overlap.
        let mut branches = Vec::new();
        for i in 0..4 {
            let w = g.get_variable(
                &format!("w{i}"),
                &[8, 8],
                DType::F32,
                Initializer::GlorotUniform { seed: None },
                VariableOptions::default(),
            )?;
            let h = g.matmul(x, w.value(), false, false)?;
            branches.push(g.square(h)?);
        }
        let sum = g.add_n(&branches)?;
        let loss = g.reduce_mean(sum, None, false)?;
        let train = AdamOptimizer::new(0.01).minimize(&mut g, loss, None, None)?;
        let init = g.global_variables_initializer()?;
        let w0 = g.global_variables()[0].value();
        let options = SessionOptions { inter_op_parallelism_threads: inter_op, ..Default::default() };
        let mut sess = DirectSession::with_options(g.finalize(), options);
        sess.run(init, &[])?;
        let xs = Tensor::from_vec(&[4, 8], (0..32).map(|v| v as f32 / 32.0).collect::<Vec<_>>())?;
        let mut losses = Vec::new();
        for _ in 0..20 {
            let out = sess.run(Fetch::List(vec![train.into(), loss.into()]), &[(x, xs.clone())])?;
            losses.push(out.get(1)?.scalar::<f32>()?);
        }
        Ok((losses, sess.run(w0, &[])?.into_tensor()?.to_vec::<f32>()?))
    }
    let ordered = train(0)?;
    let concurrent = train(3)?;
    assert_eq!(ordered, concurrent, "same seed, same results whatever the executor");
    assert!(ordered.0[19] < ordered.0[0]);
    Ok(())
}

/// Readers of one tensor finishing in any order: the last one takes the value, and no earlier reader may
/// find its slot emptied (this raced: "input slot N is empty").
#[test]
fn concurrent_executor_gives_every_reader_of_a_tensor_its_value() -> Result<()> {
    use ferroflow_session::SessionOptions;
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::new(vec![Some(64)]), "x")?;
    let readers =
        (0..12).map(|i| if i % 2 == 0 { g.square(x) } else { g.neg(x) }).collect::<Result<Vec<_>>>()?;
    let sum = g.add_n(&readers)?;
    let total = g.reduce_sum(sum, None, false)?;
    let options = SessionOptions { inter_op_parallelism_threads: 4, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    let xs = Tensor::from_vec(&[64], (0..64).map(|v| v as f32 / 64.0).collect::<Vec<_>>())?;
    let expected: f32 = (0..64).map(|v| v as f32 / 64.0).map(|v| 6.0 * (v * v - v)).sum();
    for _ in 0..2000 {
        let got = sess.run(total, &[(x, xs.clone())])?.into_tensor()?.scalar_value::<f32>()?;
        assert!((got - expected).abs() < 1e-3, "{got} vs {expected}");
    }
    Ok(())
}

#[test]
fn concurrent_executor_reports_kernel_errors() -> Result<()> {
    use ferroflow_session::SessionOptions;
    let mut g = GraphBuilder::new();
    let v = g.get_variable("v", &[2], DType::F32, Initializer::Zeros, VariableOptions::default())?;
    let a = g.square(v.value())?;
    let b = g.neg(v.value())?;
    let c = g.add(a, b)?;
    let options = SessionOptions { inter_op_parallelism_threads: 2, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    let err = sess.run(c, &[]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("uninitialized value v"), "{err}");
    Ok(())
}

#[test]
fn summary_ops_serialize_what_the_summary_crate_builds() -> Result<()> {
    use ferroflow_proto::prost::Message;
    use ferroflow_proto::{Summary, SummaryValueKind};
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::scalar(), "x")?;
    let h = g.constant(Tensor::vector(vec![1.0f32, 2.0, 2.0, 5.0]))?;
    let words = g.constant(Tensor::vector(vec![b"hello".to_vec()]))?;
    let img = g.constant(Tensor::zeros(DType::U8, &[2, 3, 3, 1]))?;
    g.scalar_summary("loss", x, None)?;
    g.histogram_summary("weights", h, None)?;
    g.text_summary("notes", words)?;
    g.image_summary("input", img, 1, Some("data"))?;
    let merged = g.merge_all_summaries(None)?.expect("summaries exist");
    let dup_a = g.constant(Tensor::string(ferroflow_summary::scalar("same", 1.0).encode_to_vec()))?;
    let dup = g.merge_summary(&[dup_a, dup_a])?;
    let mut sess = DirectSession::new(g.finalize());
    let bytes =
        sess.run(merged, &[(x, Tensor::scalar(0.25f32))])?.into_tensor()?.scalar_value::<Vec<u8>>()?;
    let summary = Summary::decode(bytes.as_slice()).expect("a Summary");
    let tags: Vec<&str> = summary.value.iter().map(|v| v.tag.as_str()).collect();
    assert_eq!(tags, ["loss", "weights", "notes", "data/data/input/image"]);
    assert_eq!(summary.value[0].value, Some(SummaryValueKind::SimpleValue(0.25)));
    assert_eq!(summary.value[1], ferroflow_summary::histogram("weights", &[1.0, 2.0, 2.0, 5.0])?.value[0]);
    let err = sess.run(dup, &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Duplicate tag same"), "{err}");
    Ok(())
}

#[test]
fn reductions_over_every_axis_of_a_tensor_of_unknown_rank() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::unknown(), "x")?;
    let sum = g.reduce_sum(x, None, false)?;
    let mean = g.reduce_mean(x, None, false)?;
    let max = g.reduce_max(x, None, false)?;
    let kept = g.reduce_sum(x, None, true)?;
    let dx = g.gradients(&[mean], &[x], None)?[0]
        .ok_or_else(|| ferroflow_core::Error::internal("no gradient of the mean"))?;
    let mut sess = DirectSession::new(g.finalize());
    let cube = Tensor::from_vec(&[2, 2, 2], (1..=8).map(|v| v as f32).collect())?;
    let out = sess.run(vec![sum, mean, max, kept, dx], &[(x, cube)])?;
    assert_eq!(out.get(0)?.scalar::<f32>()?, 36.0);
    assert_eq!(out.get(1)?.scalar::<f32>()?, 4.5);
    assert_eq!(out.get(2)?.scalar::<f32>()?, 8.0);
    assert_eq!(out.get(3)?.tensor()?.shape(), &[1, 1, 1]);
    assert_eq!(out.get(3)?.tensor()?.to_vec::<f32>()?, vec![36.0]);
    assert_eq!(out.get(4)?.tensor()?.shape(), &[2, 2, 2]);
    assert_eq!(out.get(4)?.tensor()?.to_vec::<f32>()?, vec![0.125; 8]);
    // The same graph takes a matrix: the rank is read at run time.
    let out = sess.run(vec![sum, kept], &[(x, Tensor::from_vec(&[2, 3], vec![1.0f32; 6])?)])?;
    assert_eq!(out.get(0)?.scalar::<f32>()?, 6.0);
    assert_eq!(out.get(1)?.tensor()?.shape(), &[1, 1]);
    Ok(())
}
