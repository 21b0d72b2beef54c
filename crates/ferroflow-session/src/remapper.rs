//! Grappler's remapper, applied to each run's plan: a `Conv2D` followed by a bias add (and a `Relu`)
//! runs as one kernel (TF's `_FusedConv2D`), and a `MaxPoolGrad` read only by the `ReluGrad` of the
//! activation it pooled runs as one kernel too. Each fusion saves full passes over an activation-sized
//! tensor: the reference CNN's `Add`, `Relu` and `ReluGrad` kernels took 0.4 ms of its 10 ms step; the
//! fused kernels give back part of that, since the passes they skip had left the data in cache for
//! the next kernel.
//!
//! A node whose work a fusion absorbs stays in the plan as a pass-through of the fused result, so
//! whatever reads its shape (`Shape`, which gradient graphs attach to every broadcasting add) still
//! sees the right one. A fusion applies only where no other kernel reads the absorbed values and the
//! run fetches none of them. `SessionOptions::disable_remapping` turns it off (TF's
//! `rewrite_options.remapping = OFF`).

use crate::execution_plan::{producers, reads_metadata_only, Step};
use crate::kernel::{OpKernel, OpKernelContext};
use crate::kernels::{conv::fused_conv2d, pooling::max_pool_grad_relu};
use ferroflow_core::Result;
use ferroflow_graph::Graph;
use std::sync::Arc;

/// Rewrites `steps` in place. `fetch_slots` are the slots the run returns.
pub(crate) fn remap(graph: &Graph, steps: &mut [Step], fetch_slots: &[u32], num_slots: usize) -> Result<()> {
    let readers = Readers::new(graph, steps, fetch_slots, num_slots);
    let producer = producers(steps, num_slots);
    for i in 0..steps.len() {
        match op_type(graph, &steps[i]) {
            "Conv2D" => fuse_conv2d(graph, steps, i, &readers, &producer)?,
            "MaxPoolGrad" => fuse_max_pool_grad(graph, steps, i, &readers)?,
            _ => {}
        }
    }
    Ok(())
}

/// Who reads each slot, leaving out kernels that only look at a tensor's metadata.
struct Readers {
    /// (step, input position) of each reader.
    by_slot: Vec<Vec<(usize, usize)>>,
    fetched: Vec<bool>,
}

impl Readers {
    fn new(graph: &Graph, steps: &[Step], fetch_slots: &[u32], num_slots: usize) -> Readers {
        let mut by_slot = vec![Vec::new(); num_slots];
        for (i, step) in steps.iter().enumerate() {
            if reads_metadata_only(op_type(graph, step)) {
                continue;
            }
            for (position, &(slot, _)) in step.inputs.iter().enumerate() {
                by_slot[slot as usize].push((i, position));
            }
        }
        let mut fetched = vec![false; num_slots];
        for &s in fetch_slots {
            fetched[s as usize] = true;
        }
        Readers { by_slot, fetched }
    }

    /// The one kernel reading `slot`, when exactly one does and the run does not fetch it.
    fn sole(&self, slot: u32) -> Option<(usize, usize)> {
        match self.by_slot.get(slot as usize).map(Vec::as_slice) {
            Some(&[reader]) if !self.fetched[slot as usize] => Some(reader),
            _ => None,
        }
    }
}

fn op_type<'g>(graph: &'g Graph, step: &Step) -> &'g str {
    graph.nodes().get(step.node as usize).map_or("", |n| n.op_type.as_str())
}

/// `Relu(Add(Conv2D(x, w), b))`, or without the `Relu`, with `b` a vector with one value per output
/// channel (`Add` with the convolution on either side, or `BiasAdd` in NHWC).
fn fuse_conv2d(
    graph: &Graph,
    steps: &mut [Step],
    conv: usize,
    readers: &Readers,
    producer: &[Option<usize>],
) -> Result<()> {
    let Some(conv_slot) = steps[conv].outputs.first().copied().flatten() else { return Ok(()) };
    let Some((add, position)) = readers.sole(conv_slot) else { return Ok(()) };
    let add_node = &graph.nodes()[steps[add].node as usize];
    let bias_position = match (add_node.op_type.as_str(), position) {
        ("Add" | "AddV2", 0 | 1) => 1 - position,
        ("BiasAdd", 0) if add_node.attrs.str("data_format").map_or(true, |f| f == "NHWC") => 1,
        _ => return Ok(()),
    };
    let (Some(&bias), Some(&(bias_slot, _))) =
        (add_node.inputs.get(bias_position), steps[add].inputs.get(bias_position))
    else {
        return Ok(());
    };
    let conv_output = graph.operation(steps[conv].node as usize).output(0);
    let channels = graph.shape(conv_output)?.dims().and_then(|d| d.last().copied().flatten());
    let bias_is_per_channel = matches!(graph.shape(bias)?.dims(), Some([Some(c)]) if Some(*c) == channels);
    // The in-order executor runs steps in plan order: the bias must be ready when the convolution runs.
    let bias_ready = producer[bias_slot as usize].is_none_or(|p| p < conv);
    let Some(add_slot) = steps[add].outputs.first().copied().flatten() else { return Ok(()) };
    if !bias_is_per_channel || !bias_ready || graph.dtype(bias)? != graph.dtype(conv_output)? {
        return Ok(());
    }
    let relu = readers
        .sole(add_slot)
        .filter(|&(r, position)| position == 0 && op_type(graph, &steps[r]) == "Relu")
        .map(|(r, _)| r);

    steps[conv].kernel = fused_conv2d(&graph.nodes()[steps[conv].node as usize], relu.is_some())?;
    steps[conv].inputs.push((bias_slot, false));
    steps[add].kernel = Arc::new(PassThrough);
    steps[add].inputs = vec![(conv_slot, false)];
    if let Some(r) = relu {
        steps[r].kernel = Arc::new(PassThrough);
    }
    Ok(())
}

/// `ReluGrad(MaxPoolGrad(y, pooled, dy), y)`: the gradient of `max_pool(relu(..))`.
fn fuse_max_pool_grad(graph: &Graph, steps: &mut [Step], pool_grad: usize, readers: &Readers) -> Result<()> {
    let Some(slot) = steps[pool_grad].outputs.first().copied().flatten() else { return Ok(()) };
    let Some((relu_grad, 0)) = readers.sole(slot) else { return Ok(()) };
    let pooled_input = steps[pool_grad].inputs.first().map(|&(s, _)| s);
    let features = steps[relu_grad].inputs.get(1).map(|&(s, _)| s);
    if op_type(graph, &steps[relu_grad]) != "ReluGrad" || pooled_input.is_none() || pooled_input != features {
        return Ok(());
    }
    steps[pool_grad].kernel = max_pool_grad_relu(&graph.nodes()[steps[pool_grad].node as usize])?;
    steps[relu_grad].kernel = Arc::new(PassThrough);
    steps[relu_grad].inputs.truncate(1);
    Ok(())
}

/// The kernel left to a node whose work a fused kernel does: its first input is its result.
struct PassThrough;

impl OpKernel for PassThrough {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let t = ctx.take_input(0)?;
        ctx.output(t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::execution_plan::{build_plan, ExecutionPlan};
    use crate::kernel::{create_kernel, KernelInit};
    use crate::{DirectSession, ResourceManager, RunRequest, Session, SessionOptions};
    use ferroflow_core::{DType, PartialShape, Result, Tensor};
    use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
    use ferroflow_graph::{Graph, GraphBuilder, Output};
    use std::sync::Arc;

    #[derive(Clone, Copy, PartialEq)]
    enum BiasForm {
        AddAfter,
        AddBefore,
        BiasAdd,
    }

    /// One conv layer: `max_pool(relu?(bias(conv2d(x, w), b)))`, its loss and every gradient.
    struct Layer {
        graph: Arc<Graph>,
        feeds: Vec<(Output, Tensor)>,
        conv: Output,
        fetches: Vec<Output>,
    }

    /// Mixed signs, exact zeros and ties, the same every time.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 33) % 9) as f64 * 0.25 - 1.0
            })
            .collect()
    }

    fn tensor(dtype: DType, shape: &[usize], seed: u64) -> Result<Tensor> {
        let v = values(shape.iter().product(), seed);
        match dtype {
            DType::F64 => Tensor::from_vec(shape, v),
            _ => Tensor::from_vec(shape, v.into_iter().map(|x| x as f32).collect()),
        }
    }

    fn layer(
        dtype: DType,
        bias: BiasForm,
        relu: bool,
        pool: ([usize; 2], [usize; 2], Padding),
    ) -> Result<Layer> {
        let (n, h, w, c, oc) = (3, 8, 6, 2, 5);
        let mut g = GraphBuilder::new();
        let x = g.placeholder(dtype, PartialShape::new(vec![None, Some(h), Some(w), Some(c)]), "x")?;
        let k = g.placeholder(dtype, PartialShape::known(&[3, 3, c, oc]), "k")?;
        let b = g.placeholder(dtype, PartialShape::known(&[oc]), "b")?;
        let conv = g.conv2d(x, k, Conv2DOptions::new(1, Padding::Same))?;
        let mut h1 = match bias {
            BiasForm::AddAfter => g.add(conv, b)?,
            BiasForm::AddBefore => g.add(b, conv)?,
            BiasForm::BiasAdd => g.bias_add(conv, b)?,
        };
        if relu {
            h1 = g.relu(h1)?;
        }
        let pooled = g.max_pool(h1, pool.0, pool.1, pool.2)?;
        // p² + p: the gradient at a pooled zero is not zero, so routing it wrongly shows.
        let squared = g.mul(pooled, pooled)?;
        let sum = g.add(squared, pooled)?;
        let loss = g.reduce_sum(sum, None, false)?;
        let grads = g.gradients(&[loss], &[x, k, b], None)?;
        let mut fetches = vec![loss, pooled];
        fetches.extend(grads.into_iter().flatten());
        let feeds = vec![
            (x, tensor(dtype, &[n, h, w, c], 1)?),
            (k, tensor(dtype, &[3, 3, c, oc], 2)?),
            (b, tensor(dtype, &[oc], 3)?),
        ];
        Ok(Layer { graph: g.finalize(), feeds, conv, fetches })
    }

    fn run(layer: &Layer, fetches: &[Output], remapping: bool) -> Result<Vec<Vec<u64>>> {
        let options = SessionOptions { disable_remapping: !remapping, ..SessionOptions::default() };
        let mut sess = DirectSession::with_options(Arc::clone(&layer.graph), options);
        let mut request = RunRequest::new();
        for (o, t) in &layer.feeds {
            request = request.feed(*o, t.clone());
        }
        for f in fetches {
            request.fetch(*f);
        }
        let out = sess.run_request(&request)?;
        out.values
            .iter()
            .map(|t| {
                Ok(match t.dtype() {
                    DType::F64 => t.to_vec::<f64>()?.into_iter().map(f64::to_bits).collect(),
                    _ => t.to_vec::<f32>()?.into_iter().map(|v| u64::from(v.to_bits())).collect(),
                })
            })
            .collect()
    }

    fn plan(layer: &Layer, fetches: &[Output]) -> Result<ExecutionPlan> {
        let (resources, options) = (Arc::new(ResourceManager::new()), SessionOptions::default());
        let feeds: Vec<Output> = layer.feeds.iter().map(|(o, _)| *o).collect();
        build_plan(&layer.graph, &feeds, fetches, &[], true, |i| {
            let node = &layer.graph.nodes()[i];
            let init = KernelInit { node, graph: &layer.graph, resources: &resources, options: &options };
            Ok(Arc::from(create_kernel(&init)?))
        })
    }

    /// The number of inputs of the first step of each op type, as the plan's steps read them.
    fn arity(layer: &Layer, plan: &ExecutionPlan, op: &str) -> Option<usize> {
        plan.steps.iter().find(|s| layer.graph.nodes()[s.node as usize].op_type == op).map(|s| s.inputs.len())
    }

    #[test]
    fn fused_kernels_give_the_unfused_bits() -> Result<()> {
        let tiled = ([2, 2], [2, 2], Padding::Valid);
        let overlapping = ([3, 3], [2, 2], Padding::Same);
        for dtype in [DType::F32, DType::F64] {
            for bias in [BiasForm::AddAfter, BiasForm::AddBefore, BiasForm::BiasAdd] {
                for relu in [true, false] {
                    for pool in [tiled, overlapping] {
                        let layer = layer(dtype, bias, relu, pool)?;
                        let fused = run(&layer, &layer.fetches, true)?;
                        assert_eq!(fused, run(&layer, &layer.fetches, false)?, "{dtype} relu {relu}");
                        assert!(fused[0].iter().all(|&bits| bits != 0), "the loss is not zero");

                        let plan = plan(&layer, &layer.fetches)?;
                        assert_eq!(
                            arity(&layer, &plan, "Conv2D"),
                            Some(3),
                            "the bias is an input of the conv"
                        );
                        let add = if bias == BiasForm::BiasAdd { "BiasAdd" } else { "AddV2" };
                        let add_arity = arity(&layer, &plan, add).or(arity(&layer, &plan, "Add"));
                        assert_eq!(add_arity, Some(1), "the add passes the conv's result through");
                        let relu_grad = arity(&layer, &plan, "ReluGrad");
                        assert_eq!(relu_grad, relu.then_some(1), "MaxPoolGrad does ReluGrad's work");
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn fetching_an_absorbed_value_turns_the_fusion_off() -> Result<()> {
        let layer = layer(DType::F32, BiasForm::AddAfter, true, ([2, 2], [2, 2], Padding::Valid))?;
        let mut fetches = layer.fetches.clone();
        fetches.push(layer.conv);
        assert_eq!(run(&layer, &fetches, true)?, run(&layer, &fetches, false)?);
        let plan = plan(&layer, &fetches)?;
        assert_eq!(arity(&layer, &plan, "Conv2D"), Some(2), "the conv is not fused");
        assert_eq!(arity(&layer, &plan, "ReluGrad"), Some(1), "the backward fusion does not need the conv");
        Ok(())
    }
}
