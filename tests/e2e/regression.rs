//! Regression tests, named after what broke (found in review).

use cairn_tests::{assert_code, assert_same_tree, random_bytes, Env};
use std::fs;
use std::os::unix::fs::symlink;

#[test]
fn backup_path_below_a_symlinked_directory_restores() {
    let env = Env::init();
    let real = env.path("real");
    fs::create_dir_all(real.join("sub")).unwrap();
    fs::write(real.join("sub/file"), b"through a symlinked parent").unwrap();
    symlink(&real, env.path("link")).unwrap();
    let via_link = env.path("link").join("sub");
    env.backup(&via_link, &[]);
    assert_eq!(env.json(&["check"])["ok"], true);
    let t = env.restore_latest("out");
    let back = fs::read(t.join(via_link.strip_prefix("/").unwrap()).join("file")).unwrap();
    assert_eq!(back, b"through a symlinked parent");
}

#[test]
fn unchanged_file_whose_pack_was_lost_is_read_again() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(300_000, 4)).unwrap();
    env.backup(&src, &[]);
    for p in env.packs() {
        if fs::metadata(&p).unwrap().len() > 200_000 {
            fs::remove_file(p).unwrap();
        }
    }
    env.json(&["repair", "index"]);
    let again = env.backup(&src, &[]);
    assert_eq!(
        again["unchanged_files"], 0,
        "a file with lost chunks was carried forward: {again}"
    );
    let t = env.restore_latest("out");
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn mongodb_uri_among_file_paths_is_refused_without_echoing_the_password() {
    let env = Env::init();
    let out = env.run(&[
        "backup",
        "/etc/hostname",
        "mongodb://u:s3cr3t-pw@127.0.0.1:1/",
    ]);
    assert_code(&out, 2);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t-pw"));
}

#[test]
fn restore_never_follows_a_symlink_already_in_the_target() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::write(src.join("dir/file"), b"mine").unwrap();
    fs::write(src.join("top"), b"top").unwrap();
    env.backup(&src, &[]);
    let t = env.path("out");
    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    let base = t.join(src.strip_prefix("/").unwrap());
    fs::create_dir_all(&base).unwrap();
    symlink(&outside, base.join("dir")).unwrap();
    symlink(outside.join("victim"), base.join("top")).unwrap();
    env.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    assert!(
        fs::read_dir(&outside).unwrap().next().is_none(),
        "restore wrote outside the target"
    );
    assert_same_tree(&src, &base);
}

/// A file already in the target is rewritten in place: a longer one is
/// cut to the snapshot's size, a shorter one grows to it.
#[test]
fn restore_over_existing_files_writes_the_snapshot_exactly() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::write(src.join("dir/file"), b"mine").unwrap();
    fs::write(src.join("top"), vec![7u8; 10_000]).unwrap();
    env.backup(&src, &[]);
    let t = env.path("out");
    env.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    let base = t.join(src.strip_prefix("/").unwrap());
    fs::write(base.join("dir/file"), vec![1u8; 50_000]).unwrap();
    fs::remove_file(base.join("top")).unwrap();
    fs::write(base.join("top"), b"short").unwrap();
    env.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    assert_same_tree(&src, &base);
}

/// A reader that goes away (`cairn snapshots | head -0`) must not make
/// cairn panic: output to a closed pipe is dropped, the exit code stands.
#[test]
fn closed_stdout_is_not_a_panic() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"a").unwrap();
    env.backup(&src, &[]);
    let mut child = env
        .cmd(&["snapshots"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before cairn writes
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn file_capabilities_and_setuid_survive_a_restore_as_root() {
    // A change of owner clears setuid and, on Linux, drops the
    // `security.capability` attribute: restore sets the owner first.
    if !cairn_tests::is_root() {
        return cairn_tests::skip("needs root to set file capabilities and owners");
    }
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let f = src.join("ping");
    fs::write(&f, b"#!/bin/true\n").unwrap();
    std::os::unix::fs::lchown(&f, Some(1234), Some(5678)).unwrap();
    // VFS_CAP_REVISION_2, cap_net_raw (13) permitted, no effective bit.
    let mut cap = vec![0u8; 20];
    cap[..4].copy_from_slice(&0x0200_0000u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
    if let Err(e) = xattr::set(&f, "security.capability", &cap) {
        return cairn_tests::skip(&format!("this filesystem takes no file capabilities: {e}"));
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).unwrap();
    env.backup(&src, &[]);
    let target = env.restore_latest("out");
    let r = target.join(src.strip_prefix("/").unwrap()).join("ping");
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(&r).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    assert_eq!(m.mode() & 0o7777, 0o4755, "setuid lost");
    assert_eq!(
        xattr::get(&r, "security.capability").unwrap(),
        Some(cap),
        "file capability lost"
    );
}
