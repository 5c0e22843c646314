//! Repository locks: small sealed files in `locks/`.
//!
//! Three modes ([`LockMode`]):
//!
//! * *shared*: backups (any number at once: packs and index files are
//!   content-named and never overwritten);
//! * *prune*: garbage collection, `forget` and `tag`. At most one at a time,
//!   but it runs beside shared locks: the GC protocol (`crate::ops::prune`,
//!   `format-spec/v1/gc.md`) keeps running backups safe;
//! * *exclusive*: repairs that rewrite the index; nothing else runs.
//!
//! A lock is stale when its refresh time is older than [`STALE_AFTER`] or
//! when it was made on this host by a process that no longer exists; stale
//! locks are ignored and may be removed. Holders refresh their lock every
//! [`REFRESH_EVERY`]; a holder whose lock file was removed by someone else
//! stops refreshing and [`LockGuard::ensure_fresh`] fails from then on.

use crate::backend::{Backend, Kind};
use crate::crypto::Sealer;
use crate::error::{Error, ErrorKind, Remedy, Result};
pub use crate::format::lock::{LockInfo, MAX_LOCK_FILE};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

/// A lock not refreshed for this long is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// How often a holder rewrites its lock.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
/// A holder relies on its lock (commits, stores index files) only within
/// this long of its last refresh; past it, the lock is lost for good.
pub const FRESH_FOR: Duration = Duration::from_secs(STALE_AFTER.as_secs() - 60);

/// This process's namespace identity: `<boot id>:<pid namespace inode>`,
/// or empty where `/proc` does not tell.
pub fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let ns = std::fs::metadata("/proc/self/ns/pid").map(|m| m.ino());
        match (boot.trim(), ns) {
            (b, Ok(ino)) if !b.is_empty() => format!("{b}:{ino}"),
            _ => String::new(),
        }
    })
}

/// How a lock relates to others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Backups: conflicts only with exclusive locks.
    Shared,
    /// Prune, forget, tag: conflicts with exclusive and prune locks.
    Prune,
    /// Index repairs: conflicts with every live lock.
    Exclusive,
}

impl LockMode {
    fn conflicts_with(self, other: &LockInfo) -> bool {
        match self {
            LockMode::Exclusive => true,
            LockMode::Prune => other.exclusive || other.prune,
            LockMode::Shared => other.exclusive,
        }
    }
}

fn now_secs() -> i64 {
    crate::format::tree::Timestamp::now().secs
}

/// This machine's host name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

impl LockInfo {
    /// Is this lock stale from this machine's point of view?
    pub fn is_stale(&self) -> bool {
        self.is_stale_after(STALE_AFTER)
    }

    /// Stale with a custom age limit (the GC protocol waits longer than
    /// `STALE_AFTER` for other hosts, to absorb clock differences).
    pub fn is_stale_after(&self, limit: Duration) -> bool {
        if now_secs().saturating_sub(self.time) > limit.as_secs() as i64 {
            return true;
        }
        // "Its process is gone" can only be judged inside the same PID
        // namespace of the same boot: a container sharing the host name
        // sees other PIDs.
        let here = instance_id();
        if self.host == hostname() && !here.is_empty() && self.instance == here {
            let Ok(pid) = i32::try_from(self.pid) else {
                return false;
            };
            return matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Err(nix::errno::Errno::ESRCH)
            );
        }
        false
    }
}

/// Every lock in the repository, with its file name. Unreadable lock files
/// are reported as `Err` entries so callers can decide.
pub fn list_locks(
    backend: &dyn Backend,
    sealer: &Sealer,
) -> Result<Vec<(String, Result<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in backend.list(Kind::Lock)? {
        let info = backend
            .read_max(Kind::Lock, &name, MAX_LOCK_FILE)
            .and_then(|b| LockInfo::open(sealer, &b));
        if matches!(&info, Err(e) if e.kind() == ErrorKind::NotFound) {
            continue; // released meanwhile
        }
        out.push((name, info));
    }
    Ok(out)
}

/// Read one lock file.
pub fn read_lock(backend: &dyn Backend, sealer: &Sealer, name: &str) -> Result<LockInfo> {
    backend
        .read_max(Kind::Lock, name, MAX_LOCK_FILE)
        .and_then(|b| LockInfo::open(sealer, &b))
}

/// A held lock; released (file removed) on drop.
pub struct LockGuard {
    mode: LockMode,
    backend: Arc<dyn Backend>,
    name: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    refresher: Option<std::thread::JoinHandle<()>>,
    /// Unix seconds of the last successful write of the lock file.
    refreshed: Arc<AtomicI64>,
}

impl LockGuard {
    /// The mode this lock was taken in.
    pub fn mode(&self) -> LockMode {
        self.mode
    }

    /// Fail unless this lock allows a mutation that needs `needed`: an
    /// exclusive lock allows everything, a prune lock allows prune-mode
    /// and shared-mode work. A mismatch is a bug in the caller.
    pub(crate) fn require(&self, needed: LockMode) -> Result<()> {
        let ok = match needed {
            LockMode::Shared => true,
            LockMode::Prune => self.mode != LockMode::Shared,
            LockMode::Exclusive => self.mode == LockMode::Exclusive,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::internal(format!(
                "a {:?} lock was used for a mutation that needs a {needed:?} lock",
                self.mode
            )))
        }
    }

    /// The lock file's name in `locks/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Fail if the lock may have gone stale (refreshes failed, or the
    /// process was suspended): others may then have ignored it, so work
    /// that relies on it (committing a snapshot) must not go on.
    pub fn ensure_fresh(&self) -> Result<()> {
        let age = now_secs().saturating_sub(self.refreshed.load(Ordering::SeqCst));
        if let Err(e) = self.backend.size(Kind::Lock, &self.name) {
            if e.kind() == ErrorKind::NotFound {
                return Err(Error::new(
                    ErrorKind::Locked,
                    "this process's repository lock was removed by someone else (an unlock?); nothing was committed",
                )
                .with_remedy(Remedy::Retry));
            }
        }
        if age < FRESH_FOR.as_secs() as i64 {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Locked,
                format!("this process's repository lock was not refreshed for {age}s and may have been ignored by others; nothing was committed, run the command again"),
            ))
        }
    }
}

fn conflict(info: &LockInfo) -> Error {
    let how = if info.exclusive {
        "exclusively "
    } else if info.prune {
        "for pruning "
    } else {
        ""
    };
    Error::new(
        ErrorKind::Locked,
        format!(
            "repository is locked {how}by pid {} on host '{}'",
            info.pid, info.host
        ),
    )
    .with_remedy(Remedy::WaitOrUnlock)
}

/// Take a lock in `mode` (see [`LockMode`] for what conflicts).
pub fn acquire(backend: Arc<dyn Backend>, sealer: &Sealer, mode: LockMode) -> Result<LockGuard> {
    let exclusive = mode != LockMode::Shared;
    let check = |own: Option<&str>| -> Result<()> {
        for (name, info) in list_locks(&*backend, sealer)? {
            if Some(name.as_str()) == own {
                continue;
            }
            // A lock we cannot read is treated as live and exclusive only
            // when we want exclusivity; shared holders ignore it.
            match info {
                Ok(i) if !i.is_stale() && mode.conflicts_with(&i) => return Err(conflict(&i)),
                Err(_) if exclusive => {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!("repository has an unreadable lock file locks/{name}"),
                    )
                    .with_remedy(Remedy::Unlock))
                }
                _ => {}
            }
        }
        Ok(())
    };
    check(None)?;
    let mut rnd = [0u8; 32];
    crate::crypto::random_bytes(&mut rnd)?;
    let name = crate::id::hex_encode(&rnd);
    let info = LockInfo {
        host: hostname(),
        pid: std::process::id(),
        time: now_secs(),
        exclusive: mode == LockMode::Exclusive,
        prune: mode == LockMode::Prune,
        instance: instance_id().to_owned(),
    };
    backend.write(Kind::Lock, &name, &info.seal(sealer)?)?;
    // Re-check: a competitor may have written between our check and write.
    if let Err(e) = check(Some(&name)) {
        let _ = backend.remove(Kind::Lock, &name);
        return Err(e);
    }
    // The refresher wakes every REFRESH_EVERY, or at once when the guard
    // drops its sender.
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let refreshed = Arc::new(AtomicI64::new(info.time));
    let refresher = {
        let (backend, name, sealer, refreshed) = (
            backend.clone(),
            name.clone(),
            sealer.clone(),
            refreshed.clone(),
        );
        std::thread::Builder::new()
            .name("cairn-lock-refresh".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH_EVERY) {
                    // Removed by someone else (`cairn unlock`): others may
                    // act as if we were gone, so never resurrect it.
                    if let Err(e) = backend.size(Kind::Lock, &name) {
                        if e.kind() == ErrorKind::NotFound {
                            refreshed.store(0, Ordering::SeqCst);
                            break;
                        }
                    }
                    // After a gap this long (a suspended process) others
                    // may already treat the lock as ended: it is lost for
                    // good, and never written again.
                    let gap = now_secs().saturating_sub(refreshed.load(Ordering::SeqCst));
                    if gap >= FRESH_FOR.as_secs() as i64 {
                        refreshed.store(0, Ordering::SeqCst);
                        break;
                    }
                    let fresh = LockInfo {
                        time: now_secs(),
                        ..info.clone()
                    };
                    let written = fresh
                        .seal(&sealer)
                        .and_then(|b| backend.write(Kind::Lock, &name, &b));
                    if written.is_ok() {
                        refreshed.store(fresh.time, Ordering::SeqCst);
                    }
                }
            })
            .ok()
    };
    Ok(LockGuard {
        mode,
        backend,
        name,
        stop: Some(stop),
        refresher,
        refreshed,
    })
}

/// Remove stale locks (or all locks with `all`); returns how many.
pub fn remove_locks(backend: &dyn Backend, sealer: &Sealer, all: bool) -> Result<usize> {
    let mut n = 0;
    for (name, info) in list_locks(backend, sealer)? {
        let stale = match &info {
            Ok(i) => i.is_stale(),
            Err(_) => true,
        };
        if all || stale {
            backend.remove(Kind::Lock, &name)?;
            n += 1;
        }
    }
    Ok(n)
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let _ = self.backend.remove(Kind::Lock, &self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;

    #[test]
    fn shared_and_exclusive() {
        let b: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let s = Sealer::new(&[1; 32]);
        let g1 = acquire(b.clone(), &s, LockMode::Shared).unwrap();
        let g2 = acquire(b.clone(), &s, LockMode::Shared).unwrap();
        assert_eq!(
            acquire(b.clone(), &s, LockMode::Exclusive)
                .err()
                .unwrap()
                .kind(),
            ErrorKind::Locked
        );
        // Prune runs beside backups, but only one at a time.
        let p = acquire(b.clone(), &s, LockMode::Prune).unwrap();
        assert_eq!(
            acquire(b.clone(), &s, LockMode::Prune)
                .err()
                .unwrap()
                .kind(),
            ErrorKind::Locked
        );
        let g3 = acquire(b.clone(), &s, LockMode::Shared).unwrap();
        drop((g1, g2, g3, p));
        let x = acquire(b.clone(), &s, LockMode::Exclusive).unwrap();
        for mode in [LockMode::Shared, LockMode::Prune] {
            assert_eq!(
                acquire(b.clone(), &s, mode).err().unwrap().kind(),
                ErrorKind::Locked
            );
        }
        x.ensure_fresh().unwrap();
        x.refreshed.store(0, Ordering::SeqCst);
        assert_eq!(x.ensure_fresh().unwrap_err().kind(), ErrorKind::Locked);
        drop(x);
        assert!(b.list(Kind::Lock).unwrap().is_empty());
    }

    #[test]
    fn a_dead_pid_counts_only_in_the_same_pid_namespace() {
        // A child that has exited: its PID is free.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mut l = LockInfo {
            host: hostname(),
            pid,
            time: now_secs(),
            exclusive: false,
            prune: false,
            instance: instance_id().to_owned(),
        };
        assert!(l.is_stale(), "same host and namespace, process gone");
        l.instance = "another-boot:4026531836".into();
        assert!(!l.is_stale(), "another namespace: its PIDs are not ours");
        l.instance.clear();
        assert!(!l.is_stale(), "unknown namespace: only time can tell");
        l.pid = u32::MAX;
        l.instance = instance_id().to_owned();
        assert!(!l.is_stale(), "an impossible PID is not a dead process");
    }

    #[test]
    fn stale_locks_are_ignored() {
        let b: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let s = Sealer::new(&[1; 32]);
        let old = LockInfo {
            host: "elsewhere".into(),
            pid: 1,
            time: 0,
            exclusive: true,
            prune: false,
            instance: String::new(),
        };
        b.write(Kind::Lock, &"aa".repeat(32), &old.seal(&s).unwrap())
            .unwrap();
        let g = acquire(b.clone(), &s, LockMode::Shared).unwrap();
        drop(g);
        assert_eq!(remove_locks(&*b, &s, false).unwrap(), 1);
    }
}
