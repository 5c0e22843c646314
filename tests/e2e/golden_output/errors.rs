//! The text and exit code of every error kind (`ErrorKind` in
//! engine/src/error.rs, mapped by cli/src/exit.rs), provoked through the
//! real binary; one golden file per case under `tests/expect/errors/`,
//! named after the kind. Most cases run twice, plain and with `--json`
//! (which adds the error object on stdout).

use super::{Case, Waiting, T1};
use nix::sys::signal::Signal;
use std::fs;

/// Record `args` plain and with `--json`.
fn both(c: &mut Case, args: &[&str]) {
    c.record(args);
    let mut json = vec!["--json"];
    json.extend_from_slice(args);
    c.record(&json);
}

/// A repository with one stdin backup (`notes.txt`, host golden, T1).
fn one_snapshot() -> Case {
    let mut c = Case::init();
    c.setup_stdin("notes.txt", b"golden notes\n", T1, &[]);
    c
}

#[test]
fn repository_not_found() {
    let mut c = Case::new();
    let missing = c.path("missing");
    both(&mut c, &["-r", &missing, "snapshots"]);
    let file = c.path("a-file");
    fs::write(&file, b"not a repository").unwrap();
    both(&mut c, &["-r", &file, "snapshots"]);
    c.finish("errors/repository_not_found.txt");
}

#[test]
fn repository_exists() {
    let mut c = Case::init();
    both(&mut c, &["init", "--kdf-memory-kib", "1024"]);
    c.finish("errors/repository_exists.txt");
}

#[test]
fn locked() {
    let mut c = Case::init();
    // A backup holds a shared lock; repairing the index needs it alone.
    for json in [false, true] {
        let holder = Waiting::start(&c, &[]);
        c.literal(format!("pid {}", holder.pid()), "pid <pid>");
        let args: &[&str] = if json {
            &["--json", "repair", "index"]
        } else {
            &["repair", "index"]
        };
        c.record(args);
        assert!(holder.finish(b"data").status.success());
    }
    // The lock of a running backup removed under it (`unlock --remove-all`):
    // the backup notices before it commits.
    let holder = Waiting::start(&c, &["--stdin-name", "late.txt"]);
    c.setup(&["unlock", "--remove-all"]);
    let args = holder.args.clone();
    let out = holder.finish(b"late data");
    c.record_output(&args.iter().map(String::as_str).collect::<Vec<_>>(), &out);
    c.finish("errors/locked.txt");
}

#[test]
fn wrong_password() {
    let mut c = one_snapshot();
    let wrong = c.path("wrong-password");
    fs::write(&wrong, "not the password\n").unwrap();
    both(&mut c, &["--password-file", &wrong, "snapshots"]);
    c.finish("errors/wrong_password.txt");
}

#[test]
fn corrupt_pack() {
    let mut c = Case::fixture("corrupt-pack");
    let out = c.path("out");
    both(&mut c, &["restore", "latest", "--target", &out]);
    c.finish("errors/corrupt-pack.txt");
}

#[test]
fn corrupt_key_file() {
    let mut c = Case::fixture("garbage-key");
    both(&mut c, &["snapshots"]);
    c.finish("errors/corrupt-key-file.txt");
}

#[test]
fn unsupported_version() {
    let mut c = one_snapshot();
    let marker = c.env.repo.join("CAIRN");
    let text = fs::read_to_string(&marker).unwrap();
    fs::write(
        &marker,
        text.replacen("CAIRN-REPOSITORY 1", "CAIRN-REPOSITORY 2", 1),
    )
    .unwrap();
    both(&mut c, &["snapshots"]);
    c.finish("errors/unsupported_version.txt");
}

#[test]
fn not_found() {
    let mut c = one_snapshot();
    both(&mut c, &["ls", "latest", "/no/such/path"]);
    let out = c.path("out");
    both(&mut c, &["restore", "abcdef0123", "--target", &out]);
    let missing = c.path("missing");
    both(&mut c, &["backup", &missing, "--host", "golden"]);
    c.finish("errors/not_found.txt");
}

#[test]
fn ambiguous() {
    let mut c = Case::init();
    // Back up until two snapshot IDs share their first digit; the first
    // time that happens exactly two do.
    let mut ids: Vec<String> = Vec::new();
    let prefix = loop {
        let n = ids.len();
        let data = format!("version {n}\n");
        ids.push(c.setup_stdin("notes.txt", data.as_bytes(), T1, &[]));
        let last = &ids[n][..1];
        if ids[..n].iter().any(|i| i.starts_with(last)) {
            break last.to_owned();
        }
    };
    c.literal(format!("'{prefix}'"), "'<prefix>'");
    for json in [false, true] {
        let mut args = vec!["ls", &prefix[..]];
        if json {
            args.insert(0, "--json");
        }
        let out = c.cmd(&args).output().unwrap();
        let shown: Vec<&str> = args
            .iter()
            .map(|a| if *a == prefix { "<prefix>" } else { a })
            .collect();
        c.record_output(&shown, &out);
    }
    c.finish("errors/ambiguous.txt");
}

#[test]
fn invalid_input() {
    let mut c = one_snapshot();
    both(&mut c, &["forget", "--keep-last", "0"]);
    both(&mut c, &["ls", "zzzz"]);
    both(&mut c, &["scrub", "--subset", "9/7"]);
    let empty = c.path("empty-password");
    fs::write(&empty, "").unwrap();
    both(&mut c, &["--password-file", &empty, "snapshots"]);
    for json in [false, true] {
        let args: &[&str] = if json {
            &["--json", "snapshots"]
        } else {
            &["snapshots"]
        };
        let out = c.cmd(args).env_remove("CAIRN_REPOSITORY").output().unwrap();
        c.record_output(args, &out);
    }
    c.finish("errors/invalid_input.txt");
}

/// Flags clap refuses before any command runs: exit 2, clap's wording
/// (with `--json` also a JSON error document on stdout).
#[test]
fn usage() {
    let mut c = Case::new();
    c.record(&["snapshots", "--bogus"]);
    c.record(&["forget", "--keep-last", "many"]);
    c.record(&["tag", "--add", "x"]);
    c.record(&["frobnicate"]);
    // With --json, stdout still holds one JSON document: the error.
    c.record(&["--json", "snapshots", "--bogus"]);
    c.record(&["tag", "--json", "--add", "x"]);
    c.record(&[
        "--json",
        "--repo",
        "a",
        "--repository-file",
        "b",
        "snapshots",
    ]);
    c.finish("errors/usage.txt");
}

#[test]
fn no_space() {
    let mut c = one_snapshot();
    for args in [&["snapshots"][..], &["--json", "snapshots"]] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = c.cmd(args).stdout(full).output().unwrap();
        c.record_output(args, &out);
    }
    c.finish("errors/no_space.txt");
}

#[test]
fn interrupted() {
    let mut c = Case::init();
    for json in [false, true] {
        let extra: &[&str] = if json { &["--json"] } else { &[] };
        let holder = Waiting::start(&c, extra);
        let args = holder.args.clone();
        let out = holder.signal(Signal::SIGINT);
        c.record_output(&args.iter().map(String::as_str).collect::<Vec<_>>(), &out);
    }
    assert_eq!(
        fs::read_dir(c.env.repo.join("snapshots")).unwrap().count(),
        0
    );
    c.finish("errors/interrupted.txt");
}

#[test]
fn io() {
    let mut c = one_snapshot();
    let missing = c.path("no-password-file");
    both(&mut c, &["--password-file", &missing, "snapshots"]);
    let file = c.path("a-file");
    fs::write(&file, b"in the way").unwrap();
    both(&mut c, &["restore", "latest", "--target", &file]);
    c.finish("errors/io.txt");
}
