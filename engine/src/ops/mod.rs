//! The user operations: one function per operation, taking options and
//! returning a typed report that derives `Serialize`. The CLI calls
//! exactly one of these per command and renders its report.
//!
//! Invariants: every mutation takes the lock its protocol needs here, not
//! in the caller; maintenance after a backup (parity protection) is an
//! explicit step of the operation, reported as such.

pub mod backup;
pub mod check;
pub mod drill;
pub mod dump;
pub mod forget;
pub mod init;
pub mod ls;
pub mod parity;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod scrub;
pub mod snapshots;
pub mod tag;
pub mod unlock;
pub mod verify;

/// How an operation that ran to the end went. A command that could not
/// run returns an `Error` instead; cron jobs tell the cases apart by the
/// CLI's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was done and nothing is wrong.
    Success,
    /// Done, but some input could not be read (a partial backup).
    Partial,
    /// An audit (check, scrub, verify, drill) ran and found damage.
    DamageFound,
}

impl Outcome {
    /// The outcome of an audit that ran to the end: damage found or not.
    pub fn of_audit(intact: bool) -> Self {
        if intact {
            Outcome::Success
        } else {
            Outcome::DamageFound
        }
    }
}
