//! Exclude patterns on backup, include/exclude on restore.

use cairn_tests::Env;
use std::fs;

#[test]
fn backup_excludes_and_exclude_file() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("cache/deep")).unwrap();
    fs::create_dir_all(src.join("keep")).unwrap();
    fs::write(src.join("cache/deep/x"), b"x").unwrap();
    fs::write(src.join("keep/a.log"), b"log").unwrap();
    fs::write(src.join("keep/a.txt"), b"txt").unwrap();
    fs::write(src.join("keep/b.tmp"), b"tmp").unwrap();
    let ex = env.path("excludes");
    fs::write(&ex, "# comment\n*.tmp\n\n").unwrap();
    env.backup(
        &src,
        &[
            "--exclude",
            "*.log",
            "--exclude",
            "cache",
            "--exclude-file",
            ex.to_str().unwrap(),
        ],
    );
    let listing = env.ok(&["ls", "latest", src.to_str().unwrap()]);
    assert!(listing.contains("/keep/a.txt"), "{listing}");
    for gone in ["a.log", "b.tmp", "/cache"] {
        assert!(!listing.contains(gone), "{gone} not excluded: {listing}");
    }
}

#[test]
fn restore_include_and_exclude() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a/sub")).unwrap();
    fs::create_dir_all(src.join("b")).unwrap();
    fs::write(src.join("a/sub/1.txt"), b"1").unwrap();
    fs::write(src.join("a/2.dat"), b"2").unwrap();
    fs::write(src.join("b/3.txt"), b"3").unwrap();
    env.backup(&src, &[]);
    let t = env.path("t1");
    env.ok(&[
        "restore",
        "latest",
        "--target",
        t.to_str().unwrap(),
        "--include",
        "*.txt",
        "--exclude",
        "b",
    ]);
    let base = t.join(src.strip_prefix("/").unwrap());
    assert!(base.join("a/sub/1.txt").exists());
    assert!(!base.join("a/2.dat").exists());
    assert!(!base.join("b").exists());
    let t2 = env.path("t2");
    env.ok(&[
        "restore",
        "latest",
        "--target",
        t2.to_str().unwrap(),
        "--include",
        &format!("{}/a", src.display()),
    ]);
    let base2 = t2.join(src.strip_prefix("/").unwrap());
    assert!(base2.join("a/2.dat").exists() && base2.join("a/sub/1.txt").exists());
    assert!(!base2.join("b").exists());
}
