//! Whole-stream compression of TFRecord files (`TFRecordOptions.compression_type`).

/// How a TFRecord stream is compressed.
///
/// Mirrors `tf.io.TFRecordOptions(compression_type=...)`: TensorFlow compresses the whole stream, not
/// single records, so a GZIP file starts with `1f 8b` and a ZLIB file with `78 9c`, and the usual
/// framing follows after decompression. TF's rare `"SNAPPY"` option is not supported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain framing (`""`), what event files use.
    #[default]
    None,
    /// A gzip stream (`"GZIP"`).
    Gzip,
    /// A zlib stream (`"ZLIB"`).
    Zlib,
}

impl Compression {
    /// Parses TF's `compression_type` string: `""`, `"GZIP"` or `"ZLIB"`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the string for anything else (TF's `"SNAPPY"` included).
    pub fn from_tf_name(name: &str) -> ferroflow_core::Result<Compression> {
        match name {
            "" | "NONE" => Ok(Compression::None),
            "GZIP" => Ok(Compression::Gzip),
            "ZLIB" => Ok(Compression::Zlib),
            other => Err(ferroflow_core::Error::invalid_argument(format!(
                "unsupported TFRecord compression type {other:?} (expected \"\", \"GZIP\" or \"ZLIB\")"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_core::Code;

    #[test]
    fn tf_names() {
        assert_eq!(Compression::from_tf_name("").unwrap(), Compression::None);
        assert_eq!(Compression::from_tf_name("GZIP").unwrap(), Compression::Gzip);
        assert_eq!(Compression::from_tf_name("ZLIB").unwrap(), Compression::Zlib);
        assert_eq!(Compression::from_tf_name("SNAPPY").unwrap_err().code(), Code::InvalidArgument);
    }
}
