//! File names of a checkpoint prefix (`tensor_bundle/naming.cc`).

use std::path::{Path, PathBuf};

/// `<prefix>.index`, the table of entries.
pub fn index_filename(prefix: impl AsRef<Path>) -> PathBuf {
    with_suffix(prefix.as_ref(), ".index")
}

/// `<prefix>.data-<shard>-of-<num_shards>`, both numbers zero-padded to five digits.
pub fn data_filename(prefix: impl AsRef<Path>, shard: usize, num_shards: usize) -> PathBuf {
    with_suffix(prefix.as_ref(), &format!(".data-{shard:05}-of-{num_shards:05}"))
}

/// `<prefix>.meta`, the meta graph a TF1 `Saver` writes beside the bundle.
pub fn meta_filename(prefix: impl AsRef<Path>) -> PathBuf {
    with_suffix(prefix.as_ref(), ".meta")
}

/// The path with `suffix` appended to its last component (not `Path::with_extension`: prefixes such as
/// `model.ckpt-10` already contain dots).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_tensorflow() {
        assert_eq!(index_filename("d/model.ckpt-21"), PathBuf::from("d/model.ckpt-21.index"));
        assert_eq!(
            data_filename("d/model.ckpt-21", 0, 1),
            PathBuf::from("d/model.ckpt-21.data-00000-of-00001")
        );
        assert_eq!(data_filename("p", 3, 12), PathBuf::from("p.data-00003-of-00012"));
        assert_eq!(meta_filename("model.ckpt"), PathBuf::from("model.ckpt.meta"));
    }
}
