//! `init`: create a repository (marker, config, spec copy, first key
//! file) in empty storage. Refuses storage that already holds one.

use crate::backend::Backend;
use crate::error::Result;
use crate::repo::{InitOptions, Repository};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The result of `init`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct InitReport {
    /// The new repository's ID (hex).
    pub repository_id: String,
    /// Where it is.
    pub location: String,
}

/// Create a repository in `backend` whose first key opens with
/// `password`; its local cache lives under `cache_root`.
pub fn init(
    backend: Arc<dyn Backend>,
    password: &[u8],
    opts: &InitOptions,
    cache_root: PathBuf,
) -> Result<InitReport> {
    let location = backend.location();
    let repo = Repository::init(backend, password, opts, cache_root)?;
    Ok(InitReport {
        repository_id: repo.config().id_hex(),
        location,
    })
}
