//! Key files as the protocol uses them: unlocking the master key with a
//! password, opening a repository with a paper key instead, and adding and
//! removing key files (`format-spec/v1/crypto.md`).
//!
//! Invariants, each kept here so that no caller can skip it:
//! - a new key file is stored durably, listed and read back (and opened
//!   with its password) before [`Repository::add_key_file`] returns, so a
//!   caller that removes another key file afterwards never leaves the
//!   repository without a working one, whenever it is killed;
//! - [`Repository::remove_key_file`] never removes the last readable key
//!   file, and runs under a prune-mode lock, so two removals cannot race
//!   each other into removing the last two;
//! - a paper key opens a repository only if the repository's config
//!   decrypts with it: nothing is written for a wrong key.

use super::lock::{LockGuard, LockMode};
use super::Repository;
use crate::backend::{Backend, Kind};
use crate::crypto::{KdfParams, MasterKey, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::config::{Config, CONFIG_NAME, MAX_CONFIG_FILE};
use crate::format::keyfile::{KeyFile, MAX_KEY_FILE};
use crate::format::paper::PaperKey;
use crate::id::KeyId;
use std::path::PathBuf;
use std::sync::Arc;

/// Read key file `name`: its bytes must hash to its name, then decode.
fn read_key_file(backend: &dyn Backend, name: &str) -> Result<KeyFile> {
    let bytes = backend.read_max(Kind::Key, name, MAX_KEY_FILE)?;
    if KeyFile::id(&bytes) != KeyId::from_hex(name).unwrap_or_default() {
        return Err(Error::corrupt(format!(
            "key file {name} does not match its name (damaged)"
        )));
    }
    KeyFile::decode(&bytes).map_err(|e| e.context(format!("key file {name}")))
}

/// Find the key file `password` opens (in name order) and unwrap the
/// master key. A damaged key file does not hide the others; when none
/// opens, the error is "wrong password" unless every file was unreadable.
pub(crate) fn unlock(backend: &dyn Backend, password: &[u8]) -> Result<(MasterKey, KeyId)> {
    let mut names = backend.list(Kind::Key)?;
    names.sort();
    if names.is_empty() {
        return Err(Error::corrupt(format!(
            "repository at {} has no key files; restore keys/ from a copy, or import a paper key (`key import --paper`)",
            backend.location()
        )));
    }
    let mut last_err: Option<Error> = None;
    for (name, _) in names {
        let opened = read_key_file(backend, &name).and_then(|kf| kf.open(password));
        match opened {
            Ok(master) => return Ok((master, KeyId::from_hex(&name)?)),
            // Removed since it was listed.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                if last_err
                    .as_ref()
                    .is_none_or(|p| p.kind() != ErrorKind::WrongPassword)
                {
                    last_err = Some(e);
                }
            }
        }
    }
    Err(last_err.unwrap_or_else(|| Error::new(ErrorKind::WrongPassword, "wrong password")))
}

/// One file in `keys/`, decoded or not.
pub(crate) struct KeySlot {
    /// Its name.
    pub id: KeyId,
    /// Its content, or why it cannot be read.
    pub file: Result<KeyFile>,
}

impl Repository {
    /// Open the repository at `backend` with a paper key instead of a
    /// password (`key import --paper`, when no password works any more).
    /// Fails with [`ErrorKind::WrongPassword`] when the repository's config
    /// does not decrypt with the key.
    pub fn open_with_paper_key(
        backend: Arc<dyn Backend>,
        paper: &PaperKey,
        cache_root: PathBuf,
    ) -> Result<Self> {
        super::check_marker(&*backend)?;
        let bytes = backend.read_max(Kind::Root, CONFIG_NAME, MAX_CONFIG_FILE)?;
        let master = paper.master().clone();
        let sealer = Sealer::new(&master.subkeys().seal);
        let config = Config::open(&sealer, &bytes).map_err(|e| {
            if e.kind() != ErrorKind::Corrupt {
                return e;
            }
            let named = match paper.repository_id() {
                Some(id) => format!(" (the paper names repository {})", crate::id::hex_encode(&id)),
                None => String::new(),
            };
            Error::new(
                ErrorKind::WrongPassword,
                format!(
                    "the paper key does not open the repository at {}{named}: its config does not decrypt with it. Is it the paper of another repository? Nothing was written",
                    backend.location()
                ),
            )
        })?;
        Self::assemble(backend, master, config, cache_root, None)
    }

    /// The key file this repository was opened with (`None` when opened
    /// with a paper key).
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id
    }

    /// The master key as a paper key, with this repository's ID.
    pub(crate) fn paper_key(&self) -> PaperKey {
        PaperKey::new(self.master.clone(), self.config.id)
    }

    /// Every file in `keys/`, in name order, each decoded or with the
    /// reason it cannot be.
    pub(crate) fn key_slots(&self) -> Result<Vec<KeySlot>> {
        let mut names = self.backend.list(Kind::Key)?;
        names.sort();
        let mut out = Vec::new();
        for (name, _) in names {
            let file = read_key_file(&*self.backend, &name);
            if matches!(&file, Err(e) if e.kind() == ErrorKind::NotFound) {
                continue;
            }
            out.push(KeySlot {
                id: KeyId::from_hex(&name)?,
                file,
            });
        }
        Ok(out)
    }

    /// Wrap the master key under `password` in a new key file; returns its
    /// ID once the file is durable, listed, and opens with `password` when
    /// read back.
    pub(crate) fn add_key_file(
        &self,
        password: &[u8],
        kdf: KdfParams,
        host: &str,
        label: Option<&str>,
    ) -> Result<KeyId> {
        if password.is_empty() {
            return Err(Error::invalid("an empty password is refused"));
        }
        kdf.validate()
            .map_err(|e| Error::invalid(e.message().to_owned()))?;
        let now = crate::format::tree::Timestamp::now().secs;
        let mut kf = KeyFile::create(&self.master, password, kdf, now, host)?;
        kf.label = label.map(str::to_owned);
        let bytes = kf.encode();
        let id = KeyFile::id(&bytes);
        let name = id.to_hex();
        self.backend.write(Kind::Key, &name, &bytes)?;
        let listed = self
            .backend
            .list(Kind::Key)?
            .iter()
            .any(|(n, _)| *n == name);
        if !listed {
            return Err(Error::new(
                ErrorKind::Io,
                format!("the new key file keys/{name} was written but is not listed by the storage; no key file was removed"),
            ));
        }
        let back = read_key_file(&*self.backend, &name)?.open(password)?;
        if back.expose() != self.master.expose() {
            return Err(Error::internal(format!(
                "the new key file keys/{name} does not unwrap the master key"
            )));
        }
        Ok(id)
    }

    /// Remove key file `id`, unless no other readable key file would be
    /// left. Needs a prune-mode (or exclusive) lock.
    pub(crate) fn remove_key_file(&self, lock: &LockGuard, id: KeyId) -> Result<()> {
        lock.require(LockMode::Prune)?;
        lock.ensure_fresh()?;
        let slots = self.key_slots()?;
        if !slots.iter().any(|s| s.id == id) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no key file {} (see `key list`)", id.short()),
            ));
        }
        let others = slots
            .iter()
            .filter(|s| s.id != id && s.file.is_ok())
            .count();
        if others == 0 {
            return Err(Error::invalid(format!(
                "refusing to remove key file {}: it is the last readable key file, and without one no password opens the repository; add another first (`key add`)",
                id.short()
            )));
        }
        self.backend.remove(Kind::Key, &id.to_hex())
    }
}
