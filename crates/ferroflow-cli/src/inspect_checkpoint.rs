//! `ferroflow inspect-checkpoint`: what TensorFlow's `inspect_checkpoint` tool prints, for V2 checkpoints
//! written by ferroflow or by TensorFlow.

use crate::cli::InspectCheckpointArgs;
use crate::tensor_json::tensor_json;
use crate::CliError;
use ferroflow_checkpoint::{index_filename, latest_checkpoint, BundleReader};
use ferroflow_core::DType;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One tensor of a checkpoint as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorListing {
    /// The checkpoint key (the variable's name).
    pub name: String,
    /// TensorFlow's Python dtype name (`float32`, `int64`, ...).
    pub dtype: String,
    /// The shape; `null` when the checkpoint records an unknown rank.
    pub shape: Option<Vec<i64>>,
    /// The value nested as its shape, with `--values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
}

/// The `--json` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointListing {
    /// The checkpoint prefix that was read (the directory resolved through its `checkpoint` file).
    pub prefix: String,
    /// The tensors, sorted by name.
    pub tensors: Vec<TensorListing>,
}

/// Runs the command, writing to `out`.
///
/// # Errors
/// A usage error (exit 2) for a path that holds no checkpoint or a checkpoint that does not read.
pub fn run(args: &InspectCheckpointArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let prefix = resolve_prefix(&args.path)?;
    let listing = list(&prefix, args.values)?;
    let written = if args.json {
        serde_json::to_writer(&mut *out, &listing).map_err(std::io::Error::from).and_then(|()| writeln!(out))
    } else {
        write_text(&listing, out)
    };
    written.map_err(|e| CliError::failure(format!("writing the listing: {e}")))
}

/// The checkpoint prefix a user's path means: a directory resolves through its `checkpoint` state file
/// (as `tf.train.latest_checkpoint`), a path ending in `.index` is the prefix before it, anything else
/// is taken as a prefix.
///
/// # Errors
/// A usage error when the path names no checkpoint.
pub fn resolve_prefix(path: &Path) -> Result<PathBuf, CliError> {
    if path.is_dir() {
        let latest = latest_checkpoint(path).map_err(|e| CliError::from_input(&e))?;
        return latest.ok_or_else(|| {
            CliError::usage(format!(
                "{}: no checkpoint here (no 'checkpoint' state file naming an existing checkpoint)",
                path.display()
            ))
        });
    }
    let text = path.to_string_lossy();
    let prefix = match text.strip_suffix(".index") {
        Some(stripped) => PathBuf::from(stripped),
        None => path.to_path_buf(),
    };
    if !index_filename(&prefix).is_file() {
        return Err(CliError::usage(format!(
            "{}: not a checkpoint prefix or directory ({} does not exist)",
            path.display(),
            index_filename(&prefix).display()
        )));
    }
    Ok(prefix)
}

/// Lists the checkpoint at `prefix`, reading values when asked.
///
/// # Errors
/// A usage error naming the checkpoint when it does not open or a tensor does not read.
pub fn list(prefix: &Path, with_values: bool) -> Result<CheckpointListing, CliError> {
    let input = |e: ferroflow_core::Error| CliError::from_input(&e);
    let reader = BundleReader::open(prefix).map_err(input)?;
    let mut tensors = Vec::new();
    for key in reader.keys() {
        let Some(entry) = reader.entry(key) else { continue };
        // A scalar's shape proto may be absent altogether (proto3 drops an empty message).
        let shape = match &entry.shape {
            Some(s) if s.unknown_rank => None,
            Some(s) => Some(s.dim.iter().map(|d| d.size).collect()),
            None => Some(Vec::new()),
        };
        let values = if with_values { Some(tensor_json(&reader.read(key).map_err(input)?)) } else { None };
        tensors.push(TensorListing {
            name: key.to_string(),
            dtype: python_dtype_name(entry.dtype),
            shape,
            values,
        });
    }
    Ok(CheckpointListing { prefix: prefix.display().to_string(), tensors })
}

/// TF's listing: `name (DT_FLOAT) [784,256]` per tensor (`CheckpointReader::DebugString`), each followed
/// by its value with `--values`.
fn write_text(listing: &CheckpointListing, out: &mut dyn Write) -> std::io::Result<()> {
    for t in &listing.tensors {
        let shape = match &t.shape {
            Some(dims) => format!("[{}]", dims.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
            None => "<unknown>".to_string(),
        };
        writeln!(out, "{} ({}) {shape}", t.name, enum_dtype_name(&t.dtype))?;
        if let Some(values) = &t.values {
            writeln!(out, "{values}")?;
        }
    }
    Ok(())
}

/// `(number, Python name, enum name)` of TensorFlow's `DataType`s, the supported ones and the others a
/// TF checkpoint may hold, so a listing never fails on a dtype ferroflow does not compute with.
const DTYPES: [(i32, &str, &str); 23] = [
    (1, "float32", "DT_FLOAT"),
    (2, "float64", "DT_DOUBLE"),
    (3, "int32", "DT_INT32"),
    (4, "uint8", "DT_UINT8"),
    (5, "int16", "DT_INT16"),
    (6, "int8", "DT_INT8"),
    (7, "string", "DT_STRING"),
    (8, "complex64", "DT_COMPLEX64"),
    (9, "int64", "DT_INT64"),
    (10, "bool", "DT_BOOL"),
    (11, "qint8", "DT_QINT8"),
    (12, "quint8", "DT_QUINT8"),
    (13, "qint32", "DT_QINT32"),
    (14, "bfloat16", "DT_BFLOAT16"),
    (15, "qint16", "DT_QINT16"),
    (16, "quint16", "DT_QUINT16"),
    (17, "uint16", "DT_UINT16"),
    (18, "complex128", "DT_COMPLEX128"),
    (19, "float16", "DT_HALF"),
    (20, "resource", "DT_RESOURCE"),
    (21, "variant", "DT_VARIANT"),
    (22, "uint32", "DT_UINT32"),
    (23, "uint64", "DT_UINT64"),
];

fn python_dtype_name(number: i32) -> String {
    let base = if number > 100 { number - 100 } else { number };
    match DTYPES.iter().find(|(n, _, _)| *n == base) {
        Some((_, name, _)) => (*name).to_string(),
        None => format!("dtype_{number}"),
    }
}

fn enum_dtype_name(python_name: &str) -> String {
    match DTYPES.iter().find(|(_, name, _)| *name == python_name) {
        Some((_, _, enum_name)) => (*enum_name).to_string(),
        None => python_name.to_uppercase(),
    }
}

/// The Python name of a ferroflow dtype, as listed (kept next to the table so the two never disagree).
pub fn dtype_name(dtype: DType) -> String {
    python_dtype_name(dtype.to_proto())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names_match_ferroflow() {
        for dt in DType::ALL {
            assert_eq!(dtype_name(dt), dt.name());
        }
        assert_eq!(enum_dtype_name("float32"), "DT_FLOAT");
        assert_eq!(python_dtype_name(101), "float32");
    }
}
