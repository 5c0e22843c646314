//! Reed-Solomon parity across groups of packs, so damaged or lost packs can
//! be rebuilt (`scrub --repair`), not just detected.
//!
//! A group is up to `k` packs (sorted by ID); each pack is one data shard,
//! zero-padded to the longest pack's length. `m` parity shards are computed
//! over GF(2^8) and each is stored in its own file `parity/<group>.<j>`,
//! which also carries the group's description and its own BLAKE3, so any
//! parity file can be verified and used alone and lives apart from the
//! packs it protects (it can be copied to other media). Parity is computed
//! from the packs' bytes, which are already encrypted: it reveals nothing
//! the packs do not. Work is done in 1 MiB stripes: memory is
//! `(k + m)` MiB whatever the pack sizes. Layout: `format-spec/v1/parity.md`.
//!
//! Modules: [`crate::format::parity`] (the header codec), [`mod@repair`] (healing packs and
//! parity files); this module groups packs and writes parity.

pub mod repair;

pub use crate::format::parity::{Group, PARITY_MAGIC, PARITY_VERSION};
pub use repair::{parity_ok, repair, RepairReport};

use crate::backend::{Backend, Kind};
use crate::error::{Error, Result};
use crate::id::PackId;
use crate::progress::{check_interrupt, Progress};
use crate::repo::lock::{LockGuard, LockMode};
use crate::repo::Repository;
use reed_solomon_erasure::galois_8::ReedSolomon;
use std::collections::{BTreeMap, HashSet};

/// Stripe size for encoding, reconstruction and streamed verification:
/// memory per file read stays at one stripe whatever its size.
pub(crate) const STRIPE: u64 = 1 << 20;

/// Groups by ID, each with the shard indexes whose files exist.
pub type Groups = BTreeMap<[u8; 32], (Group, Vec<u8>)>;

/// Every group named by the parity files present. Unreadable headers are
/// skipped (scrub reports those files).
pub fn groups(backend: &dyn Backend) -> Result<Groups> {
    let listed = backend.list(Kind::Parity)?;
    Ok(by_group(
        listed
            .iter()
            .map(|(name, size)| read_header(backend, name, *size)),
    ))
}

/// Parsed parity headers gathered by group; unreadable ones are skipped.
fn by_group(headers: impl Iterator<Item = Result<(Group, u8)>>) -> Groups {
    let mut out = Groups::new();
    for (g, j) in headers.flatten() {
        out.entry(g.id).or_insert_with(|| (g, Vec::new())).1.push(j);
    }
    out
}

/// As [`groups`], with the headers the local cache has seen taken from
/// it, so a backup with parity reads the headers of the parity files new
/// since the last run, not of every file (issue 15). A parity file is
/// never rewritten under its name (the group's ID, a hash of its members,
/// and the shard index), so a cached header stays true while the file is
/// listed; audits (scrub, repair) read the files themselves.
pub fn groups_cached(repo: &Repository) -> Result<Groups> {
    let backend = repo.backend();
    let cache = repo.index()?;
    let listed = backend.list(Kind::Parity)?;
    let out = by_group(
        listed
            .iter()
            .map(|(name, size)| match cache.parity_header(name) {
                Some(h) => Group::parse(&h),
                None => header_bytes(&**backend, name, *size).and_then(|h| {
                    let parsed = Group::parse(&h);
                    if parsed.is_ok() {
                        cache.cache_parity_header(name, &h);
                    }
                    parsed
                }),
            }),
    );
    cache.keep_parity_headers(&listed.iter().map(|(n, _)| n.as_str()).collect())?;
    Ok(out)
}

/// Read and parse the header of parity file `name` (`size` bytes long),
/// reading no more than the header.
fn read_header(backend: &dyn Backend, name: &str, size: u64) -> Result<(Group, u8)> {
    Group::parse(&header_bytes(backend, name, size)?)
}

/// The header bytes of parity file `name` (`size` bytes long).
fn header_bytes(backend: &dyn Backend, name: &str, size: u64) -> Result<Vec<u8>> {
    let prefix = backend.read_range(
        Kind::Parity,
        name,
        0,
        (crate::format::parity::FIXED as u64).min(size),
    )?;
    let len = Group::header_len_from(&prefix).min(size);
    backend.read_range(Kind::Parity, name, 0, len)
}

/// Read `len` bytes of pack `id` at `off`, zero-padded past its end.
pub(crate) fn pack_stripe(
    backend: &dyn Backend,
    id: &PackId,
    pack_len: u64,
    off: u64,
    len: u64,
) -> Result<Vec<u8>> {
    let mut v = if off < pack_len {
        backend.read_range(Kind::Data, &id.to_hex(), off, len.min(pack_len - off))?
    } else {
        Vec::new()
    };
    v.resize(len as usize, 0);
    Ok(v)
}

pub(crate) fn rs(k: usize, m: usize) -> Result<ReedSolomon> {
    ReedSolomon::new(k, m).map_err(|e| Error::internal(format!("Reed-Solomon {k}+{m}: {e:?}")))
}

/// Write the `m` parity files of `g` from its (intact) packs.
pub fn write_group(backend: &dyn Backend, g: &Group) -> Result<()> {
    write_shards(backend, backend, g, &(0..g.m).collect::<Vec<_>>())
}

/// Write parity files `shards` of `g` into `dst`, reading the packs from
/// `src` (an export reads the repository and writes a volume).
pub fn write_shards(src: &dyn Backend, dst: &dyn Backend, g: &Group, shards: &[u8]) -> Result<()> {
    let (k, m) = (g.packs.len(), usize::from(g.m));
    let code = rs(k, m)?;
    let mut outs = Vec::with_capacity(shards.len());
    for &j in shards {
        let mut w = dst.begin_write(Kind::Parity)?;
        let mut h = blake3::Hasher::new();
        let head = g.header(j);
        w.write_all(&head)?;
        h.update(&head);
        outs.push((w, h));
    }
    let mut off = 0;
    while off < g.shard_len {
        check_interrupt()?;
        let len = STRIPE.min(g.shard_len - off);
        let data: Vec<Vec<u8>> = g
            .packs
            .iter()
            .map(|(id, plen)| pack_stripe(src, id, *plen, off, len))
            .collect::<Result<_>>()?;
        let mut parity = vec![vec![0u8; len as usize]; m];
        code.encode_sep(&data, &mut parity)
            .map_err(|e| Error::internal(format!("Reed-Solomon: {e:?}")))?;
        for ((w, h), &j) in outs.iter_mut().zip(shards) {
            let p = &parity[usize::from(j)];
            w.write_all(p)?;
            h.update(p);
        }
        off += len;
    }
    for ((mut w, h), &j) in outs.into_iter().zip(shards) {
        w.write_all(h.finalize().as_bytes())?;
        w.commit(&g.file_name(j))?;
    }
    Ok(())
}

/// The result of `parity set` and `parity protect`. Serialized as their
/// `--json` document.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ParityReport {
    /// The repository's parity setting now: `K+M` or `off`.
    pub parity: String,
    /// Packs put into new parity groups by this run.
    pub newly_protected_packs: u64,
}

/// `parity set` (when `set` is `Some`: `K+M`, or `None` for off) followed
/// by `parity protect`: change the setting under an exclusive lock, then
/// protect every unprotected pack under a shared one.
pub fn parity(
    repo: &mut Repository,
    set: Option<Option<(u8, u8)>>,
    progress: &dyn Progress,
) -> Result<ParityReport> {
    if let Some(p) = set {
        let lock = repo.lock(LockMode::Exclusive)?;
        repo.set_parity(&lock, p)?;
    }
    let newly_protected_packs = {
        let lock = repo.lock(LockMode::Shared)?;
        protect(repo, &lock, progress)?
    };
    Ok(ParityReport {
        parity: repo
            .config()
            .parity
            .map(|(k, m)| format!("{k}+{m}"))
            .unwrap_or_else(|| "off".into()),
        newly_protected_packs,
    })
}

/// Put every pack that no parity group covers into new groups of up to
/// `k` packs. Returns the number of packs newly protected.
pub fn protect(repo: &Repository, lock: &LockGuard, progress: &dyn Progress) -> Result<u64> {
    Ok(protect_except(repo, lock, &HashSet::new(), progress)?.0)
}

/// Protect before deleting: treat the groups with a member in `gone` as
/// already dissolved, and put their surviving members (and any other
/// unprotected pack not in `gone`) into new groups. Returns the number of
/// packs newly protected and the parity files of the dissolved groups,
/// which the caller deletes once the packs in `gone` are deleted.
pub fn protect_except(
    repo: &Repository,
    lock: &LockGuard,
    gone: &HashSet<PackId>,
    progress: &dyn Progress,
) -> Result<(u64, Vec<String>)> {
    // Parity files are only ever added beside the packs they protect:
    // any live lock allows it, as it allows storing packs.
    lock.require(LockMode::Shared)?;
    let backend = repo.backend();
    let all = groups_cached(repo)?;
    let mut dissolved = Vec::new();
    let mut covered: HashSet<PackId> = HashSet::new();
    for (g, shards) in all.values() {
        if g.packs.iter().any(|p| gone.contains(&p.0)) {
            dissolved.extend(shards.iter().map(|j| g.file_name(*j)));
        } else {
            covered.extend(g.packs.iter().map(|p| p.0));
        }
    }
    let Some((k, m)) = repo.config().parity else {
        return Ok((0, dissolved));
    };
    // Packs a prune has condemned are not grouped: they are about to go.
    let condemned = crate::repo::gc::condemned_packs(repo)?;
    let mut todo: Vec<(PackId, u64)> = backend
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, size)| PackId::from_hex(&n).ok().map(|id| (id, size)))
        .filter(|(id, _)| !covered.contains(id) && !gone.contains(id) && !condemned.contains(id))
        .collect();
    todo.sort();
    let mut n = 0;
    for chunk in todo.chunks(usize::from(k)) {
        progress.file(std::path::Path::new("parity"));
        write_group(&**backend, &Group::new(chunk.to_vec(), m))?;
        n += chunk.len() as u64;
    }
    Ok((n, dissolved))
}

/// The BLAKE3 of `size` bytes of a file, read in stripes (memory stays
/// at one stripe whatever the file's size).
pub(crate) fn blake3_of(
    backend: &dyn Backend,
    kind: Kind,
    name: &str,
    size: u64,
) -> Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    let mut off = 0;
    while off < size {
        check_interrupt()?;
        let len = STRIPE.min(size - off);
        h.update(&backend.read_range(kind, name, off, len)?);
        off += len;
    }
    Ok(*h.finalize().as_bytes())
}
