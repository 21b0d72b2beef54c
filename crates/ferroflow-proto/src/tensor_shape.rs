//! `tensorflow/core/framework/tensor_shape.proto`.

use ferroflow_core::{PartialShape, Shape};

/// `TensorShapeProto`: dimensions of a tensor; a size of -1 is unknown.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// Dimensions, outermost first.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
    /// True when the rank is unknown (then `dim` is empty).
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// `TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    /// Size of the dimension, -1 when unknown.
    #[prost(int64, tag = "1")]
    pub size: i64,
    /// Optional name of the dimension.
    #[prost(string, tag = "2")]
    pub name: String,
}

impl TensorShapeProto {
    /// The proto of a fully known shape.
    pub fn from_dims(dims: &[usize]) -> Self {
        TensorShapeProto {
            dim: dims.iter().map(|&d| Dim { size: d as i64, name: String::new() }).collect(),
            unknown_rank: false,
        }
    }

    /// The proto of a partially known shape.
    pub fn from_partial(shape: &PartialShape) -> Self {
        match shape.dims() {
            None => TensorShapeProto { dim: Vec::new(), unknown_rank: true },
            Some(dims) => TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|d| Dim { size: d.map_or(-1, |d| d as i64), name: String::new() })
                    .collect(),
                unknown_rank: false,
            },
        }
    }

    /// The fully known shape, or `None` if the rank or a dimension is unknown or negative.
    pub fn to_shape(&self) -> Option<Shape> {
        if self.unknown_rank {
            return None;
        }
        self.dim.iter().map(|d| usize::try_from(d.size).ok()).collect::<Option<Vec<_>>>().map(Shape)
    }

    /// The partially known shape.
    pub fn to_partial(&self) -> PartialShape {
        if self.unknown_rank {
            return PartialShape::unknown();
        }
        PartialShape::new(self.dim.iter().map(|d| usize::try_from(d.size).ok()).collect::<Vec<_>>())
    }
}
