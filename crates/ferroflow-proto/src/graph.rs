//! `graph.proto`, `node_def.proto` and `attr_value.proto`: what TensorBoard's graph tab reads.

use crate::{TensorProto, TensorShapeProto, VersionDef};
use std::collections::HashMap;

/// `GraphDef`: the nodes of a graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphDef {
    /// The nodes, in a topological order.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    /// Producer and consumer versions.
    #[prost(message, optional, tag = "4")]
    pub versions: Option<VersionDef>,
}

/// `NodeDef`: one node.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDef {
    /// Unique name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Op type.
    #[prost(string, tag = "2")]
    pub op: String,
    /// Inputs as `node:index` (`node` for index 0) and control inputs as `^node`.
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    /// Requested device.
    #[prost(string, tag = "4")]
    pub device: String,
    /// Attributes.
    #[prost(map = "string, message", tag = "5")]
    pub attr: HashMap<String, AttrValueProto>,
}

/// `AttrValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttrValueProto {
    /// The value.
    #[prost(oneof = "AttrValueKind", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub value: Option<AttrValueKind>,
}

/// The cases of `AttrValue.value`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum AttrValueKind {
    /// A list.
    #[prost(message, tag = "1")]
    List(ListValue),
    /// Bytes.
    #[prost(bytes, tag = "2")]
    S(Vec<u8>),
    /// An integer.
    #[prost(int64, tag = "3")]
    I(i64),
    /// A float.
    #[prost(float, tag = "4")]
    F(f32),
    /// A boolean.
    #[prost(bool, tag = "5")]
    B(bool),
    /// A `DataType` number.
    #[prost(int32, tag = "6")]
    Type(i32),
    /// A shape.
    #[prost(message, tag = "7")]
    Shape(TensorShapeProto),
    /// A tensor.
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

/// `AttrValue.ListValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListValue {
    /// Byte strings.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub s: Vec<Vec<u8>>,
    /// Integers.
    #[prost(int64, repeated, tag = "3")]
    pub i: Vec<i64>,
    /// Floats.
    #[prost(float, repeated, tag = "4")]
    pub f: Vec<f32>,
    /// Booleans.
    #[prost(bool, repeated, tag = "5")]
    pub b: Vec<bool>,
    /// `DataType` numbers.
    #[prost(int32, repeated, tag = "6")]
    pub r#type: Vec<i32>,
    /// Shapes.
    #[prost(message, repeated, tag = "7")]
    pub shape: Vec<TensorShapeProto>,
}
