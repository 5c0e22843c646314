//! One module per subcommand; each validates its raw arguments into engine
//! options, runs the engine, and renders the result (human or JSON).

pub mod backup;
pub mod check;
pub mod drill;
pub mod dump;
pub mod forget;
pub mod init;
pub mod ls;
pub mod mongo_args;
pub mod parity;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod scrub;
pub mod snapshots;
pub mod tag;
pub mod unlock;
pub mod verify;

use crate::output::Output;
use cairn_engine::backend::LocalBackend;
use cairn_engine::{Error, ErrorKind, Repository, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// What every command gets: where the repository is and how to talk.
pub struct Ctx {
    /// `-r`.
    pub repo: Option<PathBuf>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
    /// `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
    /// Output mode.
    pub out: Output,
}

impl Ctx {
    /// The backend for `-r`.
    pub fn backend(&self) -> Result<Arc<LocalBackend>> {
        let p = self.repo.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::RepositoryNotFound,
                "no repository given: use -r DIR or set CAIRN_REPOSITORY",
            )
        })?;
        Ok(Arc::new(LocalBackend::new(p)))
    }

    /// The cache root.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(cairn_engine::default_cache_root)
    }

    /// Open the repository, asking for the password.
    pub fn open(&self) -> Result<Repository> {
        let backend = self.backend()?;
        // Fail fast with "no repository" before asking for a password.
        use cairn_engine::backend::{Backend, Kind};
        if let Err(e) = backend.size(Kind::Root, "CAIRN") {
            if e.kind() == ErrorKind::NotFound {
                return Err(Error::new(
                    ErrorKind::RepositoryNotFound,
                    format!(
                        "no Cairn repository at {} (run `cairn init` to create one)",
                        backend.location()
                    ),
                ));
            }
        }
        let pw = crate::password::get(self.password_file.as_deref(), false)?;
        let repo = Repository::open(backend, &pw, self.cache_root())?;
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
}
