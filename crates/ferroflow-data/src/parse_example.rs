//! `tf.io.parse_single_example` / `tf.io.parse_example` with fixed-length features.

use crate::batch_util::stack;
use crate::{DatasetExt, DatasetRef, ElementSpec};
use ferroflow_core::{DType, Error, PartialShape, Result, Shape, Tensor};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, FeatureKind};

/// A feature of fixed shape (TF's `tf.io.FixedLenFeature(shape, dtype, default_value)`).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedLenFeature {
    /// `f32`, `i64` or `string`, the three kinds of `tf.train.Feature` lists.
    pub dtype: DType,
    /// The shape the values are reshaped to; the feature must hold exactly its element count.
    pub shape: Vec<usize>,
    /// The value when the feature is missing; `None` makes it required.
    pub default: Option<Tensor>,
}

impl FixedLenFeature {
    /// A required feature.
    pub fn new(dtype: DType, shape: &[usize]) -> FixedLenFeature {
        FixedLenFeature { dtype, shape: shape.to_vec(), default: None }
    }

    /// The same feature with a default for when it is missing. By default, it is required.
    pub fn with_default(mut self, default: Tensor) -> FixedLenFeature {
        self.default = Some(default);
        self
    }
}

/// Named fixed-length features, in output order (TF's `features` dict, flattened in the order given
/// rather than sorted by key).
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSpec {
    features: Vec<(String, FixedLenFeature)>,
}

impl FeatureSpec {
    /// A spec of these features.
    ///
    /// # Errors
    /// `InvalidArgument` for no features, a duplicate name, an unsupported dtype, or a default whose
    /// dtype or element count does not match.
    pub fn new(features: Vec<(String, FixedLenFeature)>) -> Result<FeatureSpec> {
        if features.is_empty() {
            return Err(Error::invalid_argument("a feature spec needs at least one feature"));
        }
        for (i, (name, f)) in features.iter().enumerate() {
            if features[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::invalid_argument(format!("feature '{name}' appears twice")));
            }
            if !matches!(f.dtype, DType::F32 | DType::I64 | DType::String) {
                return Err(Error::invalid_argument(format!(
                    "feature '{name}': dtype {} is not one of float32, int64, string",
                    f.dtype
                )));
            }
            if let Some(d) = &f.default {
                let n: usize = f.shape.iter().product();
                if d.dtype() != f.dtype || (d.num_elements() != n && d.num_elements() != 1) {
                    return Err(Error::invalid_argument(format!(
                        "feature '{name}': default of dtype {} and shape {} does not fit {} {}",
                        d.dtype(),
                        Shape::from(d.shape()),
                        f.dtype,
                        Shape::from(f.shape.as_slice())
                    )));
                }
            }
        }
        Ok(FeatureSpec { features })
    }

    /// The features.
    pub fn features(&self) -> &[(String, FixedLenFeature)] {
        &self.features
    }

    /// The element spec of one parsed example.
    pub fn element_spec(&self) -> ElementSpec {
        ElementSpec {
            dtypes: self.features.iter().map(|(_, f)| f.dtype).collect(),
            shapes: self.features.iter().map(|(_, f)| PartialShape::known(&f.shape)).collect(),
        }
    }
}

fn default_value(f: &FixedLenFeature, d: &Tensor) -> Result<Tensor> {
    let n: usize = f.shape.iter().product();
    if d.num_elements() == n {
        return d.reshape(&f.shape);
    }
    // A one-element default fills the whole shape, as TF broadcasts it.
    Ok(match d {
        Tensor::F32(a) => Tensor::from_vec(&f.shape, vec![a.iter().copied().next().unwrap_or_default(); n])?,
        Tensor::I64(a) => Tensor::from_vec(&f.shape, vec![a.iter().copied().next().unwrap_or_default(); n])?,
        Tensor::String(a) => {
            Tensor::from_vec(&f.shape, vec![a.iter().next().cloned().unwrap_or_default(); n])?
        }
        other => other.clone(),
    })
}

/// The name of a feature list kind as TF's messages spell it.
fn tf_kind(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::I64 => "int64",
        _ => "string",
    }
}

fn kind_name(kind: &FeatureKind) -> &'static str {
    match kind {
        FeatureKind::BytesList(_) => "string",
        FeatureKind::FloatList(_) => "float",
        FeatureKind::Int64List(_) => "int64",
    }
}

/// Parses one serialized `tf.train.Example` into one tensor per feature of `spec`.
///
/// Mirrors `tf.io.parse_single_example` with `FixedLenFeature`s.
///
/// # Errors
/// `InvalidArgument` when the bytes are not an `Example`, a required feature is missing, a feature
/// has another type, or its value count differs from the shape's element count (the messages follow
/// TF's wording).
pub fn parse_single_example(serialized: &[u8], spec: &FeatureSpec) -> Result<Vec<Tensor>> {
    let example = Example::decode(serialized).map_err(|e| {
        Error::invalid_argument(format!("Could not parse example input ({} bytes): {e}", serialized.len()))
    })?;
    let mut map = example.features.map(|f| f.feature).unwrap_or_default();
    spec.features
        .iter()
        .map(|(name, f)| {
            let n: usize = f.shape.iter().product();
            // Taken out of the map (names in a spec are unique), so the values move into the tensor
            // without a copy.
            let kind = map.remove(name.as_str()).and_then(|feat| feat.kind);
            let Some(kind) = kind else {
                return match &f.default {
                    Some(d) => default_value(f, d),
                    None => Err(Error::invalid_argument(format!(
                        "Feature: {name} (data type: {}) is required but could not be found.",
                        tf_kind(f.dtype)
                    ))),
                };
            };
            let count_error = |got: usize| {
                Error::invalid_argument(format!(
                    "Key: {name}.  Can't parse serialized Example: expected {n} values for shape {}, got {got}",
                    Shape::from(f.shape.as_slice())
                ))
            };
            match (f.dtype, kind) {
                (DType::F32, FeatureKind::FloatList(l)) if l.value.len() == n => Tensor::from_vec(&f.shape, l.value),
                (DType::I64, FeatureKind::Int64List(l)) if l.value.len() == n => Tensor::from_vec(&f.shape, l.value),
                (DType::String, FeatureKind::BytesList(l)) if l.value.len() == n => {
                    Tensor::from_vec(&f.shape, l.value)
                }
                (DType::F32, FeatureKind::FloatList(l)) => Err(count_error(l.value.len())),
                (DType::I64, FeatureKind::Int64List(l)) => Err(count_error(l.value.len())),
                (DType::String, FeatureKind::BytesList(l)) => Err(count_error(l.value.len())),
                (dtype, kind) => Err(Error::invalid_argument(format!(
                    "Feature: {name}. Data types don't match. Data type: {} but expected type: {}",
                    kind_name(&kind),
                    tf_kind(dtype)
                ))),
            }
        })
        .collect()
}

/// Parses a vector of serialized `Example`s into one batched tensor per feature (leading dimension
/// = batch size).
///
/// Mirrors `tf.io.parse_example` with `FixedLenFeature`s.
///
/// # Errors
/// `InvalidArgument` for a non-vector or non-string input, an empty batch, and as
/// [`parse_single_example`], naming the example's index.
pub fn parse_example(serialized: &Tensor, spec: &FeatureSpec) -> Result<Vec<Tensor>> {
    let records = serialized.array::<Vec<u8>>()?;
    if records.ndim() != 1 || records.is_empty() {
        return Err(Error::invalid_argument("parse_example expects a non-empty vector of strings"));
    }
    let parsed = records
        .iter()
        .enumerate()
        .map(|(i, r)| parse_single_example(r, spec).map_err(|e| e.context(format_args!("example {i}"))))
        .collect::<Result<Vec<_>>>()?;
    (0..spec.features.len())
        .map(|c| {
            let column: Vec<Tensor> = parsed.iter().filter_map(|p| p.get(c).cloned()).collect();
            stack(&column)
        })
        .collect()
}

/// `dataset.map(lambda x: tf.io.parse_single_example(x, features))` for a dataset of string scalars.
///
/// # Errors
/// `InvalidArgument` when the dataset's elements are not one string scalar.
pub fn parse_example_dataset(dataset: &DatasetRef, spec: FeatureSpec) -> Result<DatasetRef> {
    let input = dataset.element_spec();
    if input.dtypes != [DType::String] {
        return Err(Error::invalid_argument(format!(
            "parsing Examples needs a dataset of one string component, got {:?}",
            input.dtypes
        )));
    }
    let out = spec.element_spec();
    dataset.map(out, move |e| {
        let t = e.first().ok_or_else(|| Error::invalid_argument("empty element"))?;
        let bytes = t.array::<Vec<u8>>()?;
        let record = bytes
            .iter()
            .next()
            .filter(|_| bytes.len() == 1)
            .ok_or_else(|| Error::invalid_argument("parse_single_example expects a string scalar"))?;
        parse_single_example(record, &spec)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_proto::Feature;

    fn spec() -> Result<FeatureSpec> {
        FeatureSpec::new(vec![
            ("x".into(), FixedLenFeature::new(DType::F32, &[2])),
            ("label".into(), FixedLenFeature::new(DType::I64, &[])),
            ("id".into(), FixedLenFeature::new(DType::String, &[]).with_default(Tensor::string("none"))),
        ])
    }

    #[test]
    fn parses_and_reports_like_tf() -> Result<()> {
        let ex = Example::new([
            ("x".to_string(), Feature::floats(vec![0.5, -1.0])),
            ("label".to_string(), Feature::int64s(vec![3])),
        ])
        .encode_to_vec();
        let out = parse_single_example(&ex, &spec()?)?;
        assert_eq!(out[0].to_vec::<f32>()?, vec![0.5, -1.0]);
        assert_eq!(out[1].scalar_value::<i64>()?, 3);
        assert_eq!(out[2].scalar_value::<Vec<u8>>()?, b"none".to_vec(), "default for a missing feature");

        type Case = (Vec<(String, Feature)>, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                vec![("label".into(), Feature::int64s(vec![3]))],
                "is required but could not be found",
                "missing",
            ),
            (
                vec![("x".into(), Feature::int64s(vec![1, 2])), ("label".into(), Feature::int64s(vec![3]))],
                "Data types don't match",
                "wrong type",
            ),
            (
                vec![("x".into(), Feature::floats(vec![1.0])), ("label".into(), Feature::int64s(vec![3]))],
                "expected 2 values",
                "wrong count",
            ),
        ];
        for (features, want, why) in cases {
            let err = parse_single_example(&Example::new(features).encode_to_vec(), &spec()?).unwrap_err();
            assert!(err.message().contains(want), "{why}: {err}");
        }
        let err = parse_single_example(&[0xff, 0xff], &spec()?).unwrap_err();
        assert!(err.message().contains("Could not parse example input"), "{err}");

        let batch = Tensor::vector(vec![ex.clone(), ex]);
        let out = parse_example(&batch, &spec()?)?;
        assert_eq!(out[0].shape(), &[2, 2]);
        assert_eq!(out[1].to_vec::<i64>()?, vec![3, 3]);
        Ok(())
    }

    #[test]
    fn bad_specs_fail_at_build_time() {
        let bad = FeatureSpec::new(vec![("x".into(), FixedLenFeature::new(DType::I32, &[]))]).unwrap_err();
        assert_eq!(bad.code(), ferroflow_core::Code::InvalidArgument);
        let bad = FeatureSpec::new(vec![(
            "x".into(),
            FixedLenFeature::new(DType::F32, &[3]).with_default(Tensor::vector(vec![1.0f32, 2.0])),
        )]);
        assert!(bad.is_err(), "default of the wrong size");
    }
}
