//! Finding snapshots: listing them (a damaged file never hides the
//! others), resolving `latest` (with restic's `--host/--tag/--path`
//! filters) or an ID prefix, and rewriting one (new tags).
//!
//! Invariant: `latest` is never resolved past an unreadable snapshot file,
//! whose time is unknown: it could be the newest.

use super::Repository;
use crate::backend::Kind;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::snapshot::Snapshot;
use crate::id::SnapshotId;
use crate::repo::lock::{LockGuard, LockMode};

impl Repository {
    /// Every readable snapshot, oldest first. A damaged snapshot file must
    /// not make the others unusable: see [`Self::snapshots_and_errors`].
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        Ok(self.snapshots_and_errors()?.0)
    }

    /// Readable snapshots (oldest first) and the snapshot files that could
    /// not be read, with why.
    #[allow(clippy::type_complexity)]
    pub fn snapshots_and_errors(
        &self,
    ) -> Result<(Vec<(SnapshotId, Snapshot)>, Vec<(String, Error)>)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (name, _) in self.backend.list(Kind::Snapshot)? {
            let Ok(id) = SnapshotId::from_hex(&name) else {
                continue;
            };
            match self.load_snapshot(&id) {
                Ok(s) => out.push((id, s)),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => bad.push((name, e)),
            }
        }
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok((out, bad))
    }

    /// Read one snapshot.
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        let bytes = self.backend.read_max(
            Kind::Snapshot,
            &id.to_hex(),
            crate::format::snapshot::MAX_SNAPSHOT_FILE,
        )?;
        Snapshot::open(&self.sealer, id, &bytes)
    }

    /// Resolve `latest` or a unique hex prefix of a snapshot ID.
    pub fn find_snapshot(&self, spec: &str) -> Result<(SnapshotId, Snapshot)> {
        self.find_snapshot_matching(spec, &SnapshotFilter::default())
    }

    /// Resolve `spec`: `latest` is the newest snapshot that passes
    /// `filter`; anything else is a unique hex prefix of a snapshot ID (and
    /// then `filter` must be empty).
    ///
    /// An unreadable snapshot file fails `latest`: its time is unknown, so
    /// it could be the newest, and silently using an older snapshot would
    /// let `backup && verify latest` stay green over a damaged backup.
    pub fn find_snapshot_matching(
        &self,
        spec: &str,
        filter: &SnapshotFilter,
    ) -> Result<(SnapshotId, Snapshot)> {
        if spec == "latest" {
            return self.find_latest(filter);
        }
        if !filter.is_empty() {
            return Err(Error::invalid(format!(
                "the filters {} choose among snapshots for `latest`; they cannot be combined with a snapshot ID",
                filter.describe()
            )));
        }
        self.find_by_prefix(spec)
    }

    fn find_latest(&self, filter: &SnapshotFilter) -> Result<(SnapshotId, Snapshot)> {
        let (snaps, bad) = self.snapshots_and_errors()?;
        if let Some((name, e)) = bad.first() {
            let others = match bad.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let why = e.to_string();
            let why = why
                .strip_prefix(&format!("snapshot {name}: "))
                .unwrap_or(&why);
            return Err(Error::new(
                e.kind(),
                format!(
                    "`latest` cannot be resolved: snapshot file snapshots/{name}{others} is unreadable ({why}), \
                     and it could be the newest snapshot. Give a snapshot ID instead (see `cairn snapshots`), \
                     or restore that file from a copy of the repository (see `cairn check`); \
                     if it cannot be recovered, delete it"
                ),
            ));
        }
        if snaps.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                "the repository has no snapshots yet",
            ));
        }
        snaps
            .into_iter()
            .rev()
            .find(|(_, s)| filter.matches(s))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "no snapshot matches {} (see `cairn snapshots {}`)",
                        filter.describe(),
                        filter.describe()
                    ),
                )
            })
    }

    fn find_by_prefix(&self, spec: &str) -> Result<(SnapshotId, Snapshot)> {
        if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "'{spec}' is not a snapshot ID, ID prefix or 'latest'"
            )));
        }
        let spec_lc = spec.to_ascii_lowercase();
        let matches: Vec<String> = self
            .backend
            .list(Kind::Snapshot)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&spec_lc))
            .collect();
        match matches.as_slice() {
            [one] => {
                let id = SnapshotId::from_hex(one)?;
                Ok((id, self.load_snapshot(&id)?))
            }
            [] => Err(
                Error::new(ErrorKind::NotFound, format!("no snapshot matches '{spec}'"))
                    .with_remedy(Remedy::ListSnapshots),
            ),
            _ => Err(Error::new(
                ErrorKind::Ambiguous,
                format!(
                    "'{spec}' matches {} snapshots; give more digits",
                    matches.len()
                ),
            )),
        }
    }

    /// Replace snapshot `old` by `new` (e.g. changed tags): the new file is
    /// stored before the old one is removed. Trees are untouched, so the
    /// packs → index → snapshot order still holds.
    pub fn rewrite_snapshot(
        &self,
        lock: &LockGuard,
        old: &SnapshotId,
        new: &Snapshot,
    ) -> Result<SnapshotId> {
        lock.require(LockMode::Prune)?;
        lock.ensure_fresh()?;
        let bytes = new.seal(&self.sealer)?;
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        if id != *old {
            self.backend.write(Kind::Snapshot, &id.to_hex(), &bytes)?;
            self.backend.remove(Kind::Snapshot, &old.to_hex())?;
        }
        Ok(id)
    }

    /// Remove the snapshot file `id` (forget). Only the snapshot goes: the
    /// data it alone referenced stays until a prune reclaims it.
    pub fn remove_snapshot(&self, lock: &LockGuard, id: &SnapshotId) -> Result<()> {
        lock.require(LockMode::Prune)?;
        lock.ensure_fresh()?;
        self.backend.remove(Kind::Snapshot, &id.to_hex())
    }
}

/// Which snapshots `latest` (and `snapshots`, `forget`) consider, with
/// restic's documented meaning of `--host`, `--tag` and `--path`:
///
/// * hosts: the snapshot's host is any of them;
/// * tags: each flag value is a comma-separated list, and the snapshot has
///   every tag of at least one list (an empty tag in a list matches a
///   snapshot without tags);
/// * paths: the snapshot includes every one of them.
///
/// An empty filter matches every snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    /// Any of these hosts.
    pub hosts: Vec<String>,
    /// Any of these lists, each meaning "all of these tags".
    pub tags: Vec<Vec<String>>,
    /// All of these paths (absolute, cleaned; see [`SnapshotFilter::new`]).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// From the raw flag values. Tag values are split at commas (spaces
    /// around each tag dropped). A relative path is made absolute against
    /// the current directory, and every path is cleaned lexically (`.`,
    /// `..`, repeated and trailing `/`), as restic does; a value holding
    /// `://` (a MongoDB snapshot's URI) is kept as given.
    pub fn new(hosts: &[String], tags: &[String], paths: &[String]) -> Result<Self> {
        let mut clean = Vec::with_capacity(paths.len());
        for p in paths {
            if p.contains("://") {
                clean.push(p.clone());
                continue;
            }
            let abs = if p.starts_with('/') {
                p.clone()
            } else {
                let cwd = std::env::current_dir()
                    .map_err(|e| Error::io(format!("resolving --path '{p}'"), e))?;
                format!("{}/{p}", cwd.to_string_lossy())
            };
            clean.push(clean_path(&abs));
        }
        Ok(SnapshotFilter {
            hosts: hosts.to_vec(),
            tags: tags
                .iter()
                .map(|l| l.split(',').map(|t| t.trim().to_owned()).collect())
                .collect(),
            paths: clean,
        })
    }

    /// No condition at all.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    /// Does `s` pass? A stdin snapshot's path is matched as `/NAME`, where
    /// its file is in the snapshot.
    pub fn matches(&self, s: &Snapshot) -> bool {
        let host = self.hosts.is_empty() || self.hosts.contains(&s.host);
        let tags = self.tags.is_empty() || self.tags.iter().any(|l| has_tags(s, l));
        let paths = self.paths.iter().all(|want| {
            s.paths.iter().any(|p| {
                let p = match s.source.as_str() {
                    "stdin" => format!("/{p}"),
                    "files" => clean_path(p),
                    _ => p.clone(),
                };
                p == *want
            })
        });
        host && tags && paths
    }

    /// The conditions, for messages (e.g. `--host a --tag x,y`).
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        for h in &self.hosts {
            out.push(format!("--host {h}"));
        }
        for l in &self.tags {
            out.push(format!("--tag {}", l.join(",")));
        }
        for p in &self.paths {
            out.push(format!("--path {p}"));
        }
        out.join(" ")
    }
}

/// Restic's `HasTags`: every tag of `list`; an empty tag matches a
/// snapshot that has no tags.
fn has_tags(s: &Snapshot, list: &[String]) -> bool {
    for t in list {
        if t.is_empty() && s.tags.is_empty() {
            return true;
        }
        if !s.tags.contains(t) {
            return false;
        }
    }
    true
}

/// Lexical cleaning of an absolute path: no empty or `.` components, `..`
/// removes the previous one (never above `/`), no trailing `/`.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::snapshot::SnapshotStats;
    use crate::format::tree::Timestamp;
    use crate::id::TreeId;

    fn snap(host: &str, tags: &[&str], paths: &[&str], source: &str) -> Snapshot {
        Snapshot {
            time: Timestamp::default(),
            tree: TreeId([0; 32]),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            host: host.into(),
            user: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            parent: None,
            source: source.into(),
            stats: SnapshotStats::default(),
            program: String::new(),
        }
    }

    #[test]
    fn filter_follows_restic() {
        let f = |h: &[&str], t: &[&str], p: &[&str]| {
            let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            SnapshotFilter::new(&v(h), &v(t), &v(p)).unwrap()
        };
        let s = snap("h1", &["a", "b"], &["/etc", "/srv/data"], "files");
        assert!(SnapshotFilter::default().matches(&s));
        assert!(f(&["h2", "h1"], &[], &[]).matches(&s));
        assert!(!f(&["h2"], &[], &[]).matches(&s));
        // A comma list means all of them; repeated flags mean any list.
        assert!(f(&[], &["a,b"], &[]).matches(&s));
        assert!(!f(&[], &["a,c"], &[]).matches(&s));
        assert!(f(&[], &["a,c", " b "], &[]).matches(&s));
        // An empty tag matches only untagged snapshots.
        assert!(!f(&[], &[""], &[]).matches(&s));
        assert!(f(&[], &[""], &[]).matches(&snap("h1", &[], &["/etc"], "files")));
        // Every path must be included; paths are cleaned.
        assert!(f(&[], &[], &["/srv/./data/", "//etc"]).matches(&s));
        assert!(!f(&[], &[], &["/etc", "/home"]).matches(&s));
        assert!(!f(&[], &[], &["/srv"]).matches(&s));
        assert!(f(&[], &[], &["/srv/x/../data"]).matches(&s));
        // A stdin snapshot is at /NAME.
        let st = snap("h1", &[], &["db.dump"], "stdin");
        assert!(f(&[], &[], &["/db.dump"]).matches(&st));
        assert!(!f(&[], &[], &["/etc"]).matches(&st));
        assert_eq!(
            f(&["h"], &["a,b"], &["/x"]).describe(),
            "--host h --tag a,b --path /x"
        );
    }
}
