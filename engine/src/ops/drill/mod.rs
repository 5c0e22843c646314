//! `cairn drill`: the recovery drill. Restore a snapshot somewhere
//! temporary — a directory, or temporary MongoDB databases — compare what
//! came back against the hashes recorded in the snapshot, report, and
//! clean up. It proves the whole path a real recovery takes.
//!
//! Files are compared chunk by chunk: each stored chunk's keyed BLAKE3 ID
//! is recomputed from the restored bytes at its offset, holes must read as
//! zeros, sizes must match. MongoDB collections are read back in dump
//! order and their BLAKE3 and document count compared with the manifest.

use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind};
use crate::id::BlobId;
use crate::ops::restore::{restore, RestoreOptions};
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::{check_content_len, walk};
use crate::repo::pack::BlobType;
use crate::repo::Repository;
#[cfg(feature = "mongodb")]
mod mongodb;
mod record;

#[cfg(feature = "mongodb")]
pub use mongodb::drill_mongodb;
pub use record::{DrillRecord, DrillTarget};

use std::io::Read;
use std::path::Path;

/// The outcome of a drill.
#[derive(Clone, Debug, Default)]
pub struct DrillReport {
    /// Files compared (file snapshots).
    pub files: u64,
    /// Bytes compared.
    pub bytes: u64,
    /// Collections compared (MongoDB snapshots).
    pub collections: u64,
    /// Documents compared.
    pub documents: u64,
    /// Everything that did not match.
    pub mismatches: Vec<String>,
}

fn compare_file(repo: &Repository, path: &Path, node: &Node) -> Result<Option<String>> {
    if let Err(e) = check_content_len(repo, node) {
        if e.kind() != crate::ErrorKind::Corrupt {
            return Err(e);
        }
        return Ok(Some(format!("{}: {e}", path.display())));
    }
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Ok(Some(format!("{}: not restored ({e})", path.display()))),
    };
    let mut buf = Vec::new();
    let mut total = 0u64;
    for e in &node.content {
        check_interrupt()?;
        let (len, want) = match e {
            Extent::Chunk(id) => (
                u64::from(repo.locate(&BlobId(id.0), BlobType::Chunk)?.entry.plain_len),
                Some(id.0),
            ),
            Extent::Hole(n) => (*n, None),
        };
        let mut left = len;
        let mut hasher = blake3::Hasher::new_keyed(&repo.keys().blob_id);
        while left > 0 {
            check_interrupt()?;
            buf.resize(left.min(1 << 20) as usize, 0);
            if let Err(e) = f.read_exact(&mut buf) {
                return Ok(Some(format!(
                    "{}: shorter than recorded ({e})",
                    path.display()
                )));
            }
            match want {
                Some(_) => {
                    hasher.update(&buf);
                }
                None if buf.iter().any(|b| *b != 0) => {
                    return Ok(Some(format!(
                        "{}: non-zero bytes in a hole at offset {total}",
                        path.display()
                    )))
                }
                None => {}
            }
            left -= buf.len() as u64;
        }
        if let Some(id) = want {
            if hasher.finalize().as_bytes() != &id {
                return Ok(Some(format!(
                    "{}: bytes at offset {total} do not match the recorded chunk",
                    path.display()
                )));
            }
        }
        total += len;
    }
    let mut extra = [0u8; 1];
    if f.read(&mut extra).map_err(|e| Error::io("reading", e))? != 0 {
        return Ok(Some(format!("{}: longer than recorded", path.display())));
    }
    Ok(None)
}

/// Drill a file (or stdin) snapshot through a temporary directory under
/// `tmp_root`, which is removed afterwards.
pub fn drill_files(
    repo: &Repository,
    snap: &Snapshot,
    tmp_root: &Path,
    progress: &dyn Progress,
) -> Result<DrillReport> {
    repo.bypass_tree_cache();
    let dir = tempdir_in(tmp_root)?;
    let result = (|| {
        restore(
            repo,
            snap,
            &RestoreOptions {
                target: dir.clone(),
                ..RestoreOptions::default()
            },
            progress,
        )?;
        let mut report = DrillReport::default();
        let mut files: Vec<(Vec<u8>, Node)> = Vec::new();
        walk(repo, snap, b"/", true, &mut |p, n| {
            if n.kind == NodeKind::File {
                files.push((p.to_vec(), n.clone()));
            }
            Ok(())
        })?;
        for (p, node) in files {
            use std::os::unix::ffi::OsStrExt;
            let rel = std::ffi::OsStr::from_bytes(p.strip_prefix(b"/").unwrap_or(&p));
            let path = dir.join(rel);
            progress.file(&path);
            report.files += 1;
            report.bytes += node.size;
            if let Some(m) = compare_file(repo, &path, &node)? {
                report.mismatches.push(m);
            }
        }
        Ok(report)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempdir_in(root: &Path) -> Result<std::path::PathBuf> {
    let mut rnd = [0u8; 8];
    crate::crypto::random_bytes(&mut rnd)?;
    let dir = root.join(format!("cairn-drill-{}", crate::id::hex_encode(&rnd)));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// Drill snapshot `id` into `target` (see the module docs). Always
/// returns a record; a drill that could not run has its error in it.
pub fn drill(
    repo: &Repository,
    id: &crate::id::SnapshotId,
    snap: &Snapshot,
    target: &DrillTarget,
    progress: &dyn Progress,
) -> DrillRecord {
    repo.bypass_tree_cache();
    let started = crate::format::tree::Timestamp::now();
    let clock = std::time::Instant::now();
    let result = match (target, snap.source.as_str()) {
        #[cfg(feature = "mongodb")]
        (DrillTarget::MongoDb(connect), "mongodb") => drill_mongodb(repo, snap, connect, progress),
        #[cfg(feature = "mongodb")]
        (DrillTarget::MongoDb(_), _) => Err(Error::invalid(
            "--to is for MongoDB snapshots; this one holds files",
        )),
        (DrillTarget::Directory(_), "mongodb") => Err(Error::invalid(
            "a MongoDB snapshot is drilled into a server: give --to mongodb://...",
        )),
        (DrillTarget::Directory(tmp), _) => drill_files(repo, snap, tmp, progress),
    };
    DrillRecord {
        snapshot_id: *id,
        source: snap.source.clone(),
        started,
        duration_secs: clock.elapsed().as_secs_f64(),
        result,
    }
}
