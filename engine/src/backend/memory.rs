//! An in-memory backend for fast unit tests. It keeps the same contract as
//! the local backend (checked by the conformance suite); it is not durable.
//! It has no directories, links or foreign names: `write` refuses names
//! that are not valid for their kind, so it can hold nothing else.

use super::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Files in a map; cheap to create, gone when dropped.
#[derive(Default, Debug)]
pub struct MemoryBackend {
    files: Mutex<BTreeMap<(Kind, String), Vec<u8>>>,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Kind, String), Vec<u8>>> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn missing(kind: Kind, name: &str) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("{}: file not found", kind.path_of(name)),
        )
    }
}

impl Backend for MemoryBackend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }
    fn location(&self) -> String {
        "memory:".into()
    }
    fn create(&self) -> Result<()> {
        Ok(())
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        kind.check_name(name)?;
        self.lock().insert((kind, name.to_owned()), data.to_vec());
        Ok(())
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.lock()
            .get(&(kind, name.to_owned()))
            .cloned()
            .ok_or_else(|| Self::missing(kind, name))
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let files = self.lock();
        let data = files
            .get(&(kind, name.to_owned()))
            .ok_or_else(|| Self::missing(kind, name))?;
        let start = usize::try_from(offset).map_err(|_| Error::internal("offset too large"))?;
        let len = usize::try_from(len).map_err(|_| Error::internal("length too large"))?;
        start
            .checked_add(len)
            .and_then(|end| data.get(start..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                Error::corrupt(format!("{} is shorter than expected", kind.path_of(name)))
            })
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        self.lock()
            .get(&(kind, name.to_owned()))
            .map(|d| d.len() as u64)
            .ok_or_else(|| Self::missing(kind, name))
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        Ok(self
            .lock()
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, n), d)| (n.clone(), d.len() as u64))
            .collect())
    }
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        kind.check_name(name)?;
        self.lock().remove(&(kind, name.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance() {
        super::super::conformance::run(&super::MemoryBackend::new()).unwrap();
    }
}
