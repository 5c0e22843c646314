//! A [`Backend`] wrapper that simulates a crash: once armed with a budget
//! of N mutations (writes, removes, `create`), the (N+1)th and every later
//! mutation fails, so the running operation stops midway with whatever it
//! had stored so far. Reads keep working (they change nothing).
//!
//! Two ways to die, as a real process can:
//!
//! * [`Fatal::Before`]: the fatal mutation never reaches storage;
//! * [`Fatal::After`]: it reaches storage, but the process dies before it
//!   learns so (the operation sees an error for a write that took effect).
//!
//! The wrapper never changes a byte of what it passes on: the underlying
//! [`MemoryBackend`] is the "disk" that survives the crash; a reboot
//! throws the wrapper away with every other piece of in-memory state.

use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::{Error, ErrorKind, Result};
use std::sync::{Arc, Mutex};

/// When the fatal mutation fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fatal {
    Before,
    After,
}

#[derive(Debug)]
struct State {
    /// Mutations still allowed; `None` = unlimited.
    left: Option<u64>,
    fatal: Fatal,
    crashed: bool,
}

/// See the module docs.
pub struct CrashBackend {
    disk: Arc<MemoryBackend>,
    state: Mutex<State>,
}

impl CrashBackend {
    /// A disarmed wrapper around `disk`: it passes everything on.
    pub fn new(disk: Arc<MemoryBackend>) -> Self {
        CrashBackend {
            disk,
            state: Mutex::new(State {
                left: None,
                fatal: Fatal::Before,
                crashed: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Allow `n` more mutations, then die as `fatal` says.
    pub fn arm(&self, n: u64, fatal: Fatal) {
        let mut s = self.state();
        s.left = Some(n);
        s.fatal = fatal;
    }

    /// Allow every mutation again (the operation finished before the
    /// budget ran out). Panics if the process already "died".
    pub fn disarm(&self) {
        let mut s = self.state();
        assert!(!s.crashed, "a crashed process cannot go on");
        s.left = None;
    }

    /// Did the injected crash happen?
    pub fn crashed(&self) -> bool {
        self.state().crashed
    }

    /// Run one mutation under the budget. The state lock is held across
    /// it, so concurrent writers see a single order of mutations.
    fn mutate(&self, op: impl FnOnce() -> Result<()>) -> Result<()> {
        let mut s = self.state();
        if s.crashed {
            return Err(crashed());
        }
        match s.left {
            Some(0) => {
                s.crashed = true;
                if s.fatal == Fatal::After {
                    op()?;
                }
                Err(crashed())
            }
            left => {
                s.left = left.map(|n| n - 1);
                op()
            }
        }
    }
}

fn crashed() -> Error {
    Error::new(ErrorKind::Io, "injected crash: storage is gone")
}

impl Backend for CrashBackend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }
    fn location(&self) -> String {
        format!("crash-injecting {}", self.disk.location())
    }
    fn create(&self) -> Result<()> {
        self.mutate(|| self.disk.create())
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        self.mutate(|| self.disk.write(kind, name, data))
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.disk.read(kind, name)
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.disk.read_range(kind, name, offset, len)
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        self.disk.size(kind, name)
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        self.disk.list(kind)
    }
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        self.mutate(|| self.disk.remove(kind, name))
    }
}

#[test]
fn the_wrapper_fails_exactly_after_its_budget() {
    for fatal in [Fatal::Before, Fatal::After] {
        let disk = Arc::new(MemoryBackend::new());
        let b = CrashBackend::new(disk.clone());
        let name = |i: u8| format!("{i:02x}").repeat(32);
        b.write(Kind::Index, &name(0), b"unarmed")
            .expect("unarmed write");
        b.arm(2, fatal);
        b.write(Kind::Index, &name(1), b"1").expect("first of two");
        b.remove(Kind::Index, &name(0)).expect("second of two");
        assert!(!b.crashed());
        assert!(b.write(Kind::Index, &name(2), b"fatal").is_err());
        assert!(b.crashed());
        assert!(b.write(Kind::Index, &name(3), b"dead").is_err());
        assert!(b.remove(Kind::Index, &name(1)).is_err());
        let mut on_disk: Vec<String> = disk
            .list(Kind::Index)
            .expect("list")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        on_disk.sort();
        let mut want = vec![name(1)];
        if fatal == Fatal::After {
            want.push(name(2));
        }
        assert_eq!(on_disk, want, "{fatal:?}");
        assert_eq!(b.read(Kind::Index, &name(1)).expect("reads work"), b"1");
    }
}
