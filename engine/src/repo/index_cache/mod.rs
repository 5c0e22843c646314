//! The local RocksDB index cache.
//!
//! Keyed by repository ID under `<cache-root>/<repo-id>/index-v1`. Keys:
//!
//! * `b` + blob ID → pack ID | type | offset u64 | sealed_len u32 | plain_len u32
//! * `p` + pack ID → empty: a loaded index file names this pack
//! * `f` + index ID → empty: this index file's entries are loaded
//! * `v` → cache schema version
//! * `t` + tree ID → the tree blob's sealed bytes, as stored in a pack
//! * `h` + parity file name → that file's header, as stored (so a backup
//!   with parity reads only the headers of parity files new since the
//!   last run; entries of files no longer listed are dropped)
//!
//! Tree bytes spare remote storage a request per directory on every
//! backup (the parent snapshot's trees) and restore. They are only ever
//! used for a tree the index still locates, and opened like bytes read
//! from a pack (AEAD tag, keyed hash), so a stale or damaged entry is
//! dropped and read again, never believed.
//!
//! Invariants: a `b` entry is inserted only together (one atomic write
//! batch) with the `f` marker of an index file that lists it, so the cache
//! never knows a blob that no index file in the repository records (`t`
//! entries are bytes, not knowledge: a reader uses one only for a tree the
//! `b` entries locate). When an index
//! file it loaded has disappeared from the repository, the cache is wiped
//! and rebuilt. If another process holds the database, a private temporary
//! cache is built instead and removed afterwards.
//!
//! An index file that cannot be read (damaged, junk, too large) is skipped
//! and reported ([`IndexCache::unreadable`]); it gets no `f` marker, so
//! every sync tries it again. Readers then find what it covered through
//! [`IndexCache::locate`], which reads the trailers of the packs that no
//! loaded index file names. Those trailer-derived locations live only in
//! memory, never in the database, and [`IndexCache::get`] (what writers
//! deduplicate against) never returns them: a writer stores again what it
//! cannot find in a readable index file.

use crate::backend::{Backend, Kind};
use crate::crypto::Sealer;
use crate::error::{Error, ErrorKind, Result};
use crate::format::index::IndexFile;
use crate::format::pack::Reader;
use crate::id::{BlobId, IndexId, PackId};
use crate::repo::pack::{BlobEntry, BlobType};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod tuning;

use tuning::options;

const SCHEMA: &[u8] = b"cairn-index-cache-2";

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

/// Blob locations read from pack trailers (in memory only).
type Fallback = HashMap<BlobId, Location>;

/// The cache handle.
pub struct IndexCache {
    db: rocksdb::DB,
    temp_dir: Option<PathBuf>,
    /// Index files the last sync could not read, with why.
    unreadable: Mutex<Vec<(IndexId, String)>>,
    /// Built on the first miss of [`Self::locate`]; dropped whenever a
    /// sync loads something.
    fallback: Mutex<Option<Arc<Fallback>>>,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn db_err(what: &str, e: rocksdb::Error) -> Error {
    Error::new(ErrorKind::Io, format!("index cache: {what}: {e}"))
}

fn parity_key(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(b'h');
    k.extend_from_slice(name.as_bytes());
    k
}

fn key(prefix: u8, id: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = prefix;
    k[1..].copy_from_slice(id);
    k
}

/// Open the database with its default column family named, so that
/// batched lookups ([`IndexCache::get_many`]) have a handle to it.
fn open_db(path: &Path) -> std::result::Result<rocksdb::DB, rocksdb::Error> {
    let cf = rocksdb::ColumnFamilyDescriptor::new(rocksdb::DEFAULT_COLUMN_FAMILY_NAME, options());
    rocksdb::DB::open_cf_descriptors(&options(), path, [cf])
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
        match open_db(&dir.join("index-v1")) {
            Ok(db) => Ok(IndexCache {
                db,
                temp_dir: None,
                unreadable: Mutex::new(Vec::new()),
                fallback: Mutex::new(None),
            }),
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
        let db = open_db(&tmp).map_err(|e| db_err("opening temporary cache", e))?;
        set_private(&tmp);
        Ok(IndexCache {
            db,
            temp_dir: Some(tmp),
            unreadable: Mutex::new(Vec::new()),
            fallback: Mutex::new(None),
        })
    }

    /// Look up a blob in the readable index files. Writers deduplicate
    /// against this only.
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

    /// Look up many blobs at once, in `ids` order: one batched RocksDB
    /// MultiGet over the sorted keys, which shares index and filter block
    /// lookups between neighbouring keys (an unchanged file's chunks are
    /// checked this way, a directory at a time).
    pub fn get_many(&self, ids: &[BlobId]) -> Result<Vec<Option<Location>>> {
        let Some(cf) = self.db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME) else {
            return ids.iter().map(|id| self.get(id)).collect();
        };
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_unstable_by_key(|&i| ids[i].0);
        let keys: Vec<[u8; 33]> = order.iter().map(|&i| key(b'b', &ids[i].0)).collect();
        let found = self.db.batched_multi_get_cf(cf, &keys, true);
        let mut out = vec![None; ids.len()];
        for (&i, r) in order.iter().zip(found) {
            if let Some(v) = r.map_err(|e| db_err("lookup", e))? {
                out[i] = Some(Location::decode(ids[i], &v)?);
            }
        }
        Ok(out)
    }

    /// The sealed bytes of tree `id`, if cached (a failed lookup is a miss).
    pub fn cached_tree(&self, id: &BlobId) -> Option<Vec<u8>> {
        self.db.get(key(b't', &id.0)).ok().flatten()
    }

    /// Keep the sealed bytes of tree `id`. Best effort: the cache is an
    /// optimisation, a failed write only costs a later read.
    pub fn cache_tree(&self, id: &BlobId, sealed: &[u8]) {
        let _ = self.db.put(key(b't', &id.0), sealed);
    }

    /// Drop a tree entry that did not verify.
    pub fn forget_tree(&self, id: &BlobId) {
        let _ = self.db.delete(key(b't', &id.0));
    }

    /// Is the blob known?
    pub fn contains(&self, id: &BlobId) -> Result<bool> {
        Ok(self
            .db
            .get_pinned(key(b'b', &id.0))
            .map_err(|e| db_err("lookup", e))?
            .is_some())
    }

    /// Where a blob is, for readers: the readable index files first, then
    /// the trailers of packs that no readable index file names (a damaged
    /// or missing index file). The second answer is `true` when the
    /// location came from a trailer; it is never stored in the database.
    pub fn locate(
        &self,
        backend: &dyn Backend,
        sealer: &Sealer,
        id: &BlobId,
    ) -> Result<Option<(Location, bool)>> {
        if let Some(l) = self.get(id)? {
            return Ok(Some((l, false)));
        }
        let fallback = guard(&self.fallback).clone();
        let fallback = match fallback {
            Some(f) => f,
            None => {
                let built = Arc::new(self.build_fallback(backend, sealer)?);
                *guard(&self.fallback) = Some(built.clone());
                built
            }
        };
        Ok(fallback.get(id).map(|l| (*l, true)))
    }

    /// Read the trailers of every stored pack that no loaded index file
    /// names. Unreadable trailers are skipped (`check` and `scrub` report
    /// them).
    fn build_fallback(&self, backend: &dyn Backend, sealer: &Sealer) -> Result<Fallback> {
        let indexed = self.indexed_packs()?;
        let mut out = Fallback::new();
        for (name, _) in backend.list(Kind::Data)? {
            crate::progress::check_interrupt()?;
            let Ok(pack) = PackId::from_hex(&name) else {
                continue;
            };
            if indexed.contains(&pack) {
                continue;
            }
            if let Ok(entries) = crate::repo::pack::read_trailer(backend, sealer, &pack) {
                for entry in entries {
                    out.entry(entry.id).or_insert(Location { pack, entry });
                }
            }
        }
        Ok(out)
    }

    /// Packs named by the loaded index files.
    fn indexed_packs(&self) -> Result<HashSet<PackId>> {
        Ok(self.ids(b'p')?.into_iter().map(PackId).collect())
    }

    /// The IDs of every key that starts with `prefix`.
    fn ids(&self, prefix: u8) -> Result<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        self.for_each_key(prefix, |rest| {
            if let Ok(id) = <[u8; 32]>::try_from(rest) {
                out.push(id);
            }
        })?;
        Ok(out)
    }

    /// Call `f` with what follows `prefix` in every key that starts with it.
    fn for_each_key(&self, prefix: u8, mut f: impl FnMut(&[u8])) -> Result<()> {
        for item in self.db.prefix_iterator([prefix]) {
            let (k, _) = item.map_err(|e| db_err("scanning", e))?;
            match k.split_first() {
                Some((p, rest)) if *p == prefix => f(rest),
                _ => break,
            }
        }
        Ok(())
    }

    /// The header of parity file `name`, if cached (a failed lookup is a
    /// miss).
    pub fn parity_header(&self, name: &str) -> Option<Vec<u8>> {
        self.db.get(parity_key(name)).ok().flatten()
    }

    /// Remember the header of parity file `name` (best effort: the cache
    /// only saves reads).
    pub fn cache_parity_header(&self, name: &str, header: &[u8]) {
        let _ = self.db.put(parity_key(name), header);
    }

    /// Forget the cached headers of parity files not in `listed`.
    pub fn keep_parity_headers(&self, listed: &HashSet<&str>) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        self.for_each_key(b'h', |rest| {
            let name = std::str::from_utf8(rest).unwrap_or_default();
            if !listed.contains(name) {
                batch.delete([&[b'h'][..], rest].concat());
            }
        })?;
        self.db.write(batch).map_err(|e| db_err("writing", e))
    }

    /// Index files the last sync skipped because they could not be read,
    /// with why.
    pub fn unreadable(&self) -> Vec<(IndexId, String)> {
        guard(&self.unreadable).clone()
    }

    /// Record a committed index file's entries (one atomic batch).
    pub fn insert_index(&self, id: &IndexId, file: &IndexFile) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        for p in &file.packs {
            batch.put(key(b'p', &p.pack.0), b"");
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
        Ok(self.ids(b'f')?.into_iter().map(IndexId).collect())
    }

    fn wipe(&self) -> Result<()> {
        // Every key starts with one of b'b', b'f', b'p', b't', b'v'. Delete
        // all but the tree bytes (`t`) in range tombstones (constant
        // memory): tree bytes are only used for trees the rebuilt index
        // still locates, and verified, so they survive a rebuild and a
        // prune does not cost the next backup a read of every parent tree.
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range(&[0u8][..], &[b't'][..]);
        batch.delete_range(&[b't' + 1][..], &[0xffu8; 34][..]);
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
    /// An index file that cannot be read is skipped and listed in
    /// [`Self::unreadable`] (see the module docs).
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
        let mut changed = false;
        if !schema_ok || !loaded.is_subset(&listed) {
            changed = true;
            self.wipe()?;
            self.db
                .put(b"v", SCHEMA)
                .map_err(|e| db_err("writing", e))?;
            loaded.clear();
        }
        let mut todo: Vec<&IndexId> = listed.difference(&loaded).collect();
        todo.sort();
        let mut complete = true;
        // Index files are named by their content: one that could not be
        // read in this process is not read again (a copy put back under
        // the same name would be the same bytes).
        let mut unreadable: Vec<(IndexId, String)> = guard(&self.unreadable)
            .iter()
            .filter(|(id, _)| listed.contains(id))
            .cloned()
            .collect();
        for id in todo {
            if unreadable.iter().any(|(u, _)| u == id) {
                continue;
            }
            let file = backend
                .read_max(
                    Kind::Index,
                    &id.to_hex(),
                    crate::format::index::MAX_INDEX_FILE,
                )
                .and_then(|bytes| IndexFile::open(sealer, id, &bytes));
            match file {
                Ok(file) => {
                    self.insert_index(id, &file)?;
                    changed = true;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => complete = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => return Err(e),
                Err(e) => unreadable.push((*id, e.to_string())),
            }
        }
        *guard(&self.unreadable) = unreadable;
        if changed {
            *guard(&self.fallback) = None;
        }
        Ok(complete)
    }
}

impl Drop for IndexCache {
    fn drop(&mut self) {
        match &self.temp_dir {
            Some(dir) => {
                let _ = rocksdb::DB::destroy(&rocksdb::Options::default(), dir);
                let _ = std::fs::remove_dir_all(dir);
            }
            // Write what this process added (a backup's index entries and
            // trees) to a table file now, while it is in memory: left in
            // the write-ahead log, the next process to open the cache
            // replays it and writes the same table file, which made the
            // first re-backup after a backup of the benchmark corpus 0.15 s
            // (a quarter) slower than the next ones (perf: memtable
            // inserts, WAL checksums and table writes at open). Best
            // effort: the log still holds everything should this fail.
            None => {
                let _ = self.db.flush();
            }
        }
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(test)]
mod tests;
