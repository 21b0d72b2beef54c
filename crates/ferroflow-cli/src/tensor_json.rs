//! Tensors as JSON values nested by shape, for `inspect-checkpoint --values`.

use ferroflow_core::{match_tensor, Tensor};
use serde_json::Value;

/// A float as JSON: finite values as numbers, the others as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"` (JSON has no such numbers, and `null` would lose which one it was).
pub fn float_json(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v.is_infinite() {
        Value::from(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        Value::from(v)
    }
}

/// An `f32` as JSON, through its shortest decimal form so that `0.1f32` prints as `0.1`, not as the
/// `f64` nearest to it (`0.10000000149011612`).
pub fn f32_json(v: f32) -> Value {
    float_json(shortest_f64(v))
}

/// The `f64` with the same shortest decimal form as an `f32`.
pub fn shortest_f64(v: f32) -> f64 {
    if v.is_finite() {
        v.to_string().parse::<f64>().unwrap_or(f64::from(v))
    } else {
        f64::from(v)
    }
}

/// The tensor's elements nested as its shape (a scalar is one value).
pub fn tensor_json(tensor: &Tensor) -> Value {
    let flat: Vec<Value> = match tensor {
        Tensor::F32(a) => a.iter().map(|&v| f32_json(v)).collect(),
        Tensor::F64(a) => a.iter().map(|&v| float_json(v)).collect(),
        Tensor::String(a) => a.iter().map(|s| Value::from(String::from_utf8_lossy(s).into_owned())).collect(),
        other => {
            match_tensor!(other, a => a.iter().map(|v| serde_json::to_value(v).unwrap_or(Value::Null)).collect())
        }
    };
    nest(&flat, tensor.shape())
}

fn nest(flat: &[Value], shape: &[usize]) -> Value {
    match shape.split_first() {
        None => flat.first().cloned().unwrap_or(Value::Null),
        Some((&n, rest)) => {
            let inner: usize = rest.iter().product();
            Value::Array(
                (0..n).map(|i| nest(flat.get(i * inner..(i + 1) * inner).unwrap_or(&[]), rest)).collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_by_shape() -> ferroflow_core::Result<()> {
        let t = Tensor::from_vec(&[2, 3], vec![0.1f32, 1.0, 2.0, 3.0, f32::NAN, 5.0])?;
        assert_eq!(tensor_json(&t).to_string(), r#"[[0.1,1.0,2.0],[3.0,"NaN",5.0]]"#);
        assert_eq!(tensor_json(&Tensor::scalar(7i64)).to_string(), "7");
        assert_eq!(tensor_json(&Tensor::from_vec(&[0, 3], Vec::<f32>::new())?).to_string(), "[]");
        assert_eq!(tensor_json(&Tensor::string("hi")).to_string(), r#""hi""#);
        Ok(())
    }
}
