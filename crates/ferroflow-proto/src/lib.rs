//! TensorFlow's protobuf messages that ferroflow reads and writes, as hand-written `prost` structs (no
//! `protoc`, no build script). Field numbers follow TensorFlow's `.proto` files.
//!
//! ```
//! use ferroflow_proto::{prost::Message, TensorProto};
//! use ferroflow_core::Tensor;
//!
//! let t = Tensor::vector(vec![1.0f32, 2.0]);
//! let bytes = TensorProto::from_tensor(&t).encode_to_vec();
//! let back = TensorProto::decode(bytes.as_slice()).unwrap().to_tensor().unwrap();
//! assert_eq!(back, t);
//! ```

mod example;
mod graph;
mod step_stats;
mod summary;
mod tensor;
mod tensor_bundle;
mod tensor_shape;

pub use example::{BytesList, Example, Feature, FeatureKind, Features, FloatList, Int64List};
pub use graph::{AttrValueKind, AttrValueProto, GraphDef, ListValue, NodeDef};
pub use prost;
pub use step_stats::{
    AllocationDescriptionProto, DeviceStepStatsProto, NodeExecStatsProto, NodeOutputProto, RunMetadataProto,
    StepStatsProto, TensorDescriptionProto,
};
pub use summary::{
    DataClass, Event, EventWhat, HistogramProto, LogLevel, LogMessage, PluginData, SessionLog, SessionStatus,
    SourceMetadata, Summary, SummaryAudio, SummaryImage, SummaryMetadata, SummaryValue, SummaryValueKind,
    TaggedRunMetadata,
};
pub use tensor::{tensor_bytes, tensor_from_bytes, TensorProto};
pub use tensor_bundle::{
    BundleEntryProto, BundleHeaderProto, Endianness, Extent, TensorSliceProto, VersionDef,
};
pub use tensor_shape::{Dim, TensorShapeProto};
