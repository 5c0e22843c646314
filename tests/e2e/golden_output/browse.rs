//! The output of `find`, `diff`, `stats` and `cat` (issue 14), human and
//! `--json`, one golden file per case under `tests/expect/json/`: two
//! snapshots of [`Case::source`], the second with a file added, one
//! changed in content, one in mode only.

use super::{Case, SOURCE_MTIME, T1, T2};
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// The case and the IDs of its two snapshots, oldest first.
fn two_snapshots() -> (Case, String, String) {
    let mut c = Case::init();
    let src = c.source();
    let s = src.to_str().unwrap().to_owned();
    let id = |out: String| -> String {
        let v = cairn_tests::json_doc(&out).unwrap();
        v["snapshot_id"].as_str().unwrap().to_owned()
    };
    let one = id(c.setup(&["--json", "backup", &s, "--host", "golden", "--time", T1]));
    fs::write(src.join("docs/new.txt"), b"new\n").unwrap();
    fs::write(src.join("docs/readme.txt"), b"hello, changed world\n").unwrap();
    fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
    let t = TimeSpec::new(SOURCE_MTIME, 0);
    for p in ["docs/new.txt", "docs/readme.txt", "docs", ""] {
        utimensat(None, &src.join(p), &t, &t, UtimensatFlags::NoFollowSymlink).unwrap();
    }
    let two = id(c.setup(&["--json", "backup", &s, "--host", "golden", "--time", T2]));
    (c, one, two)
}

#[test]
fn find() {
    let (mut c, one, _) = two_snapshots();
    c.record(&["--json", "find", "*.txt"]);
    c.record(&["find", "readme.*", "--snapshot", &one]);
    c.record(&["find", "nothing"]);
    c.record(&["find", "a["]);
    c.finish("json/find.txt");
}

#[test]
fn diff() {
    let (mut c, one, two) = two_snapshots();
    let src = c.path("src");
    c.record(&["--json", "diff", &one, &two, &src]);
    c.record(&["diff", &one, &two, &src]);
    c.finish("json/diff.txt");
}

#[test]
fn stats() {
    let (mut c, one, _) = two_snapshots();
    // Tree blobs hold owners, inode and device numbers: their sizes, and
    // every total that includes them, differ between machines.
    for key in ["blobs", "compression_ratio", "repository"] {
        c.hide(key, "<includes tree sizes>");
    }
    c.record(&["--json", "stats"]);
    c.record(&["--json", "stats", &one, "--mode", "files"]);
    c.record(&["stats", "--mode", "nonsense"]);
    c.finish("json/stats.txt");
}

#[test]
fn cat() {
    let (mut c, _, two) = two_snapshots();
    c.record(&["--json", "cat", "snapshot", &two]);
    c.record(&["cat", "tree", "abc"]);
    c.finish("json/cat.txt");
}
