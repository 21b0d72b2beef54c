//! `tensorflow/core/framework/tensor.proto`, and conversion to and from [`Tensor`].

use crate::TensorShapeProto;
use ferroflow_core::{DType, Error, Result, Tensor};

/// `TensorProto`: a tensor's dtype, shape and values, either packed in `tensor_content` (little-endian
/// bytes) or in the typed repeated fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `DataType` number (`DT_FLOAT` = 1, ...).
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// Version of the encoding; 0.
    #[prost(int32, tag = "3")]
    pub version_number: i32,
    /// All elements as little-endian bytes (numeric dtypes).
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    /// `DT_FLOAT` values.
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// `DT_DOUBLE` values.
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    /// `DT_INT32`, `DT_UINT8` (and other small integer) values.
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    /// `DT_STRING` values.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
    /// `DT_INT64` values.
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
    /// `DT_BOOL` values.
    #[prost(bool, repeated, tag = "11")]
    pub bool_val: Vec<bool>,
}

impl TensorProto {
    /// Encodes a tensor: numeric dtypes in `tensor_content`, strings in `string_val`.
    pub fn from_tensor(tensor: &Tensor) -> TensorProto {
        let mut proto = TensorProto {
            dtype: tensor.dtype().to_proto(),
            tensor_shape: Some(TensorShapeProto::from_dims(tensor.shape())),
            ..Default::default()
        };
        match tensor {
            Tensor::String(a) => proto.string_val = a.iter().cloned().collect(),
            other => proto.tensor_content = tensor_bytes(other),
        }
        proto
    }

    /// Decodes a tensor from either encoding; a single typed value fills the whole shape, as in TF.
    ///
    /// # Errors
    /// `InvalidArgument` for an unsupported dtype, an unknown shape or a value count that does not fit.
    pub fn to_tensor(&self) -> Result<Tensor> {
        let dtype = DType::from_proto(self.dtype)?;
        let shape = self
            .tensor_shape
            .as_ref()
            .map_or(Some(ferroflow_core::Shape::scalar()), TensorShapeProto::to_shape)
            .ok_or_else(|| Error::invalid_argument("TensorProto has an unknown shape"))?;
        let dims = shape.dims();
        let n = shape.num_elements();
        if !self.tensor_content.is_empty() {
            return tensor_from_bytes(dtype, dims, &self.tensor_content);
        }
        fn fill<T: ferroflow_core::TensorElement>(dims: &[usize], n: usize, vals: Vec<T>) -> Result<Tensor> {
            let vals = match vals.len() {
                0 => vec![T::default(); n],
                1 if n != 1 => vec![vals[0].clone(); n],
                _ => vals,
            };
            Tensor::from_vec(dims, vals)
        }
        match dtype {
            DType::F32 => fill(dims, n, self.float_val.clone()),
            DType::F64 => fill(dims, n, self.double_val.clone()),
            DType::I32 => fill(dims, n, self.int_val.clone()),
            DType::U8 => fill(dims, n, self.int_val.iter().map(|&v| v as u8).collect()),
            DType::I64 => fill(dims, n, self.int64_val.clone()),
            DType::Bool => fill(dims, n, self.bool_val.clone()),
            DType::String => fill(dims, n, self.string_val.clone()),
        }
    }
}

/// The elements of a numeric tensor as little-endian bytes (empty for strings).
pub fn tensor_bytes(tensor: &Tensor) -> Vec<u8> {
    fn le<T: Copy, const N: usize>(
        a: &ferroflow_core::ndarray::ArcArray<T, ferroflow_core::ndarray::IxDyn>,
        f: impl Fn(T) -> [u8; N],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(a.len() * N);
        for &v in a.iter() {
            out.extend_from_slice(&f(v));
        }
        out
    }
    match tensor {
        Tensor::F32(a) => le(a, f32::to_le_bytes),
        Tensor::F64(a) => le(a, f64::to_le_bytes),
        Tensor::I32(a) => le(a, i32::to_le_bytes),
        Tensor::I64(a) => le(a, i64::to_le_bytes),
        Tensor::U8(a) => a.iter().copied().collect(),
        Tensor::Bool(a) => a.iter().map(|&b| u8::from(b)).collect(),
        Tensor::String(_) => Vec::new(),
    }
}

/// A numeric tensor from little-endian bytes.
///
/// # Errors
/// `InvalidArgument` when the byte count does not fit the shape, or for strings.
pub fn tensor_from_bytes(dtype: DType, dims: &[usize], bytes: &[u8]) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let size = dtype
        .size_of()
        .ok_or_else(|| Error::invalid_argument("string tensors have no fixed-size byte encoding"))?;
    if bytes.len() != n * size {
        return Err(Error::invalid_argument(format!(
            "{} bytes do not hold {n} {dtype} elements",
            bytes.len()
        )));
    }
    fn decode<T, const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|c| {
                let mut b = [0u8; N];
                b.copy_from_slice(c);
                f(b)
            })
            .collect()
    }
    match dtype {
        DType::F32 => Tensor::from_vec(dims, decode(bytes, f32::from_le_bytes)),
        DType::F64 => Tensor::from_vec(dims, decode(bytes, f64::from_le_bytes)),
        DType::I32 => Tensor::from_vec(dims, decode(bytes, i32::from_le_bytes)),
        DType::I64 => Tensor::from_vec(dims, decode(bytes, i64::from_le_bytes)),
        DType::U8 => Tensor::from_vec(dims, bytes.to_vec()),
        DType::Bool => Tensor::from_vec(dims, bytes.iter().map(|&b| b != 0).collect()),
        DType::String => Err(Error::internal("string dtype has a size")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn round_trips_every_dtype() -> Result<()> {
        let tensors = vec![
            Tensor::from_vec(&[2, 2], vec![1.5f32, -2.0, 0.0, 7.25])?,
            Tensor::vector(vec![1.0f64, f64::MAX]),
            Tensor::vector(vec![i32::MIN, 3]),
            Tensor::scalar(i64::MAX),
            Tensor::vector(vec![0u8, 255]),
            Tensor::vector(vec![true, false]),
            Tensor::from_vec(&[2], vec![b"a".to_vec(), Vec::new()])?,
        ];
        for t in tensors {
            let bytes = TensorProto::from_tensor(&t).encode_to_vec();
            let back = TensorProto::decode(bytes.as_slice()).map_err(|e| Error::data_loss(e.to_string()))?;
            assert_eq!(back.to_tensor()?, t);
        }
        Ok(())
    }

    #[test]
    fn a_single_typed_value_fills_the_shape() -> Result<()> {
        let p = TensorProto {
            dtype: 1,
            tensor_shape: Some(TensorShapeProto::from_dims(&[3])),
            float_val: vec![2.0],
            ..Default::default()
        };
        assert_eq!(p.to_tensor()?.to_vec::<f32>()?, vec![2.0, 2.0, 2.0]);
        Ok(())
    }
}
