//! One module per subcommand; each validates its raw arguments into engine
//! options, runs the engine, and renders the result (human or JSON).

pub mod backup;
pub mod cat;
pub mod check;
pub mod completions;
pub mod copy;
pub mod diff;
pub mod drill;
pub mod dump;
pub mod export;
pub mod find;
pub mod forget;
pub mod init;
pub mod key;
pub mod ls;
pub mod man;
pub mod mongo_args;
pub mod parity;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod scrub;
pub mod snapshots;
pub mod stats;
pub mod tag;
pub mod unlock;
pub mod verify;
pub mod version;

use crate::location::Location;
use crate::output::Output;
use cairn_engine::backend::Backend;
use cairn_engine::{Error, ErrorKind, Repository, Result, Snapshot, SnapshotId};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// What every command gets: where the repository is and how to talk.
pub struct Ctx {
    /// `-r` or `--repository-file`, else `CAIRN_REPOSITORY` or
    /// `CAIRN_REPOSITORY_FILE`, else the profile's (read when needed).
    pub repo: crate::repo_source::RepoSource,
    /// `--password-file` or `--password-command`, else the profile's
    /// (`None`: the environment, then the terminal; see `password`).
    pub password: Option<crate::password::Source>,
    /// `--cache-dir`, else `CAIRN_CACHE_DIR`, else the profile's.
    pub cache_dir: Option<PathBuf>,
    /// The profile's `[s3]` settings, which win over the environment.
    pub s3: crate::location::S3Settings,
    /// `--config` (commands that read profiles look there first).
    pub config: Option<PathBuf>,
    /// `--profile` (commands that use more of it than the repository:
    /// `copy` takes its copy targets).
    pub profile: Option<String>,
    /// `--volumes-at`: more directories holding volumes of an export.
    pub volumes_at: Vec<PathBuf>,
    /// Output mode.
    pub out: Output,
}

impl Ctx {
    /// Where the repository is (see `repo_source` for where it may come
    /// from; a repository file is read here); not giving one is a usage
    /// error.
    pub fn location(&self) -> Result<Location> {
        let raw = self.repo.resolve()?.ok_or_else(|| {
            Error::invalid("no repository given: use -r REPO or --repository-file FILE, or set CAIRN_REPOSITORY or CAIRN_REPOSITORY_FILE")
        })?;
        let s3 = crate::location::S3Settings::from_env()?.overlaid(&self.s3);
        let mut location = Location::parse_with(&raw, &s3)?;
        if let Location::Export { dirs, ask } = &mut location {
            dirs.extend(self.volumes_at.iter().cloned());
            *ask = self.volumes_at.is_empty() && std::io::stdin().is_terminal();
        } else if !self.volumes_at.is_empty() {
            return Err(Error::invalid(
                "--volumes-at is for export volume sets (-r export:DIR)",
            ));
        }
        Ok(location)
    }

    /// The backend for the repository location.
    pub fn backend(&self) -> Result<Arc<dyn Backend>> {
        self.location()?.backend()
    }

    /// The cache root.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(cairn_engine::default_cache_root)
    }

    /// Open another repository (a copy's destination or source) at `raw`
    /// with the password in `password_file`, sharing this command's cache
    /// root, S3 settings and warning output.
    pub fn open_other(
        &self,
        raw: &std::ffi::OsStr,
        password_file: &std::path::Path,
    ) -> Result<Repository> {
        let s3 = crate::location::S3Settings::from_env()?.overlaid(&self.s3);
        let location = Location::parse_with(raw, &s3)?;
        let source = crate::password::Source::File(password_file.to_owned());
        self.open_at(&location, Some(&source), None)
    }

    /// Open the repository, asking for the password.
    pub fn open(&self) -> Result<Repository> {
        self.open_at(&self.location()?, self.password.as_ref(), None)
    }

    /// Open the repository at `location` with the password from
    /// `password` (else the environment, else the terminal) and the cache
    /// under `cache_dir` (else this command's cache root).
    pub fn open_at(
        &self,
        location: &Location,
        password: Option<&crate::password::Source>,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<Repository> {
        let backend = Self::probed_backend(location)?;
        let pw = crate::password::get(password, false)?;
        let mut cache = cache_dir.map_or_else(|| self.cache_root(), |d| d.to_owned());
        if matches!(location, Location::Export { .. }) {
            // An export has the repository's ID but other index files:
            // its own cache keeps the repository's from being rebuilt.
            cache.push("exports");
        }
        let repo = Repository::open(backend, &pw, cache)?;
        // Readers that work around damage (an unreadable index file) say
        // so on stderr; `-q` silences them like every other warning.
        let out = self.out;
        repo.set_warning_sink(Box::new(move |w| {
            if !out.quiet {
                crate::errln!("warning: {w}");
            }
        }));
        Ok(repo)
    }

    /// The backend at `location`, once it is known to hold a repository:
    /// callers fail fast with "no repository" before asking for a secret.
    pub fn probed_backend(location: &Location) -> Result<Arc<dyn Backend>> {
        let backend = location.backend()?;
        // A file where the directory should be is "no repository here",
        // like a missing directory.
        if let Location::Local(dir) = location {
            if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
                return Err(Error::new(
                    ErrorKind::RepositoryNotFound,
                    format!(
                        "{} is a file, not a Cairn repository (a repository is a directory)",
                        dir.display()
                    ),
                ));
            }
        }
        Repository::probe(&*backend)?;
        Ok(backend)
    }
}

/// A snapshot chosen on the command line, and how it was chosen.
pub struct Resolved {
    /// Its ID.
    pub id: SnapshotId,
    /// The record.
    pub snap: Snapshot,
    /// It was `latest` (with these filter flags, possibly none).
    latest: Option<String>,
}

impl Resolved {
    /// Resolve `spec` (`latest` or an ID prefix) with the `latest` filter.
    pub fn find(
        repo: &Repository,
        spec: &str,
        filter: &crate::args::SnapshotFilter,
    ) -> Result<Self> {
        let f = filter.to_engine()?;
        let (id, snap) = repo.find_snapshot_matching(spec, &f)?;
        // An export asks for (or names) the volumes this snapshot needs.
        repo.make_available(cairn_engine::backend::Need::Snapshot(id))?;
        Ok(Resolved {
            id,
            snap,
            latest: (spec == "latest").then(|| f.describe()),
        })
    }

    /// Name the snapshot in a "not in the snapshot" error (a path or
    /// pattern that matches nothing), and for `latest` say what it
    /// resolved to and how to choose another. Other errors pass unchanged.
    pub fn explain(&self, e: Error) -> Error {
        if e.kind() != ErrorKind::NotFound || !e.message().ends_with("in the snapshot") {
            return e;
        }
        let short = self.id.short();
        let hint = match &self.latest {
            None => format!("{short} (see `cairn ls {short}`)"),
            Some(filter) => format!(
                "{short}, which is `latest`{}: the newest {}, a {} backup of {} from host {} at {}; \
                 choose another with --host, --path or --tag, or give a snapshot ID (see `cairn snapshots`)",
                if filter.is_empty() {
                    String::new()
                } else {
                    format!(" with {filter}")
                },
                if filter.is_empty() {
                    "snapshot in the repository"
                } else {
                    "matching snapshot"
                },
                self.snap.source,
                self.snap.paths.join(", "),
                self.snap.host,
                crate::output::local_time(self.snap.time)
            ),
        };
        Error::new(ErrorKind::NotFound, format!("{} {hint}", e.message()))
    }
}
