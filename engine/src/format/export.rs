//! The plaintext files of an export volume (`format-spec/v1/export.md`):
//! the catalogue (`CATALOGUE`), the label (`VOLUME`) and the manifest lines
//! (`B3SUMS`, `SHA256SUMS`). Everything else in a volume is a repository
//! file in its usual format.
//!
//! Invariants: encoding is canonical (records in the specified order, one
//! byte string per catalogue); the decoders never panic, cap nothing they
//! do not need to (the input is already size-capped by the reader), check
//! the catalogue's `end` hash before trusting any record, and refuse
//! unknown records, disorder and references to unknown sets.

use crate::error::{Error, ErrorKind, Result};
use crate::id::{hex_decode, hex_encode, PackId, SnapshotId};

/// Name of the catalogue file in every volume.
pub const CATALOGUE_NAME: &str = "CATALOGUE";
/// Name of the label file in every volume.
pub const LABEL_NAME: &str = "VOLUME";
/// Names of the manifest files.
pub const B3SUMS: &str = "B3SUMS";
/// SHA-256 manifest.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// Largest catalogue a reader accepts (a million packs is ~120 MB).
pub const MAX_CATALOGUE: u64 = 256 << 20;
/// Largest label a reader accepts.
pub const MAX_LABEL: u64 = 64 << 10;
/// The export layout version.
pub const EXPORT_VERSION: u32 = 1;

/// An export set's ID: 16 random bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SetId(pub [u8; 16]);

impl SetId {
    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
    /// The first 8 hex digits (volume names).
    pub fn short(&self) -> String {
        hex_encode(&self.0[..4])
    }
    /// Parse exactly 32 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        parse16(s).map(SetId)
    }
}

fn parse16(s: &str) -> Result<[u8; 16]> {
    if s.len() != 32 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::corrupt(format!(
            "'{}' is not 32 hex digits",
            s.escape_debug()
        )));
    }
    hex_decode(s)?
        .try_into()
        .map_err(|_| Error::corrupt("bad hex"))
}

/// Which kind of volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeKind {
    /// Holds packs.
    Data,
    /// Holds parity files.
    Parity,
}

/// One `volume` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeEntry {
    /// Its number, 1..=m.
    pub n: u32,
    /// Data or parity.
    pub kind: VolumeKind,
    /// Sum of the sizes of its files.
    pub bytes: u64,
}

/// One `pack` record: where a pack lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackPlace {
    /// The pack.
    pub id: PackId,
    /// The set holding it (this one or a base).
    pub set: SetId,
    /// Its volume in that set.
    pub volume: u32,
    /// Its length in bytes.
    pub len: u64,
}

/// One `parity` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParityPlace {
    /// The file name, `<64 hex>.<j>`.
    pub name: String,
    /// Its volume in this set.
    pub volume: u32,
    /// Its length in bytes.
    pub len: u64,
}

/// A volume of some set.
pub type VolumeRef = (SetId, u32);

/// A decoded catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    /// This set.
    pub set: SetId,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// The repository's config ID.
    pub repository: [u8; 16],
    /// Parity `(K, M)`.
    pub parity: (u8, u8),
    /// Earlier sets this one builds on, with their volume counts.
    pub bases: Vec<(SetId, u32)>,
    /// This set's volumes, numbered 1..=m in order.
    pub volumes: Vec<VolumeEntry>,
    /// Every pack of this set and its bases, sorted by ID.
    pub packs: Vec<PackPlace>,
    /// This set's parity files, sorted by name.
    pub parity_files: Vec<ParityPlace>,
    /// This set's parity groups: ID and member packs (sorted by ID).
    pub groups: Vec<([u8; 32], Vec<PackId>)>,
    /// Each exported snapshot with the volumes it needs (sorted).
    pub snapshots: Vec<(SnapshotId, Vec<VolumeRef>)>,
}

impl Catalogue {
    /// The canonical bytes, ending with the `end` record.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!(
            "CAIRN-EXPORT-CATALOGUE {EXPORT_VERSION}\nset {}\ncreated {}\nrepository {}\nvolumes {}\nparity {}+{}\n",
            self.set.to_hex(),
            self.created,
            hex_encode(&self.repository),
            self.volumes.len(),
            self.parity.0,
            self.parity.1
        );
        for (b, m) in &self.bases {
            s += &format!("base {} {m}\n", b.to_hex());
        }
        for v in &self.volumes {
            let kind = match v.kind {
                VolumeKind::Data => "data",
                VolumeKind::Parity => "parity",
            };
            s += &format!("volume {} {kind} {}\n", v.n, v.bytes);
        }
        for p in &self.packs {
            s += &format!(
                "pack {} {} {} {}\n",
                p.id.to_hex(),
                p.set.to_hex(),
                p.volume,
                p.len
            );
        }
        for p in &self.parity_files {
            s += &format!("parity {} {} {}\n", p.name, p.volume, p.len);
        }
        for (gid, members) in &self.groups {
            s += &format!("group {}", hex_encode(gid));
            for p in members {
                s += &format!(" {}", p.to_hex());
            }
            s.push('\n');
        }
        for (id, vols) in &self.snapshots {
            s += &format!("snapshot {}", id.to_hex());
            for (set, n) in vols {
                s += &format!(" {}:{n}", set.to_hex());
            }
            s.push('\n');
        }
        let end = blake3::hash(s.as_bytes());
        s += &format!("end {}\n", end.to_hex());
        s.into_bytes()
    }

    /// Decode and check a catalogue (see the module invariants).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        super::export_parse::catalogue(bytes)
    }

    /// Where pack `id` lives, if this catalogue knows it.
    pub fn pack(&self, id: &PackId) -> Option<&PackPlace> {
        self.packs
            .binary_search_by(|p| p.id.cmp(id))
            .ok()
            .and_then(|i| self.packs.get(i))
    }

    /// Parity group `gid` as a [`Group`](crate::format::parity::Group),
    /// with member lengths from the pack records.
    pub fn group(&self, gid: &[u8; 32]) -> Option<crate::format::parity::Group> {
        let (_, members) = self.groups.iter().find(|(g, _)| g == gid)?;
        let packs = members
            .iter()
            .map(|p| self.pack(p).map(|pl| (pl.id, pl.len)))
            .collect::<Option<Vec<_>>>()?;
        Some(crate::format::parity::Group::new(packs, self.parity.1))
    }

    /// The volumes snapshot `id` needs, if it is one of this set's.
    pub fn needs(&self, id: &SnapshotId) -> Option<&[VolumeRef]> {
        self.snapshots
            .iter()
            .find(|(s, _)| s == id)
            .map(|(_, v)| v.as_slice())
    }

    /// The volume count of set `set` (this one or a base).
    pub fn volume_count(&self, set: &SetId) -> Option<u32> {
        if *set == self.set {
            return Some(self.volumes.len() as u32);
        }
        self.bases.iter().find(|(b, _)| b == set).map(|(_, m)| *m)
    }

    /// The name of volume `n` of set `set` with `m` volumes.
    pub fn volume_name(set: &SetId, n: u32, m: u32) -> String {
        let width = m.to_string().len().max(3);
        format!("cairn-{}-{n:0width$}", set.short())
    }

    /// The label (`VOLUME` file) of volume `n`: a function of the
    /// catalogue alone.
    pub fn label(&self, n: u32) -> Vec<u8> {
        let m = self.volumes.len();
        let set = self.set.to_hex();
        let created = jiff::Timestamp::from_second(self.created)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
        format!(
            "CAIRN-EXPORT-VOLUME {EXPORT_VERSION}\nset {set}\nvolume {n} of {m}\ncreated {created}\nrepository {}\n\n\
This is volume {n} of {m} of Cairn export set {set}.\n\
It holds encrypted, deduplicated backup data and the specification of its\n\
format (spec/README.md, spec/v1-export.md). To check this volume with standard\n\
tools, run \"sha256sum -c SHA256SUMS\" (or \"b3sum -c B3SUMS\") inside it.\n\
CATALOGUE says which volume holds which pack and which snapshot needs\n\
which volumes. To restore, put the volumes a snapshot needs in one directory\n\
and run: cairn restore -r export:DIR SNAPSHOT --target TARGET\n",
            hex_encode(&self.repository)
        )
        .into_bytes()
    }
}

/// The normative part of a label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The set.
    pub set: SetId,
    /// This volume's number.
    pub n: u32,
    /// The set's volume count.
    pub m: u32,
}

impl Label {
    /// Parse the first lines of a `VOLUME` file.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::corrupt("VOLUME is not UTF-8"))?;
        let mut lines = text.split('\n');
        let magic = lines.next().unwrap_or("");
        match magic.strip_prefix("CAIRN-EXPORT-VOLUME ") {
            Some("1") => {}
            Some(v) => {
                return Err(Error::new(
                    ErrorKind::UnsupportedVersion,
                    format!(
                        "export volume version {} is not supported by this build",
                        v.escape_debug()
                    ),
                ))
            }
            None => {
                return Err(Error::corrupt(
                    "VOLUME does not start with CAIRN-EXPORT-VOLUME",
                ))
            }
        }
        let set = lines
            .next()
            .and_then(|l| l.strip_prefix("set "))
            .ok_or_else(|| Error::corrupt("VOLUME lacks its set line"))?;
        let set = SetId::from_hex(set)?;
        let (n, m) = lines
            .next()
            .and_then(|l| l.strip_prefix("volume "))
            .and_then(|l| l.split_once(" of "))
            .and_then(|(n, m)| Some((super::export_parse::num(n)?, super::export_parse::num(m)?)))
            .ok_or_else(|| Error::corrupt("VOLUME lacks a valid 'volume N of M' line"))?;
        let (n, m) = (u32::try_from(n), u32::try_from(m));
        match (n, m) {
            (Ok(n), Ok(m)) if n >= 1 && n <= m => Ok(Label { set, n, m }),
            _ => Err(Error::corrupt("VOLUME has a volume number out of range")),
        }
    }
}

/// One manifest file's text: `<hex>  <path>\n` per file, sorted by path.
pub fn sums_text(mut lines: Vec<(String, [u8; 32])>) -> Vec<u8> {
    lines.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = String::new();
    for (path, digest) in lines {
        s += &format!("{}  {path}\n", hex_encode(&digest));
    }
    s.into_bytes()
}

/// Parse a manifest: path → digest. Lines that do not parse are returned
/// apart (a damaged manifest line).
pub fn parse_sums(bytes: &[u8]) -> (Vec<(String, [u8; 32])>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let parsed = std::str::from_utf8(line).ok().and_then(|l| {
            let (hex, path) = l.split_once("  ")?;
            let d: [u8; 32] = hex_decode(hex).ok()?.try_into().ok()?;
            Some((path.to_owned(), d))
        });
        match parsed {
            Some(p) => out.push(p),
            None => bad += 1,
        }
    }
    (out, bad)
}
