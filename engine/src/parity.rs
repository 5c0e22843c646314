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

use crate::backend::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{hex_encode, PackId};
use crate::pack::format::Reader;
use crate::progress::{check_interrupt, Progress};
use crate::repo::Repository;
use reed_solomon_erasure::galois_8::ReedSolomon;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Magic of a parity file.
pub const PARITY_MAGIC: [u8; 4] = *b"CRNR";
/// Parity file version.
pub const PARITY_VERSION: u8 = 1;
/// Bytes of the fixed header part.
const FIXED: usize = 48;
/// Stripe size for encoding and reconstruction.
const STRIPE: u64 = 1 << 20;

/// A parity group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// BLAKE3 of the member list encoding.
    pub id: [u8; 32],
    /// Data packs and their lengths, sorted by ID.
    pub packs: Vec<(PackId, u64)>,
    /// Parity shards.
    pub m: u8,
    /// Shard length (the longest pack).
    pub shard_len: u64,
}

fn members(packs: &[(PackId, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packs.len() * 40);
    for (id, len) in packs {
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}

impl Group {
    /// A group over `packs` with `m` parity shards.
    pub fn new(mut packs: Vec<(PackId, u64)>, m: u8) -> Self {
        packs.sort();
        let shard_len = packs.iter().map(|p| p.1).max().unwrap_or(0);
        Group {
            id: *blake3::hash(&members(&packs)).as_bytes(),
            packs,
            m,
            shard_len,
        }
    }

    /// File name of parity shard `j`.
    pub fn file_name(&self, j: u8) -> String {
        format!("{}.{j}", hex_encode(&self.id))
    }

    /// Header of parity file `j`.
    pub fn header(&self, j: u8) -> Vec<u8> {
        let mut h = PARITY_MAGIC.to_vec();
        h.push(PARITY_VERSION);
        h.push(self.packs.len() as u8);
        h.push(self.m);
        h.push(j);
        h.extend_from_slice(&self.shard_len.to_le_bytes());
        h.extend_from_slice(&self.id);
        h.extend_from_slice(&members(&self.packs));
        h
    }

    fn header_len(&self) -> u64 {
        (FIXED + 40 * self.packs.len()) as u64
    }

    /// Parse a header (at least [`FIXED`] + 40·k bytes); never panics.
    /// Returns the group and the shard index.
    pub fn parse(bytes: &[u8]) -> Result<(Group, u8)> {
        let mut r = Reader::new(bytes, "parity file");
        if r.take(4)? != PARITY_MAGIC {
            return Err(Error::corrupt("parity file does not start with 'CRNR'"));
        }
        let version = r.u8()?;
        if version != PARITY_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("parity file version {version} is not supported"),
            ));
        }
        let (k, m, j) = (r.u8()?, r.u8()?, r.u8()?);
        if k == 0 || m == 0 || j >= m || usize::from(k) + usize::from(m) > 255 {
            return Err(Error::corrupt("parity file has invalid shard counts"));
        }
        let shard_len = r.u64()?;
        let id: [u8; 32] = r.array()?;
        let mut packs = Vec::with_capacity(usize::from(k));
        for _ in 0..k {
            packs.push((PackId(r.array()?), r.u64()?));
        }
        let g = Group::new(packs, m);
        if g.id != id || g.shard_len != shard_len {
            return Err(Error::corrupt("parity file header is inconsistent"));
        }
        Ok((g, j))
    }
}

/// Groups by ID, each with the shard indexes whose files exist.
pub type Groups = BTreeMap<[u8; 32], (Group, Vec<u8>)>;

/// Every group named by the parity files present. Unreadable headers are
/// skipped (scrub reports those files).
pub fn groups(backend: &dyn Backend) -> Result<Groups> {
    let mut out = Groups::new();
    for (name, size) in backend.list(Kind::Parity)? {
        let head = backend.read_range(Kind::Parity, &name, 0, (FIXED as u64).min(size));
        let Ok(head) = head else { continue };
        let k = u64::from(head.get(5).copied().unwrap_or(0));
        let Ok(full) =
            backend.read_range(Kind::Parity, &name, 0, (FIXED as u64 + 40 * k).min(size))
        else {
            continue;
        };
        if let Ok((g, j)) = Group::parse(&full) {
            out.entry(g.id).or_insert_with(|| (g, Vec::new())).1.push(j);
        }
    }
    Ok(out)
}

/// Read `len` bytes of pack `id` at `off`, zero-padded past its end.
fn pack_stripe(
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

fn rs(k: usize, m: usize) -> Result<ReedSolomon> {
    ReedSolomon::new(k, m).map_err(|e| Error::invalid(format!("Reed-Solomon {k}+{m}: {e:?}")))
}

/// Write the `m` parity files of `g` from its (intact) packs.
pub fn write_group(backend: &dyn Backend, g: &Group) -> Result<()> {
    let (k, m) = (g.packs.len(), usize::from(g.m));
    let code = rs(k, m)?;
    let mut outs = Vec::with_capacity(m);
    for j in 0..g.m {
        let mut w = backend.begin_write(Kind::Parity)?;
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
            .map(|(id, plen)| pack_stripe(backend, id, *plen, off, len))
            .collect::<Result<_>>()?;
        let mut parity = vec![vec![0u8; len as usize]; m];
        code.encode_sep(&data, &mut parity)
            .map_err(|e| Error::invalid(format!("Reed-Solomon: {e:?}")))?;
        for ((w, h), p) in outs.iter_mut().zip(&parity) {
            w.write_all(p)?;
            h.update(p);
        }
        off += len;
    }
    for (j, (mut w, h)) in outs.into_iter().enumerate() {
        w.write_all(h.finalize().as_bytes())?;
        w.commit(&g.file_name(j as u8))?;
    }
    Ok(())
}

/// Put every pack that no parity group covers into new groups of up to
/// `k` packs. Returns the number of packs newly protected.
pub fn protect(repo: &Repository, progress: &dyn Progress) -> Result<u64> {
    Ok(protect_except(repo, &HashSet::new(), progress)?.0)
}

/// Protect before deleting: treat the groups with a member in `gone` as
/// already dissolved, and put their surviving members (and any other
/// unprotected pack not in `gone`) into new groups. Returns the number of
/// packs newly protected and the parity files of the dissolved groups,
/// which the caller deletes once the packs in `gone` are deleted.
pub fn protect_except(
    repo: &Repository,
    gone: &HashSet<PackId>,
    progress: &dyn Progress,
) -> Result<(u64, Vec<String>)> {
    let backend = repo.backend();
    let all = groups(&**backend)?;
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
    let condemned = crate::prune::condemned_packs(repo)?;
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

/// Is pack `id` intact (exists, right length, BLAKE3 equals its name)?
fn pack_ok(backend: &dyn Backend, id: &PackId, len: u64) -> bool {
    let name = id.to_hex();
    backend.size(Kind::Data, &name).ok() == Some(len)
        && blake3_of(backend, Kind::Data, &name, len).is_ok_and(|h| h == id.0)
}

/// Is parity file `name` intact: a valid header, exactly the length that
/// header implies, and a matching trailing BLAKE3? Read in stripes, after
/// the size was checked, so a huge junk file costs neither memory nor a
/// full read.
pub fn parity_ok(backend: &dyn Backend, name: &str) -> bool {
    let Ok(size) = backend.size(Kind::Parity, name) else {
        return false;
    };
    let Ok(head) = backend.read_range(Kind::Parity, name, 0, (FIXED as u64).min(size)) else {
        return false;
    };
    let k = u64::from(head.get(5).copied().unwrap_or(0));
    let header_len = FIXED as u64 + 40 * k;
    let Ok(header) = backend.read_range(Kind::Parity, name, 0, header_len.min(size)) else {
        return false;
    };
    let Ok((g, _)) = Group::parse(&header) else {
        return false;
    };
    let body = g.header_len() + g.shard_len;
    if body.checked_add(32) != Some(size) {
        return false;
    }
    match (
        blake3_of(backend, Kind::Parity, name, body),
        backend.read_range(Kind::Parity, name, body, 32),
    ) {
        (Ok(h), Ok(sum)) => h[..] == sum[..],
        _ => false,
    }
}

/// Copy pack `id` from another repository in stripes, and commit it only
/// if its BLAKE3 equals its name. `Ok(false)`: the copy lacks it or has
/// it damaged; `Err`: writing here failed.
fn copy_pack(from: &dyn Backend, to: &dyn Backend, id: &PackId) -> Result<bool> {
    let name = id.to_hex();
    let Ok(size) = from.size(Kind::Data, &name) else {
        return Ok(false);
    };
    let mut w = to.begin_write(Kind::Data)?;
    let mut h = blake3::Hasher::new();
    let mut off = 0;
    while off < size {
        check_interrupt()?;
        let len = STRIPE.min(size - off);
        let Ok(piece) = from.read_range(Kind::Data, &name, off, len) else {
            return Ok(false);
        };
        h.update(&piece);
        w.write_all(&piece)?;
        off += len;
    }
    if h.finalize().as_bytes() != &id.0 {
        return Ok(false); // dropping `w` discards the temporary
    }
    w.commit(&name)?;
    Ok(true)
}

/// What `repair` did.
#[derive(Clone, Debug, Default)]
pub struct RepairReport {
    /// Packs rebuilt (from parity or another repository).
    pub repaired: Vec<PackId>,
    /// Parity files rewritten.
    pub parity_rewritten: u64,
    /// Packs that could not be rebuilt, and why.
    pub failed: Vec<(PackId, String)>,
}

/// Rebuild `targets` (damaged or missing packs): from `from` (another
/// repository holding the same packs) if given, else from parity. A pack
/// is written only if its BLAKE3 equals its name. Damaged parity files of
/// the groups touched are regenerated afterwards.
pub fn repair(
    repo: &Repository,
    targets: &[PackId],
    from: Option<&dyn Backend>,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    let backend = repo.backend();
    let mut report = RepairReport::default();
    let mut left: Vec<PackId> = Vec::new();
    // A pack a prune has condemned is never brought back (gc.md).
    let condemned = crate::prune::condemned_packs(repo)?;
    for id in targets.iter().filter(|p| !condemned.contains(p)) {
        let copied = match from {
            Some(f) => copy_pack(f, &**backend, id)?,
            None => false,
        };
        match copied {
            true => report.repaired.push(*id),
            false => left.push(*id),
        }
    }
    let all = groups(&**backend)?;
    let mut by_group: HashMap<[u8; 32], Vec<PackId>> = HashMap::new();
    for id in left {
        match all
            .values()
            .find(|(g, _)| g.packs.iter().any(|p| p.0 == id))
        {
            Some((g, _)) => by_group.entry(g.id).or_default().push(id),
            None => report.failed.push((
                id,
                match from {
                    Some(_) => "no parity group covers this pack, and the copy given with --from does not hold it intact",
                    None => "no parity group covers this pack, and no copy of the repository was given (--from DIR)",
                }
                .into(),
            )),
        }
    }
    for (gid, want) in by_group {
        check_interrupt()?;
        let Some((g, _)) = all.get(&gid) else {
            continue;
        };
        progress.file(std::path::Path::new(&hex_encode(&gid)));
        match rebuild(&**backend, g, &want) {
            Ok(()) => report.repaired.extend(want),
            Err(e) => report
                .failed
                .extend(want.into_iter().map(|id| (id, e.message().to_owned()))),
        }
    }
    // Regenerate damaged or missing parity files where the packs are whole.
    for (g, _) in groups(&**backend)?.values() {
        let damaged = (0..g.m).any(|j| !parity_ok(&**backend, &g.file_name(j)));
        if damaged
            && g.packs
                .iter()
                .all(|(id, len)| pack_ok(&**backend, id, *len))
        {
            write_group(&**backend, g)?;
            report.parity_rewritten += 1;
        }
    }
    Ok(report)
}

fn rebuild(backend: &dyn Backend, g: &Group, want: &[PackId]) -> Result<()> {
    let (k, m) = (g.packs.len(), usize::from(g.m));
    let data_ok: Vec<bool> = g
        .packs
        .iter()
        .map(|(id, len)| !want.contains(id) && pack_ok(backend, id, *len))
        .collect();
    let par_ok: Vec<bool> = (0..g.m)
        .map(|j| parity_ok(backend, &g.file_name(j)))
        .collect();
    let present = data_ok.iter().chain(&par_ok).filter(|ok| **ok).count();
    if present < k {
        return Err(Error::corrupt(format!(
            "parity group {} has only {present} intact shards of the {k} needed; restore packs from another copy (--from)",
            hex_encode(&g.id)
        )));
    }
    let code = rs(k, m)?;
    let mut outs = Vec::new();
    for (i, (id, len)) in g.packs.iter().enumerate() {
        if !data_ok[i] {
            outs.push((
                i,
                *id,
                *len,
                backend.begin_write(Kind::Data)?,
                blake3::Hasher::new(),
            ));
        }
    }
    let mut off = 0;
    while off < g.shard_len {
        check_interrupt()?;
        let len = STRIPE.min(g.shard_len - off);
        let mut shards: Vec<Option<Vec<u8>>> = Vec::with_capacity(k + m);
        for (i, (id, plen)) in g.packs.iter().enumerate() {
            shards.push(if data_ok[i] {
                Some(pack_stripe(backend, id, *plen, off, len)?)
            } else {
                None
            });
        }
        for j in 0..g.m {
            shards.push(if par_ok[usize::from(j)] {
                Some(backend.read_range(
                    Kind::Parity,
                    &g.file_name(j),
                    g.header_len() + off,
                    len,
                )?)
            } else {
                None
            });
        }
        code.reconstruct_data(&mut shards)
            .map_err(|e| Error::corrupt(format!("Reed-Solomon reconstruction failed: {e:?}")))?;
        for (i, _, plen, w, h) in outs.iter_mut() {
            if off < *plen {
                let take = len.min(*plen - off) as usize;
                let s = shards[*i].as_deref().unwrap_or_default();
                let piece = s.get(..take).ok_or_else(|| Error::corrupt("short shard"))?;
                w.write_all(piece)?;
                h.update(piece);
            }
        }
        off += len;
    }
    for (_, id, _, w, h) in outs {
        if h.finalize().as_bytes() != &id.0 {
            return Err(Error::corrupt(format!(
                "rebuilding pack {id} from parity did not reproduce its bytes"
            )));
        }
        w.commit(&id.to_hex())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;

    #[test]
    fn rebuilds_lost_and_damaged_packs() {
        let b = MemoryBackend::new();
        let mut packs = Vec::new();
        for i in 0..4u8 {
            let mut data = vec![0u8; 4096 * (3 + usize::from(i))];
            blake3::Hasher::new_keyed(&[i; 32])
                .finalize_xof()
                .fill(&mut data);
            let id = PackId(*blake3::hash(&data).as_bytes());
            b.write(Kind::Data, &id.to_hex(), &data).unwrap();
            packs.push((id, data.len() as u64, data));
        }
        let g = Group::new(packs.iter().map(|p| (p.0, p.1)).collect(), 2);
        write_group(&b, &g).unwrap();
        assert_eq!(groups(&b).unwrap().len(), 1);
        // Lose one pack, damage another: both come back bit-exact.
        b.remove(Kind::Data, &packs[0].0.to_hex()).unwrap();
        let mut bad = packs[2].2.clone();
        bad[100] ^= 1;
        b.write(Kind::Data, &packs[2].0.to_hex(), &bad).unwrap();
        rebuild(&b, &g, &[packs[0].0, packs[2].0]).unwrap();
        for p in &packs {
            assert_eq!(b.read(Kind::Data, &p.0.to_hex()).unwrap(), p.2);
        }
        // Three losses exceed m = 2.
        for p in &packs[..3] {
            b.remove(Kind::Data, &p.0.to_hex()).unwrap();
        }
        assert!(rebuild(&b, &g, &[packs[0].0, packs[1].0, packs[2].0]).is_err());
        // Headers parse; garbage does not panic.
        let head = g.header(1);
        assert_eq!(Group::parse(&head).unwrap(), (g.clone(), 1));
        for cut in 0..head.len() {
            assert!(Group::parse(&head[..cut]).is_err());
        }
    }
}
