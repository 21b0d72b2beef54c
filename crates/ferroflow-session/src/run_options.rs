//! `RunOptions` and `RunMetadata` (TF's `config.proto` and `step_stats.proto`, the parts a session uses).

use ferroflow_core::{DType, Shape};

/// How much to trace a run (`RunOptions.TraceLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub enum TraceLevel {
    /// No tracing.
    #[default]
    NoTrace = 0,
    /// Per-node timings.
    SoftwareTrace = 1,
    /// Per-node timings (no hardware counters on CPU).
    HardwareTrace = 2,
    /// Per-node timings and output sizes.
    FullTrace = 3,
}

/// Options of one run (`tf.RunOptions`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOptions {
    /// Tracing; results land in [`RunMetadata::step_stats`].
    pub trace_level: TraceLevel,
    /// A deadline for the run in milliseconds; `0` means none. Past it, `DeadlineExceeded`.
    pub timeout_in_ms: i64,
    /// Whether to return the partition graphs (ignored by the direct session).
    pub output_partition_graphs: bool,
    /// Whether to report allocations on out-of-memory errors.
    pub report_tensor_allocations_upon_oom: bool,
}

impl RunOptions {
    /// Merges another request's options into these, as `MonitoredSession` merges hooks' options: the
    /// higher trace level, the longer timeout, and either flag.
    pub fn merge(&mut self, other: &RunOptions) {
        self.trace_level = self.trace_level.max(other.trace_level);
        self.timeout_in_ms = self.timeout_in_ms.max(other.timeout_in_ms);
        self.output_partition_graphs |= other.output_partition_graphs;
        self.report_tensor_allocations_upon_oom |= other.report_tensor_allocations_upon_oom;
    }
}

/// What a run reports about itself (`tf.RunMetadata`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunMetadata {
    /// Per-node statistics, filled when tracing.
    pub step_stats: StepStats,
}

/// Statistics of one step, per device (`StepStats`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepStats {
    /// One entry per device.
    pub dev_stats: Vec<DeviceStepStats>,
}

/// Statistics of the nodes that ran on one device (`DeviceStepStats`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceStepStats {
    /// The device name (`/job:localhost/replica:0/task:0/device:CPU:0`).
    pub device: String,
    /// One entry per node executed.
    pub node_stats: Vec<NodeExecStats>,
}

/// Timings and outputs of one node (`NodeExecStats`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeExecStats {
    /// The node's name.
    pub node_name: String,
    /// The op type, as TF puts in `timeline_label`'s prefix.
    pub op_type: String,
    /// Start time in microseconds since the Unix epoch.
    pub all_start_micros: i64,
    /// Op start relative to `all_start_micros`.
    pub op_start_rel_micros: i64,
    /// Op end relative to `all_start_micros`.
    pub op_end_rel_micros: i64,
    /// End relative to `all_start_micros`.
    pub all_end_rel_micros: i64,
    /// Start time in nanoseconds since the Unix epoch, for finer timelines.
    pub all_start_nanos: i64,
    /// Duration in nanoseconds.
    pub duration_nanos: i64,
    /// The executing thread.
    pub thread_id: u32,
    /// The outputs produced.
    pub outputs: Vec<NodeOutput>,
}

/// One output of a traced node (`NodeOutput` with its `TensorDescription`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutput {
    /// Output index.
    pub slot: usize,
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
    /// Bytes of the output (`AllocationDescription.requested_bytes`).
    pub requested_bytes: usize,
}

impl RunMetadata {
    /// The metadata as TensorFlow's `RunMetadata` message (for `FileWriter::add_run_metadata` and
    /// timelines).
    pub fn to_proto(&self) -> ferroflow_proto::RunMetadataProto {
        use ferroflow_proto::{
            AllocationDescriptionProto, DeviceStepStatsProto, NodeExecStatsProto, NodeOutputProto,
            StepStatsProto, TensorDescriptionProto, TensorShapeProto,
        };
        let dev_stats = self
            .step_stats
            .dev_stats
            .iter()
            .map(|d| DeviceStepStatsProto {
                device: d.device.clone(),
                node_stats: d
                    .node_stats
                    .iter()
                    .map(|n| NodeExecStatsProto {
                        node_name: n.node_name.clone(),
                        all_start_micros: n.all_start_micros,
                        op_start_rel_micros: n.op_start_rel_micros,
                        op_end_rel_micros: n.op_end_rel_micros,
                        all_end_rel_micros: n.all_end_rel_micros,
                        output: n
                            .outputs
                            .iter()
                            .map(|o| NodeOutputProto {
                                slot: o.slot as i32,
                                tensor_description: Some(TensorDescriptionProto {
                                    dtype: o.dtype.to_proto(),
                                    shape: Some(TensorShapeProto::from_dims(o.shape.dims())),
                                    allocation_description: Some(AllocationDescriptionProto {
                                        requested_bytes: o.requested_bytes as i64,
                                        allocated_bytes: o.requested_bytes as i64,
                                        allocator_name: "cpu".to_string(),
                                    }),
                                }),
                            })
                            .collect(),
                        timeline_label: format!("{} = {}()", n.node_name, n.op_type),
                        thread_id: n.thread_id,
                        all_start_nanos: n.all_start_nanos,
                        op_start_rel_nanos: 0,
                        op_end_rel_nanos: n.duration_nanos,
                        all_end_rel_nanos: n.duration_nanos,
                    })
                    .collect(),
            })
            .collect();
        ferroflow_proto::RunMetadataProto { step_stats: Some(StepStatsProto { dev_stats }) }
    }
}
