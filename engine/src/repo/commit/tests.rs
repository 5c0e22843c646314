//! Unit tests of the blob writer: types never shared, every open pack
//! finished, blobs stored from several threads all packed.

use super::*;
use crate::backend::MemoryBackend;
use crate::crypto::KdfParams;
use crate::repo::lock::LockMode;
use crate::repo::InitOptions;
use std::sync::Arc;

fn repo(cache: &std::path::Path, pack_size: u32) -> Repository {
    let opts = InitOptions {
        kdf: KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        pack_size,
        ..InitOptions::default()
    };
    Repository::init(
        Arc::new(MemoryBackend::new()),
        b"pw",
        &opts,
        cache.to_path_buf(),
    )
    .unwrap()
}

/// Typed reads made a blob shared across types unreadable: a chunk
/// byte-identical to a stored tree must not be deduplicated into it.
#[test]
fn a_blob_is_never_shared_across_types() {
    let cache = tempfile::tempdir().unwrap();
    let repo = repo(cache.path(), InitOptions::default().pack_size);
    let lock = repo.lock(LockMode::Shared).unwrap();
    let w = BlobWriter::new(&repo, &lock).unwrap();
    let id = BlobId(repo.keys().blob_id(b"same bytes"));
    assert!(w.claim(&id, BlobType::Tree).unwrap());
    assert!(!w.claim(&id, BlobType::Tree).unwrap());
    assert!(w.is_stored(&id, BlobType::Tree).unwrap());
    assert!(!w.is_stored(&id, BlobType::Chunk).unwrap());
    assert!(w.claim(&id, BlobType::Chunk).is_err());
    w.abandon().unwrap();
}

/// Incompressible blobs of 8 KiB, distinct for each `(t, i)`.
fn blob(t: usize, i: usize) -> Vec<u8> {
    let mut data = vec![0u8; 8192];
    blake3::Hasher::new()
        .update(format!("thread {t} blob {i}").as_bytes())
        .finalize_xof()
        .fill(&mut data);
    data
}

fn put(repo: &Repository, w: &BlobWriter<'_>, data: &[u8]) -> BlobId {
    let id = BlobId(repo.keys().blob_id(data));
    assert!(w.claim(&id, BlobType::Chunk).unwrap());
    w.store(BlobType::Chunk, id, data, &mut Vec::new()).unwrap();
    id
}

/// A worker storing while another holds an open pack starts a second
/// one: `store_all` finishes every open pack, not just one.
#[test]
fn every_open_pack_is_finished() {
    let cache = tempfile::tempdir().unwrap();
    let repo = repo(cache.path(), InitOptions::default().pack_size);
    let lock = repo.lock(LockMode::Shared).unwrap();
    let w = BlobWriter::new(&repo, &lock).unwrap();
    let a = put(&repo, &w, &blob(0, 0));
    let held = super::lock(&w.data).pop().expect("a's pack is open");
    let b = put(&repo, &w, &blob(0, 1));
    super::lock(&w.data).push(held);
    assert_eq!(super::lock(&w.data).len(), 2);
    w.store_all().unwrap();
    assert_eq!(
        repo.backend()
            .list(crate::backend::Kind::Data)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(repo.read_blob(&a, BlobType::Chunk).unwrap(), blob(0, 0));
    assert_eq!(repo.read_blob(&b, BlobType::Chunk).unwrap(), blob(0, 1));
}

/// Blobs stored from several threads at once, into full packs and
/// packs still open at the end, are all packed, indexed and readable.
#[test]
fn blobs_stored_from_several_threads_are_all_packed() {
    let cache = tempfile::tempdir().unwrap();
    let repo = repo(cache.path(), 64 << 10);
    let lock = repo.lock(LockMode::Shared).unwrap();
    let w = BlobWriter::new(&repo, &lock).unwrap();
    std::thread::scope(|s| {
        for t in 0..3 {
            let (w, repo) = (&w, &repo);
            s.spawn(move || {
                for i in 0..40 {
                    put(repo, w, &blob(t, i));
                }
            });
        }
    });
    w.store_all().unwrap();
    let packs = repo.backend().list(crate::backend::Kind::Data).unwrap();
    assert!(packs.len() > 3, "64 KiB packs: {packs:?}");
    for t in 0..3 {
        for i in 0..40 {
            let data = blob(t, i);
            let id = BlobId(repo.keys().blob_id(&data));
            assert_eq!(repo.read_blob(&id, BlobType::Chunk).unwrap(), data);
        }
    }
}
