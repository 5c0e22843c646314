//! The catalogue decoder (`format-spec/v1/export.md`, "The catalogue"),
//! apart from the encoder so each stays short.
//!
//! Invariants: never panics on any input; the `end` hash is checked
//! before any record is parsed; records must come in the specified order
//! (kinds in sequence, each kind sorted); a `pack` must name this set or
//! a base; numbers are decimal without leading zeros.

use super::export::{
    Catalogue, PackPlace, ParityPlace, SetId, VolumeEntry, VolumeKind, VolumeRef, EXPORT_VERSION,
};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{PackId, SnapshotId};

/// A decimal number without leading zeros (or `0`).
pub(super) fn num(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `<64 lowercase hex>.<j>`, j in 0..=254 without leading zeros
/// (`parity.md`).
fn parity_name(s: &str) -> bool {
    let Some((g, j)) = s.split_once('.') else {
        return false;
    };
    g.len() == 64
        && g.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && num(j).is_some_and(|j| j <= 254)
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("CATALOGUE: {what}"))
}

fn n32(s: &str) -> Result<u32> {
    num(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad(format!("'{}' is not a valid number", s.escape_debug())))
}

fn n64(s: &str) -> Result<u64> {
    num(s).ok_or_else(|| bad(format!("'{}' is not a valid number", s.escape_debug())))
}

/// Decode a catalogue.
pub(super) fn catalogue(bytes: &[u8]) -> Result<Catalogue> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not ASCII text"))?;
    if !text.is_ascii() || !text.ends_with('\n') {
        return Err(bad("not ASCII text ending in a line feed"));
    }
    // Version first, so a newer layout says so rather than "damaged".
    let first = text.split('\n').next().unwrap_or("");
    match first.strip_prefix("CAIRN-EXPORT-CATALOGUE ") {
        Some(v) if v == EXPORT_VERSION.to_string() => {}
        Some(v) => {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!(
                    "export catalogue version {} is not supported by this build",
                    v.escape_debug()
                ),
            ))
        }
        None => return Err(bad("does not start with CAIRN-EXPORT-CATALOGUE")),
    }
    let body_end = text[..text.len() - 1].rfind('\n').map_or(0, |i| i + 1);
    let (body, end) = text.split_at(body_end);
    let want = end
        .strip_prefix("end ")
        .and_then(|h| h.strip_suffix('\n'))
        .ok_or_else(|| bad("lacks its end record"))?;
    if blake3::hash(body.as_bytes()).to_hex().as_str() != want {
        return Err(bad("its end hash does not match (damaged)"));
    }
    let mut lines = body.lines().skip(1).peekable();
    let mut head = |key: &str| -> Result<&str> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| bad(format!("lacks its '{key}' record")))
    };
    let set = SetId::from_hex(head("set")?)?;
    let created = head("created")?;
    let created = created.strip_prefix('-').map_or_else(
        || n64(created).map(|v| v as i64),
        |c| n64(c).map(|v| -(v as i64)),
    )?;
    let repository = SetId::from_hex(head("repository")?)?.0;
    let m = n32(head("volumes")?)?;
    let (k, pm) = head("parity")?
        .split_once('+')
        .ok_or_else(|| bad("parity is not K+M"))?;
    let parity = (
        u8::try_from(n32(k)?).map_err(|_| bad("parity K too large"))?,
        u8::try_from(n32(pm)?).map_err(|_| bad("parity M too large"))?,
    );
    let mut cat = Catalogue {
        set,
        created,
        repository,
        parity,
        bases: Vec::new(),
        volumes: Vec::new(),
        packs: Vec::new(),
        parity_files: Vec::new(),
        groups: Vec::new(),
        snapshots: Vec::new(),
    };
    // Record kinds in their order; `stage` only moves forward.
    const ORDER: [&str; 6] = ["base", "volume", "pack", "parity", "group", "snapshot"];
    let mut stage = 0;
    for line in lines {
        let mut f = line.split(' ');
        let kind = f.next().unwrap_or("");
        let pos = ORDER
            .iter()
            .position(|k| *k == kind)
            .ok_or_else(|| bad(format!("unknown record '{}'", kind.escape_debug())))?;
        if pos < stage {
            return Err(bad(format!("'{kind}' record out of order")));
        }
        stage = pos;
        let fields: Vec<&str> = f.collect();
        record(&mut cat, kind, &fields)?;
    }
    check(&cat, m)?;
    Ok(cat)
}

fn record(cat: &mut Catalogue, kind: &str, f: &[&str]) -> Result<()> {
    let arity = |n: usize| -> Result<()> {
        if f.len() == n {
            Ok(())
        } else {
            Err(bad(format!(
                "a '{kind}' record has {} fields, not {n}",
                f.len()
            )))
        }
    };
    match kind {
        "base" => {
            arity(2)?;
            cat.bases.push((SetId::from_hex(f[0])?, n32(f[1])?));
        }
        "volume" => {
            arity(3)?;
            let kind = match f[1] {
                "data" => VolumeKind::Data,
                "parity" => VolumeKind::Parity,
                other => {
                    return Err(bad(format!(
                        "unknown volume kind '{}'",
                        other.escape_debug()
                    )))
                }
            };
            cat.volumes.push(VolumeEntry {
                n: n32(f[0])?,
                kind,
                bytes: n64(f[2])?,
            });
        }
        "pack" => {
            arity(4)?;
            cat.packs.push(PackPlace {
                id: PackId::from_hex(f[0]).map_err(|_| bad("bad pack ID"))?,
                set: SetId::from_hex(f[1])?,
                volume: n32(f[2])?,
                len: n64(f[3])?,
            });
        }
        "parity" => {
            arity(3)?;
            if !parity_name(f[0]) {
                return Err(bad("bad parity file name"));
            }
            cat.parity_files.push(ParityPlace {
                name: f[0].to_owned(),
                volume: n32(f[1])?,
                len: n64(f[2])?,
            });
        }
        "group" => {
            let (gid, members) = f.split_first().ok_or_else(|| bad("empty group record"))?;
            let gid = PackId::from_hex(gid).map_err(|_| bad("bad group ID"))?.0;
            let members = members
                .iter()
                .map(|p| PackId::from_hex(p).map_err(|_| bad("bad group member")))
                .collect::<Result<Vec<_>>>()?;
            cat.groups.push((gid, members));
        }
        _ => {
            // "snapshot"
            let (id, vols) = f
                .split_first()
                .ok_or_else(|| bad("empty snapshot record"))?;
            let id = SnapshotId::from_hex(id).map_err(|_| bad("bad snapshot ID"))?;
            let vols = vols
                .iter()
                .map(|v| {
                    let (s, n) = v
                        .split_once(':')
                        .ok_or_else(|| bad("bad volume reference"))?;
                    Ok((SetId::from_hex(s)?, n32(n)?))
                })
                .collect::<Result<Vec<VolumeRef>>>()?;
            cat.snapshots.push((id, vols));
        }
    }
    Ok(())
}

/// Cross-record rules: sorted, numbered 1..=m, references resolvable.
fn check(cat: &Catalogue, m: u32) -> Result<()> {
    if m == 0 || cat.volumes.len() as u64 != u64::from(m) {
        return Err(bad("the volume records do not match the volume count"));
    }
    if cat.volumes.iter().zip(1..).any(|(v, n)| v.n != n) {
        return Err(bad("volume records are not numbered 1..m in order"));
    }
    let sorted = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(bad(format!("{what} records are not sorted")))
        }
    };
    sorted(cat.bases.windows(2).all(|w| w[0].0 < w[1].0), "base")?;
    sorted(cat.packs.windows(2).all(|w| w[0].id < w[1].id), "pack")?;
    sorted(
        cat.parity_files.windows(2).all(|w| w[0].name < w[1].name),
        "parity",
    )?;
    sorted(
        cat.snapshots.windows(2).all(|w| w[0].0 < w[1].0),
        "snapshot",
    )?;
    sorted(cat.groups.windows(2).all(|w| w[0].0 < w[1].0), "group")?;
    for (gid, members) in &cat.groups {
        if members.is_empty() || members.len() > 64 || !members.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad("a group record has no, too many or unsorted members"));
        }
        if members
            .iter()
            .any(|p| cat.pack(p).is_none_or(|pl| pl.set != cat.set))
        {
            return Err(bad("a group names a pack that is not this set's"));
        }
        if cat.group(gid).is_none_or(|g| g.id != *gid) {
            return Err(bad("a group ID does not match its members"));
        }
    }
    let in_range = |set: &SetId, n: u32| cat.volume_count(set).is_some_and(|c| n >= 1 && n <= c);
    for p in &cat.packs {
        if !in_range(&p.set, p.volume) {
            return Err(bad(format!(
                "pack {} names an unknown volume",
                p.id.short()
            )));
        }
    }
    for p in &cat.parity_files {
        if !in_range(&cat.set, p.volume) {
            return Err(bad("a parity record names an unknown volume"));
        }
    }
    for (id, vols) in &cat.snapshots {
        if vols.iter().any(|(s, n)| !in_range(s, *n)) {
            return Err(bad(format!(
                "snapshot {} names an unknown volume",
                id.short()
            )));
        }
    }
    if cat.parity.0 == 0 && cat.parity.1 != 0 {
        return Err(bad("parity K is 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::export::*;
    use crate::id::{PackId, SnapshotId};

    fn sample() -> Catalogue {
        let s = SetId([1; 16]);
        let b = SetId([0; 16]);
        Catalogue {
            set: s,
            created: 1_764_892_800,
            repository: [7; 16],
            parity: (16, 1),
            bases: vec![(b, 3)],
            volumes: vec![
                VolumeEntry {
                    n: 1,
                    kind: VolumeKind::Data,
                    bytes: 100,
                },
                VolumeEntry {
                    n: 2,
                    kind: VolumeKind::Parity,
                    bytes: 50,
                },
            ],
            packs: vec![
                PackPlace {
                    id: PackId([2; 32]),
                    set: b,
                    volume: 3,
                    len: 10,
                },
                PackPlace {
                    id: PackId([3; 32]),
                    set: s,
                    volume: 1,
                    len: 20,
                },
            ],
            parity_files: vec![ParityPlace {
                name: format!("{}.0", "ab".repeat(32)),
                volume: 2,
                len: 90,
            }],
            groups: vec![(
                crate::format::parity::Group::new(vec![(PackId([3; 32]), 20)], 1).id,
                vec![PackId([3; 32])],
            )],
            snapshots: vec![(SnapshotId([9; 32]), vec![(b, 3), (s, 1)])],
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let c = sample();
        let bytes = c.encode();
        assert_eq!(Catalogue::decode(&bytes).unwrap(), c);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(Catalogue::decode(&b).is_err(), "flip at {i}");
        }
        for cut in 0..bytes.len() {
            assert!(Catalogue::decode(&bytes[..cut]).is_err());
        }
        let label = Label::decode(&c.label(2)).unwrap();
        assert_eq!((label.set, label.n, label.m), (c.set, 2, 2));
        assert_eq!(Catalogue::volume_name(&c.set, 2, 2), "cairn-01010101-002");
        assert_eq!(
            Catalogue::volume_name(&c.set, 7, 1200),
            "cairn-01010101-0007"
        );
    }

    #[test]
    fn unknown_set_and_disorder_refused() {
        let mut c = sample();
        c.packs[0].set = SetId([5; 16]);
        assert!(Catalogue::decode(&c.encode()).is_err());
        let mut c = sample();
        c.packs.reverse();
        assert!(Catalogue::decode(&c.encode()).is_err());
        let newer = String::from_utf8(sample().encode())
            .unwrap()
            .replace("CATALOGUE 1", "CATALOGUE 2");
        let e = Catalogue::decode(newer.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::UnsupportedVersion);
    }

    #[test]
    fn sums_round_trip() {
        let t = sums_text(vec![("b".into(), [1; 32]), ("a/x".into(), [2; 32])]);
        let s = String::from_utf8(t.clone()).unwrap();
        assert!(s.starts_with(&format!("{}  a/x\n", "02".repeat(32))));
        let (p, bad) = parse_sums(&t);
        assert_eq!((p.len(), bad), (2, 0));
    }
}
