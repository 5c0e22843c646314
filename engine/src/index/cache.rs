//! The local RocksDB index cache.
//!
//! Keyed by repository ID under `<cache-root>/<repo-id>/index-v1`. Keys:
//!
//! * `b` + blob ID → pack ID | type | offset u64 | sealed_len u32 | plain_len u32
//! * `f` + index ID → empty: this index file's entries are loaded
//! * `v` → cache schema version
//!
//! Invariants: an entry is inserted only together (one atomic write batch)
//! with the `f` marker of an index file that lists it, so the cache never
//! knows a blob that no index file in the repository records. When an index
//! file it loaded has disappeared from the repository, the cache is wiped
//! and rebuilt. If another process holds the database, a private temporary
//! cache is built instead and removed afterwards.

use super::file::IndexFile;
use crate::backend::{Backend, Kind};
use crate::crypto::Sealer;
use crate::error::{Error, ErrorKind, Result};
use crate::id::{BlobId, IndexId, PackId};
use crate::pack::format::Reader;
use crate::pack::{BlobEntry, BlobType};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const SCHEMA: &[u8] = b"cairn-index-cache-1";

/// Where a blob is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The pack holding it.
    pub pack: PackId,
    /// Its entry in that pack.
    pub entry: BlobEntry,
}

impl Location {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(49);
        v.extend_from_slice(&self.pack.0);
        v.push(self.entry.blob_type.object_type() as u8);
        v.extend_from_slice(&self.entry.offset.to_le_bytes());
        v.extend_from_slice(&self.entry.sealed_len.to_le_bytes());
        v.extend_from_slice(&self.entry.plain_len.to_le_bytes());
        v
    }

    fn decode(id: BlobId, v: &[u8]) -> Result<Self> {
        let mut r = Reader::new(v, "index cache entry");
        let pack = PackId(r.array()?);
        let blob_type = BlobType::from_u8(r.u8()?)?;
        Ok(Location {
            pack,
            entry: BlobEntry {
                blob_type,
                id,
                offset: r.u64()?,
                sealed_len: r.u32()?,
                plain_len: r.u32()?,
            },
        })
    }
}

/// The cache handle.
pub struct IndexCache {
    db: rocksdb::DB,
    temp_dir: Option<PathBuf>,
}

fn db_err(what: &str, e: rocksdb::Error) -> Error {
    Error::new(ErrorKind::Io, format!("index cache: {what}: {e}"))
}

fn options() -> rocksdb::Options {
    let mut o = rocksdb::Options::default();
    o.create_if_missing(true);
    o.set_max_open_files(128);
    o.set_write_buffer_size(16 << 20);
    o.set_max_background_jobs(2);
    o.set_keep_log_file_num(2);
    o
}

fn key(prefix: u8, id: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = prefix;
    k[1..].copy_from_slice(id);
    k
}

impl IndexCache {
    /// Open (creating if needed) the cache for repository `repo_id`.
    /// Falls back to a private temporary cache when the cache directory
    /// cannot be created or another process holds the database.
    pub fn open(cache_root: &Path, repo_id: &str) -> Result<Self> {
        let dir = cache_root.join(repo_id);
        let created = {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
        };
        if created.is_err() {
            return Self::open_temp(&std::env::temp_dir());
        }
        set_private(&dir);
        match rocksdb::DB::open(&options(), dir.join("index-v1")) {
            Ok(db) => Ok(IndexCache { db, temp_dir: None }),
            Err(e) if e.to_string().contains("lock") => Self::open_temp(&dir),
            Err(e) => Err(db_err("opening", e)),
        }
    }

    fn open_temp(parent: &Path) -> Result<Self> {
        let mut rnd = [0u8; 8];
        crate::crypto::random_bytes(&mut rnd)?;
        let tmp = parent.join(format!(
            "cairn-tmp-cache-{}-{}",
            std::process::id(),
            crate::id::hex_encode(&rnd)
        ));
        let db = rocksdb::DB::open(&options(), &tmp)
            .map_err(|e| db_err("opening temporary cache", e))?;
        set_private(&tmp);
        Ok(IndexCache {
            db,
            temp_dir: Some(tmp),
        })
    }

    /// Look up a blob.
    pub fn get(&self, id: &BlobId) -> Result<Option<Location>> {
        match self
            .db
            .get_pinned(key(b'b', &id.0))
            .map_err(|e| db_err("lookup", e))?
        {
            Some(v) => Location::decode(*id, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Is the blob known?
    pub fn contains(&self, id: &BlobId) -> Result<bool> {
        Ok(self
            .db
            .get_pinned(key(b'b', &id.0))
            .map_err(|e| db_err("lookup", e))?
            .is_some())
    }

    /// Record a committed index file's entries (one atomic batch).
    pub fn insert_index(&self, id: &IndexId, file: &IndexFile) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        for p in &file.packs {
            for e in &p.blobs {
                batch.put(
                    key(b'b', &e.id.0),
                    Location {
                        pack: p.pack,
                        entry: *e,
                    }
                    .encode(),
                );
            }
        }
        batch.put(key(b'f', &id.0), b"");
        self.db.write(batch).map_err(|e| db_err("writing", e))
    }

    fn loaded_index_files(&self) -> Result<HashSet<IndexId>> {
        let mut out = HashSet::new();
        for item in self.db.prefix_iterator([b'f']) {
            let (k, _) = item.map_err(|e| db_err("scanning", e))?;
            if k.first() != Some(&b'f') {
                break;
            }
            if let Some(id) = k.get(1..).and_then(|b| IndexId::from_slice(b).ok()) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    fn wipe(&self) -> Result<()> {
        // Every key starts with one of b'b', b'f', b'v': delete the whole
        // key space in one range tombstone (constant memory).
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range(&[0u8][..], &[0xffu8; 34][..]);
        self.db.write(batch).map_err(|e| db_err("wiping", e))
    }

    /// Bring the cache in step with the repository's index files: load new
    /// ones; rebuild from scratch if one it loaded has gone or the schema
    /// changed. Memory holds one index file at a time.
    ///
    /// An index file that vanishes before it is read was replaced by a
    /// prune (its replacement was stored first): it is skipped and the
    /// listing taken again, a few times at most. If the index keeps
    /// changing, the cache stays incomplete — never wrong: it then lacks
    /// blobs (a writer stores them again, a reader re-syncs on a miss).
    pub fn sync(&self, backend: &dyn Backend, sealer: &Sealer) -> Result<()> {
        for _ in 0..5 {
            if self.sync_once(backend, sealer)? {
                break;
            }
        }
        Ok(())
    }

    /// One pass; `false` if a listed file vanished before it was read.
    fn sync_once(&self, backend: &dyn Backend, sealer: &Sealer) -> Result<bool> {
        let listed: HashSet<IndexId> = backend
            .list(Kind::Index)?
            .into_iter()
            .filter_map(|(n, _)| IndexId::from_hex(&n).ok())
            .collect();
        let schema_ok = self
            .db
            .get(b"v")
            .map_err(|e| db_err("reading", e))?
            .as_deref()
            == Some(SCHEMA);
        let mut loaded = self.loaded_index_files()?;
        if !schema_ok || !loaded.is_subset(&listed) {
            self.wipe()?;
            self.db
                .put(b"v", SCHEMA)
                .map_err(|e| db_err("writing", e))?;
            loaded.clear();
        }
        let mut todo: Vec<&IndexId> = listed.difference(&loaded).collect();
        todo.sort();
        let mut complete = true;
        for id in todo {
            let bytes = match backend.read(Kind::Index, &id.to_hex()) {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    complete = false;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let file = IndexFile::open(sealer, id, &bytes)?;
            self.insert_index(id, &file)?;
        }
        Ok(complete)
    }
}

impl Drop for IndexCache {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = rocksdb::DB::destroy(&rocksdb::Options::default(), dir);
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;
    use crate::index::file::PackEntries;

    fn entry(b: u8) -> BlobEntry {
        BlobEntry {
            blob_type: BlobType::Chunk,
            id: BlobId([b; 32]),
            offset: 8,
            sealed_len: 41,
            plain_len: 1,
        }
    }

    #[test]
    fn sync_loads_and_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let backend = MemoryBackend::new();
        let sealer = Sealer::new(&[1; 32]);
        let f = IndexFile {
            supersedes: vec![],
            packs: vec![PackEntries {
                pack: PackId([9; 32]),
                blobs: vec![entry(1)],
            }],
        };
        let bytes = f.seal(&sealer, 3).unwrap();
        let id = IndexId(*blake3::hash(&bytes).as_bytes());
        backend.write(Kind::Index, &id.to_hex(), &bytes).unwrap();
        {
            let c = IndexCache::open(dir.path(), "r1").unwrap();
            c.sync(&backend, &sealer).unwrap();
            let loc = c.get(&BlobId([1; 32])).unwrap().unwrap();
            assert_eq!(loc.pack, PackId([9; 32]));
            // A second handle while the first is open falls back to a temp cache.
            let c2 = IndexCache::open(dir.path(), "r1").unwrap();
            assert!(c2.temp_dir.is_some());
            c2.sync(&backend, &sealer).unwrap();
            assert!(c2.contains(&BlobId([1; 32])).unwrap());
        }
        // Index file removed: the cache forgets its blobs.
        backend.remove(Kind::Index, &id.to_hex()).unwrap();
        let c = IndexCache::open(dir.path(), "r1").unwrap();
        c.sync(&backend, &sealer).unwrap();
        assert!(!c.contains(&BlobId([1; 32])).unwrap());
    }
}
