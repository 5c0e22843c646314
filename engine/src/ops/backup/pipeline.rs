//! The backup pipeline: the [`Sink`] every source feeds.
//!
//! The source's thread cuts content with the keyed chunker, hashes each
//! chunk and asks the [`BlobWriter`] whether it is new. Only new chunks
//! (and trees) travel, in batches of about [`BATCH_BYTES`], through a
//! bounded channel to worker threads that compress, seal and pack them.
//! Memory is bounded by the channel depth times the batch size, the
//! chunker buffer and the open packs, not by the size of the input or of
//! the repository.
//!
//! Invariant: a worker's failure is kept and returned by the next batch
//! sent, so the source stops within a batch and no snapshot is written.

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotStats;
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::{BlobId, ChunkId, TreeId};
use crate::progress::{check_interrupt, Change, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use crate::source::{ChunkClass, Sink};
use crossbeam_channel::Sender;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use super::ChangeCounts;

/// New blobs go to the workers in batches of at least this many bytes
/// (or fewer at the end), so that small blobs (fine chunks, small files,
/// trees) do not each pay a channel hand-off and a thread wake-up: per
/// 8 KiB chunk these cost as much as compressing it (perf, issue 15).
const BATCH_BYTES: usize = 1 << 20;

type Job = Vec<(BlobType, BlobId, Vec<u8>)>;

/// The pipeline's side of one backup: what the source thread holds.
pub(super) struct Pipeline<'a, 'r> {
    repo: &'r Repository,
    writer: &'a BlobWriter<'r>,
    tx: Sender<Job>,
    failed: &'a Mutex<Option<Error>>,
    pub(super) stats: SnapshotStats,
    pub(super) warnings: Vec<String>,
    changes: ChangeCounts,
    progress: &'a dyn Progress,
    /// Read buffer reused for every stream (see `StreamChunker`).
    buf: Vec<u8>,
    /// New blobs not yet sent, and their bytes.
    batch: Job,
    batch_bytes: usize,
}

impl Pipeline<'_, '_> {
    fn send(&mut self, t: BlobType, id: BlobId, data: Vec<u8>) -> Result<()> {
        self.batch_bytes += data.len();
        self.batch.push((t, id, data));
        if self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Hand the batch to the workers; returns a worker's failure first.
    fn flush(&mut self) -> Result<()> {
        if let Some(e) = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        self.batch_bytes = 0;
        self.tx
            .send(std::mem::take(&mut self.batch))
            .map_err(|_| Error::internal("backup workers stopped unexpectedly"))
    }

    fn add_chunk(&mut self, data: &[u8]) -> Result<ChunkId> {
        let id = self.repo.keys().blob_id(data);
        if self.writer.claim(&BlobId(id), BlobType::Chunk)? {
            self.send(BlobType::Chunk, BlobId(id), data.to_vec())?;
        }
        Ok(ChunkId(id))
    }
}

impl Sink for Pipeline<'_, '_> {
    fn chunk(
        &mut self,
        reader: &mut dyn Read,
        content: &mut Vec<Extent>,
        class: ChunkClass,
        offset: u64,
        count_progress: bool,
    ) -> Result<std::io::Result<u64>> {
        let mut buf = std::mem::take(&mut self.buf);
        let mut sc = self.repo.stream_chunker(class, offset, reader, &mut buf);
        let mut total = 0u64;
        let result = loop {
            if let Err(e) = check_interrupt() {
                break Err(e);
            }
            match sc.next_chunk() {
                Ok(Some(chunk)) => {
                    total += chunk.len() as u64;
                    if count_progress {
                        self.progress.bytes(chunk.len() as u64);
                    }
                    match self.add_chunk(chunk) {
                        Ok(id) => content.push(Extent::Chunk(id)),
                        Err(e) => break Err(e),
                    }
                }
                Ok(None) => break Ok(Ok(total)),
                Err(e) => break Ok(Err(e)),
            }
        };
        self.buf = buf;
        result
    }

    fn tree(&mut self, mut tree: Tree) -> Result<TreeId> {
        for n in &tree.nodes {
            n.check_fields()?;
        }
        let bytes = tree.encode();
        let id = self.repo.keys().blob_id(&bytes);
        if self.writer.claim(&BlobId(id), BlobType::Tree)? {
            self.send(BlobType::Tree, BlobId(id), bytes)?;
        }
        Ok(TreeId(id))
    }

    fn tree_stored(&self, id: &TreeId) -> Result<bool> {
        self.writer.is_stored(&BlobId(id.0), BlobType::Tree)
    }

    fn are_stored(&self, contents: &[&[Extent]]) -> Result<Vec<bool>> {
        let ids: Vec<BlobId> = contents
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(|e| match e {
                Extent::Chunk(id) => Some(BlobId(id.0)),
                Extent::Hole(_) => None,
            })
            .collect();
        let stored = self.writer.are_stored(&ids, BlobType::Chunk)?;
        let mut at = 0;
        Ok(contents
            .iter()
            .map(|c| {
                let chunks = c.iter().filter(|e| matches!(e, Extent::Chunk(_))).count();
                let all = stored
                    .get(at..at + chunks)
                    .is_some_and(|s| s.iter().all(|&s| s));
                at += chunks;
                all
            })
            .collect())
    }

    fn parent_tree(&mut self, id: &TreeId) -> Result<Tree> {
        self.repo.read_tree(id)
    }

    fn warn(&mut self, msg: String) {
        self.progress.warn(&msg);
        self.warnings.push(msg);
    }

    fn stats(&mut self) -> &mut SnapshotStats {
        &mut self.stats
    }

    fn entry_done(&mut self, path: &Path, node: &Node, change: Change) {
        let is_dir = node.kind == NodeKind::Dir;
        self.changes.add(is_dir, change);
        let size = if node.kind == NodeKind::File {
            node.size
        } else {
            0
        };
        let kind = crate::ops::ls::kind_name(node.kind);
        self.progress.done(path, kind, size, change);
    }
}

/// What a pipeline run returns: the body's value, the snapshot's totals,
/// the warnings and the entries by change.
pub(super) type Walked<T> = (T, SnapshotStats, Vec<String>, ChangeCounts);

/// Run `body` on a fresh [`Pipeline`] whose blobs worker threads store;
/// returns what `body` returns with the pipeline's totals and warnings.
pub(super) fn run<'r, T>(
    repo: &'r Repository,
    writer: &BlobWriter<'r>,
    failed: &Mutex<Option<Error>>,
    progress: &dyn Progress,
    body: impl FnOnce(&mut Pipeline<'_, 'r>) -> Result<T>,
) -> Result<Walked<T>> {
    // As many workers as the rayon pool has threads: the CPUs this
    // process may use, or `RAYON_NUM_THREADS` (the one thread knob of
    // every operation, README "Performance").
    let workers = rayon::current_num_threads().clamp(1, 16);
    let (tx, rx) = crossbeam_channel::bounded::<Job>(workers);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let rx = rx.clone();
            s.spawn(move || {
                let mut scratch = Vec::new();
                for (t, id, data) in rx.into_iter().flatten() {
                    if let Err(e) = writer.store(t, id, &data, &mut scratch) {
                        let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                        if f.is_none() {
                            *f = Some(e);
                        }
                    }
                }
            });
        }
        drop(rx);
        let mut p = Pipeline {
            repo,
            writer,
            tx,
            failed,
            stats: SnapshotStats::default(),
            warnings: Vec::new(),
            changes: ChangeCounts::default(),
            progress,
            buf: Vec::new(),
            batch: Vec::new(),
            batch_bytes: 0,
        };
        // Even when the body failed (a stream broke off), what it already
        // read goes to the workers: those blobs are stored and indexed, so
        // the next backup reuses them.
        let out = body(&mut p);
        let flushed = p.flush();
        let out = out?;
        flushed?;
        Ok((out, p.stats, p.warnings, p.changes))
    })
}
