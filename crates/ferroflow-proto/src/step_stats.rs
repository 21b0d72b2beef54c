//! `step_stats.proto` and `RunMetadata` (`config.proto`): per-node timings TensorBoard and profilers read.

use crate::TensorShapeProto;

/// `RunMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RunMetadataProto {
    /// Per-device node statistics.
    #[prost(message, optional, tag = "1")]
    pub step_stats: Option<StepStatsProto>,
}

/// `StepStats`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StepStatsProto {
    /// One entry per device.
    #[prost(message, repeated, tag = "1")]
    pub dev_stats: Vec<DeviceStepStatsProto>,
}

/// `DeviceStepStats`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceStepStatsProto {
    /// Device name.
    #[prost(string, tag = "1")]
    pub device: String,
    /// Nodes executed.
    #[prost(message, repeated, tag = "2")]
    pub node_stats: Vec<NodeExecStatsProto>,
}

/// `NodeExecStats`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeExecStatsProto {
    /// Node name.
    #[prost(string, tag = "1")]
    pub node_name: String,
    /// Start, microseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub all_start_micros: i64,
    /// Op start relative to the start.
    #[prost(int64, tag = "3")]
    pub op_start_rel_micros: i64,
    /// Op end relative to the start.
    #[prost(int64, tag = "4")]
    pub op_end_rel_micros: i64,
    /// End relative to the start.
    #[prost(int64, tag = "5")]
    pub all_end_rel_micros: i64,
    /// Outputs.
    #[prost(message, repeated, tag = "7")]
    pub output: Vec<NodeOutputProto>,
    /// `name = Op(inputs)` label for timelines.
    #[prost(string, tag = "8")]
    pub timeline_label: String,
    /// Thread id.
    #[prost(uint32, tag = "10")]
    pub thread_id: u32,
    /// Start, nanoseconds since the epoch.
    #[prost(int64, tag = "13")]
    pub all_start_nanos: i64,
    /// Op start relative to the start, nanoseconds.
    #[prost(int64, tag = "14")]
    pub op_start_rel_nanos: i64,
    /// Op end relative to the start, nanoseconds.
    #[prost(int64, tag = "15")]
    pub op_end_rel_nanos: i64,
    /// End relative to the start, nanoseconds.
    #[prost(int64, tag = "16")]
    pub all_end_rel_nanos: i64,
}

/// `NodeOutput`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeOutputProto {
    /// Output index.
    #[prost(int32, tag = "1")]
    pub slot: i32,
    /// Its description.
    #[prost(message, optional, tag = "3")]
    pub tensor_description: Option<TensorDescriptionProto>,
}

/// `TensorDescription`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorDescriptionProto {
    /// `DataType` number.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// Shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
    /// Memory.
    #[prost(message, optional, tag = "4")]
    pub allocation_description: Option<AllocationDescriptionProto>,
}

/// `AllocationDescription`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AllocationDescriptionProto {
    /// Bytes asked for.
    #[prost(int64, tag = "1")]
    pub requested_bytes: i64,
    /// Bytes allocated.
    #[prost(int64, tag = "2")]
    pub allocated_bytes: i64,
    /// Allocator.
    #[prost(string, tag = "3")]
    pub allocator_name: String,
}
