//! Backup → restore and backup → forget → prune → restore, in process on
//! the in-memory backend. What a restore gives back is compared with what
//! was backed up: every byte, and for real files the metadata a reader can
//! observe (type, mode bits, owner, mtime to the nanosecond, link target,
//! hard-link groups, extended attributes).

use crate::common::{self, backup, forget, listed, restore, Files, MemRepo};
use cairn_engine::backend::Kind;
use cairn_engine::ops::check::check;
use cairn_engine::ops::prune::{prune, MaxUnused, PruneOptions};
use cairn_engine::{BackupOptions, NoProgress, RestoreOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

/// What can be observed of one entry without following links.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    content: Option<Vec<u8>>,
    target: Option<Vec<u8>>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// The first path (in name order) sharing this entry's inode.
    link_group: Vec<u8>,
}

/// Every entry below `root`, by relative path (raw bytes).
fn observe(root: &Path) -> BTreeMap<Vec<u8>, Observed> {
    let mut out = BTreeMap::new();
    let mut first_of: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut paths = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.symlink_metadata().expect("lstat").is_dir() {
                stack.push(p.clone());
            }
            paths.push(p);
        }
    }
    paths.sort();
    for p in paths {
        let m = p.symlink_metadata().expect("lstat");
        let rel = p.strip_prefix(root).expect("below root");
        let rel = rel.as_os_str().as_bytes().to_vec();
        let ft = m.file_type();
        let kind = if ft.is_file() {
            "file"
        } else if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else {
            "other"
        };
        let mut xattrs: Vec<(Vec<u8>, Vec<u8>)> = if ft.is_symlink() {
            Vec::new()
        } else {
            xattr::list(&p)
                .expect("list xattrs")
                .map(|k| {
                    let v = xattr::get(&p, &k).expect("xattr").unwrap_or_default();
                    (k.as_bytes().to_vec(), v)
                })
                .collect()
        };
        xattrs.sort();
        let link_group = first_of.entry(m.ino()).or_insert_with(|| rel.clone());
        out.insert(
            rel.clone(),
            Observed {
                kind,
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                mtime: (m.mtime(), m.mtime_nsec()),
                content: ft.is_file().then(|| fs::read(&p).expect("read")),
                target: ft
                    .is_symlink()
                    .then(|| fs::read_link(&p).expect("readlink"))
                    .map(|t| t.as_os_str().as_bytes().to_vec()),
                xattrs,
                link_group: link_group.clone(),
            },
        );
    }
    out
}

fn set_mtime(p: &Path, secs: i64, nanos: i64) {
    let ts = nix::sys::time::TimeSpec::new(secs, nanos);
    nix::sys::stat::utimensat(
        None,
        p,
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .expect("utimensat");
}

/// A tree with several chunk and pack boundaries and every kind of
/// metadata an unprivileged test can set.
fn build_tree(src: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut rng = common::Rng::new(7);
    fs::create_dir_all(src.join("docs/nested")).expect("mkdir");
    fs::write(src.join("docs/a.txt"), b"hello cairn\n").expect("write");
    fs::write(src.join("docs/nested/big.bin"), rng.bytes(40_000)).expect("write");
    fs::write(src.join("empty"), b"").expect("write");
    fs::write(src.join("setuid"), b"x").expect("write");
    fs::set_permissions(src.join("setuid"), fs::Permissions::from_mode(0o4750)).expect("chmod");
    fs::write(src.join("private"), b"secret").expect("write");
    fs::set_permissions(src.join("private"), fs::Permissions::from_mode(0o600)).expect("chmod");
    let odd = OsStr::from_bytes(b"caf\xe9-not-utf8");
    fs::write(src.join(odd), rng.bytes(3000)).expect("write");
    symlink("docs/a.txt", src.join("link")).expect("symlink");
    fs::write(src.join("hard-1"), rng.bytes(9000)).expect("write");
    fs::hard_link(src.join("hard-1"), src.join("docs/hard-2")).expect("link");
    nix::unistd::mkfifo(
        &src.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .expect("mkfifo");
    xattr::set(src.join("docs/a.txt"), "user.cairn.note", b"kept").expect("xattr");
    xattr::set(src.join("docs"), "user.bin", b"\x00\x01").expect("xattr");
    fs::set_permissions(src.join("docs/nested"), fs::Permissions::from_mode(0o750)).expect("chmod");
    for (i, p) in [
        "docs/a.txt",
        "docs/nested/big.bin",
        "link",
        "docs/nested",
        "docs",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(
            &src.join(p),
            1_600_000_000 + i as i64,
            123_456_789 + i as i64,
        );
    }
}

#[test]
fn files_backup_restores_every_byte_and_metadata() {
    let m = MemRepo::new();
    let work = tempfile::tempdir().expect("tempdir");
    let src = work.path().join("src");
    build_tree(&src);
    let before = observe(&src);
    let opts = BackupOptions {
        paths: vec![src.clone()],
        ..BackupOptions::default()
    };
    let summary = cairn_engine::backup(&m.repo, &opts, &NoProgress).expect("backup");
    assert!(!summary.partial, "{:?}", summary.warnings);
    assert!(
        m.files(Kind::Data).len() > 3,
        "small packs: several expected"
    );
    let target = work.path().join("restored");
    let snap = m
        .repo
        .load_snapshot(&summary.snapshot_id.expect("stored"))
        .expect("load");
    let r = cairn_engine::restore(
        &m.repo,
        &snap,
        &RestoreOptions {
            target: target.clone(),
            ..RestoreOptions::default()
        },
        &NoProgress,
    )
    .expect("restore");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let restored = target.join(src.strip_prefix("/").expect("absolute"));
    let after = observe(&restored);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, want) in &before {
        assert_eq!(
            Some(want),
            after.get(path),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
}

/// Two snapshots sharing most of their data: the second stores only what
/// is new, and each restores to exactly its own files.
#[test]
fn synthetic_backups_deduplicate_and_restore_exactly() {
    let m = MemRepo::new();
    let mut rng = common::Rng::new(11);
    let shared = rng.bytes(30_000);
    let first: Files = [
        ("a".to_owned(), shared.clone()),
        ("d/b".to_owned(), rng.bytes(5000)),
        ("d/empty".to_owned(), Vec::new()),
    ]
    .into();
    let mut second = first.clone();
    second.insert("copy-of-a".into(), shared.clone());
    second.insert("d/b".into(), rng.bytes(700));
    let s1 = backup(&m.repo, &first, 1).expect("backup 1");
    let s2 = backup(&m.repo, &second, 2).expect("backup 2");
    assert_eq!(s1.stats.bytes, 35_000);
    // New: 700 bytes of content and the two trees, which list the IDs of
    // about 60 chunks (some 2 KB); not the 30 KB shared by `a` and its copy.
    assert!(
        s2.stats.new_bytes < 5000,
        "the shared 30 KB must be deduplicated, stored {} new bytes",
        s2.stats.new_bytes
    );
    assert_eq!(
        restore(&m.repo, &s1.snapshot_id.expect("stored")).expect("restore 1"),
        first
    );
    assert_eq!(
        restore(&m.repo, &s2.snapshot_id.expect("stored")).expect("restore 2"),
        second
    );
    assert!(check(&m.repo, &NoProgress).expect("check").ok());
}

/// Prune replaces only the index files that name a pack it deletes
/// (issue 15, part 4): the index file of a snapshot it does not touch
/// keeps its name, so the rewrite follows the change, not the index.
#[test]
fn prune_rewrites_only_the_index_files_naming_deleted_packs() {
    let m = MemRepo::new();
    let mut rng = common::Rng::new(14);
    let gone: Files = [("gone".to_owned(), rng.bytes(40_000))].into();
    let kept: Files = [("kept".to_owned(), rng.bytes(40_000))].into();
    let index_names = |m: &MemRepo| -> BTreeSet<String> {
        m.files(Kind::Index).into_iter().map(|(n, _)| n).collect()
    };
    let a = backup(&m.repo, &gone, 1)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let after_a = index_names(&m);
    let b = backup(&m.repo, &kept, 2)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let b_files: BTreeSet<String> = index_names(&m).difference(&after_a).cloned().collect();
    assert!(!b_files.is_empty());
    forget(&m.repo, &[a]).expect("forget");
    let opts = PruneOptions {
        max_unused: MaxUnused::Bytes(0),
        ..PruneOptions::default()
    };
    let report = prune(&m.repo, &opts, &NoProgress).expect("prune");
    assert!(report.swept.packs > 0, "{report:?}");
    let now = index_names(&m);
    assert!(
        b_files.is_subset(&now),
        "the kept snapshot's index files were rewritten"
    );
    assert!(
        after_a.is_disjoint(&now),
        "the deleted snapshot's index files remain"
    );
    assert_eq!(restore(&m.repo, &b).expect("restore kept"), kept);
    assert!(check(&m.repo, &NoProgress).expect("check").ok());
}

/// Forget two of three snapshots, prune everything unused: the kept
/// snapshot restores exactly, the data only the others held is gone, and
/// check finds nothing wrong.
#[test]
fn forget_then_prune_keeps_the_remaining_snapshot_whole() {
    let m = MemRepo::new();
    let mut rng = common::Rng::new(12);
    let shared = rng.bytes(20_000);
    let old: Files = [
        ("shared".to_owned(), shared.clone()),
        ("old-only".to_owned(), rng.bytes(60_000)),
    ]
    .into();
    let kept: Files = [
        ("shared".to_owned(), shared.clone()),
        ("d/kept-only".to_owned(), rng.bytes(8000)),
    ]
    .into();
    let newer: Files = [("newer-only".to_owned(), rng.bytes(60_000))].into();
    let a = backup(&m.repo, &old, 1)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let b = backup(&m.repo, &kept, 2)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let c = backup(&m.repo, &newer, 3)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let stored = |m: &MemRepo| -> u64 {
        m.files(Kind::Data)
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum()
    };
    let before = stored(&m);

    forget(&m.repo, &[a, c]).expect("forget");
    assert_eq!(listed(&m.repo).expect("list"), BTreeSet::from([b]));
    let opts = PruneOptions {
        max_unused: MaxUnused::Bytes(0),
        ..PruneOptions::default()
    };
    let report = prune(&m.repo, &opts, &NoProgress).expect("prune");
    assert!(report.pending.is_empty(), "nothing else holds a lock");
    assert!(report.swept.packs > 0, "{report:?}");
    let after = stored(&m);
    assert!(
        after < before - 100_000,
        "120 KB of forgotten data must be reclaimed: {before} -> {after}"
    );
    assert_eq!(restore(&m.repo, &b).expect("restore kept"), kept);
    let c = check(&m.repo, &NoProgress).expect("check");
    assert!(c.ok(), "{:?}", c.errors);
    assert_eq!(c.snapshots, 1);
    // A second prune finds nothing left to do.
    let again = prune(&m.repo, &opts, &NoProgress).expect("prune again");
    assert!(again.packs().is_empty(), "{:?}", again.packs());
    assert_eq!(again.unused_bytes(), (0, 0));
}

/// A stream that fails after `ok` bytes, as a dump cut short would.
struct FailingStream {
    data: Vec<u8>,
    ok: usize,
    pos: usize,
}

impl std::io::Read for FailingStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.ok {
            return Err(std::io::Error::other("the dump broke off"));
        }
        let n = buf.len().min(self.ok - self.pos).min(1000);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A stream that cannot be read to its end makes no snapshot, but what was
/// stored before the failure is indexed and reused by the next backup.
#[test]
fn a_broken_stream_makes_no_snapshot_and_its_chunks_are_reused() {
    let m = MemRepo::new();
    let data = common::Rng::new(13).bytes(60_000);
    let broken = FailingStream {
        data: data.clone(),
        ok: 50_000,
        pos: 0,
    };
    let opts = BackupOptions::default();
    let err = cairn_engine::backup_stdin(&m.repo, "dump", broken, &opts, &NoProgress)
        .expect_err("a broken stream must fail the backup");
    assert!(err.to_string().contains("broke off"), "{err}");
    assert!(listed(&m.repo).expect("list").is_empty());
    assert!(!m.files(Kind::Index).is_empty(), "stored packs are indexed");

    let whole = std::io::Cursor::new(data.clone());
    let s = cairn_engine::backup_stdin(&m.repo, "dump", whole, &opts, &NoProgress).expect("backup");
    // Without reuse all 60 KB would be new. Most of the 50 KB read before
    // the failure was stored (not what the chunker still buffered).
    assert!(
        s.stats.new_bytes < 40_000,
        "the chunks stored before the failure must be reused; stored {} new bytes",
        s.stats.new_bytes
    );
    let restored = restore(&m.repo, &s.snapshot_id.expect("stored")).expect("restore");
    assert_eq!(restored, Files::from([("dump".to_owned(), data)]));
}

/// Counts the scan's reports; shows totals or not.
struct Totals {
    wants: bool,
    last: std::sync::Mutex<Option<(u64, u64, bool)>>,
}

impl cairn_engine::Progress for Totals {
    /// With totals wanted, the backup's first file waits (up to 10 s)
    /// for the scan to finish, so the scan cannot lose the race.
    fn file(&self, _path: &Path) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.wants
            && !self.last.lock().unwrap().is_some_and(|t| t.2)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    fn scanned(&self, files: u64, bytes: u64, finished: bool) {
        *self.last.lock().unwrap() = Some((files, bytes, finished));
    }
    fn wants_totals(&self) -> bool {
        self.wants
    }
}

/// The scan beside a backup runs only for a progress that shows totals
/// (a quiet or unattended backup does not walk the tree twice), and then
/// counts every file and byte.
#[test]
fn a_backup_scans_for_totals_only_when_they_are_shown() {
    let m = MemRepo::new();
    let dir = common::scratch_dir();
    fs::write(dir.path().join("a"), vec![1u8; 5000]).unwrap();
    fs::create_dir(dir.path().join("d")).unwrap();
    fs::write(dir.path().join("d/b"), vec![2u8; 3000]).unwrap();
    let opts = BackupOptions {
        paths: vec![dir.path().to_path_buf()],
        ..BackupOptions::default()
    };
    for wants in [false, true] {
        let progress = Totals {
            wants,
            last: Default::default(),
        };
        cairn_engine::ops::backup::backup(&m.repo, &opts, &progress).expect("backup");
        let last = *progress.last.lock().unwrap();
        assert_eq!(
            last,
            wants.then_some((2, 8000, true)),
            "wants_totals {wants}"
        );
    }
}
