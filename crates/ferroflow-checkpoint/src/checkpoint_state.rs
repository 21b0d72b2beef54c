//! The `checkpoint` state file (`checkpoint_state.proto`, `checkpoint_management.py`): a text-format
//! `CheckpointState` naming the newest checkpoint and the ones still kept.

use crate::atomic_file::write_atomically;
use ferroflow_core::{Error, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The default name of the state file in a checkpoint directory (TF's `latest_filename`).
pub const CHECKPOINT_STATE_FILENAME: &str = "checkpoint";

/// The content of the `checkpoint` file.
///
/// Mirrors TF's `CheckpointState` message. Paths are kept as they are stored; [`CheckpointState::read`]
/// resolves relative ones against the directory, as `tf.train.get_checkpoint_state` does.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{CheckpointState, PathStyle};
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let state = CheckpointState {
///     model_checkpoint_path: "model.ckpt-20".into(),
///     all_model_checkpoint_paths: vec!["model.ckpt-10".into(), "model.ckpt-20".into()],
///     ..Default::default()
/// };
/// state.write(dir.path(), PathStyle::Relative)?;
/// let back = CheckpointState::read(dir.path())?.expect("written above");
/// assert_eq!(back.model_checkpoint_path, dir.path().join("model.ckpt-20").to_string_lossy());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckpointState {
    /// The newest checkpoint prefix.
    pub model_checkpoint_path: String,
    /// The prefixes still kept, oldest first; the newest is last.
    pub all_model_checkpoint_paths: Vec<String>,
    /// Unix seconds at which each of `all_model_checkpoint_paths` was saved (TF2's `CheckpointManager`
    /// writes them, TF1's `Saver` does not).
    pub all_model_checkpoint_timestamps: Vec<f64>,
    /// Unix seconds of the last checkpoint kept for good by `keep_checkpoint_every_n_hours`; 0 when unset.
    pub last_preserved_timestamp: f64,
}

/// How [`CheckpointState::write`] stores paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// Paths inside the directory are written relative to it (TF's `save_relative_paths=True`), so the
    /// directory can be moved.
    Relative,
    /// Paths are written as given (TF's default).
    AsGiven,
}

impl CheckpointState {
    /// Reads `<dir>/checkpoint`; `Ok(None)` when there is none. Relative paths are joined onto `dir`.
    ///
    /// # Errors
    /// `DataLoss` naming the file when it does not parse, or parses with an empty `model_checkpoint_path`
    /// (TF raises `ValueError("Invalid checkpoint state loaded from ...")` there); other I/O errors' codes.
    pub fn read(dir: impl AsRef<Path>) -> Result<Option<CheckpointState>> {
        Self::read_named(dir, CHECKPOINT_STATE_FILENAME)
    }

    /// As [`read`](Self::read), for a state file with another name (TF's `latest_filename`).
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_named(dir: impl AsRef<Path>, filename: &str) -> Result<Option<CheckpointState>> {
        let dir = dir.as_ref();
        let path = dir.join(filename);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::from(e).context(format_args!("reading {}", path.display()))),
        };
        let mut state =
            Self::parse(&text).map_err(|e| e.context(format_args!("parsing {}", path.display())))?;
        if state.model_checkpoint_path.is_empty() {
            return Err(Error::data_loss(format!("invalid checkpoint state loaded from {}", path.display())));
        }
        let resolve = |p: &mut String| {
            if !Path::new(p.as_str()).is_absolute() {
                *p = dir.join(p.as_str()).to_string_lossy().into_owned();
            }
        };
        resolve(&mut state.model_checkpoint_path);
        state.all_model_checkpoint_paths.iter_mut().for_each(resolve);
        Ok(Some(state))
    }

    /// Writes `<dir>/checkpoint` atomically: temporary file, fsync, rename, fsync of the directory.
    ///
    /// As TF's `update_checkpoint_state`, the newest path is appended to `all_model_checkpoint_paths` if it
    /// is not already last.
    ///
    /// # Errors
    /// `InvalidArgument` when `model_checkpoint_path` is empty; the I/O error's code naming the file.
    pub fn write(&self, dir: impl AsRef<Path>, style: PathStyle) -> Result<()> {
        self.write_named(dir, CHECKPOINT_STATE_FILENAME, style)
    }

    /// As [`write`](Self::write), for a state file with another name.
    ///
    /// # Errors
    /// As [`write`](Self::write); `InvalidArgument` when `filename` has path components.
    pub fn write_named(&self, dir: impl AsRef<Path>, filename: &str, style: PathStyle) -> Result<()> {
        let dir = dir.as_ref();
        if filename.is_empty() || Path::new(filename).components().count() != 1 || filename.contains('/') {
            return Err(Error::invalid_argument(format!(
                "the checkpoint state file name {filename:?} must not contain path components"
            )));
        }
        if self.model_checkpoint_path.is_empty() {
            return Err(Error::invalid_argument(format!(
                "refusing to write a checkpoint state without model_checkpoint_path in {}",
                dir.display()
            )));
        }
        let mut state = self.clone();
        if state.all_model_checkpoint_paths.last() != Some(&state.model_checkpoint_path) {
            state.all_model_checkpoint_paths.push(state.model_checkpoint_path.clone());
        }
        if style == PathStyle::Relative {
            let relative = |p: &mut String| {
                if let Ok(rest) = Path::new(p.as_str()).strip_prefix(dir) {
                    *p = rest.to_string_lossy().into_owned();
                }
            };
            relative(&mut state.model_checkpoint_path);
            state.all_model_checkpoint_paths.iter_mut().for_each(relative);
        }
        write_atomically(&dir.join(filename), state.to_text().as_bytes())
    }

    /// The text-format message, as Python's `text_format.MessageToString` prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "model_checkpoint_path: {}", quote(&self.model_checkpoint_path));
        for p in &self.all_model_checkpoint_paths {
            let _ = writeln!(out, "all_model_checkpoint_paths: {}", quote(p));
        }
        for t in &self.all_model_checkpoint_timestamps {
            let _ = writeln!(out, "all_model_checkpoint_timestamps: {}", python_float(*t));
        }
        if self.last_preserved_timestamp != 0.0 {
            let _ =
                writeln!(out, "last_preserved_timestamp: {}", python_float(self.last_preserved_timestamp));
        }
        out
    }

    /// Parses the text-format message. Unknown fields are skipped; strings may use C escapes.
    ///
    /// # Errors
    /// `DataLoss` with the line of the first syntax error.
    pub fn parse(text: &[u8]) -> Result<CheckpointState> {
        let mut p = TextParser { text, pos: 0 };
        let mut state = CheckpointState::default();
        loop {
            p.skip_space();
            if p.pos >= text.len() {
                return Ok(state);
            }
            let name = p.identifier()?;
            p.skip_space();
            if p.peek() == Some(b'{') {
                p.skip_message()?;
                continue;
            }
            p.expect(b':')?;
            p.skip_space();
            match name.as_str() {
                "model_checkpoint_path" => state.model_checkpoint_path = p.string()?,
                "all_model_checkpoint_paths" => state.all_model_checkpoint_paths.push(p.string()?),
                "all_model_checkpoint_timestamps" => state.all_model_checkpoint_timestamps.push(p.number()?),
                "last_preserved_timestamp" => state.last_preserved_timestamp = p.number()?,
                _ => p.skip_value()?,
            }
        }
    }

    /// The prefixes as paths (already resolved when read by [`read`](Self::read)).
    pub fn all_paths(&self) -> Vec<PathBuf> {
        self.all_model_checkpoint_paths.iter().map(PathBuf::from).collect()
    }
}

/// A double as Python's `repr` prints it, which is what `text_format` writes: shortest round-trip digits,
/// `.0` on integral values, exponent form below 1e-4 and from 1e16.
fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let a = v.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

/// A string literal as protobuf's `CEscape` writes it (non-ASCII bytes as octal, as Python's
/// `text_format` does by default).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

struct TextParser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl TextParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn error(&self, what: &str) -> Error {
        let line = self.text[..self.pos.min(self.text.len())].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::data_loss(format!("line {line}: {what}"))
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'#' {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.pos += 1;
                }
            } else if b.is_ascii_whitespace() || b == b',' || b == b';' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", char::from(c))))
        }
    }

    fn identifier(&mut self) -> Result<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'[' || b == b']')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a field name"));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.pos]).into_owned())
    }

    /// One or more adjacent string literals, concatenated as in C.
    fn string(&mut self) -> Result<String> {
        let mut bytes = Vec::new();
        let mut any = false;
        while let Some(q @ (b'"' | b'\'')) = self.peek() {
            any = true;
            self.pos += 1;
            loop {
                let b = self.peek().ok_or_else(|| self.error("unterminated string"))?;
                self.pos += 1;
                match b {
                    b'\n' => return Err(self.error("newline in string")),
                    b'\\' => bytes.push(self.escape()?),
                    _ if b == q => break,
                    _ => bytes.push(b),
                }
            }
            // Adjacent literals may be separated by whitespace only.
            while self.peek().is_some_and(|b| b == b' ' || b == b'\t') {
                self.pos += 1;
            }
        }
        if !any {
            return Err(self.error("expected a string"));
        }
        String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))
    }

    fn escape(&mut self) -> Result<u8> {
        let b = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
        self.pos += 1;
        Ok(match b {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            b'?' => b'?',
            b'"' | b'\'' | b'\\' => b,
            b'0'..=b'7' => {
                let mut v = u32::from(b - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                u8::try_from(v).map_err(|_| self.error("octal escape above \\377"))?
            }
            b'x' | b'X' => {
                let mut v = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match self.peek().and_then(|d| char::from(d).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            self.pos += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    return Err(self.error("\\x without hex digits"));
                }
                v as u8
            }
            _ => return Err(self.error(&format!("unknown escape \\{}", char::from(b)))),
        })
    }

    fn token(&mut self) -> &[u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| !b.is_ascii_whitespace() && b != b',' && b != b';' && b != b'}') {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn number(&mut self) -> Result<f64> {
        let token = String::from_utf8_lossy(self.token()).into_owned();
        let parsed = match token.to_ascii_lowercase().as_str() {
            "inf" | "infinity" | "inff" | "infinityf" => Some(f64::INFINITY),
            "-inf" | "-infinity" | "-inff" | "-infinityf" => Some(f64::NEG_INFINITY),
            "nan" | "nanf" => Some(f64::NAN),
            // A C-style float suffix (`1.5f`) is allowed after a number.
            other => other.strip_suffix('f').unwrap_or(other).parse::<f64>().ok(),
        };
        parsed.ok_or_else(|| self.error(&format!("expected a number, got {token:?}")))
    }

    fn skip_value(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"' | b'\'') => self.string().map(|_| ()),
            Some(b'{') => self.skip_message(),
            _ => {
                if self.token().is_empty() {
                    Err(self.error("expected a value"))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn skip_message(&mut self) -> Result<()> {
        self.expect(b'{')?;
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(self.error("unterminated message")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => {
                    self.identifier()?;
                    self.skip_space();
                    if self.peek() == Some(b':') {
                        self.pos += 1;
                        self.skip_space();
                    }
                    self.skip_value()?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_tensorflow_writes() -> Result<()> {
        // From spec/formats.md 4.2 (TF2 CheckpointManager).
        let text = b"model_checkpoint_path: \"ckpt-2\"\nall_model_checkpoint_paths: \"ckpt-1\"\n\
all_model_checkpoint_paths: \"ckpt-2\"\nall_model_checkpoint_timestamps: 1795659974.2872853\n\
all_model_checkpoint_timestamps: 1795659974.2964778\nlast_preserved_timestamp: 1795659973.239326\n";
        let s = CheckpointState::parse(text)?;
        assert_eq!(s.model_checkpoint_path, "ckpt-2");
        assert_eq!(s.all_model_checkpoint_paths, ["ckpt-1", "ckpt-2"]);
        assert_eq!(s.all_model_checkpoint_timestamps, [1795659974.2872853, 1795659974.2964778]);
        assert_eq!(s.last_preserved_timestamp, 1795659973.239326);
        assert_eq!(s.to_text().as_bytes(), text, "written back byte for byte");
        Ok(())
    }

    #[test]
    fn escapes_round_trip_as_python_writes_them() -> Result<()> {
        let s = CheckpointState {
            model_checkpoint_path: "d\u{e9}j\u{e0}/\"q\"\\'\n\t".into(),
            ..Default::default()
        };
        let text = s.to_text();
        assert_eq!(text, "model_checkpoint_path: \"d\\303\\251j\\303\\240/\\\"q\\\"\\\\\\'\\n\\t\"\n");
        assert_eq!(CheckpointState::parse(text.as_bytes())?, s);
        let raw_utf8 = CheckpointState::parse("model_checkpoint_path: 'd\u{e9}' 'x'".as_bytes())?;
        assert_eq!(raw_utf8.model_checkpoint_path, "d\u{e9}x", "raw UTF-8, single quotes, concatenation");
        Ok(())
    }

    #[test]
    fn skips_unknown_fields_and_rejects_garbage() {
        let ok = CheckpointState::parse(
            b"# comment\nfuture_field: 3\nnested { a: \"}\" }\nmodel_checkpoint_path: \"m\"",
        );
        assert_eq!(ok.ok().map(|s| s.model_checkpoint_path), Some("m".to_string()));
        for (bad, why) in [
            (&b"model_checkpoint_path \"m\""[..], "missing colon"),
            (b"model_checkpoint_path: \"m", "unterminated string"),
            (b"last_preserved_timestamp: abc", "not a number"),
            (b"model_checkpoint_path: \"\\q\"", "unknown escape"),
            (b": \"m\"", "missing field name"),
        ] {
            assert!(CheckpointState::parse(bad).is_err(), "{why}");
        }
    }

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (1795659974.2872853, "1795659974.2872853"),
            (5.0, "5.0"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (-2.0, "-2.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(python_float(v), want, "{v}");
            let text = format!("model_checkpoint_path: \"m\"\nlast_preserved_timestamp: {want}\n");
            let parsed = CheckpointState::parse(text.as_bytes()).map(|s| s.last_preserved_timestamp).ok();
            assert_eq!(parsed, Some(v), "found by fuzzing: 'inf' lost its 'f' as a float suffix");
        }
    }

    #[test]
    fn relative_paths_are_resolved_and_written_relative() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let abs = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        let s = CheckpointState {
            model_checkpoint_path: abs("model.ckpt-2"),
            all_model_checkpoint_paths: vec![abs("model.ckpt-1")],
            ..Default::default()
        };
        s.write(dir.path(), PathStyle::Relative)?;
        let text = std::fs::read_to_string(dir.path().join("checkpoint"))?;
        assert_eq!(
            text,
            "model_checkpoint_path: \"model.ckpt-2\"\nall_model_checkpoint_paths: \"model.ckpt-1\"\n\
all_model_checkpoint_paths: \"model.ckpt-2\"\n"
        );
        let back = CheckpointState::read(dir.path())?;
        assert_eq!(
            back.map(|b| b.all_model_checkpoint_paths),
            Some(vec![abs("model.ckpt-1"), abs("model.ckpt-2")])
        );
        s.write(dir.path(), PathStyle::AsGiven)?;
        let text = std::fs::read_to_string(dir.path().join("checkpoint"))?;
        assert!(text.contains(&abs("model.ckpt-2")), "{text}");
        assert!(CheckpointState::default().write(dir.path(), PathStyle::AsGiven).is_err());
        assert!(s.write_named(dir.path(), "a/b", PathStyle::AsGiven).is_err());
        Ok(())
    }

    #[test]
    fn missing_is_none_and_empty_path_is_data_loss() -> Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(CheckpointState::read(dir.path())?, None);
        std::fs::write(dir.path().join("checkpoint"), "all_model_checkpoint_paths: \"x\"\n")?;
        let err = CheckpointState::read(dir.path()).err().map(|e| e.code());
        assert_eq!(err, Some(ferroflow_core::Code::DataLoss));
        Ok(())
    }
}
