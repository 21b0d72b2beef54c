//! `tf.data.experimental.CsvDataset`: the records of CSV files, one scalar per column.

use crate::input_buffer::InputBuffer;
use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_record::Compression;
use std::path::PathBuf;
use std::sync::Arc;

/// The records of CSV files (RFC 4180: `"` quotes, `""` inside quotes, quoted line breaks), one scalar
/// per selected column, typed by `record_defaults`.
///
/// Mirrors `tf.data.experimental.CsvDataset(filenames, record_defaults, compression_type, header,
/// field_delim, use_quote_delim=True, na_value, select_cols)`. A default is a scalar (used for an
/// empty field) or an empty vector (the field is required). Dtypes: `f32`, `f64`, `i32`, `i64`,
/// `string`.
#[derive(Debug, Clone)]
pub struct CsvDataset {
    files: Vec<PathBuf>,
    defaults: Arc<Vec<Tensor>>,
    compression: Compression,
    header: bool,
    delim: u8,
    na_value: Vec<u8>,
    select_cols: Option<Arc<Vec<usize>>>,
    spec: ElementSpec,
}

impl CsvDataset {
    /// The records of `files` with these column defaults; no header, `,` separated.
    ///
    /// # Errors
    /// `InvalidArgument` for no files, no defaults, an unsupported dtype, or a default that is
    /// neither a scalar nor an empty vector.
    pub fn new(files: Vec<PathBuf>, record_defaults: Vec<Tensor>) -> Result<CsvDataset> {
        if files.is_empty() {
            return Err(Error::invalid_argument("CsvDataset needs at least one file"));
        }
        for (i, d) in record_defaults.iter().enumerate() {
            if !matches!(d.dtype(), DType::F32 | DType::F64 | DType::I32 | DType::I64 | DType::String) {
                return Err(Error::invalid_argument(format!(
                    "CsvDataset: record_defaults[{i}] has unsupported dtype {}",
                    d.dtype()
                )));
            }
            if !(d.shape().is_empty() || d.shape() == [0]) {
                return Err(Error::invalid_argument(format!(
                    "CsvDataset: record_defaults[{i}] must be a scalar or an empty vector"
                )));
            }
        }
        let spec = ElementSpec::new(
            record_defaults.iter().map(Tensor::dtype).collect(),
            vec![PartialShape::scalar(); record_defaults.len()],
        )?;
        Ok(CsvDataset {
            files,
            defaults: Arc::new(record_defaults),
            compression: Compression::None,
            header: false,
            delim: b',',
            na_value: Vec::new(),
            select_cols: None,
            spec,
        })
    }

    /// Skips the first line of each file. By default, there is no header.
    pub fn header(mut self, header: bool) -> CsvDataset {
        self.header = header;
        self
    }

    /// The field separator. By default, `,`.
    pub fn field_delim(mut self, delim: u8) -> CsvDataset {
        self.delim = delim;
        self
    }

    /// A field value that counts as missing. By default, only the empty field.
    pub fn na_value(mut self, na: &str) -> CsvDataset {
        self.na_value = na.as_bytes().to_vec();
        self
    }

    /// The compression of the files. By default, none.
    pub fn compression(mut self, compression: Compression) -> CsvDataset {
        self.compression = compression;
        self
    }

    /// Reads only these columns (sorted, one default each). By default, all columns.
    ///
    /// # Errors
    /// `InvalidArgument` when the columns are not strictly increasing or their count differs from
    /// the number of defaults.
    pub fn select_cols(mut self, cols: Vec<usize>) -> Result<CsvDataset> {
        if cols.len() != self.defaults.len() || cols.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid_argument(
                "select_cols must be strictly increasing, with one record default per column",
            ));
        }
        self.select_cols = Some(Arc::new(cols));
        Ok(self)
    }

    /// As a shared dataset.
    pub fn into_ref(self) -> crate::DatasetRef {
        Arc::new(self)
    }
}

struct CsvIterator {
    ds: CsvDataset,
    file: usize,
    record: u64,
    current: Option<InputBuffer>,
    line: Vec<u8>,
}

impl Dataset for CsvDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(CsvIterator { ds: self.clone(), file: 0, record: 0, current: None, line: Vec::new() }))
    }
}

/// Splits one record into fields, unquoting.
fn split_fields(record: &[u8], delim: u8) -> Result<Vec<Vec<u8>>> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    let mut was_quoted = false;
    while i < record.len() {
        let c = record[i];
        if quoted {
            if c == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' && field.is_empty() && !was_quoted {
            quoted = true;
            was_quoted = true;
        } else if c == delim {
            fields.push(std::mem::take(&mut field));
            was_quoted = false;
        } else if was_quoted {
            return Err(Error::invalid_argument("Quote inside a string has to be escaped by another quote"));
        } else {
            field.push(c);
        }
        i += 1;
    }
    if quoted {
        return Err(Error::invalid_argument("Reached end of record with an unmatched quote"));
    }
    fields.push(field);
    Ok(fields)
}

fn parse_field(text: &[u8], default: &Tensor, col: usize, record: u64, na: &[u8]) -> Result<Tensor> {
    if text.is_empty() || (!na.is_empty() && text == na) {
        if default.num_elements() == 0 {
            return Err(Error::invalid_argument(format!(
                "Field {col} is required but missing in record {record}!"
            )));
        }
        return Ok(default.clone());
    }
    let s = std::str::from_utf8(text).map_err(|_| Error::invalid_argument("non-UTF-8 numeric field"));
    let bad = |what: &str| {
        Error::invalid_argument(format!(
            "Field {col} in record {record} is not a valid {what}: {}",
            String::from_utf8_lossy(text)
        ))
    };
    Ok(match default.dtype() {
        DType::String => Tensor::string(text.to_vec()),
        DType::F32 => Tensor::scalar(s?.trim().parse::<f32>().map_err(|_| bad("float"))?),
        DType::F64 => Tensor::scalar(s?.trim().parse::<f64>().map_err(|_| bad("double"))?),
        DType::I32 => Tensor::scalar(s?.trim().parse::<i32>().map_err(|_| bad("int32"))?),
        DType::I64 => Tensor::scalar(s?.trim().parse::<i64>().map_err(|_| bad("int64"))?),
        other => return Err(Error::invalid_argument(format!("unsupported CSV dtype {other}"))),
    })
}

impl CsvIterator {
    /// The next raw record of the current file (lines joined while a quote is open), or `None`.
    fn read_record(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(buf) = self.current.as_mut() else { return Ok(None) };
        let mut record = Vec::new();
        loop {
            if !buf.read_line(&mut self.line)? {
                return Ok((!record.is_empty()).then_some(record));
            }
            record.extend_from_slice(&self.line);
            // An odd number of quotes so far means a quoted field spans the line break.
            if record.iter().filter(|&&c| c == b'"').count() % 2 == 0 {
                while matches!(record.last(), Some(b'\n' | b'\r')) {
                    record.pop();
                }
                return Ok(Some(record));
            }
        }
    }

    fn parse(&self, record: &[u8]) -> Result<Element> {
        let fields = split_fields(record, self.ds.delim).map_err(|e| {
            let path = self.current.as_ref().map(|b| b.path().display().to_string()).unwrap_or_default();
            e.context(format_args!("{path}: record {}", self.record))
        })?;
        let cols: Vec<usize> = match &self.ds.select_cols {
            Some(c) => c.to_vec(),
            None => {
                if fields.len() != self.ds.defaults.len() {
                    return Err(Error::invalid_argument(format!(
                        "Expect {} fields but have {} in record {}",
                        self.ds.defaults.len(),
                        fields.len(),
                        self.record
                    )));
                }
                (0..fields.len()).collect()
            }
        };
        cols.iter()
            .zip(self.ds.defaults.iter())
            .map(|(&c, d)| {
                let text = fields.get(c).ok_or_else(|| {
                    Error::invalid_argument(format!("record {} has no column {c}", self.record))
                })?;
                parse_field(text, d, c, self.record, &self.ds.na_value)
            })
            .collect()
    }
}

impl DatasetIterator for CsvIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.ds.files.get(self.file) else { return Ok(None) };
                let opened = InputBuffer::open_at(path, self.ds.compression, 0);
                let mut buf = opened.inspect_err(|_| self.file += 1)?;
                if self.ds.header {
                    buf.read_line(&mut self.line)?;
                }
                self.current = Some(buf);
                self.record = 0;
            }
            match self.read_record() {
                Ok(Some(record)) if record.is_empty() => continue,
                Ok(Some(record)) => {
                    let out = self.parse(&record);
                    self.record += 1;
                    return out.map(Some);
                }
                Ok(None) => {
                    self.current = None;
                    self.file += 1;
                }
                Err(e) => {
                    self.current = None;
                    self.file += 1;
                    return Err(e);
                }
            }
        }
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("csv");
        w.u64(self.file as u64);
        w.u64(self.current.as_ref().map_or(0, InputBuffer::offset));
        w.u64(self.record);
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("csv")?;
        self.file = r.usize()?;
        let offset = r.u64()?;
        self.record = r.u64()?;
        self.current = match self.ds.files.get(self.file) {
            Some(path) if offset > 0 => Some(InputBuffer::open_at(path, self.ds.compression, offset)?),
            _ => None,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unquoted() -> Result<()> {
        let cases: &[(&str, &[&str], &str)] = &[
            ("a,b,c", &["a", "b", "c"], "plain"),
            ("\"a,b\",c", &["a,b", "c"], "delimiter inside quotes"),
            ("\"say \"\"hi\"\"\",", &["say \"hi\"", ""], "doubled quote and empty last field"),
            ("\"x\ny\"", &["x\ny"], "line break inside quotes"),
        ];
        for (input, want, why) in cases {
            let got = split_fields(input.as_bytes(), b',')?;
            let want: Vec<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
            assert_eq!(got, want, "{why}");
        }
        assert!(split_fields(b"\"open", b',').is_err(), "unmatched quote");
        Ok(())
    }
}
