//! `tf.io.parse_single_example` / `tf.io.parse_example` with fixed-length features.

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
/// Mirrors `tf.io.parse_example` with `FixedLenFeature`s. Records are read straight from the wire
/// format into the batch buffers (no per-record message, map or tensor); a record the direct reader
/// does not handle (a missing feature with a default, a repeated field, anything malformed) goes
/// through [`parse_single_example`], which also words the errors.
///
/// # Errors
/// `InvalidArgument` for a non-vector or non-string input, an empty batch, and as
/// [`parse_single_example`], naming the example's index.
pub fn parse_example(serialized: &Tensor, spec: &FeatureSpec) -> Result<Vec<Tensor>> {
    let records = serialized.array::<Vec<u8>>()?;
    if records.ndim() != 1 || records.is_empty() {
        return Err(Error::invalid_argument("parse_example expects a non-empty vector of strings"));
    }
    let batch = records.len();
    let mut columns: Vec<Column> = spec
        .features
        .iter()
        .map(|(_, f)| Column::with_capacity(f.dtype, batch * f.shape.iter().product::<usize>()))
        .collect();
    let mut found = Vec::with_capacity(spec.features.len());
    // Where each column stood before the record (to undo a partial read), in one vector for the whole
    // batch rather than one per record.
    let mut lens: Vec<usize> = Vec::with_capacity(columns.len());
    for (i, r) in records.iter().enumerate() {
        lens.clear();
        lens.extend(columns.iter().map(Column::len));
        if read_example(r, spec, &mut found, &mut columns).is_some() {
            continue;
        }
        for (c, &len) in columns.iter_mut().zip(&lens) {
            c.truncate(len);
        }
        let parsed = parse_single_example(r, spec).map_err(|e| e.context(format_args!("example {i}")))?;
        for (c, t) in columns.iter_mut().zip(&parsed) {
            c.extend_from(t)?;
        }
    }
    spec.features
        .iter()
        .zip(columns)
        .map(|((_, f), c)| {
            let mut dims = Vec::with_capacity(f.shape.len() + 1);
            dims.push(batch);
            dims.extend_from_slice(&f.shape);
            c.into_tensor(&dims)
        })
        .collect()
}

/// The values of one feature across a batch.
enum Column {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Bytes(Vec<Vec<u8>>),
}

impl Column {
    fn with_capacity(dtype: DType, n: usize) -> Column {
        match dtype {
            DType::F32 => Column::F32(Vec::with_capacity(n)),
            DType::I64 => Column::I64(Vec::with_capacity(n)),
            _ => Column::Bytes(Vec::with_capacity(n)),
        }
    }
    fn len(&self) -> usize {
        match self {
            Column::F32(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Bytes(v) => v.len(),
        }
    }
    fn truncate(&mut self, n: usize) {
        match self {
            Column::F32(v) => v.truncate(n),
            Column::I64(v) => v.truncate(n),
            Column::Bytes(v) => v.truncate(n),
        }
    }
    fn extend_from(&mut self, t: &Tensor) -> Result<()> {
        match self {
            Column::F32(v) => v.extend(t.array::<f32>()?.iter().copied()),
            Column::I64(v) => v.extend(t.array::<i64>()?.iter().copied()),
            Column::Bytes(v) => v.extend(t.array::<Vec<u8>>()?.iter().cloned()),
        }
        Ok(())
    }
    fn into_tensor(self, dims: &[usize]) -> Result<Tensor> {
        match self {
            Column::F32(v) => Tensor::from_vec(dims, v),
            Column::I64(v) => Tensor::from_vec(dims, v),
            Column::Bytes(v) => Tensor::from_vec(dims, v),
        }
    }
}

/// A cursor over protobuf wire format; every method returns `None` on malformed input.
struct Wire<'a> {
    buf: &'a [u8],
}

impl<'a> Wire<'a> {
    fn varint(&mut self) -> Option<u64> {
        // Keys and short lengths, most varints of an Example, are one byte.
        if let Some((&b, rest)) = self.buf.split_first() {
            if b & 0x80 == 0 {
                self.buf = rest;
                return Some(u64::from(b));
            }
        }
        let mut v = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Some(v);
            }
        }
        None
    }
    /// The next field number and wire type; `Some(None)` at the end.
    fn key(&mut self) -> Option<Option<(u64, u8)>> {
        if self.buf.is_empty() {
            return Some(None);
        }
        let k = self.varint()?;
        Some(Some((k >> 3, (k & 7) as u8)))
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }
    fn skip(&mut self, wire_type: u8) -> Option<()> {
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => self.bytes().map(drop),
            5 => self.take(4).map(drop),
            _ => None,
        }
    }
}

/// Reads one `Example` into the columns; `None` when the record needs the general parser (the
/// columns may then hold part of it).
///
/// Wire format: `Example.features` (1) is a `Features` whose `feature` (1) map entries hold a key (1)
/// and a `Feature` (2), whose oneof is `bytes_list` (1), `float_list` (2) or `int64_list` (3), each
/// with repeated `value` (1), packed or not.
fn read_example<'a>(
    record: &'a [u8],
    spec: &FeatureSpec,
    found: &mut Vec<Option<&'a [u8]>>,
    columns: &mut [Column],
) -> Option<()> {
    found.clear();
    found.resize(spec.features.len(), None);
    let mut example = Wire { buf: record };
    while let Some((field, wt)) = example.key()? {
        if field != 1 || wt != 2 {
            example.skip(wt)?;
            continue;
        }
        let mut features = Wire { buf: example.bytes()? };
        while let Some((field, wt)) = features.key()? {
            if field != 1 || wt != 2 {
                features.skip(wt)?;
                continue;
            }
            let mut entry = Wire { buf: features.bytes()? };
            let (mut key, mut value) = (None, None);
            while let Some((field, wt)) = entry.key()? {
                match (field, wt) {
                    (1, 2) if key.is_none() => key = Some(entry.bytes()?),
                    (2, 2) if value.is_none() => value = Some(entry.bytes()?),
                    (1 | 2, _) => return None,
                    _ => entry.skip(wt)?,
                }
            }
            let key = key.unwrap_or_default();
            if let Some(i) = spec.features.iter().position(|(n, _)| same_bytes(n.as_bytes(), key)) {
                // A later entry of the same key replaces an earlier one, as in a protobuf map.
                found[i] = Some(value.unwrap_or_default());
            }
        }
    }
    for (((_, f), value), column) in spec.features.iter().zip(found.iter()).zip(columns.iter_mut()) {
        read_feature((*value)?, f, column)?;
    }
    Some(())
}

/// `a == b` for short names: the slice comparison calls `memcmp`, which showed in profiles of
/// parsing batches with two or three keys per record.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Appends little-endian floats. Blocks of 16 through a stack array compile to vector copies;
/// `extend` over the chunks stays a scalar loop, and pre-sizing with `resize` writes every slot twice.
fn extend_f32(out: &mut Vec<f32>, packed: &[u8]) {
    const BLOCK: usize = 16;
    let le = |c: &[u8]| f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    out.reserve(packed.len() / 4);
    let mut blocks = packed.chunks_exact(4 * BLOCK);
    for b in &mut blocks {
        let mut values = [0f32; BLOCK];
        for (v, c) in values.iter_mut().zip(b.chunks_exact(4)) {
            *v = le(c);
        }
        out.extend_from_slice(&values);
    }
    out.extend(blocks.remainder().chunks_exact(4).map(le));
}

fn read_feature(feature: &[u8], f: &FixedLenFeature, column: &mut Column) -> Option<()> {
    let mut w = Wire { buf: feature };
    let mut kind = None;
    while let Some((field, wt)) = w.key()? {
        match (field, wt) {
            (1..=3, 2) if kind.is_none() => kind = Some((field, w.bytes()?)),
            (1..=3, _) => return None,
            _ => w.skip(wt)?,
        }
    }
    let (field, list) = kind?;
    let before = column.len();
    let mut list = Wire { buf: list };
    match (&mut *column, field) {
        (Column::F32(out), 2) if f.dtype == DType::F32 => {
            while let Some((field, wt)) = list.key()? {
                match (field, wt) {
                    (1, 2) => {
                        let packed = list.bytes()?;
                        if packed.len() % 4 != 0 {
                            return None;
                        }
                        extend_f32(out, packed);
                    }
                    (1, 5) => {
                        let c = list.take(4)?;
                        out.push(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                    }
                    _ => list.skip(wt)?,
                }
            }
        }
        (Column::I64(out), 3) if f.dtype == DType::I64 => {
            while let Some((field, wt)) = list.key()? {
                match (field, wt) {
                    (1, 2) => {
                        let mut packed = Wire { buf: list.bytes()? };
                        while !packed.buf.is_empty() {
                            out.push(packed.varint()? as i64);
                        }
                    }
                    (1, 0) => out.push(list.varint()? as i64),
                    _ => list.skip(wt)?,
                }
            }
        }
        (Column::Bytes(out), 1) if f.dtype == DType::String => {
            while let Some((field, wt)) = list.key()? {
                match (field, wt) {
                    (1, 2) => out.push(list.bytes()?.to_vec()),
                    _ => list.skip(wt)?,
                }
            }
        }
        _ => return None,
    }
    // A wrong count goes to the general parser, which words the error.
    let n: usize = f.shape.iter().product();
    (column.len() - before == n).then_some(())
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

    /// A length-delimited field.
    fn ld(field: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3) | 2, u8::try_from(body.len()).unwrap()];
        v.extend_from_slice(body);
        v
    }

    /// An Example with one entry per (key, Feature bytes), written by hand.
    fn raw_example(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut features = Vec::new();
        for (k, f) in entries {
            let mut entry = ld(1, k.as_bytes());
            entry.extend(ld(2, f));
            features.extend(ld(1, &entry));
        }
        ld(1, &features)
    }

    #[test]
    fn the_direct_reader_agrees_with_the_message_parser() -> Result<()> {
        let spec = spec()?;
        let packed = Example::new([
            ("x".to_string(), Feature::floats(vec![1.5, -2.0])),
            ("label".to_string(), Feature::int64s(vec![-7])),
            ("id".to_string(), Feature::bytes(vec![b"a".to_vec()])),
            ("other".to_string(), Feature::floats(vec![9.0; 5])),
        ])
        .encode_to_vec();
        // Unpacked floats (wire type 5) and int64s (wire type 0), a repeated key (the last wins), and
        // a missing feature with a default.
        let mut unpacked_floats = vec![0x0d];
        unpacked_floats.extend(3.0f32.to_le_bytes());
        unpacked_floats.push(0x0d);
        unpacked_floats.extend(4.0f32.to_le_bytes());
        let unpacked = raw_example(&[
            ("label", ld(3, &[0x08, 5])),
            ("x", ld(2, &unpacked_floats)),
            ("label", ld(3, &[0x08, 6])),
        ]);
        let records = vec![packed.clone(), unpacked.clone(), packed];
        let batch = parse_example(&Tensor::vector(records.clone()), &spec)?;
        let singles = records.iter().map(|r| parse_single_example(r, &spec)).collect::<Result<Vec<_>>>()?;
        for (c, got) in batch.iter().enumerate() {
            let column: Vec<Tensor> = singles.iter().map(|p| p[c].clone()).collect();
            assert_eq!(got, &crate::batch_util::stack(&column)?, "feature {c}");
        }
        assert_eq!(batch[0].to_vec::<f32>()?, vec![1.5, -2.0, 3.0, 4.0, 1.5, -2.0]);
        assert_eq!(batch[1].to_vec::<i64>()?, vec![-7, 6, -7]);

        // Errors name the example and keep the message parser's wording.
        let bad = raw_example(&[("x", ld(3, &[0x08, 1])), ("label", ld(3, &[0x08, 1]))]);
        let err = parse_example(&Tensor::vector(vec![records[0].clone(), bad]), &spec).unwrap_err();
        assert!(err.message().contains("Data types don't match"), "{err}");
        assert!(err.to_string().contains("example 1"), "{err}");
        let err = parse_example(&Tensor::vector(vec![vec![0xffu8, 0xff]]), &spec).unwrap_err();
        assert!(err.message().contains("Could not parse example input"), "{err}");
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

    #[test]
    fn float_blocks_and_long_varints_match_the_message_parser() -> Result<()> {
        // Lengths around the 16-float blocks of the direct reader, and int64s of every varint length
        // (negative ones take ten bytes).
        let ints = [0i64, 1, 127, 128, 300, 1 << 35, i64::MAX, -1, i64::MIN];
        for n in 0..=40usize {
            let spec = FeatureSpec::new(vec![
                ("x".into(), FixedLenFeature::new(DType::F32, &[n])),
                ("label".into(), FixedLenFeature::new(DType::I64, &[])),
            ])?;
            let records: Vec<Vec<u8>> = ints
                .iter()
                .map(|&label| {
                    let x: Vec<f32> = (0..n).map(|j| j as f32 * 0.25 - label as f32).collect();
                    Example::new([
                        ("x".to_string(), Feature::floats(x)),
                        ("label".to_string(), Feature::int64s(vec![label])),
                    ])
                    .encode_to_vec()
                })
                .collect();
            let batch = parse_example(&Tensor::vector(records.clone()), &spec)?;
            let singles =
                records.iter().map(|r| parse_single_example(r, &spec)).collect::<Result<Vec<_>>>()?;
            for (c, got) in batch.iter().enumerate() {
                let column: Vec<Tensor> = singles.iter().map(|p| p[c].clone()).collect();
                assert_eq!(got, &crate::batch_util::stack(&column)?, "{n} floats, feature {c}");
            }
            assert_eq!(batch[1].to_vec::<i64>()?, ints.to_vec(), "{n} floats");
        }
        Ok(())
    }
}
