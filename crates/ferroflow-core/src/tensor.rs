//! Dense tensors of every dtype, string tensors included.

use crate::{DType, Error, Result, Shape};
use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};
use std::fmt;

/// A dense tensor: an `ndarray` array per dtype, reference counted so that copies are cheap and writes
/// copy on demand. A value fetched from a session is never changed by a later update of a variable.
#[derive(Clone, PartialEq)]
pub enum Tensor {
    /// `float32` elements.
    F32(ArcArray<f32, IxDyn>),
    /// `float64` elements.
    F64(ArcArray<f64, IxDyn>),
    /// `int32` elements.
    I32(ArcArray<i32, IxDyn>),
    /// `int64` elements.
    I64(ArcArray<i64, IxDyn>),
    /// `uint8` elements.
    U8(ArcArray<u8, IxDyn>),
    /// `bool` elements.
    Bool(ArcArray<bool, IxDyn>),
    /// Byte strings (`tf.string`).
    String(ArcArray<Vec<u8>, IxDyn>),
}

/// A Rust type that can be the element of a [`Tensor`].
pub trait TensorElement: Clone + Default + Send + Sync + 'static {
    /// The matching dtype.
    const DTYPE: DType;
    /// Wraps an array in a tensor.
    fn wrap(array: ArcArray<Self, IxDyn>) -> Tensor;
    /// The array inside a tensor of this dtype.
    fn unwrap_ref(tensor: &Tensor) -> Option<&ArcArray<Self, IxDyn>>;
    /// The array inside a tensor of this dtype, mutably (writes copy first if the data is shared).
    fn unwrap_mut(tensor: &mut Tensor) -> Option<&mut ArcArray<Self, IxDyn>>;
    /// The array inside a tensor of this dtype, by value.
    fn unwrap_owned(tensor: Tensor) -> std::result::Result<ArcArray<Self, IxDyn>, Tensor>;
}

macro_rules! element {
    ($ty:ty, $variant:ident) => {
        impl TensorElement for $ty {
            const DTYPE: DType = DType::$variant;
            fn wrap(array: ArcArray<Self, IxDyn>) -> Tensor {
                Tensor::$variant(array)
            }
            fn unwrap_ref(tensor: &Tensor) -> Option<&ArcArray<Self, IxDyn>> {
                match tensor {
                    Tensor::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_mut(tensor: &mut Tensor) -> Option<&mut ArcArray<Self, IxDyn>> {
                match tensor {
                    Tensor::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_owned(tensor: Tensor) -> std::result::Result<ArcArray<Self, IxDyn>, Tensor> {
                match tensor {
                    Tensor::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}

element!(f32, F32);
element!(f64, F64);
element!(i32, I32);
element!(i64, I64);
element!(u8, U8);
element!(bool, Bool);
element!(Vec<u8>, String);

/// Applies an expression to the array inside a tensor, whatever its dtype.
#[macro_export]
macro_rules! match_tensor {
    ($tensor:expr, $a:ident => $body:expr) => {
        match $tensor {
            $crate::Tensor::F32($a) => $body,
            $crate::Tensor::F64($a) => $body,
            $crate::Tensor::I32($a) => $body,
            $crate::Tensor::I64($a) => $body,
            $crate::Tensor::U8($a) => $body,
            $crate::Tensor::Bool($a) => $body,
            $crate::Tensor::String($a) => $body,
        }
    };
}

impl Tensor {
    /// A tensor from a shape and its elements in row-major order.
    ///
    /// # Errors
    /// `InvalidArgument` when the number of elements does not match the shape.
    pub fn from_vec<T: TensorElement>(shape: &[usize], data: Vec<T>) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::invalid_argument(format!(
                "{} values do not fill a tensor of shape {}",
                data.len(),
                Shape::from(shape)
            )));
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), data)?;
        Ok(T::wrap(array.into_shared()))
    }

    /// A scalar tensor.
    pub fn scalar<T: TensorElement>(value: T) -> Tensor {
        T::wrap(ArrayD::from_elem(IxDyn(&[]), value).into_shared())
    }

    /// A rank-1 tensor.
    pub fn vector<T: TensorElement>(values: Vec<T>) -> Tensor {
        let n = values.len();
        T::wrap(
            ArrayD::from_shape_vec(IxDyn(&[n]), values)
                .map_or_else(|_| ArrayD::default(IxDyn(&[0])).into_shared(), ArrayD::into_shared),
        )
    }

    /// A string scalar.
    pub fn string(value: impl Into<Vec<u8>>) -> Tensor {
        Tensor::scalar(value.into())
    }

    /// A tensor that owns this array.
    pub fn from_array<T: TensorElement>(array: ArrayD<T>) -> Tensor {
        T::wrap(array.into_shared())
    }

    /// A tensor of zeros (empty strings, `false`) of this dtype and shape.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Tensor {
        fn z<T: TensorElement>(shape: &[usize]) -> Tensor {
            T::wrap(ArrayD::<T>::default(IxDyn(shape)).into_shared())
        }
        match dtype {
            DType::F32 => z::<f32>(shape),
            DType::F64 => z::<f64>(shape),
            DType::I32 => z::<i32>(shape),
            DType::I64 => z::<i64>(shape),
            DType::U8 => z::<u8>(shape),
            DType::Bool => z::<bool>(shape),
            DType::String => z::<Vec<u8>>(shape),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Tensor::F32(_) => DType::F32,
            Tensor::F64(_) => DType::F64,
            Tensor::I32(_) => DType::I32,
            Tensor::I64(_) => DType::I64,
            Tensor::U8(_) => DType::U8,
            Tensor::Bool(_) => DType::Bool,
            Tensor::String(_) => DType::String,
        }
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        match_tensor!(self, a => a.shape())
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements.
    pub fn num_elements(&self) -> usize {
        match_tensor!(self, a => a.len())
    }

    /// The memory the elements take, in bytes (string tensors count their bytes).
    pub fn byte_size(&self) -> usize {
        match self {
            Tensor::String(a) => a.iter().map(Vec::len).sum(),
            other => other.num_elements() * other.dtype().size_of().unwrap_or(0),
        }
    }

    /// The array of elements, if the dtype is `T`.
    ///
    /// # Errors
    /// `InvalidArgument` naming both dtypes when it is not.
    pub fn array<T: TensorElement>(&self) -> Result<&ArcArray<T, IxDyn>> {
        T::unwrap_ref(self).ok_or_else(|| self.dtype_error(T::DTYPE))
    }

    /// The array of elements for writing, if the dtype is `T`. Writing through it copies the data first
    /// when another tensor shares it, so earlier copies keep their values.
    ///
    /// # Errors
    /// `InvalidArgument` naming both dtypes when it is not.
    pub fn array_mut<T: TensorElement>(&mut self) -> Result<&mut ArcArray<T, IxDyn>> {
        let dtype = self.dtype();
        T::unwrap_mut(self)
            .ok_or_else(|| Error::invalid_argument(format!("expected a {} tensor, got {dtype}", T::DTYPE)))
    }

    /// A view of the elements, if the dtype is `T`.
    ///
    /// # Errors
    /// `InvalidArgument` when the dtype is not `T`.
    pub fn view<T: TensorElement>(&self) -> Result<ArrayViewD<'_, T>> {
        self.array::<T>().map(|a| a.view())
    }

    /// The elements' array by value (shared with other copies until written).
    ///
    /// # Errors
    /// `InvalidArgument` when the dtype is not `T`.
    pub fn into_array<T: TensorElement>(self) -> Result<ArcArray<T, IxDyn>> {
        T::unwrap_owned(self).map_err(|t| t.dtype_error(T::DTYPE))
    }

    /// The elements in row-major order.
    ///
    /// # Errors
    /// `InvalidArgument` when the dtype is not `T`.
    pub fn to_vec<T: TensorElement>(&self) -> Result<Vec<T>> {
        Ok(self.array::<T>()?.iter().cloned().collect())
    }

    /// The only element of a one-element tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when the dtype is not `T` or the tensor does not hold exactly one element.
    pub fn scalar_value<T: TensorElement>(&self) -> Result<T> {
        let a = self.array::<T>()?;
        if a.len() != 1 {
            return Err(Error::invalid_argument(format!(
                "expected a tensor with one element, got shape {}",
                Shape::from(a.shape())
            )));
        }
        a.iter().next().cloned().ok_or_else(|| Error::internal("one-element tensor without an element"))
    }

    /// The same elements in a new shape.
    ///
    /// # Errors
    /// `InvalidArgument` when the element counts differ.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.num_elements() {
            return Err(Error::invalid_argument(format!(
                "cannot reshape a tensor with {} elements to shape {}",
                self.num_elements(),
                Shape::from(shape)
            )));
        }
        Ok(match_tensor!(self, a => {
            let data = if a.is_standard_layout() { a.clone() } else { a.as_standard_layout().to_owned().into_shared() };
            data.into_shape_with_order(IxDyn(shape))?.into()
        }))
    }

    /// The elements converted to another dtype, as `tf.cast` converts them (floats to integers truncate
    /// toward zero; nonzero is `true`).
    ///
    /// # Errors
    /// `Unimplemented` for casts to or from strings.
    pub fn cast(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        macro_rules! from_f64 {
            ($src:expr) => {
                match dtype {
                    DType::F32 => Tensor::F32($src.mapv(|v| v as f32).into_shared()),
                    DType::F64 => Tensor::F64($src.mapv(|v| v).into_shared()),
                    DType::I32 => Tensor::I32($src.mapv(|v| v as i32).into_shared()),
                    DType::I64 => Tensor::I64($src.mapv(|v| v as i64).into_shared()),
                    DType::U8 => Tensor::U8($src.mapv(|v| v as u8).into_shared()),
                    DType::Bool => Tensor::Bool($src.mapv(|v| v != 0.0).into_shared()),
                    DType::String => return Err(Error::unimplemented("cast to string is not supported")),
                }
            };
        }
        if let (Tensor::I64(a), DType::I32) = (self, dtype) {
            return Ok(Tensor::I32(a.mapv(|v| v as i32).into_shared()));
        }
        if let (Tensor::I32(a), DType::I64) = (self, dtype) {
            return Ok(Tensor::I64(a.mapv(i64::from).into_shared()));
        }
        let as_f64 = match self {
            Tensor::F32(a) => a.mapv(f64::from),
            Tensor::F64(a) => a.to_owned(),
            Tensor::I32(a) => a.mapv(f64::from),
            Tensor::I64(a) => a.mapv(|v| v as f64),
            Tensor::U8(a) => a.mapv(f64::from),
            Tensor::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
            Tensor::String(_) => return Err(Error::unimplemented("cast from string is not supported")),
        };
        Ok(from_f64!(as_f64))
    }

    fn dtype_error(&self, wanted: DType) -> Error {
        Error::invalid_argument(format!("expected a {wanted} tensor, got {}", self.dtype()))
    }
}

impl<T: TensorElement> From<ArcArray<T, IxDyn>> for Tensor {
    fn from(array: ArcArray<T, IxDyn>) -> Self {
        T::wrap(array)
    }
}

impl<T: TensorElement> From<ArrayD<T>> for Tensor {
    fn from(array: ArrayD<T>) -> Self {
        T::wrap(array.into_shared())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}, {}>", self.dtype(), Shape::from(self.shape()))?;
        match self {
            Tensor::String(a) => {
                let shown: Vec<String> =
                    a.iter().take(8).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
                write!(f, "{shown:?}")
            }
            other => match_tensor!(other, a => {
                if a.len() <= 16 { write!(f, "{:?}", a.iter().collect::<Vec<_>>()) } else { write!(f, "[{} elements]", a.len()) }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construct_and_read() -> Result<()> {
        let t = Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])?;
        assert_eq!(t.dtype(), DType::F32);
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.byte_size(), 24);
        assert!(t.to_vec::<i32>().is_err());
        let r = t.reshape(&[3, 2])?;
        assert_eq!(r.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(Tensor::from_vec(&[4], vec![1i32]).is_err());
        assert_eq!(Tensor::scalar(7i64).scalar_value::<i64>()?, 7);
        Ok(())
    }

    #[test]
    fn strings_and_casts() -> Result<()> {
        let s = Tensor::from_vec(&[2], vec![b"ab".to_vec(), b"c".to_vec()])?;
        assert_eq!(s.dtype(), DType::String);
        assert_eq!(s.byte_size(), 3);
        let f = Tensor::vector(vec![-1.7f32, 0.0, 2.9]);
        assert_eq!(f.cast(DType::I32)?.to_vec::<i32>()?, vec![-1, 0, 2]);
        assert_eq!(f.cast(DType::Bool)?.to_vec::<bool>()?, vec![true, false, true]);
        assert!(s.cast(DType::F32).is_err());
        Ok(())
    }

    #[test]
    fn copies_do_not_alias() -> Result<()> {
        let t = Tensor::vector(vec![1.0f64, 2.0]);
        let snapshot = t.clone();
        let mut a = t.into_array::<f64>()?;
        a[[0]] = 10.0;
        assert_eq!(snapshot.to_vec::<f64>()?, vec![1.0, 2.0]);
        Ok(())
    }
}
