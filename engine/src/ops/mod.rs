//! The user operations: one function per operation, taking options and
//! returning a typed report that derives `Serialize`. The CLI calls
//! exactly one of these per command and renders its report.
//!
//! Invariants: every mutation takes the lock its protocol needs here, not
//! in the caller; maintenance after a backup (parity protection) is an
//! explicit step of the operation, reported as such.

pub mod backup;
pub mod cat;
pub mod check;
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
pub mod mount;
pub mod parity;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod scrub;
pub mod snapshots;
pub mod stats;
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

/// One problem an audit found, and what helps (the CLI words the remedy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What is wrong, naming the objects involved.
    pub problem: String,
    /// What the user can do about it.
    pub remedy: Option<crate::error::Remedy>,
}

impl Finding {
    /// A finding with a remedy.
    pub fn new(problem: impl Into<String>, remedy: crate::error::Remedy) -> Self {
        Finding {
            problem: problem.into(),
            remedy: Some(remedy),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem)
    }
}

/// In `--json`: `{"problem": text, "remedy": stable name or null}`.
impl serde::Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("problem", &self.problem)?;
        m.serialize_entry("remedy", &self.remedy.map(|r| r.as_str()))?;
        m.end()
    }
}

/// Run `f`, whose parallel iterators read from `repo`, on enough threads
/// to hide the storage's latency: the backend's
/// [`io_parallelism`](crate::backend::Backend::io_parallelism) when that is
/// more than the current pool has (remote storage), else as is.
pub(crate) fn io_bound<T: Send>(repo: &crate::repo::Repository, f: impl FnOnce() -> T + Send) -> T {
    let want = repo.backend().io_parallelism();
    if want <= rayon::current_num_threads() {
        return f();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(want)
        .thread_name(|i| format!("cairn-io-{i}"))
        // Restore and verify walk trees recursively on these threads, up to
        // 2048 levels deep: give them the main thread's room, not rayon's
        // 2 MiB default (virtual memory, touched only as deep as a walk goes).
        .stack_size(16 << 20)
        .build()
    {
        Ok(pool) => pool.install(f),
        // Fewer threads are slower, never wrong.
        Err(_) => f(),
    }
}
