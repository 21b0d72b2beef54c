//! Slicing, stacking and padding tensors of any dtype (TF's `batch_util.cc`).

use ferroflow_core::ndarray::{ArrayD, Axis, IxDyn, Slice};
use ferroflow_core::{match_tensor, DType, Error, Result, Shape, Tensor, TensorElement};

/// Row `i` of a tensor along its first dimension.
///
/// # Errors
/// `InvalidArgument` for a scalar or an index past the end.
pub fn slice(t: &Tensor, i: usize) -> Result<Tensor> {
    let rows = t.shape().first().copied().ok_or_else(|| Error::invalid_argument("cannot slice a scalar"))?;
    if i >= rows {
        return Err(Error::invalid_argument(format!("row {i} is out of range for {rows} rows")));
    }
    Ok(match_tensor!(t, a => Tensor::from(a.index_axis(Axis(0), i).to_owned())))
}

fn stack_as<T: TensorElement>(parts: &[Tensor], shape: &[usize]) -> Result<Tensor> {
    let mut data: Vec<T> = Vec::with_capacity(parts.len() * shape.iter().product::<usize>());
    for p in parts {
        let a = p.array::<T>()?;
        match a.as_slice() {
            Some(s) => data.extend_from_slice(s),
            None => data.extend(a.iter().cloned()),
        }
    }
    let mut dims = Vec::with_capacity(shape.len() + 1);
    dims.push(parts.len());
    dims.extend_from_slice(shape);
    Tensor::from_vec(&dims, data)
}

/// Stacks same-shaped tensors along a new first dimension.
///
/// # Errors
/// `InvalidArgument` naming both shapes when they differ (TF: "Cannot batch tensors with different
/// shapes"), or for an empty list.
pub fn stack(parts: &[Tensor]) -> Result<Tensor> {
    let (dtype, shape) = check_same_shapes(parts)?;
    match dtype {
        DType::F32 => stack_as::<f32>(parts, &shape),
        DType::F64 => stack_as::<f64>(parts, &shape),
        DType::I32 => stack_as::<i32>(parts, &shape),
        DType::I64 => stack_as::<i64>(parts, &shape),
        DType::U8 => stack_as::<u8>(parts, &shape),
        DType::Bool => stack_as::<bool>(parts, &shape),
        DType::String => stack_as::<Vec<u8>>(parts, &shape),
    }
}

/// As [`stack`], taking the tensors: strings held by nobody else move into the batch instead of being
/// copied (a batch of serialized records is the common case).
///
/// # Errors
/// As [`stack`].
pub fn stack_owned(parts: Vec<Tensor>) -> Result<Tensor> {
    let (dtype, shape) = check_same_shapes(&parts)?;
    if dtype != DType::String {
        return stack(&parts);
    }
    let mut data: Vec<Vec<u8>> = Vec::with_capacity(parts.len() * shape.iter().product::<usize>());
    let n = parts.len();
    for p in parts {
        let a = p.into_array::<Vec<u8>>()?.into_owned();
        if !a.is_standard_layout() {
            data.extend(a.iter().cloned());
            continue;
        }
        let len = a.len();
        let (raw, offset) = a.into_raw_vec_and_offset();
        data.extend(raw.into_iter().skip(offset.unwrap_or(0)).take(len));
    }
    let mut dims = Vec::with_capacity(shape.len() + 1);
    dims.push(n);
    dims.extend_from_slice(&shape);
    Tensor::from_vec(&dims, data)
}

/// The dtype and shape shared by all `parts`.
fn check_same_shapes(parts: &[Tensor]) -> Result<(DType, Vec<usize>)> {
    let first = parts.first().ok_or_else(|| Error::invalid_argument("cannot batch zero tensors"))?;
    let (dtype, shape) = (first.dtype(), first.shape().to_vec());
    for (i, p) in parts.iter().enumerate() {
        // Element-wise: a slice `!=` calls `memcmp` even for the empty shapes of scalars, which showed
        // in profiles of batching records.
        if !p.shape().iter().eq(shape.iter()) {
            return Err(Error::invalid_argument(format!(
                "Cannot batch tensors with different shapes in component: first element had shape {} and \
                 element {i} had shape {}",
                Shape::from(shape.as_slice()),
                Shape::from(p.shape())
            )));
        }
    }
    Ok((dtype, shape))
}

fn pad_as<T: TensorElement>(t: &Tensor, shape: &[usize], value: &Tensor) -> Result<Tensor> {
    let fill = value.scalar_value::<T>()?;
    let mut out = ArrayD::<T>::from_elem(IxDyn(shape), fill);
    let src = t.array::<T>()?;
    let mut view = out.view_mut();
    for (axis, &n) in src.shape().iter().enumerate() {
        view.slice_axis_inplace(Axis(axis), Slice::from(0..n));
    }
    view.assign(src);
    Ok(Tensor::from(out))
}

/// `t` padded at the end of each dimension with `value` (a scalar of the same dtype) to `shape`.
///
/// # Errors
/// `InvalidArgument` when the ranks differ, `t` is larger than `shape` in a dimension, or `value` is
/// not a scalar of `t`'s dtype.
pub fn pad(t: &Tensor, shape: &[usize], value: &Tensor) -> Result<Tensor> {
    if t.rank() != shape.len() || t.shape().iter().zip(shape).any(|(a, b)| a > b) {
        return Err(Error::invalid_argument(format!(
            "cannot pad a tensor of shape {} to shape {}",
            Shape::from(t.shape()),
            Shape::from(shape)
        )));
    }
    if value.dtype() != t.dtype() {
        return Err(Error::invalid_argument(format!(
            "padding value has dtype {}, the component has {}",
            value.dtype(),
            t.dtype()
        )));
    }
    match t.dtype() {
        DType::F32 => pad_as::<f32>(t, shape, value),
        DType::F64 => pad_as::<f64>(t, shape, value),
        DType::I32 => pad_as::<i32>(t, shape, value),
        DType::I64 => pad_as::<i64>(t, shape, value),
        DType::U8 => pad_as::<u8>(t, shape, value),
        DType::Bool => pad_as::<bool>(t, shape, value),
        DType::String => pad_as::<Vec<u8>>(t, shape, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_stack_pad() -> Result<()> {
        let t = Tensor::from_vec(&[2, 2], vec![1i32, 2, 3, 4])?;
        let rows = vec![slice(&t, 0)?, slice(&t, 1)?];
        assert_eq!(rows[1].to_vec::<i32>()?, vec![3, 4]);
        assert_eq!(stack(&rows)?, t);
        assert!(slice(&t, 2).is_err());
        let err = stack(&[Tensor::vector(vec![1i32]), Tensor::vector(vec![1i32, 2])]).unwrap_err();
        assert!(err.message().contains("different shapes"), "{err}");
        let p = pad(&Tensor::vector(vec![1i32, 2]), &[4], &Tensor::scalar(-1i32))?;
        assert_eq!(p.to_vec::<i32>()?, vec![1, 2, -1, -1]);
        let strings = vec![Tensor::string("a"), Tensor::string("bc")];
        let shared = strings[1].clone();
        let batch = stack_owned(strings)?;
        assert_eq!(batch.to_vec::<Vec<u8>>()?, vec![b"a".to_vec(), b"bc".to_vec()]);
        assert_eq!(shared.scalar_value::<Vec<u8>>()?, b"bc".to_vec(), "a shared tensor is copied, not taken");
        let rows =
            Tensor::from_vec(&[2, 2], vec![b"w".to_vec(), b"x".to_vec(), b"y".to_vec(), b"z".to_vec()])?;
        let row1 = slice(&rows, 1)?;
        assert_eq!(stack_owned(vec![row1])?.to_vec::<Vec<u8>>()?, vec![b"y".to_vec(), b"z".to_vec()]);
        let s = pad(&Tensor::from_vec(&[1], vec![b"a".to_vec()])?, &[2], &Tensor::string(""))?;
        assert_eq!(s.to_vec::<Vec<u8>>()?, vec![b"a".to_vec(), Vec::new()]);
        Ok(())
    }
}
