//! `cairn verify SNAPSHOT`: read every blob a snapshot references, check
//! each by AEAD tag and keyed hash, and compare what was recorded at backup
//! time — file and byte totals, and for MongoDB dumps the document count,
//! byte count and BLAKE3 of every collection. Writes nothing.
//!
//! Damage does not stop the run: every problem is collected, so one report
//! lists everything that is wrong.

use crate::error::Result;
use crate::format::mongodb::encode_name;
use crate::format::mongodb::next_document;
use crate::format::mongodb::Manifest;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind};
use crate::id::SnapshotId;
use crate::ops::Outcome;
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::{check_content_len, walk};
use crate::repo::browse::{load_manifest, ContentReader};
use crate::repo::Repository;
use std::collections::HashMap;
use std::io::Read;

/// One collection's recorded and found totals.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CollectionCheck {
    /// Database.
    pub db: String,
    /// Collection.
    #[serde(rename = "collection")]
    pub name: String,
    /// Documents found.
    #[serde(rename = "documents")]
    pub count: u64,
    /// Documents recorded.
    #[serde(rename = "expected_documents")]
    pub expected_count: u64,
    /// Bytes found.
    pub bytes: u64,
    /// Bytes recorded.
    pub expected_bytes: u64,
    /// Everything matched, including the BLAKE3 of the stream.
    pub ok: bool,
}

/// The outcome of `verify`.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// The snapshot verified.
    pub snapshot_id: SnapshotId,
    /// Snapshot source kind.
    pub source: String,
    /// Regular files read.
    pub files: u64,
    /// Content bytes read and verified.
    pub bytes: u64,
    /// Chunk blobs read (each verified by tag and hash).
    pub blobs: u64,
    /// Files recorded in the snapshot.
    pub expected_files: u64,
    /// Bytes recorded in the snapshot.
    pub expected_bytes: u64,
    /// MongoDB collections (empty for file snapshots).
    pub collections: Vec<CollectionCheck>,
    /// Every problem found.
    pub errors: Vec<String>,
}

impl VerifyReport {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl VerifyReport {
    /// Damage found or all verified.
    pub fn outcome(&self) -> Outcome {
        crate::ops::Outcome::of_audit(self.ok())
    }
}

#[derive(serde::Serialize)]
struct View<'a> {
    snapshot_id: SnapshotId,
    source: &'a str,
    ok: bool,
    files: u64,
    bytes: u64,
    blobs: u64,
    collections: &'a [CollectionCheck],
    errors: &'a [String],
}

/// The `--json` document of `verify`.
impl serde::Serialize for VerifyReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        View {
            snapshot_id: self.snapshot_id,
            source: &self.source,
            ok: self.ok(),
            files: self.files,
            bytes: self.bytes,
            blobs: self.blobs,
            collections: &self.collections,
            errors: &self.errors,
        }
        .serialize(s)
    }
}

struct Counted {
    count: u64,
    bytes: u64,
    hash: String,
}

fn read_bson_stream(r: &mut impl Read) -> Result<Counted> {
    let mut h = blake3::Hasher::new();
    let (mut count, mut bytes) = (0, 0);
    while let Some(doc) = next_document(r)? {
        check_interrupt()?;
        count += 1;
        bytes += doc.len() as u64;
        h.update(&doc);
    }
    Ok(Counted {
        count,
        bytes,
        hash: h.finalize().to_hex().to_string(),
    })
}

/// What reading one file found: its bytes (and, for a MongoDB stream,
/// which collection it is and its count), or what is wrong with it.
enum FileCheck {
    Read(u64, Option<(usize, Counted)>),
    Damaged(crate::Error),
}

/// Read one file's content, verifying every chunk; only an interruption
/// is an error, damage is the outcome.
fn check_file(
    repo: &Repository,
    path: &str,
    node: &Node,
    stream: Option<usize>,
    progress: &dyn Progress,
) -> Result<FileCheck> {
    check_interrupt()?;
    progress.file(std::path::Path::new(path));
    let interrupted = |e: &crate::Error| e.kind() == crate::ErrorKind::Interrupted;
    if let Err(e) = check_content_len(repo, node) {
        return if interrupted(&e) {
            Err(e)
        } else {
            Ok(FileCheck::Damaged(e))
        };
    }
    let mut reader = ContentReader::new(repo, node);
    let result = match stream {
        Some(i) => read_bson_stream(&mut reader).map(|c| (c.bytes, Some((i, c)))),
        None => std::io::copy(&mut reader, &mut std::io::sink())
            .map(|n| (n, None))
            .map_err(|e| crate::Error::from_io("reading", e)),
    };
    match result {
        Ok((n, counted)) => {
            progress.bytes(n);
            Ok(FileCheck::Read(n, counted))
        }
        Err(e) if interrupted(&e) => Err(e),
        Err(e) => Ok(FileCheck::Damaged(e)),
    }
}

/// Files checked per parallel batch of the streaming walk.
const VERIFY_BATCH: usize = 1024;

/// Checks batches of files and merges their outcomes into the report in
/// walk order, so the report does not depend on timing.
struct Checker<'a> {
    repo: &'a Repository,
    progress: &'a dyn Progress,
    /// MongoDB stream path → manifest entry.
    streams: &'a HashMap<String, usize>,
    report: &'a mut VerifyReport,
    /// What each MongoDB stream held.
    found: HashMap<usize, Counted>,
    file_errors: Vec<String>,
}

impl Checker<'_> {
    /// Read `files` in parallel (one per thread, or as many as the storage
    /// wants in flight), each through a streaming reader; only an
    /// interruption is an error.
    fn check(&mut self, files: Vec<(String, Node)>) -> Result<()> {
        use rayon::prelude::*;
        let (repo, progress, streams) = (self.repo, self.progress, self.streams);
        let checked: Vec<Result<FileCheck>> = files
            .par_iter()
            .map(|(path, node)| check_file(repo, path, node, streams.get(path).copied(), progress))
            .collect();
        for ((path, node), outcome) in files.iter().zip(checked) {
            let outcome = outcome?;
            self.report.files += 1;
            self.report.blobs += node
                .content
                .iter()
                .filter(|e| matches!(e, Extent::Chunk(_)))
                .count() as u64;
            match outcome {
                FileCheck::Read(n, counted) => {
                    self.report.bytes += n;
                    if let Some((i, c)) = counted {
                        self.found.insert(i, c);
                    }
                }
                FileCheck::Damaged(e) => self.file_errors.push(format!("{path}: {e}")),
            }
        }
        Ok(())
    }
}

/// Verify `snap` completely.
pub fn verify(
    repo: &Repository,
    id: &SnapshotId,
    snap: &Snapshot,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    repo.bypass_tree_cache();
    let mut report = VerifyReport {
        snapshot_id: *id,
        source: snap.source.clone(),
        expected_files: snap.stats.files,
        expected_bytes: snap.stats.bytes,
        ..VerifyReport::default()
    };
    let manifest: Option<Manifest> = if snap.source == "mongodb" {
        match load_manifest(repo, snap) {
            Ok(m) => Some(m),
            Err(e) => {
                report.errors.push(format!("manifest: {e}"));
                None
            }
        }
    } else {
        None
    };
    let mut streams: HashMap<String, usize> = HashMap::new();
    if let Some(m) = &manifest {
        for (i, c) in m.collections.iter().enumerate() {
            if c.kind != "view" {
                streams.insert(
                    format!("/{}/{}.bson", encode_name(&c.db), encode_name(&c.name)),
                    i,
                );
            }
        }
    }
    let mut checker = Checker {
        repo,
        progress,
        streams: &streams,
        report: &mut report,
        found: HashMap::new(),
        file_errors: Vec::new(),
    };
    // The walk streams: files are checked in batches as it meets them, so
    // memory follows one batch, not the number of files.
    let walked = crate::ops::io_bound(repo, || -> Result<Result<()>> {
        let mut batch: Vec<(String, Node)> = Vec::new();
        let walked = walk(repo, snap, b"/", true, &mut |p: &[u8], n: &Node| {
            if n.kind == NodeKind::File {
                batch.push((String::from_utf8_lossy(p).into_owned(), n.clone()));
                if batch.len() >= VERIFY_BATCH {
                    checker.check(std::mem::take(&mut batch))?;
                }
            }
            Ok(())
        });
        let walked = match walked {
            Err(e) if e.kind() == crate::ErrorKind::Interrupted => return Err(e),
            other => other,
        };
        checker.check(batch)?;
        Ok(walked)
    })?;
    let Checker {
        mut found,
        file_errors,
        ..
    } = checker;
    if let Err(e) = walked {
        report.errors.push(format!("trees: {e}"));
    }
    report.errors.extend(file_errors);
    if report.files != report.expected_files || report.bytes != report.expected_bytes {
        report.errors.push(format!(
            "totals differ from the backup record: {} files / {} bytes found, {} / {} recorded",
            report.files, report.bytes, report.expected_files, report.expected_bytes
        ));
    }
    if let Some(m) = manifest {
        for (i, c) in m.collections.iter().enumerate() {
            let got = found.remove(&i);
            let (count, bytes, ok) = match (&got, c.kind.as_str()) {
                (_, "view") => (0, 0, true),
                (Some(g), _) => (
                    g.count,
                    g.bytes,
                    g.count == c.count && g.bytes == c.bytes && g.hash == c.blake3,
                ),
                (None, _) => (0, 0, false),
            };
            if !ok {
                report.errors.push(format!(
                    "{}.{}: {count} documents / {bytes} bytes found, {} / {} recorded{}",
                    c.db,
                    c.name,
                    c.count,
                    c.bytes,
                    if got.is_none() {
                        " (stream unreadable or missing)"
                    } else {
                        ""
                    }
                ));
            }
            report.collections.push(CollectionCheck {
                db: c.db.clone(),
                name: c.name.clone(),
                expected_count: c.count,
                count,
                expected_bytes: c.bytes,
                bytes,
                ok,
            });
        }
    }
    Ok(report)
}
