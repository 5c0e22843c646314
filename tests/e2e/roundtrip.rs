//! A tree with every metadata kind round-trips byte for byte.

use cairn_tests::{assert_code, assert_same_tree, os, random_bytes, Env};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

fn set_mtime(p: &Path, secs: i64, nanos: i64) {
    let ts = nix::sys::time::TimeSpec::new(secs, nanos);
    nix::sys::stat::utimensat(
        None,
        p,
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// A distinct nanosecond mtime on every entry under `root`, set deepest
/// first so a directory's time is not moved by its children's.
fn distinct_mtimes(root: &Path, base: i64) {
    let mut all: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .collect();
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        set_mtime(p, base + i as i64, 123_456_789 - i as i64);
    }
}

/// Build the source tree; returns whether devices could be made (root).
pub(crate) fn build_tree(src: &Path) -> bool {
    fs::create_dir_all(src.join("docs/nested")).unwrap();
    fs::write(src.join("docs/a.txt"), b"hello cairn\n").unwrap();
    fs::write(src.join("docs/nested/big.bin"), random_bytes(5 << 20, 1)).unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    fs::write(src.join("exec.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(src.join("exec.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(src.join("private"), b"secret").unwrap();
    fs::set_permissions(src.join("private"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(src.join("setuid"), b"x").unwrap();
    fs::set_permissions(src.join("setuid"), fs::Permissions::from_mode(0o4755)).unwrap();
    // Non-UTF-8 names, for a file and a directory.
    fs::create_dir(src.join(os(b"dir-\xff\xfe"))).unwrap();
    fs::write(
        src.join(os(b"dir-\xff\xfe")).join(os(b"caf\xe9.txt")),
        b"latin-1 name",
    )
    .unwrap();
    // Deep path.
    let mut deep = src.join("deep");
    for i in 0..40 {
        deep = deep.join(format!("level-{i:02}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("bottom.txt"), b"deep").unwrap();
    // Symlinks: relative, absolute, dangling.
    symlink("docs/a.txt", src.join("link-rel")).unwrap();
    symlink("/etc/hostname", src.join("link-abs")).unwrap();
    symlink("does/not/exist", src.join("link-dangling")).unwrap();
    // Hard links.
    fs::write(src.join("hard-1"), random_bytes(70_000, 2)).unwrap();
    fs::hard_link(src.join("hard-1"), src.join("docs/hard-2")).unwrap();
    // FIFO.
    nix::unistd::mkfifo(
        &src.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .unwrap();
    // Xattrs.
    xattr::set(src.join("docs/a.txt"), "user.cairn.note", b"kept").unwrap();
    xattr::set(src.join("docs"), "user.dir-attr", b"\x00\x01binary").unwrap();
    // Sparse file: 1 GiB with data at three places.
    {
        let mut f = fs::File::create(src.join("sparse.img")).unwrap();
        f.write_all(&random_bytes(10_000, 3)).unwrap();
        f.seek(SeekFrom::Start(512 << 20)).unwrap();
        f.write_all(&random_bytes(100_000, 4)).unwrap();
        f.set_len(1 << 30).unwrap();
    }
    // Devices (root only).
    let root = cairn_tests::is_root();
    if !root {
        cairn_tests::skip("device nodes and foreign owners in the round trip (need root)");
    }
    if root {
        use nix::sys::stat::{makedev, mknod, Mode, SFlag};
        mknod(
            &src.join("null-dev"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(1, 3),
        )
        .unwrap();
        mknod(
            &src.join("blk-dev"),
            SFlag::S_IFBLK,
            Mode::from_bits_truncate(0o600),
            makedev(7, 200),
        )
        .unwrap();
        std::os::unix::fs::chown(src.join("private"), Some(1234), Some(5678)).unwrap();
    }
    distinct_mtimes(src, 1_600_000_000);
    root
}

#[test]
fn every_metadata_kind_round_trips() {
    let env = Env::init();
    let src = env.path("src");
    let root = build_tree(&src);
    let summary = env.backup(&src, &["--tag", "full,test", "--host", "testhost"]);
    assert_eq!(summary["partial"], false, "{summary}");
    assert!(summary["files"].as_u64().unwrap() >= 10);

    let target = env.restore_latest("restored");
    let restored = target.join(src.strip_prefix("/").unwrap());
    let n = assert_same_tree(&src, &restored);
    assert!(n > 50, "compared only {n} entries");

    // The sparse file came back sparse: far fewer blocks than its size.
    let md = fs::metadata(restored.join("sparse.img")).unwrap();
    assert_eq!(md.len(), 1 << 30);
    assert!(
        md.blocks() * 512 < 8 << 20,
        "sparse file restored dense: {} blocks",
        md.blocks()
    );
    // Hard links came back as one inode.
    let a = fs::metadata(restored.join("hard-1")).unwrap();
    let b = fs::metadata(restored.join("docs/hard-2")).unwrap();
    assert_eq!(a.ino(), b.ino());
    if root {
        assert_eq!(fs::metadata(restored.join("private")).unwrap().uid(), 1234);
    }

    // verify reads every blob, holes included, in bounded memory.
    let v = env.json(&["verify", "latest"]);
    assert_eq!(v["ok"], true, "{v}");

    // Snapshot metadata.
    let snaps = env.json(&["snapshots"]);
    let s = &snaps[0];
    assert_eq!(s["host"], "testhost");
    assert_eq!(s["tags"], serde_json::json!(["full", "test"]));
}

#[test]
fn ls_lists_entries_and_long_shows_metadata() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/file.txt"), b"12345").unwrap();
    env.backup(&src, &[]);
    let base = src.to_str().unwrap();
    let out = env.ok(&["ls", "latest", base]);
    assert!(out.contains(&format!("{base}/sub/file.txt")), "{out}");
    let long = env.ok(&["ls", "--long", "latest", &format!("{base}/sub")]);
    assert!(
        long.lines()
            .any(|l| l.starts_with("-rw") && l.contains(" 5 ") && l.ends_with("file.txt")),
        "{long}"
    );
    let json = env.ok(&["--json", "ls", "latest", base]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "dir");
    let missing = env.run(&["ls", "latest", "/no/such/path"]);
    assert_code(&missing, 1);
}

#[test]
fn snapshot_prefix_and_ambiguity() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"one").unwrap();
    let s1 = env.backup(&src, &[]);
    let id = s1["snapshot_id"].as_str().unwrap().to_owned();
    let out = env.ok(&["ls", &id[..6], src.to_str().unwrap()]);
    assert!(out.contains("/f"));
    assert_code(&env.run(&["ls", "zzzz"]), 2);
    assert_code(&env.run(&["ls", "abcdef0123"]), 1);
}

/// Restore streams the snapshot in batches (about a thousand files each):
/// a tree of several batches, with hard links whose members fall in
/// different batches and directory times set after their contents, comes
/// back the same, and an --include restores only its selection.
#[test]
fn restore_in_batches_keeps_links_and_directory_times() {
    let env = Env::init();
    let src = env.path("src");
    for d in 0..5 {
        let dir = src.join(format!("d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..700 {
            fs::write(dir.join(format!("f{f:03}")), format!("{d}/{f}")).unwrap();
        }
    }
    fs::create_dir_all(src.join("d4/empty")).unwrap();
    // First member in the first batch, the others two and four batches on.
    fs::hard_link(src.join("d0/f000"), src.join("d2/link-a")).unwrap();
    fs::hard_link(src.join("d0/f000"), src.join("d4/link-b")).unwrap();
    distinct_mtimes(&src, 1_700_000_000);
    env.backup(&src, &[]);
    let target = env.restore_latest("restored");
    let n = assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
    assert!(n > 3500, "compared only {n} entries");
    let part = env.path("part");
    let inc = format!("{}/d3", src.display());
    env.ok(&[
        "restore",
        "latest",
        "--target",
        part.to_str().unwrap(),
        "--include",
        &inc,
    ]);
    let got = part.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        fs::read_dir(&got).unwrap().count(),
        1,
        "only d3 is restored"
    );
    assert_eq!(fs::read_dir(got.join("d3")).unwrap().count(), 700);
}

/// A tree 45 levels deep whose subdirectory sorts before its files at each
/// level, so the walk descends while every level's look-ahead holds files
/// open (31 each without a bound: 1,400 descriptors), backed up under a
/// limit of 256 descriptors: no file is skipped for "Too many open files",
/// and the restore is the tree.
#[test]
fn deep_tree_within_a_small_descriptor_limit() {
    let env = Env::init();
    let src = env.path("src");
    let mut dir = src.clone();
    for level in 0..45 {
        fs::create_dir_all(&dir).unwrap();
        for f in 0..40 {
            fs::write(dir.join(format!("f{f:02}")), format!("{level}/{f}")).unwrap();
        }
        dir = dir.join("a");
    }
    let out = env
        .program("sh")
        .args(["-c", "ulimit -n 256 && exec \"$0\" backup \"$1\""])
        .arg(cairn_tests::cairn_bin())
        .arg(&src)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("skipped"), "{stderr}");
    let target = env.restore_latest("restored");
    let n = assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
    assert!(n >= 45 * 40 + 44, "compared only {n} entries");
}
