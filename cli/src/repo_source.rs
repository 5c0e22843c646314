//! Where the repository location string comes from, in restic's terms:
//!
//! 1. `-r REPO` or `--repository-file FILE` (both at once is a usage
//!    error, refused by clap, as restic refuses it);
//! 2. the environment: `CAIRN_REPOSITORY` or `CAIRN_REPOSITORY_FILE`
//!    (both set, and no flag, is a usage error: restic refuses it too, and
//!    guessing could back up into the wrong repository);
//! 3. the `--profile`'s `repository`.
//!
//! A flag beats both variables, as for the password sources; restic
//! would refuse `--repository-file` beside `RESTIC_REPOSITORY`, which
//! makes a flag unable to override the environment.
//!
//! The file is read only when a command needs the repository
//! ([`RepoSource::resolve`]), so `cairn version` or `cairn completions`
//! never fail on it. As restic does, white space around the location is
//! removed (a trailing newline above all); an empty file is a usage error.
//! At most [`MAX_LOCATION`] bytes are read.

use cairn_engine::{Error, Result};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The longest repository file accepted, in bytes.
pub const MAX_LOCATION: u64 = 64 << 10;

/// Where the repository location comes from, not yet read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RepoSource {
    /// None was given.
    #[default]
    None,
    /// The location itself: `-r`, `CAIRN_REPOSITORY` or a profile's.
    Given(OsString),
    /// A file holding it: `--repository-file` or `CAIRN_REPOSITORY_FILE`.
    File(PathBuf),
    /// `CAIRN_REPOSITORY` and `CAIRN_REPOSITORY_FILE` both set, no flag.
    Ambiguous,
}

impl RepoSource {
    /// From the flags, else the environment (empty variables are unset).
    pub fn from_flags_or_env(repo: Option<&OsString>, file: Option<&Path>) -> RepoSource {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        match (repo, file) {
            (Some(r), _) => RepoSource::Given(r.clone()),
            (None, Some(f)) => RepoSource::File(f.to_owned()),
            (None, None) => match (var("CAIRN_REPOSITORY"), var("CAIRN_REPOSITORY_FILE")) {
                (Some(_), Some(_)) => RepoSource::Ambiguous,
                (Some(r), None) => RepoSource::Given(r),
                (None, Some(f)) => RepoSource::File(f.into()),
                (None, None) => RepoSource::None,
            },
        }
    }

    /// This source, or `fallback` (a profile's repository) if none.
    pub fn or(self, fallback: Option<OsString>) -> RepoSource {
        match (self, fallback) {
            (RepoSource::None, Some(r)) => RepoSource::Given(r),
            (s, _) => s,
        }
    }

    /// The location string (reading the file if it is one); `None` when
    /// none was given.
    pub fn resolve(&self) -> Result<Option<OsString>> {
        match self {
            RepoSource::None => Ok(None),
            RepoSource::Given(r) => Ok(Some(r.clone())),
            RepoSource::File(p) => read(p).map(Some),
            RepoSource::Ambiguous => Err(Error::invalid(
                "CAIRN_REPOSITORY and CAIRN_REPOSITORY_FILE are both set: unset one, or give -r or --repository-file",
            )),
        }
    }
}

/// The location in repository file `p`, white space around it removed.
fn read(p: &Path) -> Result<OsString> {
    let what = || format!("the repository file {}", crate::output::esc_path(p));
    let f = std::fs::File::open(p).map_err(|e| Error::io(format!("opening {}", what()), e))?;
    let mut v = Vec::new();
    f.take(MAX_LOCATION + 1)
        .read_to_end(&mut v)
        .map_err(|e| Error::io(format!("reading {}", what()), e))?;
    if v.len() as u64 > MAX_LOCATION {
        return Err(Error::invalid(format!(
            "{} holds more than {MAX_LOCATION} bytes; it must hold the repository location and nothing else",
            what()
        )));
    }
    let start = v.iter().position(|b| !b.is_ascii_whitespace());
    let end = v.iter().rposition(|b| !b.is_ascii_whitespace());
    match (start, end) {
        (Some(s), Some(e)) => Ok(OsString::from_vec(
            v.get(s..=e).unwrap_or_default().to_vec(),
        )),
        _ => Err(Error::invalid(format!("{} is empty", what()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_trimmed_content() {
        let dir = tempfile_dir();
        let p = dir.join("repo");
        std::fs::write(&p, b"  /srv/backup repo\r\n\n").unwrap();
        let s = RepoSource::File(p.clone());
        assert_eq!(s.resolve().unwrap(), Some("/srv/backup repo".into()));
        std::fs::write(&p, b" \n").unwrap();
        let e = s.resolve().unwrap_err();
        assert_eq!(e.kind(), cairn_engine::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("is empty"), "{e}");
        std::fs::write(&p, vec![b'a'; MAX_LOCATION as usize + 1]).unwrap();
        assert!(s.resolve().unwrap_err().to_string().contains("more than"));
        let e = RepoSource::File(dir.join("missing")).resolve().unwrap_err();
        assert_eq!(e.kind(), cairn_engine::ErrorKind::Io);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_profile_fills_in_only_when_nothing_is_given() {
        let prof = Some(OsString::from("/profile"));
        assert_eq!(
            RepoSource::None.or(prof.clone()),
            RepoSource::Given("/profile".into())
        );
        let f = RepoSource::File("/f".into());
        assert_eq!(f.clone().or(prof.clone()), f);
        assert_eq!(RepoSource::Ambiguous.or(prof), RepoSource::Ambiguous);
        assert!(RepoSource::Ambiguous.resolve().is_err());
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("cairn-repo-source-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
