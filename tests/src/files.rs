//! Files for the end-to-end tests: deterministic data, trees copied,
//! fingerprinted and made read-only.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Deterministic pseudo-random bytes.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; n];
    blake3::Hasher::new_keyed(&[seed as u8; 32])
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Every file below `dir` with its BLAKE3, for "nothing changed" checks.
pub fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).expect("read");
            m.insert(
                e.path().to_path_buf(),
                blake3::hash(&bytes).to_hex().to_string(),
            );
        }
    }
    m
}

/// Add or remove write permission on everything below `dir` (directories
/// last when removing, first when adding, so the walk itself works).
pub fn set_writable(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let entries: Vec<_> = walkdir::WalkDir::new(dir)
        .contents_first(!writable)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.path_is_symlink())
        .collect();
    for e in entries {
        let mode = e.metadata().expect("stat").permissions().mode();
        let mode = if writable {
            mode | 0o200
        } else {
            mode & !0o222
        };
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// Copy a directory tree (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let dest = to.join(e.path().strip_prefix(from).expect("prefix"));
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// `OsStr` from raw bytes.
pub fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}
