//! Where the repository is: the `-r` / `CAIRN_REPOSITORY` string turned into
//! a backend.
//!
//! restic users write repository URLs (`sftp:host:/srv/repo`,
//! `rest:http://…`, `s3://bucket/prefix`). A string that starts with a
//! scheme (`scheme:` or `scheme://`) is therefore never taken as a local
//! path: a scheme Cairn has no backend for is refused with the forms it
//! supports, instead of creating `./sftp:host:/srv/repo`. A local path that
//! really contains a colon is written `./odd:name` or `local:odd:name`.

use cairn_engine::backend::LocalBackend;
use cairn_engine::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A parsed repository location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A directory on a local (or mounted) filesystem.
    Local(PathBuf),
}

impl Location {
    /// Parse a repository string.
    pub fn parse(raw: &OsStr) -> Result<Location> {
        let b = raw.as_bytes();
        if b.is_empty() {
            return Err(Error::invalid("the repository location is empty"));
        }
        if let Some(rest) = b.strip_prefix(b"local:") {
            if rest.is_empty() {
                return Err(Error::invalid("local: needs a path, e.g. local:/srv/repo"));
            }
            return Ok(Location::Local(PathBuf::from(OsStr::from_bytes(rest))));
        }
        if let Some(scheme) = scheme_of(b) {
            return Err(Error::invalid(format!(
                "repository location '{shown}': Cairn has no backend for '{scheme}:' yet. \
                 Supported: a local directory, given as a path or as local:PATH \
                 (for a local path that contains a colon write ./{shown} or local:{shown})",
                shown = crate::output::esc_bytes(b),
                scheme = crate::output::esc(&scheme),
            )));
        }
        Ok(Location::Local(PathBuf::from(raw)))
    }

    /// The backend for this location.
    pub fn backend(&self) -> LocalBackend {
        match self {
            Location::Local(p) => LocalBackend::new(p),
        }
    }

    /// How to show the location to the user.
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => crate::output::esc_path(p),
        }
    }
}

/// The URL scheme at the start of `b`, if any: RFC 3986 `scheme ":"`
/// (a letter, then letters, digits, `+`, `-`, `.`). A path starting with
/// `/` or `.` never has one.
fn scheme_of(b: &[u8]) -> Option<String> {
    let colon = b.iter().position(|&c| c == b':')?;
    let s = b.get(..colon)?;
    let first = *s.first()?;
    if !first.is_ascii_alphabetic()
        || !s
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        return None;
    }
    Some(String::from_utf8_lossy(s).into_owned())
}

/// `-r` if given, else `CAIRN_REPOSITORY` (an empty variable is unset).
pub fn from_flag_or_env(flag: Option<&OsString>) -> Option<OsString> {
    flag.cloned()
        .or_else(|| std::env::var_os("CAIRN_REPOSITORY").filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Location> {
        Location::parse(OsStr::new(s))
    }

    #[test]
    fn schemes_are_refused_and_paths_kept() {
        for url in [
            "sftp:user@host:/srv/repo",
            "rest:http://host:8000/",
            "s3://bucket/prefix",
            "s3:s3.amazonaws.com/bucket",
            "b2:bucket:path",
            "rclone:remote:path",
            "swift:container:/path",
            "azure:container:/",
            "gs:bucket:/",
        ] {
            let e = parse(url).unwrap_err();
            assert_eq!(e.kind(), cairn_engine::ErrorKind::InvalidInput, "{url}");
            assert!(e.to_string().contains("local:PATH"), "{e}");
        }
        for (raw, path) in [
            ("/srv/repo", "/srv/repo"),
            ("repo", "repo"),
            ("./sftp:odd", "./sftp:odd"),
            ("local:sftp:odd", "sftp:odd"),
            ("local:/srv/repo", "/srv/repo"),
            ("/mnt/a:b", "/mnt/a:b"),
            ("1abc:def", "1abc:def"),
        ] {
            assert_eq!(parse(raw).unwrap(), Location::Local(path.into()), "{raw}");
        }
        assert!(parse("").is_err());
        assert!(parse("local:").is_err());
    }
}
