//! The golden repository `v1-features` (tests/golden/README.md): what v1
//! gained after the first golden repository — parity, a MongoDB snapshot
//! and every kind of file metadata — must restore forever.
//!
//! Invariant: expectations come from the committed `MANIFEST`,
//! `METADATA` and `MANIFEST-mongodb`, written from the *sources* when the
//! repository was made. Git keeps no modes, owners, times, empty
//! directories or special files, so everything checked here beyond file
//! content can only have come from the repository itself.

use super::{copy_of, golden_dir, matches_manifest, unescape};
use cairn_tests::Env;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where the file snapshot's source lived, relative to a restore target.
const SRC: &str = "tmp/cairn-golden-meta";

/// An environment on a fresh copy of the golden repository.
fn open_copy() -> Env {
    let env = copy_of("v1-features");
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 2, "{snaps}");
    env
}

/// The ID of the one snapshot tagged `tag`.
fn snapshot(env: &Env, tag: &str) -> String {
    let snaps = env.json(&["snapshots", "--tag", tag]);
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    snaps[0]["id"].as_str().unwrap().to_owned()
}

fn restore(env: &Env, id: &str, dir: &str) -> PathBuf {
    let target = env.path(dir);
    env.ok(&["restore", id, "--target", target.to_str().unwrap()]);
    target
}

/// Bytes as METADATA writes them: printable ASCII except space and `\`
/// literal, every other byte `\xNN`; empty is `-`.
fn escape(bytes: &[u8]) -> String {
    let s: String = bytes
        .iter()
        .map(|&b| match b {
            0x21..=0x7e if b != b'\\' => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// One METADATA line per entry under `root` (and `.` for `root`), in the
/// format `make-v1-features.sh` writes: kind mode uid gid mtime_ns size
/// content links rdev xattrs path. Every entry is lstat'ed before any file
/// is read, so reading cannot disturb a time; returns the lines and the
/// entries whose atime differs from their mtime.
fn describe(root: &Path) -> (Vec<String>, Vec<String>) {
    let entries: Vec<(PathBuf, std::fs::Metadata)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| {
            let p = e.unwrap().into_path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            (p, md)
        })
        .collect();
    let (mut lines, mut atimes) = (Vec::new(), Vec::new());
    for (p, md) in entries {
        let rel = p.strip_prefix(root).unwrap().as_os_str().as_bytes();
        let rel = escape(if rel.is_empty() { b"." } else { rel });
        let ft = md.file_type();
        let kind = [
            (ft.is_dir(), 'd'),
            (ft.is_symlink(), 'l'),
            (ft.is_fifo(), 'p'),
            (ft.is_char_device(), 'c'),
            (ft.is_block_device(), 'b'),
        ]
        .iter()
        .find(|(is, _)| *is)
        .map_or('-', |(_, k)| *k);
        let content = match kind {
            '-' => blake3::hash(&std::fs::read(&p).unwrap())
                .to_hex()
                .to_string(),
            'l' => escape(std::fs::read_link(&p).unwrap().as_os_str().as_bytes()),
            _ => "-".into(),
        };
        let mut names: Vec<_> = match kind {
            'l' => Vec::new(),
            _ => xattr::list(&p).unwrap().collect(),
        };
        names.sort();
        let xattrs: Vec<String> = names
            .iter()
            .map(|n| {
                let v = xattr::get(&p, n).unwrap().unwrap_or_default();
                format!("{}={}", n.to_string_lossy(), cairn_engine::hex_encode(&v))
            })
            .collect();
        let file = kind == '-';
        let device = matches!(kind, 'c' | 'b');
        lines.push(format!(
            "{kind} {:04o} {} {} {} {} {content} {} {} {} {rel}",
            md.mode() & 0o7777,
            md.uid(),
            md.gid(),
            i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
            if file { md.len() } else { 0 },
            if file { md.nlink() } else { 0 },
            if device { md.rdev() } else { 0 },
            if xattrs.is_empty() {
                "-".into()
            } else {
                xattrs.join(",")
            },
        ));
        if kind != 'l' && (md.atime(), md.atime_nsec()) != (md.mtime(), md.mtime_nsec()) {
            atimes.push(rel);
        }
    }
    lines.sort_by(|a, b| a.rsplit(' ').next().cmp(&b.rsplit(' ').next()));
    (lines, atimes)
}

#[test]
fn golden_v1_features_files_restore_with_every_metadata_kind() {
    let golden = golden_dir("v1-features");
    let env = open_copy();
    let id = snapshot(&env, "files");
    if !cairn_tests::is_root() {
        // Owners and device nodes need root to restore (a restore without
        // it warns about the devices): content is checked, and the
        // metadata by `golden_v1_features_ls_lists_the_stored_metadata`.
        cairn_tests::skip("v1-features restored metadata: not root");
        let target = env.path("out");
        env.run(&["restore", &id, "--target", target.to_str().unwrap()]);
        assert_eq!(matches_manifest(&golden.join("MANIFEST"), &target), 13);
        return;
    }
    let target = restore(&env, &id, "out");
    let root = target.join(SRC);
    // First, before anything reads a file and moves its atime.
    let (actual, atimes) = describe(&root);
    assert_eq!(matches_manifest(&golden.join("MANIFEST"), &target), 13);
    let metadata = std::fs::read_to_string(golden.join("METADATA")).unwrap();
    let expected: Vec<&str> = metadata
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(expected.len(), 24, "METADATA lost lines");
    let missing: Vec<_> = expected
        .iter()
        .filter(|l| !actual.contains(&l.to_string()))
        .collect();
    let extra: Vec<_> = actual
        .iter()
        .filter(|l| !expected.contains(&l.as_str()))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "restored metadata differs from METADATA\nexpected, not restored:\n{missing:#?}\nrestored, not expected:\n{extra:#?}"
    );
    // Cairn records atime = mtime; restored times are the stored ones.
    assert!(atimes.is_empty(), "atime differs from mtime: {atimes:?}");
    // Holes stay holes where this filesystem can hold them.
    let probe = env.path("probe");
    std::fs::File::create(&probe)
        .unwrap()
        .set_len(3 << 20)
        .unwrap();
    let sparse = std::fs::metadata(root.join("sparse.img")).unwrap();
    if std::fs::metadata(&probe).unwrap().blocks() == 0 {
        assert!(
            sparse.blocks() * 512 < 1 << 20,
            "{} blocks",
            sparse.blocks()
        );
    } else {
        cairn_tests::skip("this filesystem keeps no holes");
    }
    let name = unescape("latin1-\\xe9t\\xe9.txt");
    assert!(root.join(cairn_tests::os(&name)).is_file());
}

#[test]
fn golden_v1_features_mongodb_restores_to_a_dump_directory_byte_exact() {
    let golden = golden_dir("v1-features");
    let env = open_copy();
    let id = snapshot(&env, "mongodb");
    let report = env.json(&["verify", &id]);
    assert_eq!(report["ok"], true, "{report}");
    let counts: Vec<(String, u64)> = report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = format!(
                "{}.{}",
                c["db"].as_str().unwrap(),
                c["collection"].as_str().unwrap()
            );
            (name, c["documents"].as_u64().unwrap())
        })
        .collect();
    for (coll, n) in [
        ("golden_shop.items", 200),
        ("golden_shop.log", 30),
        ("golden_other.notes", 50),
    ] {
        assert!(counts.contains(&(coll.into(), n)), "{coll}: {counts:?}");
    }
    let target = restore(&env, &id, "dump");
    assert_eq!(
        matches_manifest(&golden.join("MANIFEST-mongodb"), &target),
        3
    );
    let read = |f: &str| std::fs::read_to_string(target.join(f)).unwrap();
    let items = read("golden_shop/items.metadata.json");
    assert!(
        items.contains("sku_unique") && items.contains("qty_price"),
        "{items}"
    );
    assert!(read("golden_shop/log.metadata.json").contains("capped"));
    assert!(read("golden_shop/cheap.metadata.json").contains("viewOn"));
}

#[test]
fn golden_v1_features_parity_rebuilds_a_lost_pack() {
    let golden = golden_dir("v1-features");
    let env = open_copy();
    let scrub = env.json(&["scrub"]);
    assert_eq!(scrub["ok"], true, "{scrub}");
    assert_eq!(scrub["unprotected_packs"], 0, "{scrub}");
    let mut packs = env.packs();
    assert!(packs.len() >= 3, "{packs:?}");
    packs.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
    std::fs::remove_file(&packs[0]).unwrap();
    let repaired = env.json(&["scrub", "--repair"]);
    assert_eq!(repaired["ok"], true, "{repaired}");
    assert_eq!(
        repaired["repaired"].as_array().unwrap().len(),
        1,
        "{repaired}"
    );
    let target = restore(&env, &snapshot(&env, "files"), "out");
    assert_eq!(matches_manifest(&golden.join("MANIFEST"), &target), 13);
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time as `ls --json`
/// prints it (`2025-12-01T21:00:00.12345681Z`).
fn rfc3339_ns(s: &str) -> i128 {
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    let frac = s[19..].trim_end_matches('Z').trim_start_matches('.');
    let ns = format!("{frac:0<9}").parse::<i128>().unwrap();
    i128::from(secs) * 1_000_000_000 + ns
}

/// `ls --json` shows what the repository stored, needing no privilege:
/// type, mode, owner, size, nanosecond mtime and link target of every
/// METADATA entry, non-UTF-8 names included.
#[test]
fn golden_v1_features_ls_lists_the_stored_metadata() {
    let golden = golden_dir("v1-features");
    let env = open_copy();
    let root = format!("/{SRC}");
    let out = env.ok(&["--json", "ls", &snapshot(&env, "files"), &root]);
    let mut listed = Vec::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = match e["path_bytes_hex"].as_str() {
            Some(hex) => (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
            None => e["path"].as_str().unwrap().as_bytes().to_vec(),
        };
        let rel = path.strip_prefix(root.as_bytes()).unwrap();
        let rel = escape(
            rel.strip_prefix(b"/")
                .unwrap_or(if rel.is_empty() { b"." } else { rel }),
        );
        let kind = match e["type"].as_str().unwrap() {
            "file" => "-",
            "dir" => "d",
            "symlink" => "l",
            "fifo" => "p",
            "chardev" => "c",
            "blockdev" => "b",
            other => panic!("{other}"),
        };
        let target = e["target"]
            .as_str()
            .map_or("-".into(), |t| escape(t.as_bytes()));
        listed.push(format!(
            "{kind} {:04o} {} {} {} {} {target} {rel}",
            e["mode"].as_u64().unwrap(),
            e["uid"],
            e["gid"],
            rfc3339_ns(e["mtime"].as_str().unwrap()),
            e["size"],
        ));
    }
    // The same fields, from METADATA: a file's content is its hash there.
    let metadata = std::fs::read_to_string(golden.join("METADATA")).unwrap();
    let expected: Vec<String> = metadata
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            // `ls --json` gives a symlink target as (lossy) text only; the
            // raw bytes are checked by the restore test.
            let target = match f[0] {
                "l" => escape(String::from_utf8_lossy(&unescape(f[6])).as_bytes()),
                _ => "-".into(),
            };
            format!(
                "{} {} {} {} {} {} {target} {}",
                f[0], f[1], f[2], f[3], f[4], f[5], f[10]
            )
        })
        .collect();
    listed.sort_by(|a, b| a.rsplit(' ').next().cmp(&b.rsplit(' ').next()));
    assert_eq!(listed, expected);
}
