//! Forging repository objects with the repository key: trees, chunks and
//! snapshots that a correct writer never produces, for tests of how
//! readers treat a hostile key holder or a buggy writer. Only public
//! engine APIs are used: blobs are sealed and packed like the writer does
//! ([`PackBuilder`], an index file naming the pack), snapshots sealed and
//! stored under the BLAKE3 of their bytes.

use crate::{Env, PASSWORD};
use cairn_engine::backend::{Backend, Kind, LocalBackend};
use cairn_engine::codec::index::{IndexFile, PackEntries};
use cairn_engine::codec::pack::{BlobEntry, BlobType};
use cairn_engine::codec::PackBuilder;
use cairn_engine::BlobId;
use cairn_engine::{
    ChunkId, Node, NodeKind, Repository, Snapshot, SnapshotId, SnapshotStats, Timestamp, Tree,
    TreeId,
};
use std::sync::Arc;

/// An open repository to forge objects into.
pub struct Forger {
    /// The repository (its own cache, so the binary's is untouched).
    pub repo: Repository,
    /// The same storage, written directly (the engine's API offers no
    /// unchecked writes: forging is what this test helper is for).
    pub backend: Arc<LocalBackend>,
}

impl Forger {
    /// Open the test repository of `env`.
    pub fn open(env: &Env) -> Forger {
        let backend = Arc::new(LocalBackend::new(&env.repo));
        let repo = Repository::open(
            backend.clone(),
            PASSWORD.as_bytes(),
            env.path("forger-cache"),
        )
        .expect("open repository");
        Forger { repo, backend }
    }

    /// Store blobs (type, plaintext) in one new pack and one index file;
    /// returns their IDs (keyed BLAKE3 of the plaintext).
    pub fn store(&self, blobs: &[(BlobType, Vec<u8>)]) -> Vec<[u8; 32]> {
        let backend: &dyn Backend = &*self.backend;
        let sealer = self.repo.sealer();
        let mut pb = PackBuilder::new(backend).expect("pack");
        let mut ids = Vec::new();
        for (t, plain) in blobs {
            let id = self.repo.keys().blob_id(plain);
            let payload = cairn_engine::codec::compression::compress(plain, 3);
            let sealed = sealer
                .seal_compact(t.object_type(), &id, &payload)
                .expect("seal blob");
            let entry = BlobEntry {
                blob_type: *t,
                id: BlobId(id),
                offset: 0,
                sealed_len: 0,
                plain_len: plain.len() as u32,
            };
            pb.add(entry, &sealed).expect("add blob");
            ids.push(id);
        }
        let fp = pb.finish(sealer).expect("finish pack");
        let index = IndexFile {
            supersedes: Vec::new(),
            packs: vec![PackEntries {
                pack: fp.id,
                blobs: fp.entries,
            }],
        };
        let bytes = index.seal(sealer, 3).expect("seal index");
        let name = blake3::hash(&bytes).to_hex().to_string();
        backend
            .write(Kind::Index, &name, &bytes)
            .expect("write index");
        ids
    }

    /// Store a chunk.
    pub fn chunk(&self, data: &[u8]) -> ChunkId {
        ChunkId(self.store(&[(BlobType::Chunk, data.to_vec())])[0])
    }

    /// Store a tree of `nodes` (sorted here); returns its ID and encoding.
    pub fn tree(&self, nodes: Vec<Node>) -> (TreeId, Vec<u8>) {
        let bytes = Tree { nodes }.encode();
        let id = self.store(&[(BlobType::Tree, bytes.clone())])[0];
        (TreeId(id), bytes)
    }

    /// A tree's ID and encoding without storing it (store many at once
    /// with [`Self::store`]).
    pub fn tree_unstored(&self, nodes: Vec<Node>) -> (TreeId, Vec<u8>) {
        let bytes = Tree { nodes }.encode();
        (TreeId(self.repo.keys().blob_id(&bytes)), bytes)
    }

    /// Store a files snapshot of `root` with the given recorded totals;
    /// its time is `secs` (seconds since 1970).
    pub fn snapshot(&self, root: TreeId, files: u64, dirs: u64, secs: i64) -> SnapshotId {
        let snap = Snapshot {
            time: Timestamp { secs, nanos: 0 },
            tree: root,
            paths: vec!["/forged".into()],
            host: "forger".into(),
            user: String::new(),
            tags: Vec::new(),
            parent: None,
            source: "files".into(),
            stats: SnapshotStats {
                files,
                dirs,
                ..SnapshotStats::default()
            },
            program: "forger".into(),
        };
        let bytes = snap.seal(self.repo.sealer()).expect("seal snapshot");
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        self.backend
            .write(Kind::Snapshot, &id.to_hex(), &bytes)
            .expect("write snapshot");
        id
    }
}

/// A regular-file node of `size` bytes made of `content`.
pub fn file(name: &str, size: u64, content: Vec<cairn_engine::codec::tree::Extent>) -> Node {
    let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::File);
    n.mode = 0o644;
    n.size = size;
    n.content = content;
    n
}

/// A directory node listing `subtree`.
pub fn dir(name: &str, subtree: TreeId) -> Node {
    let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::Dir);
    n.mode = 0o755;
    n.subtree = Some(subtree);
    n
}
