//! Writing one export volume (`format-spec/v1/export.md`).
//!
//! Invariants: a volume appears under its final name only when complete
//! and durable: it is built in `.<name>.partial` (files written through
//! the local backend: temporary, fsync, rename, fsync directory), its
//! manifest written last, then renamed (or, for the tar form, streamed
//! into `.<name>.tar.partial`, fsynced and renamed) and the destination
//! directory fsynced. A pack is copied only if the bytes read hash to its
//! name. Files and directories are private to the owner.

use crate::backend::{Backend, Kind, LocalBackend};
use crate::error::{Error, Result};
use crate::format::export::{sums_text, B3SUMS, SHA256SUMS};
use crate::format::ustar::{self, EntryKind};
use crate::id::PackId;
use crate::progress::check_interrupt;
use sha2::Digest;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const STRIPE: u64 = 1 << 20;

/// BLAKE3 and SHA-256 of a file.
type Digests = ([u8; 32], [u8; 32]);

fn io(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::from_io(format!("{what} {}", p.display()), e)
}

/// Create a private directory (and its parents).
pub(crate) fn private_dir(p: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(p)
        .map_err(|e| io("creating", p, e))
}

/// Durably write `bytes` to `path` (temporary, fsync, rename, fsync dir).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io("creating", &tmp, e))?;
    f.write_all(bytes).map_err(|e| io("writing", &tmp, e))?;
    f.sync_all().map_err(|e| io("syncing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io("renaming", &tmp, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing directory", dir, e))
}

fn digests(bytes: &[u8]) -> Digests {
    (
        *blake3::hash(bytes).as_bytes(),
        sha2::Sha256::digest(bytes).into(),
    )
}

/// A volume being written.
pub struct VolumeWriter {
    to: PathBuf,
    name: String,
    partial: PathBuf,
    backend: LocalBackend,
    known: BTreeMap<String, Digests>,
}

impl VolumeWriter {
    /// Start volume `name` in directory `to` (a leftover partial volume of
    /// a killed export is discarded).
    pub fn begin(to: &Path, name: &str) -> Result<Self> {
        let partial = to.join(format!(".{name}.partial"));
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(|e| io("removing", &partial, e))?;
        }
        private_dir(&partial)?;
        Ok(VolumeWriter {
            to: to.to_owned(),
            name: name.to_owned(),
            backend: LocalBackend::new(&partial),
            partial,
            known: BTreeMap::new(),
        })
    }

    /// The volume as a backend (for parity files).
    pub fn backend(&self) -> &LocalBackend {
        &self.backend
    }

    /// Store a repository file.
    pub fn put(&mut self, kind: Kind, name: &str, bytes: &[u8]) -> Result<()> {
        self.backend.write(kind, name, bytes)?;
        self.known.insert(kind.path_of(name), digests(bytes));
        Ok(())
    }

    /// Store one of the export's own plaintext files (label, catalogue).
    pub fn put_plain(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.partial.join(name), bytes)?;
        self.known.insert(name.to_owned(), digests(bytes));
        Ok(())
    }

    /// Copy pack `id` of `len` bytes from `src`, checking its name.
    pub fn copy_pack(&mut self, src: &dyn Backend, id: &PackId, len: u64) -> Result<()> {
        let name = id.to_hex();
        let mut w = self.backend.begin_write(Kind::Data)?;
        let (mut b3, mut sha) = (blake3::Hasher::new(), sha2::Sha256::new());
        let mut off = 0;
        while off < len {
            check_interrupt()?;
            let n = STRIPE.min(len - off);
            let piece = src.read_range(Kind::Data, &name, off, n)?;
            b3.update(&piece);
            sha.update(&piece);
            w.write_all(&piece)?;
            off += n;
        }
        let b3 = *b3.finalize().as_bytes();
        if b3 != id.0 {
            return Err(Error::corrupt(format!(
                "pack {} in the repository does not match its name (damaged); nothing was exported — run `scrub --repair` first",
                id.short()
            )));
        }
        w.commit(&name)?;
        self.known
            .insert(Kind::Data.path_of(&name), (b3, sha.finalize().into()));
        Ok(())
    }

    /// Write the manifest, then make the volume visible under its name
    /// (as a directory, or as `<name>.tar` when `tar_mtime` is given).
    /// Returns the volume's size in bytes.
    pub fn finish(self, tar_mtime: Option<u64>) -> Result<u64> {
        let files = walk(&self.partial)?;
        let (mut b3, mut sha) = (Vec::new(), Vec::new());
        for (rel, _) in files.iter().filter(|(_, d)| !*d) {
            let d = match self.known.get(rel) {
                Some(d) => *d,
                None => hash_file(&self.partial.join(rel))?,
            };
            b3.push((rel.clone(), d.0));
            sha.push((rel.clone(), d.1));
        }
        write_atomic(&self.partial.join(B3SUMS), &sums_text(b3))?;
        write_atomic(&self.partial.join(SHA256SUMS), &sums_text(sha))?;
        let files = walk(&self.partial)?;
        let size = match tar_mtime {
            None => {
                let fin = self.to.join(&self.name);
                // A repaired volume replaces the damaged one.
                let old = self.to.join(format!(".{}.old", self.name));
                let replacing = fs::symlink_metadata(&fin).is_ok_and(|m| m.is_dir());
                if replacing {
                    if old.exists() {
                        fs::remove_dir_all(&old).map_err(|e| io("removing", &old, e))?;
                    }
                    fs::rename(&fin, &old).map_err(|e| io("renaming", &fin, e))?;
                }
                fs::rename(&self.partial, &fin).map_err(|e| io("renaming", &self.partial, e))?;
                if replacing {
                    sync_dir(&self.to)?;
                    fs::remove_dir_all(&old).map_err(|e| io("removing", &old, e))?;
                }
                files.iter().map(|(rel, _)| file_len(&fin.join(rel))).sum()
            }
            Some(mtime) => {
                let fin = self.to.join(format!("{}.tar", self.name));
                let tmp = self.to.join(format!(".{}.tar.partial", self.name));
                let n = write_tar(&self.partial, &self.name, &files, mtime, &tmp)?;
                fs::rename(&tmp, &fin).map_err(|e| io("renaming", &tmp, e))?;
                fs::remove_dir_all(&self.partial).map_err(|e| io("removing", &self.partial, e))?;
                n
            }
        };
        sync_dir(&self.to)?;
        Ok(size)
    }
}

fn file_len(p: &Path) -> u64 {
    fs::symlink_metadata(p)
        .map(|m| if m.is_file() { m.len() } else { 0 })
        .unwrap_or(0)
}

/// BLAKE3 and SHA-256 of a file, read in stripes.
pub(crate) fn hash_file(p: &Path) -> Result<Digests> {
    let mut f = fs::File::open(p).map_err(|e| io("opening", p, e))?;
    hash_reader(&mut f).map_err(|e| io("reading", p, e))
}

/// BLAKE3 and SHA-256 of everything `r` yields.
pub(crate) fn hash_reader(r: &mut dyn Read) -> std::io::Result<Digests> {
    let (mut b3, mut sha) = (blake3::Hasher::new(), sha2::Sha256::new());
    let mut buf = vec![0u8; STRIPE as usize];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        b3.update(&buf[..n]);
        sha.update(&buf[..n]);
    }
    Ok((*b3.finalize().as_bytes(), sha.finalize().into()))
}

/// Every entry below `root` (relative paths with `/`, bytewise sorted,
/// `true` for directories), temporaries of unfinished writes excluded.
pub(crate) fn walk(root: &Path) -> Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    let mut todo = vec![String::new()];
    while let Some(rel) = todo.pop() {
        let dir = if rel.is_empty() {
            root.to_owned()
        } else {
            root.join(&rel)
        };
        for e in fs::read_dir(&dir).map_err(|e| io("listing", &dir, e))? {
            let e = e.map_err(|e| io("listing", &dir, e))?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let t = e.file_type().map_err(|e| io("listing", &dir, e))?;
            if t.is_dir() {
                out.push((path.clone(), true));
                todo.push(path);
            } else if t.is_file() {
                out.push((path, false));
            }
        }
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// Stream the volume directory into a ustar file; returns its length.
fn write_tar(
    dir: &Path,
    top: &str,
    files: &[(String, bool)],
    mtime: u64,
    out: &Path,
) -> Result<u64> {
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| io("creating", out, e))?;
    let mut w = TarOut {
        w: std::io::BufWriter::with_capacity(STRIPE as usize, f),
        n: 0,
        path: out,
    };
    w.put(&ustar::header(top, 0, EntryKind::Dir, mtime)?)?;
    for (rel, is_dir) in files {
        check_interrupt()?;
        let path = format!("{top}/{rel}");
        if *is_dir {
            w.put(&ustar::header(&path, 0, EntryKind::Dir, mtime)?)?;
            continue;
        }
        let p = dir.join(rel);
        let len = file_len(&p);
        w.put(&ustar::header(&path, len, EntryKind::File, mtime)?)?;
        let mut src = fs::File::open(&p).map_err(|e| io("opening", &p, e))?;
        let mut buf = vec![0u8; STRIPE as usize];
        let mut left = len;
        while left > 0 {
            let k = src.read(&mut buf).map_err(|e| io("reading", &p, e))?;
            if k == 0 {
                return Err(Error::internal(format!(
                    "{} shrank while being archived",
                    p.display()
                )));
            }
            let k = k.min(left as usize);
            w.put(&buf[..k])?;
            left -= k as u64;
        }
        let pad = (ustar::BLOCK - len % ustar::BLOCK) % ustar::BLOCK;
        w.put(&vec![0u8; pad as usize])?;
    }
    let end = ustar::archive_len(w.n) - w.n;
    w.put(&vec![0u8; end as usize])?;
    let n = w.n;
    let f =
        w.w.into_inner()
            .map_err(|e| io("writing", out, e.into_error()))?;
    f.sync_all().map_err(|e| io("syncing", out, e))?;
    Ok(n)
}

/// The tar file being written, counting its bytes.
struct TarOut<'a> {
    w: std::io::BufWriter<fs::File>,
    n: u64,
    path: &'a Path,
}

impl TarOut<'_> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.n += b.len() as u64;
        self.w.write_all(b).map_err(|e| io("writing", self.path, e))
    }
}
