//! Where the repository is: the `-r` / `CAIRN_REPOSITORY` string turned into
//! a backend.
//!
//! restic users write repository URLs (`sftp:host:/srv/repo`,
//! `rest:http://…`, `s3://bucket/prefix`). A string that starts with a
//! scheme (`scheme:` or `scheme://`) is therefore never taken as a local
//! path: a scheme Cairn has no backend for is refused with the forms it
//! supports, instead of creating `./sftp:host:/srv/repo`. A local path that
//! really contains a colon is written `./odd:name` or `local:odd:name`.

use cairn_engine::backend::{Backend, ExportBackend, LocalBackend, S3Backend, S3Config};
use cairn_engine::{Error, Result};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// A parsed repository location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A directory on a local (or mounted) filesystem.
    Local(PathBuf),
    /// A prefix of a bucket in an S3-compatible store.
    S3(S3Config),
    /// An export volume set (read-only): the directories holding its
    /// volumes, and whether to ask on the terminal for missing ones.
    Export {
        /// `export:DIR`, then each `--volumes-at DIR`.
        dirs: Vec<PathBuf>,
        /// Ask for missing volumes (a terminal and no `--volumes-at`).
        ask: bool,
    },
}

/// Settings for S3 locations that come from outside the URL: the
/// environment, or a profile (which wins over the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// The region (`AWS_REGION`, then `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// `path` or `virtual` (`CAIRN_S3_ADDRESSING`; default path).
    pub addressing: Option<String>,
    /// Retries of a transient failure (`CAIRN_S3_RETRIES`).
    pub retries: Option<usize>,
    /// Requests in flight (`CAIRN_S3_CONNECTIONS`).
    pub connections: Option<usize>,
}

impl S3Settings {
    /// The settings in the environment (empty variables are unset).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let num = |k: &str| -> Result<Option<usize>> {
            var(k)
                .map(|v| {
                    v.parse::<usize>()
                        .map_err(|_| Error::invalid(format!("{k}={v}: expected a whole number")))
                })
                .transpose()
        };
        Ok(S3Settings {
            endpoint: var("AWS_ENDPOINT_URL"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            addressing: var("CAIRN_S3_ADDRESSING"),
            retries: num("CAIRN_S3_RETRIES")?,
            connections: num("CAIRN_S3_CONNECTIONS")?,
        })
    }

    /// These settings with every field that `over` sets taken from it (a
    /// profile's `[s3]` table over the environment).
    pub fn overlaid(&self, over: &S3Settings) -> S3Settings {
        S3Settings {
            endpoint: over.endpoint.clone().or_else(|| self.endpoint.clone()),
            region: over.region.clone().or_else(|| self.region.clone()),
            addressing: over.addressing.clone().or_else(|| self.addressing.clone()),
            retries: over.retries.or(self.retries),
            connections: over.connections.or(self.connections),
        }
    }
}

impl Location {
    /// Parse a repository string, with S3 settings from the environment.
    pub fn parse(raw: &OsStr) -> Result<Location> {
        Self::parse_with(raw, &S3Settings::from_env()?)
    }

    /// Parse a repository string; S3 locations take `s3` for what the
    /// URL does not say.
    pub fn parse_with(raw: &OsStr, s3: &S3Settings) -> Result<Location> {
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
        if let Some(rest) = b.strip_prefix(b"export:") {
            if rest.is_empty() {
                return Err(Error::invalid(
                    "export: needs a directory, e.g. export:/mnt/bd",
                ));
            }
            return Ok(Location::Export {
                dirs: vec![PathBuf::from(OsStr::from_bytes(rest))],
                ask: false,
            });
        }
        if let Some(rest) = b.strip_prefix(b"s3:") {
            let rest = std::str::from_utf8(rest)
                .map_err(|_| Error::invalid("an s3: repository location must be valid UTF-8"))?;
            return parse_s3(rest, s3).map(Location::S3);
        }
        if let Some(scheme) = scheme_of(b) {
            return Err(Error::invalid(format!(
                "repository location '{shown}': Cairn has no backend for '{scheme}:'. \
                 Supported: a local directory, given as a path or as local:PATH \
                 (for a local path that contains a colon write ./{shown} or local:{shown}), \
                 an export volume set as export:DIR, \
                 and S3-compatible storage as s3://BUCKET/PREFIX or s3:https://HOST/BUCKET/PREFIX",
                shown = crate::output::esc_bytes(b),
                scheme = crate::output::esc(&scheme),
            )));
        }
        Ok(Location::Local(PathBuf::from(raw)))
    }

    /// The backend for this location.
    pub fn backend(&self) -> Result<Arc<dyn Backend>> {
        Ok(match self {
            Location::Local(p) => Arc::new(LocalBackend::new(p)),
            Location::S3(c) => Arc::new(S3Backend::new(c.clone())?),
            Location::Export { dirs, ask } => {
                let asker: Option<Box<cairn_engine::backend::VolumeAsker>> =
                    ask.then(|| Box::new(crate::volume_prompt::ask) as Box<_>);
                Arc::new(ExportBackend::open(dirs.clone(), asker)?)
            }
        })
    }

    /// How to show the location to the user (never with credentials:
    /// there are none in a location).
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => crate::output::esc_path(p),
            Location::S3(c) => c.url(),
            Location::Export { dirs, .. } => format!(
                "export:{}",
                dirs.iter()
                    .map(|d| crate::output::esc_path(d))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The part after `s3:`. Two forms:
///
/// * `//BUCKET[/PREFIX]`: the endpoint comes from the settings
///   (`AWS_ENDPOINT_URL` or the profile), else AWS itself;
/// * restic's `http[s]://HOST[:PORT]/BUCKET[/PREFIX]` and
///   `HOST[:PORT]/BUCKET[/PREFIX]` (HTTPS), with the endpoint in the URL.
fn parse_s3(rest: &str, s3: &S3Settings) -> Result<S3Config> {
    let usage = "expected s3://BUCKET/PREFIX (endpoint from AWS_ENDPOINT_URL), \
                 s3:https://HOST/BUCKET/PREFIX or s3:HOST/BUCKET/PREFIX";
    let (endpoint, path) = if let Some(p) = rest.strip_prefix("//") {
        (s3.endpoint.clone(), p)
    } else {
        let (scheme, hostpath) = match rest.split_once("://") {
            Some((sch @ ("http" | "https"), hp)) => (sch, hp),
            Some((other, _)) => {
                return Err(Error::invalid(format!(
                    "s3:{rest}: unknown scheme '{}' ({usage})",
                    crate::output::esc(other)
                )))
            }
            None => ("https", rest),
        };
        let (host, path) = hostpath.split_once('/').unwrap_or((hostpath, ""));
        if host.is_empty() {
            return Err(Error::invalid(format!("s3:{rest}: no host ({usage})")));
        }
        (Some(format!("{scheme}://{host}")), path)
    };
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if !valid_bucket(bucket) {
        return Err(Error::invalid(format!(
            "s3:{rest}: '{}' is not a bucket name (3–63 lowercase letters, digits, '.' and '-'; {usage})",
            crate::output::esc(bucket)
        )));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|seg| seg == "." || seg == "..") || prefix.contains("//") {
        return Err(Error::invalid(format!(
            "s3:{rest}: the prefix may not contain '.', '..' or empty segments"
        )));
    }
    let mut c = S3Config::new(bucket, prefix);
    c.endpoint = endpoint.map(|e| e.trim_end_matches('/').to_owned());
    if let Some(r) = &s3.region {
        c.region = r.clone();
    }
    c.path_style = match s3.addressing.as_deref() {
        None | Some("path") => true,
        Some("virtual") => false,
        Some(other) => {
            return Err(Error::invalid(format!(
                "S3 addressing '{}': expected 'path' or 'virtual'",
                crate::output::esc(other)
            )))
        }
    };
    if let Some(n) = s3.retries {
        c.retries = n;
    }
    if let Some(n) = s3.connections {
        if n == 0 {
            return Err(Error::invalid("S3 connections must be at least 1"));
        }
        c.concurrency = n;
    }
    Ok(c)
}

/// An S3 bucket name: 3–63 of lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
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

    fn s3(raw: &str, settings: &S3Settings) -> Result<S3Config> {
        match Location::parse_with(OsStr::new(raw), settings)? {
            Location::S3(c) => Ok(c),
            other => panic!("{raw} parsed as {other:?}"),
        }
    }

    #[test]
    fn s3_locations() {
        let env = S3Settings {
            endpoint: Some("http://127.0.0.1:3900".into()),
            region: Some("garage".into()),
            ..Default::default()
        };
        let c = s3("s3://backups/hosts/db1/", &env).unwrap();
        assert_eq!(
            (c.bucket.as_str(), c.prefix.as_str()),
            ("backups", "hosts/db1")
        );
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(c.region, "garage");
        assert!(c.path_style);
        let c = s3("s3://backups", &S3Settings::default()).unwrap();
        assert_eq!((c.prefix.as_str(), c.endpoint), ("", None));
        // restic's forms carry the endpoint.
        let c = s3("s3:http://localhost:9000/restic/x", &env).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://localhost:9000"));
        assert_eq!((c.bucket.as_str(), c.prefix.as_str()), ("restic", "x"));
        let c = s3("s3:s3.amazonaws.com/bucket_ok", &env);
        assert!(c.is_err(), "underscores are not in bucket names");
        let c = s3("s3:s3.amazonaws.com/my-bucket", &env).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("https://s3.amazonaws.com"));
        for bad in [
            "s3://",
            "s3://B",
            "s3://ab",
            "s3:ftp://h/b",
            "s3://bkt/a/../b",
            "s3:/bucket",
        ] {
            let e = s3(bad, &env).unwrap_err();
            assert_eq!(e.kind(), cairn_engine::ErrorKind::InvalidInput, "{bad}");
        }
        let virt = S3Settings {
            addressing: Some("virtual".into()),
            ..Default::default()
        };
        assert!(!s3("s3://bkt", &virt).unwrap().path_style);
        let bad = S3Settings {
            addressing: Some("sideways".into()),
            ..Default::default()
        };
        assert!(s3("s3://bkt", &bad).is_err());
    }
}
