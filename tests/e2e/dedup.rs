//! Deduplication and change detection.

use cairn_tests::{random_bytes, Env};
use std::fs;

fn u(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

#[test]
fn unchanged_rebackup_reads_nothing_and_adds_under_one_percent() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a/b")).unwrap();
    for i in 0..50u64 {
        fs::write(
            src.join(format!("a/f{i}")),
            random_bytes(100_000 + i as usize * 3000, i),
        )
        .unwrap();
    }
    fs::write(src.join("a/b/large"), random_bytes(20 << 20, 99)).unwrap();
    let first = env.backup(&src, &[]);
    let second = env.backup(&src, &[]);
    assert_eq!(
        u(&second, "unchanged_files"),
        u(&second, "files"),
        "{second}"
    );
    assert_eq!(u(&second, "files"), 51);
    assert!(second["parent"].as_str() == first["snapshot_id"].as_str());
    let total = u(&first, "bytes");
    assert!(
        u(&second, "new_bytes") * 100 < total,
        "second backup stored {} of {total}",
        u(&second, "new_bytes")
    );
}

#[test]
fn insert_in_middle_of_100_mib_stores_few_chunks() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut data = random_bytes(100 << 20, 7);
    fs::write(src.join("big"), &data).unwrap();
    env.backup(&src, &[]);
    data.splice(50 << 20..50 << 20, *b"0123456789");
    fs::write(src.join("big"), &data).unwrap();
    let second = env.backup(&src, &[]);
    let new = u(&second, "new_bytes");
    // One or two chunks around the edit (max chunk 8 MiB, average 1 MiB).
    assert!(new < 12 << 20, "10-byte insert stored {new} new bytes");
    assert!(new > 0);
    let target = env.restore_latest("out");
    let back = fs::read(target.join(src.strip_prefix("/").unwrap()).join("big")).unwrap();
    assert!(back == data, "restored content differs");
}

#[test]
fn identical_files_are_stored_once() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let data = random_bytes(3 << 20, 11);
    for i in 0..5 {
        fs::write(src.join(format!("copy{i}")), &data).unwrap();
    }
    let s = env.backup(&src, &[]);
    assert!(u(&s, "new_bytes") < (3 << 20) + (1 << 16), "{s}");
}

/// An unchanged entry's xattrs are carried over from the parent without
/// reading them again; a changed xattr changes the ctime, and is read.
#[test]
fn xattrs_follow_changes_across_rebackups() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for f in ["a", "b"] {
        fs::write(src.join(f), f).unwrap();
    }
    xattr::set(src.join("a"), "user.k", b"v1").unwrap();
    xattr::set(src.join("b"), "user.k", b"keep").unwrap();
    env.backup(&src, &[]);
    xattr::set(src.join("a"), "user.k", b"v2").unwrap();
    let second = env.backup(&src, &[]);
    assert_eq!(u(&second, "unchanged_files"), 1, "{second}");
    let out = env.restore_latest("out2");
    let back = out.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        xattr::get(back.join("a"), "user.k").unwrap().unwrap(),
        b"v2"
    );
    assert_eq!(
        xattr::get(back.join("b"), "user.k").unwrap().unwrap(),
        b"keep"
    );
    xattr::remove(src.join("a"), "user.k").unwrap();
    env.backup(&src, &[]);
    let out = env.restore_latest("out3");
    let back = out.join(src.strip_prefix("/").unwrap());
    assert_eq!(xattr::get(back.join("a"), "user.k").unwrap(), None);
    assert_eq!(
        xattr::get(back.join("b"), "user.k").unwrap().unwrap(),
        b"keep"
    );
}

/// An unchanged directory keeps its parent's tree (the walk reuses the
/// tree's ID without encoding it); a change deep down must still give new
/// trees all the way up, and each snapshot restores as it was.
#[test]
fn a_change_deep_in_an_unchanged_tree_reaches_every_snapshot() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a/b/c")).unwrap();
    fs::create_dir_all(src.join("a/gone/inner")).unwrap();
    fs::create_dir_all(src.join("z")).unwrap();
    fs::write(src.join("a/b/c/deep"), b"first version").unwrap();
    fs::write(src.join("a/gone/inner/f"), b"to be removed").unwrap();
    fs::write(src.join("z/same"), b"never changes").unwrap();
    let tree_of = |snap: &serde_json::Value| {
        let id = snap["snapshot_id"].as_str().unwrap().to_owned();
        env.json(&["cat", "snapshot", &id])["tree"].clone()
    };
    let first = env.backup(&src, &[]);
    let again = env.backup(&src, &[]);
    assert_eq!(
        tree_of(&first),
        tree_of(&again),
        "unchanged tree, same root"
    );
    fs::write(src.join("a/b/c/deep"), b"second version!").unwrap();
    fs::remove_dir_all(src.join("a/gone")).unwrap();
    let second = env.backup(&src, &[]);
    assert_ne!(
        tree_of(&second),
        tree_of(&first),
        "a deep change, a new root"
    );
    let third = env.backup(&src, &[]);
    assert_eq!(tree_of(&third), tree_of(&second));
    let relative = |dir: &std::path::Path| -> Vec<(std::path::PathBuf, String)> {
        cairn_tests::fingerprint(dir)
            .into_iter()
            .map(|(p, h)| (p.strip_prefix(dir).unwrap().to_path_buf(), h))
            .collect()
    };
    let out = env.restore_latest("out");
    let restored = relative(&out.join(src.strip_prefix("/").unwrap()));
    assert_eq!(restored, relative(&src));
    assert_eq!(restored.len(), 2, "{restored:?}");
    let id = first["snapshot_id"].as_str().unwrap();
    let old = env.path("old");
    env.ok(&["restore", id, "--target", old.to_str().unwrap()]);
    let old_src = old.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        fs::read(old_src.join("a/b/c/deep")).unwrap(),
        b"first version"
    );
    assert!(old_src.join("a/gone/inner/f").exists());
}
