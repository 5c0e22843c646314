//! `key`: the repository's key files (one per password) and its paper key.
//! One function per operation: [`list`], [`add`], [`remove`], [`passwd`],
//! [`export_paper`] and [`import_paper`], each returning a report that
//! serializes as the `--json` document.
//!
//! Invariants: the master key never changes; a password or a key never
//! appears in a report or an error; `remove` refuses the key file the
//! repository was opened with unless forced, and the repository layer
//! refuses to remove the last readable one; `passwd` stores and reads back
//! the new key file before it removes the old one, so a kill at any moment
//! leaves at least one key file that opens.

use crate::crypto::KdfParams;
use crate::error::{Error, ErrorKind, Result};
use crate::format::keyfile::MAX_LABEL;
use crate::format::paper::PaperKey;
use crate::format::tree::Timestamp;
use crate::id::KeyId;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use serde::Serialize;

/// What a new key file holds besides the master key.
#[derive(Clone)]
pub struct NewKey {
    /// The new password (never empty).
    pub password: Vec<u8>,
    /// A label for `key list` (default: none; `passwd` keeps the old one).
    pub label: Option<String>,
    /// The host recorded in the file (default: this machine's).
    pub host: Option<String>,
    /// Argon2id cost (default: the spec's defaults for new key files).
    pub kdf: KdfParams,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("password", &"<redacted>")
            .field("label", &self.label)
            .field("host", &self.host)
            .field("kdf", &self.kdf)
            .finish()
    }
}

impl NewKey {
    fn validate(&self) -> Result<()> {
        for (what, v) in [("--label", &self.label), ("--host", &self.host)] {
            if let Some(v) = v {
                if v.is_empty() || v.len() > MAX_LABEL {
                    return Err(Error::invalid(format!(
                        "{what} must be 1 to {MAX_LABEL} bytes long"
                    )));
                }
            }
        }
        Ok(())
    }

    fn host(&self) -> String {
        self.host
            .clone()
            .unwrap_or_else(crate::repo::lock::hostname)
    }
}

/// One key file in `key list`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    /// Its ID (file name).
    pub id: KeyId,
    /// The first 8 hex digits.
    pub short_id: String,
    /// Its label, if it has one.
    pub label: Option<String>,
    /// The host that wrote it (absent when the file cannot be read).
    pub host: Option<String>,
    /// When it was written.
    pub created: Option<Timestamp>,
    /// It is the one the current password opened.
    pub in_use: bool,
    /// Why it cannot be read, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of `key list`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyListReport {
    /// The repository ID (hex).
    pub repository_id: String,
    /// Every key file, in ID order.
    pub keys: Vec<KeyInfo>,
}

/// The result of `key add`, `key import --paper` and the new half of
/// `key passwd`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyAddReport {
    /// The repository ID (hex).
    pub repository_id: String,
    /// The new key file.
    pub added: KeyId,
    /// Its label.
    pub label: Option<String>,
    /// The host it records.
    pub host: String,
}

/// The result of `key remove`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyRemoveReport {
    /// The removed key file.
    pub removed: KeyId,
    /// It was the one the current password opened (`--force`).
    pub was_in_use: bool,
}

/// The result of `key passwd`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyPasswdReport {
    /// The new key file, as `key add` reports it.
    #[serde(flatten)]
    pub added: KeyAddReport,
    /// The key file the old password opened, now removed.
    pub removed: KeyId,
}

/// The result of `key export --paper`.
#[derive(Clone, Debug, Serialize)]
pub struct PaperReport {
    /// The repository ID (hex).
    pub repository_id: String,
    /// The text to print (the master key: a secret).
    pub text: String,
}

/// The result of `key import --paper`.
#[derive(Clone, Debug, Serialize)]
pub struct KeyImportReport {
    /// The new key file, as `key add` reports it.
    #[serde(flatten)]
    pub added: KeyAddReport,
    /// The repository ID the paper names, when it names one.
    pub paper_repository_id: Option<String>,
}

/// List the key files.
pub fn list(repo: &Repository) -> Result<KeyListReport> {
    let keys = repo
        .key_slots()?
        .into_iter()
        .map(|s| {
            let (label, host, created, error) = match s.file {
                Ok(f) => (
                    f.label,
                    Some(f.host),
                    Some(Timestamp {
                        secs: f.created,
                        nanos: 0,
                    }),
                    None,
                ),
                Err(e) => (None, None, None, Some(e.message().to_owned())),
            };
            KeyInfo {
                id: s.id,
                short_id: s.id.short(),
                label,
                host,
                created,
                in_use: repo.key_id() == Some(s.id),
                error,
            }
        })
        .collect();
    Ok(KeyListReport {
        repository_id: repo.config().id_hex(),
        keys,
    })
}

/// Add a key file for a new password (same master key).
pub fn add(repo: &Repository, new: &NewKey) -> Result<KeyAddReport> {
    new.validate()?;
    let host = new.host();
    let id = repo.add_key_file(&new.password, new.kdf, &host, new.label.as_deref())?;
    Ok(KeyAddReport {
        repository_id: repo.config().id_hex(),
        added: id,
        label: new.label.clone(),
        host,
    })
}

/// The key file whose ID starts with `prefix` (hex, unique).
fn resolve(repo: &Repository, prefix: &str) -> Result<KeyId> {
    let p = prefix.to_ascii_lowercase();
    if p.is_empty() || p.len() > 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "'{prefix}' is not a key ID: give hex digits of one (see `key list`)"
        )));
    }
    let found: Vec<KeyId> = repo
        .key_slots()?
        .into_iter()
        .map(|s| s.id)
        .filter(|id| id.to_hex().starts_with(&p))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::new(
            ErrorKind::NotFound,
            format!("no key file has an ID starting with {p} (see `key list`)"),
        )),
        _ => Err(Error::new(
            ErrorKind::Ambiguous,
            format!(
                "{} key files have IDs starting with {p}; give more digits",
                found.len()
            ),
        )),
    }
}

/// Remove the key file `prefix` names. The one the current password
/// opened only with `force`; never the last readable one.
pub fn remove(repo: &Repository, prefix: &str, force: bool) -> Result<KeyRemoveReport> {
    let id = resolve(repo, prefix)?;
    let in_use = repo.key_id() == Some(id);
    if in_use && !force {
        return Err(Error::invalid(format!(
            "key file {} is the one your password opened: after removing it that password no longer opens the repository. Use `key passwd` to change the password, or --force if you know another key file's password",
            id.short()
        )));
    }
    let lock = repo.lock(LockMode::Prune)?;
    repo.remove_key_file(&lock, id)?;
    Ok(KeyRemoveReport {
        removed: id,
        was_in_use: in_use,
    })
}

/// Replace the key file the current password opened by one for
/// `new.password`: the new file is stored, listed and read back first,
/// then the old one is removed. Keeps the old label unless given one.
pub fn passwd(repo: &Repository, new: &NewKey) -> Result<KeyPasswdReport> {
    new.validate()?;
    let old = repo.key_id().ok_or_else(|| {
        Error::invalid("the repository was opened without a password; there is no password to change (use `key import --paper` or `key add`)")
    })?;
    // One key change at a time: taken before the new file is written.
    let lock = repo.lock(LockMode::Prune)?;
    let old_label = repo
        .key_slots()?
        .into_iter()
        .find(|s| s.id == old)
        .and_then(|s| s.file.ok())
        .and_then(|f| f.label);
    let with_label = NewKey {
        label: new.label.clone().or(old_label),
        ..new.clone()
    };
    let added = add(repo, &with_label)?;
    repo.remove_key_file(&lock, old)?;
    Ok(KeyPasswdReport {
        added,
        removed: old,
    })
}

/// The master key as text for paper.
pub fn export_paper(repo: &Repository) -> Result<PaperReport> {
    Ok(PaperReport {
        repository_id: repo.config().id_hex(),
        text: repo.paper_key().to_text(),
    })
}

/// Write a key file for `new.password` into a repository opened with
/// `paper` ([`Repository::open_with_paper_key`], which has checked that
/// the key opens it).
pub fn import_paper(repo: &Repository, paper: &PaperKey, new: &NewKey) -> Result<KeyImportReport> {
    let added = add(repo, new)?;
    Ok(KeyImportReport {
        added,
        paper_repository_id: paper.repository_id().map(|id| crate::id::hex_encode(&id)),
    })
}
