//! Pruning a graph to what a run needs and laying out value slots, once per run signature (TF's
//! `subgraph.cc` pruning plus the executor's per-graph setup).

use crate::OpKernel;
use ferroflow_core::{DType, Error, PartialShape, Result};
use ferroflow_graph::{Graph, Operation, Output};
use std::collections::HashMap;
use std::sync::Arc;

/// One node to execute: its kernel, where its inputs come from and where its outputs go.
pub(crate) struct Step {
    pub node: u32,
    pub kernel: Arc<dyn OpKernel>,
    /// (slot, whether this is the slot's last use, so the value can be moved instead of cloned).
    pub inputs: Vec<(u32, bool)>,
    /// The slot of each output, or `None` when nothing in this run reads it.
    pub outputs: Vec<Option<u32>>,
}

/// A fed tensor's slot and what the graph says it must look like.
pub(crate) struct FeedSpec {
    pub slot: u32,
    pub dtype: DType,
    pub shape: PartialShape,
    pub name: String,
}

/// Everything needed to execute one (feeds, fetches, targets) signature.
pub(crate) struct ExecutionPlan {
    pub steps: Vec<Step>,
    pub num_slots: usize,
    pub feeds: Vec<FeedSpec>,
    pub fetch_slots: Vec<u32>,
    /// For the concurrent executor: the steps each step unblocks (data and control edges).
    pub successors: Vec<Vec<u32>>,
    /// For the concurrent executor: how many steps must finish before each step may start.
    pub predecessor_counts: Vec<u32>,
    /// For the concurrent executor: how many step inputs read each slot, plus one if it is fetched.
    pub slot_reads: Vec<u32>,
    /// How long the last in-order run of this plan took, to decide whether the next one is worth
    /// moving onto the intra-op pool.
    pub last_run_nanos: std::sync::atomic::AtomicU64,
}

/// Builds the plan. `kernel_for` returns the (session-cached) kernel of a node.
pub(crate) fn build_plan(
    graph: &Graph,
    feeds: &[Output],
    fetches: &[Output],
    targets: &[Operation],
    remapping: bool,
    mut kernel_for: impl FnMut(usize) -> Result<Arc<dyn OpKernel>>,
) -> Result<ExecutionPlan> {
    let mut fed: HashMap<Output, usize> = HashMap::with_capacity(feeds.len());
    for (i, f) in feeds.iter().enumerate() {
        graph.dtype(*f).map_err(|e| e.context("feed"))?;
        if fed.insert(*f, i).is_some() {
            return Err(Error::invalid_argument(format!(
                "tensor '{}' is fed more than once",
                graph.output_name(*f)
            )));
        }
    }
    let needed = hoist_shape_reads(graph, needed_nodes(graph, &fed, fetches, targets)?, &fed);

    let mut num_slots = 0u32;
    let mut next_slot = || {
        num_slots += 1;
        num_slots - 1
    };
    let mut feed_specs = Vec::with_capacity(feeds.len());
    for f in feeds {
        feed_specs.push(FeedSpec {
            slot: next_slot(),
            dtype: graph.dtype(*f)?,
            shape: graph.shape(*f)?.clone(),
            name: graph.output_name(*f),
        });
    }
    let slot_of_fed = |o: &Output| fed.get(o).map(|&i| feed_specs[i].slot);

    // Which outputs of needed nodes someone reads (a consumer or a fetch), to give them slots.
    let mut read: HashMap<Output, u32> = HashMap::new();
    let wanted = |o: Output, read: &mut HashMap<Output, u32>, next: &mut dyn FnMut() -> u32| {
        if slot_of_fed(&o).is_none() && !read.contains_key(&o) {
            read.insert(o, next());
        }
    };
    for &i in &needed {
        for input in &graph.nodes()[i].inputs {
            wanted(*input, &mut read, &mut next_slot);
        }
    }
    for f in fetches {
        graph.dtype(*f).map_err(|e| e.context("fetch"))?;
        wanted(*f, &mut read, &mut next_slot);
    }
    let slot = |o: &Output| -> Result<u32> {
        slot_of_fed(o)
            .or_else(|| read.get(o).copied())
            .ok_or_else(|| Error::internal(format!("no slot for '{}'", graph.output_name(*o))))
    };

    let mut steps = Vec::with_capacity(needed.len());
    for &i in &needed {
        let node = &graph.nodes()[i];
        let op = graph.operation(i);
        let inputs = node.inputs.iter().map(|o| slot(o).map(|s| (s, false))).collect::<Result<Vec<_>>>()?;
        let outputs = (0..node.output_types.len()).map(|k| read.get(&op.output(k)).copied()).collect();
        steps.push(Step { node: i as u32, kernel: kernel_for(i)?, inputs, outputs });
    }
    let fetch_slots = fetches.iter().map(slot).collect::<Result<Vec<_>>>()?;
    if remapping {
        crate::remapper::remap(graph, &mut steps, &fetch_slots, num_slots as usize)?;
    }
    mark_last_uses(&mut steps, &fetch_slots, num_slots as usize);
    let (successors, predecessor_counts) = dependencies(graph, &steps, num_slots as usize);
    let mut slot_reads = vec![0u32; num_slots as usize];
    for step in &steps {
        for &(slot, _) in &step.inputs {
            slot_reads[slot as usize] += 1;
        }
    }
    for &s in &fetch_slots {
        slot_reads[s as usize] += 1;
    }
    Ok(ExecutionPlan {
        steps,
        num_slots: num_slots as usize,
        feeds: feed_specs,
        fetch_slots,
        successors,
        predecessor_counts,
        slot_reads,
        last_run_nanos: std::sync::atomic::AtomicU64::new(0),
    })
}

/// The dependency graph between steps: a step waits for the steps producing the slots it reads (fed
/// slots have none; a fused step may read more than its node's inputs) and for its control inputs.
fn dependencies(graph: &Graph, steps: &[Step], num_slots: usize) -> (Vec<Vec<u32>>, Vec<u32>) {
    let step_of: HashMap<u32, u32> = steps.iter().enumerate().map(|(i, s)| (s.node, i as u32)).collect();
    let producer = producers(steps, num_slots);
    let mut successors = vec![Vec::new(); steps.len()];
    let mut counts = vec![0u32; steps.len()];
    for (i, step) in steps.iter().enumerate() {
        let node = &graph.nodes()[step.node as usize];
        let mut preds: Vec<u32> = step
            .inputs
            .iter()
            .filter_map(|&(slot, _)| producer[slot as usize].map(|p| p as u32))
            .chain(node.control_inputs.iter().filter_map(|c| step_of.get(&(c.index() as u32)).copied()))
            .collect();
        preds.sort_unstable();
        preds.dedup();
        counts[i] = preds.len() as u32;
        for p in preds {
            successors[p as usize].push(i as u32);
        }
    }
    (successors, counts)
}

/// The step writing each slot (`None` for fed slots).
pub(crate) fn producers(steps: &[Step], num_slots: usize) -> Vec<Option<usize>> {
    let mut producer = vec![None; num_slots];
    for (i, step) in steps.iter().enumerate() {
        for slot in step.outputs.iter().flatten() {
            producer[*slot as usize] = Some(i);
        }
    }
    producer
}

/// Whether a kernel of this op type reads only its input's metadata (shape, size, rank), not its values.
pub(crate) fn reads_metadata_only(op_type: &str) -> bool {
    matches!(op_type, "Shape" | "Size" | "Rank")
}

/// The nodes a run must execute, in topological (creation) order: everything the fetches and targets
/// reach through inputs and control inputs, stopping at fed tensors.
fn needed_nodes(
    graph: &Graph,
    fed: &HashMap<Output, usize>,
    fetches: &[Output],
    targets: &[Operation],
) -> Result<Vec<usize>> {
    let mut needed = vec![false; graph.len()];
    let mut stack: Vec<usize> = Vec::new();
    for f in fetches {
        if !fed.contains_key(f) {
            stack.push(f.op().index());
        }
    }
    for t in targets {
        graph.node(*t).map_err(|e| e.context("target"))?;
        stack.push(t.index());
    }
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        let node = &graph.nodes()[i];
        if node.op_type == "Placeholder" {
            let shape =
                node.attrs.shape("shape").map(ToString::to_string).unwrap_or_else(|_| "<unknown>".into());
            let dtype = node.output_types.first().map_or("?", |d| d.name());
            return Err(Error::invalid_argument(format!(
                "You must feed a value for placeholder tensor '{}' with dtype {dtype} and shape {shape}",
                node.name
            )));
        }
        for input in &node.inputs {
            if !fed.contains_key(input) {
                stack.push(input.op().index());
            }
        }
        for c in &node.control_inputs {
            stack.push(c.index());
        }
    }
    Ok((0..graph.len()).filter(|&i| needed[i]).collect())
}

/// Moves each node that only reads its input's metadata (`Shape`, `Size`, `Rank`) to just after the
/// producer of that input. Gradient graphs create such nodes late (`Shape(x)` for a broadcast `Add`'s
/// gradient), which made them the last reader of a large activation: the real consumer then got a
/// shared copy and had to allocate instead of working in place. Moving a side-effect-free node to right
/// after its only dependency keeps the order topological.
fn hoist_shape_reads(graph: &Graph, order: Vec<usize>, fed: &HashMap<Output, usize>) -> Vec<usize> {
    let nodes = graph.nodes();
    let mut after: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut hoisted = vec![false; nodes.len()];
    for &i in &order {
        let node = &nodes[i];
        let metadata_only =
            reads_metadata_only(&node.op_type) && node.control_inputs.is_empty() && node.inputs.len() == 1;
        if let (true, Some(input)) = (metadata_only, node.inputs.first()) {
            if !fed.contains_key(input) {
                after.entry(input.op().index()).or_default().push(i);
                hoisted[i] = true;
            }
        }
    }
    let mut out = Vec::with_capacity(order.len());
    let mut stack = Vec::new();
    for &i in order.iter().filter(|&&i| !hoisted[i]) {
        // A hoisted node may itself be the input of another (`Rank(Shape(x))`): emit depth first.
        stack.push(i);
        while let Some(j) = stack.pop() {
            out.push(j);
            if let Some(list) = after.get(&j) {
                stack.extend(list.iter().rev());
            }
        }
    }
    out
}

/// Marks each slot's final read so the executor moves the value out instead of cloning it, which lets
/// in-place kernels and variable updates avoid copies. Fetched slots are never moved out.
fn mark_last_uses(steps: &mut [Step], fetch_slots: &[u32], num_slots: usize) {
    let mut seen = vec![false; num_slots];
    for &s in fetch_slots {
        seen[s as usize] = true;
    }
    for step in steps.iter_mut().rev() {
        for (slot, last) in step.inputs.iter_mut().rev() {
            if !std::mem::replace(&mut seen[*slot as usize], true) {
                *last = true;
            }
        }
    }
}
