//! TensorBoard's messages: `tensorflow/core/util/event.proto`, `tensorflow/core/framework/summary.proto`
//! and `tsl/protobuf/histogram.proto` (package `tensorflow`; TensorBoard's copies under
//! `tensorboard/compat/proto/` have the same wire format).
//!
//! Nested messages are flattened: TF's `Summary.Value` is [`SummaryValue`], `Summary.Image` is
//! [`SummaryImage`], the `Event.what` oneof is [`EventWhat`].

use crate::TensorProto;

/// `Event`: one record of an event file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The global step; omitted on the wire when 0.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event carries.
    #[prost(oneof = "EventWhat", tags = "3, 4, 5, 6, 7, 8, 9")]
    pub what: Option<EventWhat>,
    /// Which writer produced the file; newer and optional.
    #[prost(message, optional, tag = "10")]
    pub source_metadata: Option<SourceMetadata>,
}

/// The `Event.what` oneof.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum EventWhat {
    /// `"brain.Event:2"` in the first record of a file.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// A serialized `GraphDef`.
    #[prost(bytes, tag = "4")]
    GraphDef(Vec<u8>),
    /// Summary values.
    #[prost(message, tag = "5")]
    Summary(Summary),
    /// A log message (deprecated in TF).
    #[prost(message, tag = "6")]
    LogMessage(LogMessage),
    /// Session start, stop or checkpoint.
    #[prost(message, tag = "7")]
    SessionLog(SessionLog),
    /// Run metadata of one step, under a tag.
    #[prost(message, tag = "8")]
    TaggedRunMetadata(TaggedRunMetadata),
    /// A serialized `MetaGraphDef`.
    #[prost(bytes, tag = "9")]
    MetaGraphDef(Vec<u8>),
}

/// `SourceMetadata`: which writer produced an event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SourceMetadata {
    /// The writer's name, such as `"tensorflow.core.util.events_writer"`.
    #[prost(string, tag = "1")]
    pub writer: String,
}

/// `LogMessage` (deprecated in TF in favour of ordinary logging).
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogMessage {
    /// Severity.
    #[prost(enumeration = "LogLevel", tag = "1")]
    pub level: i32,
    /// The text.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `LogMessage.Level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum LogLevel {
    /// `UNKNOWN`.
    Unknown = 0,
    /// `DEBUGGING` (TF spells it so that it does not clash with a macro).
    Debugging = 10,
    /// `INFO`.
    Info = 20,
    /// `WARN`.
    Warn = 30,
    /// `ERROR`.
    Error = 40,
    /// `FATAL`.
    Fatal = 50,
}

/// `SessionLog`: marks a session start, stop or checkpoint in the event stream.
///
/// TensorBoard's Python loader drops points at or after the step of every `START` but the first of a
/// run, which is how a restarted trainer hides the steps it redoes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionLog {
    /// What happened.
    #[prost(enumeration = "SessionStatus", tag = "1")]
    pub status: i32,
    /// The checkpoint prefix, for `CHECKPOINT`.
    #[prost(string, tag = "2")]
    pub checkpoint_path: String,
    /// Free text.
    #[prost(string, tag = "3")]
    pub msg: String,
}

impl SessionLog {
    /// `START`, written when a session starts or restarts (at the restored global step).
    pub fn start() -> SessionLog {
        SessionLog { status: SessionStatus::Start as i32, ..Default::default() }
    }

    /// `STOP`, written on a clean shutdown.
    pub fn stop() -> SessionLog {
        SessionLog { status: SessionStatus::Stop as i32, ..Default::default() }
    }

    /// `CHECKPOINT` with the checkpoint prefix TF1 hooks write (the save path without the step).
    pub fn checkpoint(checkpoint_path: impl Into<String>) -> SessionLog {
        SessionLog {
            status: SessionStatus::Checkpoint as i32,
            checkpoint_path: checkpoint_path.into(),
            msg: String::new(),
        }
    }
}

/// `SessionLog.SessionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SessionStatus {
    /// `STATUS_UNSPECIFIED`.
    StatusUnspecified = 0,
    /// `START`: a session started (or restarted from a checkpoint).
    Start = 1,
    /// `STOP`: a session stopped cleanly.
    Stop = 2,
    /// `CHECKPOINT`: a checkpoint was saved.
    Checkpoint = 3,
}

/// `TaggedRunMetadata`: a serialized `RunMetadata` under a tag.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaggedRunMetadata {
    /// The tag, unique per writer.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// A serialized `RunMetadata`.
    #[prost(bytes = "vec", tag = "2")]
    pub run_metadata: Vec<u8>,
}

/// `Summary`: a set of tagged values recorded at one step.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `Summary.Value`: one tagged value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// The name of the time series.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// The node that produced the value (rarely used).
    #[prost(string, tag = "7")]
    pub node_name: String,
    /// Which plugin reads the value; TF1-style scalars and histograms have none.
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    /// The value itself.
    #[prost(oneof = "SummaryValueKind", tags = "2, 3, 4, 5, 6, 8")]
    pub value: Option<SummaryValueKind>,
}

/// The `Summary.Value.value` oneof.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SummaryValueKind {
    /// A scalar (TF1 style).
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    /// An obsolete histogram encoding; never written.
    #[prost(bytes, tag = "3")]
    ObsoleteOldStyleHistogram(Vec<u8>),
    /// An encoded image.
    #[prost(message, tag = "4")]
    Image(SummaryImage),
    /// A histogram (TF1 style).
    #[prost(message, tag = "5")]
    Histo(HistogramProto),
    /// An encoded audio clip.
    #[prost(message, tag = "6")]
    Audio(SummaryAudio),
    /// A tensor read by the plugin named in `metadata` (TF2 style, and TF1 text summaries).
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

/// `Summary.Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryImage {
    /// Height in pixels.
    #[prost(int32, tag = "1")]
    pub height: i32,
    /// Width in pixels.
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    /// The PNG (or JPEG) bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

/// `Summary.Audio`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryAudio {
    /// Samples per second.
    #[prost(float, tag = "1")]
    pub sample_rate: f32,
    /// Number of channels.
    #[prost(int64, tag = "2")]
    pub num_channels: i64,
    /// Number of frames.
    #[prost(int64, tag = "3")]
    pub length_frames: i64,
    /// The encoded clip.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_audio_string: Vec<u8>,
    /// Its MIME type, such as `"audio/wav"`.
    #[prost(string, tag = "5")]
    pub content_type: String,
}

/// `SummaryMetadata`: which plugin reads a value and how.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin and its private data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
    /// A display name for the series.
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// A longer description (markdown).
    #[prost(string, tag = "3")]
    pub summary_description: String,
    /// The kind of data; TensorBoard infers it when 0.
    #[prost(enumeration = "DataClass", tag = "4")]
    pub data_class: i32,
}

/// `SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    /// The plugin, such as `"scalars"` or `"text"`.
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// The plugin's own serialized metadata (often empty).
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `DataClass` of a summary series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataClass {
    /// `DATA_CLASS_UNKNOWN`.
    Unknown = 0,
    /// `DATA_CLASS_SCALAR`.
    Scalar = 1,
    /// `DATA_CLASS_TENSOR`.
    Tensor = 2,
    /// `DATA_CLASS_BLOB_SEQUENCE`.
    BlobSequence = 3,
}

/// `HistogramProto`: a histogram in TF's bucket encoding.
///
/// Bucket `i` counts values in `(bucket_limit[i-1], bucket_limit[i]]`; bucket 0 starts at `-DBL_MAX`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    /// The smallest value.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// The largest value.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// The number of values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// Their sum.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// The sum of their squares.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// Right edges of the buckets.
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// Counts per bucket.
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn golden_event_bytes() {
        // formats.md 2.8, verified equal to the protobuf library's serialization.
        let rows = [
            (
                Event {
                    wall_time: 1_700_000_000.0,
                    what: Some(EventWhat::FileVersion("brain.Event:2".into())),
                    ..Default::default()
                },
                "09 00 00 00 40 fc 54 d9 41 1a 0d 62 72 61 69 6e 2e 45 76 65 6e 74 3a 32",
                "file_version",
            ),
            (
                Event {
                    wall_time: 1_700_000_000.5,
                    what: Some(EventWhat::SessionLog(SessionLog::start())),
                    ..Default::default()
                },
                "09 00 00 20 40 fc 54 d9 41 3a 02 08 01",
                "START at step 0 omits the step",
            ),
            (
                Event {
                    wall_time: 1_700_000_001.5,
                    step: 1,
                    what: Some(EventWhat::Summary(Summary {
                        value: vec![SummaryValue {
                            tag: "loss".into(),
                            value: Some(SummaryValueKind::SimpleValue(0.25)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                },
                "09 00 00 60 40 fc 54 d9 41 10 01 2a 0d 0a 0b 0a 04 6c 6f 73 73 15 00 00 80 3e",
                "simple_value scalar",
            ),
            (
                Event {
                    wall_time: 1_700_000_002.0,
                    step: 1,
                    what: Some(EventWhat::SessionLog(SessionLog::checkpoint("m.ckpt"))),
                    ..Default::default()
                },
                "09 00 00 80 40 fc 54 d9 41 10 01 3a 0a 08 03 12 06 6d 2e 63 6b 70 74",
                "CHECKPOINT with path",
            ),
        ];
        for (event, bytes, why) in rows {
            assert_eq!(event.encode_to_vec(), hex(bytes), "{why}");
            assert_eq!(Event::decode(hex(bytes).as_slice()).unwrap(), event, "{why}");
        }
    }
}
