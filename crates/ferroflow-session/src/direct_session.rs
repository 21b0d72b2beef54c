//! The in-process session (TF's `DirectSession`): plan cache, executor, kernels and resources.

use crate::execution_plan::{build_plan, ExecutionPlan};
use crate::kernel::{create_kernel, KernelInit, OpKernel, OpKernelContext};
use crate::run_options::{DeviceStepStats, NodeExecStats, NodeOutput, TraceLevel};
use crate::{ResourceManager, RunMetadata, RunOutputs, RunRequest, Session, SessionOptions};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ferroflow_graph::Graph;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DEVICE: &str = "/job:localhost/replica:0/task:0/device:CPU:0";

/// Runs a graph in this process. Plans are cached by run signature (feeds, fetches, targets), so a
/// repeated step does no graph work; variables live in the session's [`ResourceManager`] across runs.
///
/// # Examples
/// ```
/// use ferroflow_core::{DType, PartialShape, Tensor};
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_session::{DirectSession, SessionExt};
///
/// let mut g = GraphBuilder::new();
/// let x = g.placeholder(DType::F32, PartialShape::known(&[2]), "x")?;
/// let y = g.square(x)?;
/// let mut sess = DirectSession::new(g.finalize());
/// let out = sess.run(y, &[(x, Tensor::vector(vec![3.0f32, -2.0]))])?;
/// assert_eq!(out.tensor()?.to_vec::<f32>()?, vec![9.0, 4.0]);
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct DirectSession {
    graph: Arc<Graph>,
    options: SessionOptions,
    resources: Arc<ResourceManager>,
    kernels: Vec<Option<Arc<dyn OpKernel>>>,
    plans: HashMap<Vec<u64>, Arc<ExecutionPlan>>,
    threads: usize,
    inter_op_pool: Option<Arc<rayon::ThreadPool>>,
    /// The intra-op pool, when more than one thread: long steps run inside it (see `execute`).
    intra_op_pool: Option<Arc<rayon::ThreadPool>>,
    closed: bool,
}

/// Steps whose previous run took longer than this run on a worker of the intra-op pool.
const POOLED_STEP_NANOS: u64 = 100_000;

impl std::fmt::Debug for DirectSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSession")
            .field("nodes", &self.graph.len())
            .field("plans", &self.plans.len())
            .finish()
    }
}

impl DirectSession {
    /// A session with default options.
    pub fn new(graph: Arc<Graph>) -> DirectSession {
        DirectSession::with_options(graph, SessionOptions::default())
    }

    /// A session with these options.
    pub fn with_options(graph: Arc<Graph>, options: SessionOptions) -> DirectSession {
        crate::allocator_tuning::retain_freed_memory();
        let threads = if options.intra_op_parallelism_threads > 0 {
            options.intra_op_parallelism_threads
        } else {
            rayon::current_num_threads()
        };
        let n = graph.len();
        // Only an explicit request for several inter-op threads pays for a pool: on small graphs the
        // handoffs cost more than the overlap gains.
        let inter_op_pool = (options.inter_op_parallelism_threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new().num_threads(options.inter_op_parallelism_threads).build().ok()
            })
            .flatten()
            .map(Arc::new);
        let intra_op_pool = (threads > 1)
            .then(|| rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok())
            .flatten()
            .map(Arc::new);
        DirectSession {
            intra_op_pool,
            graph,
            options,
            resources: Arc::new(ResourceManager::new()),
            kernels: vec![None; n],
            plans: HashMap::new(),
            threads,
            inter_op_pool,
            closed: false,
        }
    }

    /// The session's resources (variables), for tools that inspect them.
    pub fn resources(&self) -> &Arc<ResourceManager> {
        &self.resources
    }

    /// How many run signatures have a cached plan.
    pub fn cached_plans(&self) -> usize {
        self.plans.len()
    }

    fn signature(request: &RunRequest) -> Vec<u64> {
        let pack = |op: usize, idx: usize| ((op as u64) << 16) | idx as u64;
        let mut key =
            Vec::with_capacity(request.feeds.len() + request.fetches.len() + request.targets.len() + 2);
        key.extend(request.feeds.iter().map(|(o, _)| pack(o.op().index(), o.index())));
        key.push(u64::MAX);
        key.extend(request.fetches.iter().map(|o| pack(o.op().index(), o.index())));
        key.push(u64::MAX - 1);
        key.extend(request.targets.iter().map(|t| pack(t.index(), 0)));
        key
    }

    fn plan(&mut self, request: &RunRequest) -> Result<Arc<ExecutionPlan>> {
        let key = Self::signature(request);
        if let Some(p) = self.plans.get(&key) {
            return Ok(Arc::clone(p));
        }
        let feeds: Vec<_> = request.feeds.iter().map(|(o, _)| *o).collect();
        let graph = Arc::clone(&self.graph);
        let (kernels, resources, options) = (&mut self.kernels, &self.resources, &self.options);
        let remapping = !options.disable_remapping;
        let plan = build_plan(&graph, &feeds, &request.fetches, &request.targets, remapping, |i| {
            if let Some(k) = kernels.get(i).and_then(Option::as_ref) {
                return Ok(Arc::clone(k));
            }
            let node = &graph.nodes()[i];
            let kernel: Arc<dyn OpKernel> =
                Arc::from(create_kernel(&KernelInit { node, graph: &graph, resources, options })?);
            if let Some(slot) = kernels.get_mut(i) {
                *slot = Some(Arc::clone(&kernel));
            }
            Ok(kernel)
        })?;
        let plan = Arc::new(plan);
        self.plans.insert(key, Arc::clone(&plan));
        Ok(plan)
    }

    fn execute(&self, plan: &ExecutionPlan, request: &RunRequest) -> Result<RunOutputs> {
        let mut values: Vec<Option<Tensor>> = vec![None; plan.num_slots];
        for (spec, (_, tensor)) in plan.feeds.iter().zip(&request.feeds) {
            if tensor.dtype() != spec.dtype {
                return Err(Error::invalid_argument(format!(
                    "cannot feed a {} tensor to '{}', which has dtype {}",
                    tensor.dtype(),
                    spec.name,
                    spec.dtype
                )));
            }
            if !spec.shape.is_compatible_with(tensor.shape()) {
                return Err(Error::invalid_argument(format!(
                    "cannot feed value of shape {} for tensor '{}', which has shape {}",
                    Shape::from(tensor.shape()),
                    spec.name,
                    spec.shape
                )));
            }
            values[spec.slot as usize] = Some(tensor.clone());
        }
        let timeout_ms = if request.options.timeout_in_ms > 0 {
            request.options.timeout_in_ms
        } else {
            self.options.operation_timeout_in_ms
        };
        let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        let tracing = request.options.trace_level > TraceLevel::NoTrace;
        let (values, stats) = match &self.inter_op_pool {
            Some(pool) if plan.steps.len() > 1 => {
                let node_error = |e: Error, node: u32| self.node_error(e, node);
                let (values, traces) = crate::executor::execute_concurrently(
                    plan,
                    values,
                    pool,
                    self.threads,
                    deadline,
                    tracing,
                    &node_error,
                )?;
                let stats = traces
                    .into_iter()
                    .map(|(node, start, took, outputs)| {
                        self.node_stats(node, start, took, &outputs, request.options.trace_level)
                    })
                    .collect();
                (values, stats)
            }
            _ => {
                let level = request.options.trace_level;
                let run = || self.execute_in_order(plan, values, deadline, timeout_ms, level);
                // A kernel's parallel loop called from the caller's thread hands its work to rayon's
                // workers and sleeps until they finish: a wake-up on each side, every parallel kernel.
                // Run from a worker of the intra-op pool, the same loop keeps half the work on this
                // thread and takes back what no one stole. Moving the step there costs one hand-off,
                // so only steps that took long last time (not the microsecond ones) move.
                let pooled =
                    plan.last_run_nanos.load(std::sync::atomic::Ordering::Relaxed) > POOLED_STEP_NANOS;
                let t0 = Instant::now();
                let out = match &self.intra_op_pool {
                    Some(pool) if pooled => pool.install(run),
                    _ => run(),
                };
                let took = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
                plan.last_run_nanos.store(took, std::sync::atomic::Ordering::Relaxed);
                out?
            }
        };
        let values = plan
            .fetch_slots
            .iter()
            .map(|&s| {
                values[s as usize].clone().ok_or_else(|| Error::internal(format!("fetch slot {s} is empty")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut metadata = RunMetadata::default();
        if tracing {
            metadata
                .step_stats
                .dev_stats
                .push(DeviceStepStats { device: DEVICE.to_string(), node_stats: stats });
        }
        Ok(RunOutputs { values, metadata })
    }

    fn execute_in_order(
        &self,
        plan: &ExecutionPlan,
        mut values: Vec<Option<Tensor>>,
        deadline: Option<Instant>,
        timeout_ms: i64,
        trace_level: TraceLevel,
    ) -> Result<(Vec<Option<Tensor>>, Vec<NodeExecStats>)> {
        let tracing = trace_level > TraceLevel::NoTrace;
        let mut stats = Vec::new();
        let mut inputs: Vec<Tensor> = Vec::with_capacity(8);
        let mut outputs: Vec<Tensor> = Vec::with_capacity(4);
        for step in &plan.steps {
            if let Some(d) = deadline {
                if Instant::now() > d {
                    return Err(Error::deadline_exceeded(format!("Timed out after {timeout_ms} ms")));
                }
            }
            inputs.clear();
            for &(slot, last) in &step.inputs {
                let cell = &mut values[slot as usize];
                let t = if last { cell.take() } else { cell.clone() };
                inputs.push(t.ok_or_else(|| Error::internal(format!("input slot {slot} is empty")))?);
            }
            outputs.clear();
            let start = tracing.then(SystemTime::now);
            let t0 = tracing.then(Instant::now);
            let mut ctx =
                OpKernelContext { inputs: &mut inputs, outputs: &mut outputs, threads: self.threads };
            step.kernel.compute(&mut ctx).map_err(|e| self.node_error(e, step.node))?;
            if outputs.len() != step.outputs.len() {
                return Err(Error::internal(format!(
                    "kernel of '{}' produced {} outputs, expected {}",
                    self.node_name(step.node),
                    outputs.len(),
                    step.outputs.len()
                )));
            }
            if let (Some(start), Some(t0)) = (start, t0) {
                stats.push(self.node_stats(step.node, start, t0.elapsed(), &outputs, trace_level));
            }
            for (slot, t) in step.outputs.iter().zip(outputs.drain(..)) {
                if let Some(s) = slot {
                    values[*s as usize] = Some(t);
                }
            }
        }
        Ok((values, stats))
    }

    fn node_name(&self, node: u32) -> &str {
        self.graph.nodes().get(node as usize).map_or("<unknown>", |n| n.name.as_str())
    }

    fn node_error(&self, e: Error, node: u32) -> Error {
        let n = self.graph.nodes().get(node as usize);
        let (name, op) = n.map_or(("<unknown>", "?"), |n| (n.name.as_str(), n.op_type.as_str()));
        Error::new(e.code(), format!("{}\n\t [[node {name} ({op})]]", e.message()))
    }

    fn node_stats(
        &self,
        node: u32,
        start: SystemTime,
        took: Duration,
        outputs: &[Tensor],
        level: TraceLevel,
    ) -> NodeExecStats {
        let n = self.graph.nodes().get(node as usize);
        let since_epoch = start.duration_since(UNIX_EPOCH).unwrap_or_default();
        let micros = took.as_micros() as i64;
        NodeExecStats {
            node_name: n.map(|n| n.name.clone()).unwrap_or_default(),
            op_type: n.map(|n| n.op_type.clone()).unwrap_or_default(),
            all_start_micros: since_epoch.as_micros() as i64,
            op_start_rel_micros: 0,
            op_end_rel_micros: micros,
            all_end_rel_micros: micros,
            all_start_nanos: since_epoch.as_nanos() as i64,
            duration_nanos: took.as_nanos() as i64,
            thread_id: 0,
            outputs: if level >= TraceLevel::FullTrace {
                outputs
                    .iter()
                    .enumerate()
                    .map(|(slot, t)| NodeOutput {
                        slot,
                        dtype: t.dtype(),
                        shape: Shape::from(t.shape()),
                        requested_bytes: t.byte_size(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

impl Session for DirectSession {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        if self.closed {
            return Err(Error::failed_precondition("Attempted to use a closed Session"));
        }
        let plan = self.plan(request)?;
        self.execute(&plan, request)
    }

    fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }

    fn close(&mut self) -> Result<()> {
        self.closed = true;
        self.plans.clear();
        self.kernels.iter_mut().for_each(|k| *k = None);
        self.resources.clear();
        Ok(())
    }

    fn background_threads(&self) -> Option<Arc<crate::BackgroundThreads>> {
        crate::BackgroundThreads::of(&self.resources).ok()
    }
}
