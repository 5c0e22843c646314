//! Unit tests of the index cache: sync, unreadable index files, rebuilds.

use super::*;
use crate::backend::MemoryBackend;
use crate::format::index::PackEntries;

fn entry(b: u8) -> BlobEntry {
    BlobEntry {
        blob_type: BlobType::Chunk,
        id: BlobId([b; 32]),
        offset: 8,
        sealed_len: 41,
        plain_len: 1,
    }
}

/// A backend holding one index file that lists the blobs `[b; 32]` of
/// `blobs`, in one pack.
fn index_file_of(blobs: &[u8]) -> (tempfile::TempDir, MemoryBackend, Sealer, IndexId) {
    let backend = MemoryBackend::new();
    let sealer = Sealer::new(&[1; 32]);
    let f = IndexFile {
        supersedes: vec![],
        packs: vec![PackEntries {
            pack: PackId([9; 32]),
            blobs: blobs.iter().copied().map(entry).collect(),
        }],
    };
    let bytes = f.seal(&sealer, 3).unwrap();
    let id = IndexId(*blake3::hash(&bytes).as_bytes());
    backend.write(Kind::Index, &id.to_hex(), &bytes).unwrap();
    (tempfile::tempdir().unwrap(), backend, sealer, id)
}

/// A backend holding one index file that lists blob `[1; 32]`.
fn one_index_file() -> (tempfile::TempDir, MemoryBackend, Sealer, IndexId) {
    index_file_of(&[1])
}

#[test]
fn an_unreadable_index_file_is_skipped_and_reported() {
    let (dir, backend, sealer, _) = one_index_file();
    let junk = IndexId([7; 32]);
    backend.write(Kind::Index, &junk.to_hex(), b"junk").unwrap();
    let c = IndexCache::open(dir.path(), "r1").unwrap();
    c.sync(&backend, &sealer).unwrap();
    assert!(c.contains(&BlobId([1; 32])).unwrap());
    let bad = c.unreadable();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, junk);
    // Not marked loaded: it stays reported; once gone, it is forgotten.
    c.sync(&backend, &sealer).unwrap();
    assert_eq!(c.unreadable().len(), 1);
    backend.remove(Kind::Index, &junk.to_hex()).unwrap();
    c.sync(&backend, &sealer).unwrap();
    assert!(c.unreadable().is_empty());
    // A missing blob is looked up in trailers (none here): not found.
    assert!(c
        .locate(&backend, &sealer, &BlobId([2; 32]))
        .unwrap()
        .is_none());
    assert_eq!(
        c.locate(&backend, &sealer, &BlobId([1; 32])).unwrap(),
        Some((c.get(&BlobId([1; 32])).unwrap().unwrap(), false))
    );
}

#[test]
fn sync_loads_and_rebuilds() {
    let (dir, backend, sealer, id) = one_index_file();
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

#[test]
fn get_many_answers_like_get_in_the_order_asked() {
    let (dir, backend, sealer, _) = index_file_of(&[200, 3, 77, 150]);
    let c = IndexCache::open(dir.path(), "r1").unwrap();
    c.sync(&backend, &sealer).unwrap();
    // Unsorted, with misses and a repeat: each answer sits at its
    // question's place.
    let ask: Vec<BlobId> = [150, 4, 3, 200, 3, 0, 77]
        .into_iter()
        .map(|b| BlobId([b; 32]))
        .collect();
    let many = c.get_many(&ask).unwrap();
    let one: Vec<_> = ask.iter().map(|id| c.get(id).unwrap()).collect();
    assert_eq!(many, one);
    let hits: Vec<bool> = many.iter().map(Option::is_some).collect();
    assert_eq!(hits, [true, false, true, true, true, false, true]);
    assert!(c.get_many(&[]).unwrap().is_empty());
}

/// What a process added is in a table file when the cache closes, not
/// only in the write-ahead log for the next process to replay; and it is
/// all there when the cache is opened again.
#[test]
fn closing_writes_the_memtable_out() {
    let (dir, backend, sealer, _) = index_file_of(&[1, 2, 3]);
    let c = IndexCache::open(dir.path(), "r1").unwrap();
    c.sync(&backend, &sealer).unwrap();
    c.cache_tree(&BlobId([5; 32]), b"sealed tree");
    drop(c);
    let files: Vec<(String, u64)> = std::fs::read_dir(dir.path().join("r1").join("index-v1"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let len = e.metadata().unwrap().len();
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    assert!(
        files.iter().any(|(n, len)| n.ends_with(".sst") && *len > 0),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .all(|(n, len)| !n.ends_with(".log") || *len == 0),
        "{files:?}"
    );
    let c = IndexCache::open(dir.path(), "r1").unwrap();
    for b in [1, 2, 3] {
        assert!(c.contains(&BlobId([b; 32])).unwrap());
    }
    assert_eq!(
        c.cached_tree(&BlobId([5; 32])).as_deref(),
        Some(&b"sealed tree"[..])
    );
}
