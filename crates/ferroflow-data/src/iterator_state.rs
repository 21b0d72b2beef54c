//! The saved position of an iterator (beyond TF1, which could not checkpoint `tf.data` iterators):
//! a compact binary record that each iterator of a pipeline writes its part of, outermost first.
//!
//! Each part opens with the iterator's tag, so restoring a state into another pipeline fails with
//! `InvalidArgument` instead of producing silently wrong elements.

use ferroflow_core::{Error, Result, Tensor};
use ferroflow_proto::prost::Message;
use ferroflow_proto::TensorProto;

const MAGIC: &[u8; 8] = b"FFITST01";

/// A serialized iterator state: what `SerializeIterator` returns as a string scalar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IteratorState {
    bytes: Vec<u8>,
}

impl IteratorState {
    /// The serialized bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A state from bytes written by [`IteratorState::as_bytes`].
    ///
    /// # Errors
    /// `InvalidArgument` when the bytes do not start like an iterator state.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<IteratorState> {
        if !bytes.starts_with(MAGIC) {
            return Err(Error::invalid_argument("not a ferroflow iterator state (bad magic)"));
        }
        Ok(IteratorState { bytes })
    }

    /// The state as a string scalar tensor, for a checkpoint.
    pub fn to_tensor(&self) -> Tensor {
        Tensor::string(self.bytes.clone())
    }

    /// The state in a string scalar tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for another dtype or shape, or bytes that are not a state.
    pub fn from_tensor(tensor: &Tensor) -> Result<IteratorState> {
        IteratorState::from_bytes(tensor.scalar_value::<Vec<u8>>()?)
    }

    /// A reader over the parts.
    pub fn reader(&self) -> IteratorStateReader<'_> {
        IteratorStateReader { buf: &self.bytes, pos: MAGIC.len() }
    }
}

/// Writes an iterator's state, part by part.
#[derive(Debug)]
pub struct IteratorStateWriter {
    buf: Vec<u8>,
}

impl Default for IteratorStateWriter {
    fn default() -> Self {
        IteratorStateWriter::new()
    }
}

impl IteratorStateWriter {
    /// An empty state.
    pub fn new() -> IteratorStateWriter {
        IteratorStateWriter { buf: MAGIC.to_vec() }
    }

    /// Opens the part of one iterator.
    pub fn tag(&mut self, tag: &str) {
        self.bytes(tag.as_bytes());
    }

    /// An unsigned integer.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A signed integer.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A flag.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// A tensor (as a `TensorProto`).
    pub fn tensor(&mut self, t: &Tensor) {
        self.bytes(&TensorProto::from_tensor(t).encode_to_vec());
    }

    /// An element: its component count, then each tensor.
    pub fn element(&mut self, element: &[Tensor]) {
        self.u64(element.len() as u64);
        for t in element {
            self.tensor(t);
        }
    }

    /// The finished state.
    pub fn finish(self) -> IteratorState {
        IteratorState { bytes: self.buf }
    }
}

/// Reads an iterator's state, part by part, in the order it was written.
#[derive(Debug)]
pub struct IteratorStateReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl IteratorStateReader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| {
            Error::invalid_argument(format!(
                "iterator state is truncated: wanted {n} bytes at offset {}",
                self.pos
            ))
        })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Checks that the next part belongs to an iterator with this tag.
    ///
    /// # Errors
    /// `InvalidArgument` naming both tags when it does not (the state comes from another pipeline).
    pub fn expect_tag(&mut self, tag: &str) -> Result<()> {
        let found = self.bytes()?;
        if found != tag.as_bytes() {
            return Err(Error::invalid_argument(format!(
                "iterator state does not match the pipeline: expected a '{tag}' iterator, found '{}'",
                String::from_utf8_lossy(&found)
            )));
        }
        Ok(())
    }

    /// An unsigned integer.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated.
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A signed integer.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }

    /// An unsigned integer that must fit in `usize`.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated or the value does not fit.
    pub fn usize(&mut self) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| Error::invalid_argument(format!("iterator state: {v} is too large")))
    }

    /// A flag.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated.
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A byte string.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated.
    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.usize()?;
        Ok(self.take(n)?.to_vec())
    }

    /// A tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated or the tensor does not decode.
    pub fn tensor(&mut self) -> Result<Tensor> {
        let b = self.bytes()?;
        TensorProto::decode(b.as_slice())
            .map_err(|e| Error::invalid_argument(format!("iterator state: bad tensor: {e}")))?
            .to_tensor()
    }

    /// An element.
    ///
    /// # Errors
    /// `InvalidArgument` when the state is truncated or a tensor does not decode.
    pub fn element(&mut self) -> Result<Vec<Tensor>> {
        let n = self.usize()?;
        // The count comes from the state; each tensor needs at least 8 bytes, which bounds it.
        if n > self.buf.len() / 8 {
            return Err(Error::invalid_argument("iterator state: element count is too large"));
        }
        (0..n).map(|_| self.tensor()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tag_mismatch() -> Result<()> {
        let mut w = IteratorStateWriter::new();
        w.tag("range");
        w.i64(-3);
        w.bool(true);
        w.element(&[Tensor::vector(vec![1.0f32, 2.0]), Tensor::string("x")]);
        let state = IteratorState::from_tensor(&w.finish().to_tensor())?;
        let mut r = state.reader();
        r.expect_tag("range")?;
        assert_eq!(r.i64()?, -3);
        assert!(r.bool()?);
        assert_eq!(r.element()?, vec![Tensor::vector(vec![1.0f32, 2.0]), Tensor::string("x")]);
        assert!(r.u64().is_err(), "reading past the end is an error");
        let mut r = state.reader();
        let err = r.expect_tag("shuffle").unwrap_err();
        assert!(err.message().contains("expected a 'shuffle' iterator, found 'range'"), "{err}");
        Ok(())
    }
}
