//! The one error type at the engine boundary.
//!
//! Policy: every failure the engine reports is an [`Error`] with an
//! [`ErrorKind`] the CLI can map to an exit code, a human sentence that says
//! what went wrong *and what to do next*, and optionally the underlying
//! source. Messages never contain secrets (passwords, keys, plaintext); they
//! may name repository objects (pack IDs, snapshot IDs, paths).

use std::fmt;

/// What went wrong, coarse enough to act on. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No repository at the given location (no `config`/`CAIRN` marker).
    RepositoryNotFound,
    /// `init` on a location that already holds a repository.
    RepositoryExists,
    /// Another process holds a conflicting lock.
    Locked,
    /// No key file could be opened with the given password.
    WrongPassword,
    /// Stored data failed verification: AEAD tag, content hash, magic,
    /// structure. The repository (or a copy of it) is damaged or hostile.
    Corrupt,
    /// A stored object uses a format version this build does not know.
    UnsupportedVersion,
    /// A requested object (snapshot, path, blob) does not exist.
    NotFound,
    /// A snapshot prefix matches more than one snapshot.
    Ambiguous,
    /// The caller passed something unusable (bad pattern, bad parameter).
    InvalidInput,
    /// The storage device is full.
    NoSpace,
    /// The operation was interrupted by a signal.
    Interrupted,
    /// The storage refused the credentials or the permission (an S3
    /// store's 403).
    AccessDenied,
    /// An export lacks volumes the operation needs (the message names
    /// them).
    VolumesMissing,
    /// Any other I/O failure.
    Io,
    /// A bug in Cairn: an invariant of the engine itself did not hold.
    /// Nothing the user did or stored causes it; please report it.
    Internal,
}

impl ErrorKind {
    /// A short, stable, machine-readable name (used in `--json` output).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::RepositoryNotFound => "repository_not_found",
            ErrorKind::RepositoryExists => "repository_exists",
            ErrorKind::Locked => "locked",
            ErrorKind::WrongPassword => "wrong_password",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NoSpace => "no_space",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::VolumesMissing => "volumes_missing",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

/// What the user can do about an error, named rather than worded: the
/// engine's message says what is wrong, the CLI words the command that
/// helps (so the engine holds no command-line syntax). New remedies may be
/// added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Create a repository here (`init`).
    Init,
    /// Wait for the other process, or remove its lock if it is gone.
    WaitOrUnlock,
    /// Remove lock files once no other process is running.
    Unlock,
    /// Run the same command again.
    Retry,
    /// Run `check` to see what is damaged.
    Check,
    /// Rebuild the index from the pack trailers (`repair index`).
    RepairIndex,
    /// Restore the damaged snapshot file from a copy, or `repair snapshots`.
    RepairSnapshots,
    /// Run `prune`, which removes unreadable GC plans, then retry.
    PruneThenRetry,
    /// List the snapshots to choose one (`snapshots`).
    ListSnapshots,
    /// Rebuild damaged packs from parity or a copy (`scrub --repair`).
    ScrubRepair,
    /// `scrub --repair`; if that cannot help, `repair snapshots`.
    ScrubRepairThenRepairSnapshots,
    /// Restore a missing pack from a copy of the repository; without one
    /// its data is lost, and the snapshots' own remedies apply.
    RestorePackFromCopy,
    /// Restore the missing packs from a copy, or `repair snapshots`.
    RestorePacksOrRepairSnapshots,
    /// Restore this unreadable snapshot file from a copy, or forget it.
    RestoreOrForget(crate::id::SnapshotId),
    /// Restore the lost pack holding this snapshot's root tree from a
    /// copy, or forget the snapshot.
    RestorePackOrForget(crate::id::SnapshotId),
    /// Remove the `protected` tag first (`tag --unprotect`).
    Unprotect,
}

impl Remedy {
    /// A short, stable, machine-readable name (used in `--json` output).
    pub fn as_str(self) -> &'static str {
        match self {
            Remedy::Init => "init",
            Remedy::WaitOrUnlock => "wait_or_unlock",
            Remedy::Unlock => "unlock",
            Remedy::Retry => "retry",
            Remedy::Check => "check",
            Remedy::RepairIndex => "repair_index",
            Remedy::RepairSnapshots => "repair_snapshots",
            Remedy::PruneThenRetry => "prune_then_retry",
            Remedy::ListSnapshots => "list_snapshots",
            Remedy::ScrubRepair => "scrub_repair",
            Remedy::ScrubRepairThenRepairSnapshots => "scrub_repair_then_repair_snapshots",
            Remedy::RestorePackFromCopy => "restore_pack_from_copy",
            Remedy::RestorePacksOrRepairSnapshots => "restore_packs_or_repair_snapshots",
            Remedy::RestoreOrForget(_) => "restore_or_forget",
            Remedy::RestorePackOrForget(_) => "restore_pack_or_forget",
            Remedy::Unprotect => "unprotect",
        }
    }
}

/// The engine's error: a kind, a human message, and an optional cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    remedy: Option<Remedy>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Shorthand used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            remedy: None,
            message: message.into(),
            source: None,
        }
    }

    /// Shorthand for a [`ErrorKind::Corrupt`] error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an [`ErrorKind::Internal`] error: a broken invariant
    /// of the engine, never the user's input or the repository's content.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Internal,
            format!("internal error (a bug in cairn): {}", message.into()),
        )
    }

    /// Wrap an I/O error with context; `ENOSPC` becomes [`ErrorKind::NoSpace`]
    /// and `EINTR`-style interruption stays [`ErrorKind::Io`].
    pub fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        let kind = match err.raw_os_error() {
            Some(code) if code == nix::libc::ENOSPC || code == nix::libc::EDQUOT => {
                ErrorKind::NoSpace
            }
            _ => ErrorKind::Io,
        };
        let mut message = context.into();
        if kind == ErrorKind::NoSpace {
            message.push_str(" (no space left on device; free space and run the command again, already stored data is intact)");
        }
        Error {
            kind,
            remedy: None,
            message,
            source: Some(Box::new(err)),
        }
    }

    /// Like [`Error::io`], but an engine error carried inside the I/O error
    /// (readers built on `std::io::Read` wrap theirs with
    /// `std::io::Error::other`) comes back out with its own kind.
    pub fn from_io(context: impl Into<String>, err: std::io::Error) -> Self {
        match err.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            Some(inner) => Error {
                kind: inner.kind(),
                remedy: inner.remedy(),
                message: format!("{}: {}", context.into(), inner.message()),
                source: None,
            },
            None => Error::io(context, err),
        }
    }

    /// The kind, for exit codes and programmatic handling.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What the user can do about it, if a command helps.
    pub fn remedy(&self) -> Option<Remedy> {
        self.remedy
    }

    /// Name what the user can do about it.
    pub fn with_remedy(mut self, remedy: Remedy) -> Self {
        self.remedy = Some(remedy);
        self
    }

    /// The message without the cause chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix more context to the message (outermost first).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(src) = &self.source {
            write!(f, ": {src}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_maps_to_no_space() {
        let e = Error::io(
            "writing pack",
            std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
        );
        assert_eq!(e.kind(), ErrorKind::NoSpace);
        assert!(e.to_string().contains("no space left"));
    }

    #[test]
    fn from_io_keeps_wrapped_kind() {
        let wrapped = std::io::Error::other(Error::corrupt("bad blob"));
        let e = Error::from_io("reading x", wrapped);
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_eq!(e.to_string(), "reading x: bad blob");
        let plain = Error::from_io(
            "reading y",
            std::io::Error::from_raw_os_error(nix::libc::EIO),
        );
        assert_eq!(plain.kind(), ErrorKind::Io);
    }

    #[test]
    fn context_prefixes() {
        let e = Error::corrupt("bad tag").context("pack 00ff");
        assert_eq!(e.to_string(), "pack 00ff: bad tag");
        assert_eq!(e.kind().as_str(), "corrupt");
    }
}
