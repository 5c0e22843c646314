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
pub mod parity;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod scrub;
pub mod verify;
