//! Healing damaged or lost packs: from another copy of the repository
//! (`scrub --repair --from`), else from the group's parity shards, and
//! regenerating damaged parity files where the packs are whole.
//!
//! Invariant: a pack (or parity file) is committed only after its bytes
//! were verified (a pack's BLAKE3 equals its name), so a repair never
//! replaces anything with wrong bytes; a pack a prune has condemned is
//! never brought back (`format-spec/v1/gc.md`).

use super::{blake3_of, groups, pack_stripe, rs, write_group, Group, STRIPE};
use crate::backend::{Backend, Kind};
use crate::error::{Error, Result};
use crate::id::{hex_encode, PackId};
use crate::progress::{check_interrupt, Progress};
use crate::repo::Repository;
use std::collections::HashMap;

/// Is pack `id` intact (exists, right length, BLAKE3 equals its name)?
pub(crate) fn pack_ok(backend: &dyn Backend, id: &PackId, len: u64) -> bool {
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
    let Ok((g, _)) = super::read_header(backend, name, size) else {
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
    lock: &crate::repo::lock::LockGuard,
    targets: &[PackId],
    from: Option<&dyn Backend>,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    lock.require(crate::repo::lock::LockMode::Shared)?;
    let backend = repo.backend();
    let mut report = RepairReport::default();
    let mut left: Vec<PackId> = Vec::new();
    // A pack a prune has condemned is never brought back (gc.md).
    let condemned = crate::repo::gc::condemned_packs(repo)?;
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
    rebuild_into(backend, backend, g, want)
}

/// Rebuild the packs of `g` in `want` from the intact shards in `src`
/// (other members that are not intact count as lost), into `dst`. A pack is
/// committed only if its BLAKE3 equals its name.
pub(crate) fn rebuild_into(
    src: &dyn Backend,
    dst: &dyn Backend,
    g: &Group,
    want: &[PackId],
) -> Result<()> {
    let backend = src;
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
        if want.contains(id) {
            outs.push((
                i,
                *id,
                *len,
                dst.begin_write(Kind::Data)?,
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
    use crate::ops::parity::{groups, write_group};

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
    }
}
