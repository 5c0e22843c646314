//! Streams from standard input, and `dump`.

use cairn_tests::{assert_code, random_bytes, Env};
use std::io::Write;
use std::process::Stdio;

#[test]
fn stdin_backup_dumps_back_identically() {
    let env = Env::init();
    let data = random_bytes(7 << 20, 21);
    let mut child = env
        .cmd(&[
            "--json",
            "backup",
            "--stdin",
            "--stdin-name",
            "db.archive",
            "--tag",
            "mongo",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    let out = env.cmd(&["dump", "latest", "db.archive"]).output().unwrap();
    assert_code(&out, 0);
    assert!(out.stdout == data, "dump differs from the stdin input");
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps[0]["source"], "stdin");
    assert_eq!(snaps[0]["paths"][0], "db.archive");
}

#[test]
fn dump_of_a_file_in_a_tree_and_of_a_directory() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/x"), b"exact bytes\n").unwrap();
    env.backup(&src, &[]);
    let p = format!("{}/d/x", src.display());
    assert_eq!(env.ok(&["dump", "latest", &p]), "exact bytes\n");
    assert_code(
        &env.run(&["dump", "latest", &format!("{}/d", src.display())]),
        2,
    );
}

#[test]
fn time_override_is_recorded() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    env.backup(&src, &["--time", "2020-02-29T12:34:56Z"]);
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps[0]["time"], "2020-02-29T12:34:56Z");
}
