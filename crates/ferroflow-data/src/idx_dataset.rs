//! IDX files (the MNIST format): a magic number, big-endian dimension sizes, big-endian data.

use crate::batch_util::slice;
use crate::input_buffer::open_file;
use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use flate2::read::MultiGzDecoder;
use parking_lot::Mutex;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The items of an IDX file (`train-images-idx3-ubyte`, optionally gzipped): item `i` is the slice
/// `i` along the first dimension.
///
/// Not in TF (MNIST readers there are Python helpers). Element dtypes: `u8` for unsigned bytes,
/// `i32` for signed bytes, shorts and ints, `f32`, `f64`. The file is read once, when the first
/// iterator starts, and kept; the iterator state is the item index, so restoring is O(1).
#[derive(Debug)]
pub struct IdxDataset {
    path: PathBuf,
    spec: ElementSpec,
    data: Mutex<Option<Arc<Tensor>>>,
}

/// The dtype an IDX type code decodes to, and its size in the file.
fn idx_type(code: u8) -> Option<(DType, usize)> {
    Some(match code {
        0x08 => (DType::U8, 1),
        0x09 => (DType::I32, 1),
        0x0B => (DType::I32, 2),
        0x0C => (DType::I32, 4),
        0x0D => (DType::F32, 4),
        0x0E => (DType::F64, 8),
        _ => return None,
    })
}

/// Reads the header: (type code, dims). `bytes` is the start of the (decompressed) file.
fn header(bytes: &[u8], path: &Path) -> Result<(u8, Vec<usize>, usize)> {
    let bad = |why: &str| Error::data_loss(format!("{} is not an IDX file: {why}", path.display()));
    let magic = bytes.get(..4).ok_or_else(|| bad("shorter than its magic number"))?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(bad("the magic number does not start with two zero bytes"));
    }
    idx_type(magic[2]).ok_or_else(|| bad(&format!("unknown type code 0x{:02x}", magic[2])))?;
    let ndims = magic[3] as usize;
    if ndims == 0 {
        return Err(bad("zero dimensions"));
    }
    let mut dims = Vec::with_capacity(ndims);
    for d in 0..ndims {
        let at = 4 + 4 * d;
        let b = bytes.get(at..at + 4).ok_or_else(|| bad("header cut short"))?;
        dims.push(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    }
    Ok((magic[2], dims, 4 + 4 * ndims))
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut file = open_file(path)?;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw)
        .map_err(|e| Error::from(e).context(format_args!("reading {}", path.display())))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::from(e).context(format_args!("decompressing {}", path.display())))?;
        return Ok(out);
    }
    Ok(raw)
}

fn decode(bytes: &[u8], path: &Path) -> Result<Tensor> {
    let (code, dims, start) = header(bytes, path)?;
    let (_, size) = idx_type(code).ok_or_else(|| Error::internal("type code checked in header"))?;
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let need = n.and_then(|n| n.checked_mul(size)).and_then(|b| b.checked_add(start));
    let data = match need {
        Some(end) if end <= bytes.len() => &bytes[start..end],
        _ => {
            return Err(Error::data_loss(format!(
                "{}: the header promises more data than the file holds ({} bytes)",
                path.display(),
                bytes.len()
            )))
        }
    };
    match code {
        0x08 => Tensor::from_vec(&dims, data.to_vec()),
        0x09 => Tensor::from_vec(&dims, data.iter().map(|&b| i32::from(b as i8)).collect()),
        0x0B => Tensor::from_vec(
            &dims,
            data.chunks_exact(2).map(|c| i32::from(i16::from_be_bytes([c[0], c[1]]))).collect(),
        ),
        0x0C => Tensor::from_vec(
            &dims,
            data.chunks_exact(4).map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect(),
        ),
        0x0D => Tensor::from_vec(
            &dims,
            data.chunks_exact(4).map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect(),
        ),
        _ => Tensor::from_vec(
            &dims,
            data.chunks_exact(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
    }
}

/// The bytes of an IDX file holding `tensor` (for tests and tools): `u8` as unsigned bytes, `i32` as
/// ints, `f32` and `f64` as themselves.
///
/// # Errors
/// `InvalidArgument` for another dtype, a scalar, or more than 255 dimensions.
pub fn encode_idx(tensor: &Tensor) -> Result<Vec<u8>> {
    let code = match tensor.dtype() {
        DType::U8 => 0x08,
        DType::I32 => 0x0C,
        DType::F32 => 0x0D,
        DType::F64 => 0x0E,
        other => return Err(Error::invalid_argument(format!("IDX cannot hold {other}"))),
    };
    let ndims = u8::try_from(tensor.rank())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::invalid_argument("IDX holds 1 to 255 dimensions"))?;
    let mut out = vec![0, 0, code, ndims];
    for &d in tensor.shape() {
        let d = u32::try_from(d).map_err(|_| Error::invalid_argument("IDX dimension over u32"))?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    match tensor {
        Tensor::U8(a) => out.extend(a.iter()),
        Tensor::I32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        Tensor::F32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        Tensor::F64(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        _ => {}
    }
    Ok(out)
}

impl IdxDataset {
    /// The items of the IDX file at `path`. Reads the header now, to know the element spec.
    ///
    /// # Errors
    /// `NotFound` naming a missing file; `DataLoss` when it is not an IDX file.
    pub fn new(path: impl Into<PathBuf>) -> Result<IdxDataset> {
        let path = path.into();
        let bytes = read_all(&path)?;
        let (code, dims, _) = header(&bytes, &path)?;
        let (dtype, _) = idx_type(code).ok_or_else(|| Error::internal("type code checked in header"))?;
        let spec = ElementSpec::new(vec![dtype], vec![PartialShape::known(&dims[1..])])?;
        let data = decode(&bytes, &path)?;
        Ok(IdxDataset { path, spec, data: Mutex::new(Some(Arc::new(data))) })
    }

    /// As a shared dataset.
    pub fn into_ref(self) -> crate::DatasetRef {
        Arc::new(self)
    }

    fn data(&self) -> Result<Arc<Tensor>> {
        let mut guard = self.data.lock();
        if let Some(d) = guard.as_ref() {
            return Ok(Arc::clone(d));
        }
        let d = Arc::new(decode(&read_all(&self.path)?, &self.path)?);
        *guard = Some(Arc::clone(&d));
        Ok(d)
    }
}

struct IdxIterator {
    data: Arc<Tensor>,
    next: usize,
}

impl Dataset for IdxDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(IdxIterator { data: self.data()?, next: 0 }))
    }
}

impl DatasetIterator for IdxIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if self.next >= self.data.shape().first().copied().unwrap_or(0) {
            return Ok(None);
        }
        let item = slice(&self.data, self.next)?;
        self.next += 1;
        Ok(Some(vec![item]))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("idx");
        w.u64(self.next as u64);
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("idx")?;
        self.next = r.usize()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type_code() -> Result<()> {
        let p = Path::new("t");
        let cases: &[(Vec<u8>, Tensor, &str)] = &[
            (vec![0, 0, 8, 1, 0, 0, 0, 2, 7, 255], Tensor::vector(vec![7u8, 255]), "unsigned bytes"),
            (vec![0, 0, 9, 1, 0, 0, 0, 1, 255], Tensor::vector(vec![-1i32]), "signed byte"),
            (vec![0, 0, 0x0B, 1, 0, 0, 0, 1, 0xff, 0xfe], Tensor::vector(vec![-2i32]), "short"),
            (vec![0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0], Tensor::vector(vec![1.0f32]), "float"),
        ];
        for (bytes, want, why) in cases {
            assert_eq!(&decode(bytes, p)?, want, "{why}");
        }
        let err = decode(&[0, 0, 8, 1, 0, 0, 0, 9, 1], p).unwrap_err();
        assert_eq!(err.code(), ferroflow_core::Code::DataLoss, "short data: {err}");
        assert!(decode(&[1, 0, 8, 1], p).is_err(), "bad magic");
        let t = Tensor::from_vec(&[2, 2], vec![1.5f64, 2.0, -3.0, 4.0])?;
        assert_eq!(decode(&encode_idx(&t)?, p)?, t, "round trip");
        Ok(())
    }
}
