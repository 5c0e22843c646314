//! Reading snapshots (`ls`, `dump`, `restore`, `verify`, `drill`): which
//! snapshot `latest` is, what a hostile or damaged repository can make a
//! reader do, and how output reaches the terminal or a pipe. Regression
//! tests of issue 9, named after what broke. Forged trees that lie are in
//! `forged`, readers stopped by SIGINT in `interrupt`.

mod forged;
mod interrupt;

use cairn_tests::{assert_code, os, random_bytes, Env};
use interrupt::wait_or_kill;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run with stdout discarded, at most `secs` seconds; stderr captured.
fn run_bounded(env: &Env, args: &[&str], secs: u64) -> (Option<i32>, String) {
    let mut child = env
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let st = wait_or_kill(child, secs, &format!("cairn {args:?}"));
    (st.code(), reader.join().unwrap())
}

fn stdin_backup(env: &Env, name: &str, data: &[u8], extra: &[&str]) {
    let mut args = vec!["-q", "backup", "--stdin", "--stdin-name", name];
    args.extend_from_slice(extra);
    let mut child = env.cmd(&args).stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), data).unwrap();
    assert!(child.wait().unwrap().success());
}

fn snapshot_ids(env: &Env) -> Vec<String> {
    env.json(&["snapshots"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn dump_latest_after_a_stdin_backup_names_the_snapshot_and_filters_choose_another() {
    let env = Env::init();
    let src = env.path("etc");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("hostname"), b"box\n").unwrap();
    let s = src.to_str().unwrap();
    let file = format!("{s}/hostname");
    env.backup(&src, &["--host", "box", "--tag", "nightly,etc"]);
    stdin_backup(
        &env,
        "db.dump",
        b"dump data",
        &["--host", "db", "--tag", "nightly"],
    );
    let stdin_id = snapshot_ids(&env)[1].clone();

    let out = env.run(&["dump", "latest", &file]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains(&stdin_id[..8]), "{err}");
    assert!(
        err.contains("`latest`") && err.contains("--host, --path or --tag"),
        "{err}"
    );
    assert!(err.contains("stdin backup of db.dump"), "{err}");

    // restic's filters for `latest`: --host, --path (all of them), --tag
    // (comma list: all of these; repeated: any of the lists).
    for filter in [
        vec!["--host", "box"],
        vec!["--path", s],
        vec!["--tag", "etc,nightly"],
        vec!["--tag", "nope", "--tag", "etc"],
    ] {
        let mut a = vec!["dump", "latest", &file];
        a.extend_from_slice(&filter);
        assert_eq!(env.ok(&a), "box\n", "{filter:?}");
    }
    assert_eq!(
        env.ok(&["dump", "latest", "db.dump", "--path", "/db.dump"]),
        "dump data"
    );
    let out = env.run(&["dump", "latest", &file, "--tag", "nightly,nope"]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("no snapshot matches --tag nightly,nope"));
    let mut ls = vec!["ls", "latest", "--host", "box"];
    assert!(env.ok(&ls).contains(&file));
    ls.extend(["--path", "/elsewhere"]);
    assert_code(&env.run(&ls), 1);
    let t = env.path("out");
    let t = t.to_str().unwrap();
    env.ok(&["restore", "latest", "--target", t, "--host", "box"]);
    assert_eq!(fs::read(format!("{t}{file}")).unwrap(), b"box\n");
    env.ok(&["verify", "latest", "--tag", "etc"]);
    env.ok(&["drill", "latest", "--path", s]);
    // The same meaning for `snapshots`; filters with an explicit ID are a
    // usage error.
    assert_eq!(
        env.json(&["snapshots", "--tag", "nightly,etc"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.json(&["snapshots", "--tag", "nightly"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_code(&env.run(&["ls", &stdin_id[..8], "--host", "box"]), 2);
}

#[test]
fn latest_fails_when_the_newest_snapshot_is_unreadable() {
    for damage in ["bit-flip", "truncate", "swap"] {
        let env = Env::init();
        let src = env.path("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("f"), b"old").unwrap();
        env.backup(&src, &["--time", "2026-01-01T00:00:00Z"]);
        fs::write(src.join("f"), b"new").unwrap();
        env.backup(&src, &["--time", "2026-01-02T00:00:00Z"]);
        let ids = snapshot_ids(&env);
        let newest = env.repo.join("snapshots").join(&ids[1]);
        let older = env.repo.join("snapshots").join(&ids[0]);
        match damage {
            "bit-flip" => {
                let mut b = fs::read(&newest).unwrap();
                let i = b.len() / 2;
                b[i] ^= 0x10;
                fs::write(&newest, b).unwrap();
            }
            "truncate" => {
                let b = fs::read(&newest).unwrap();
                fs::write(&newest, &b[..b.len() / 2]).unwrap();
            }
            _ => {
                fs::copy(&older, &newest).unwrap();
            }
        }
        let t = env.path("t");
        let t = t.to_str().unwrap();
        let f = format!("{}/f", src.display());
        for args in [
            vec!["restore", "latest", "--target", t],
            vec!["ls", "latest"],
            vec!["dump", "latest", &f],
            vec!["verify", "latest"],
            vec!["drill", "latest"],
            vec!["drill"],
        ] {
            let out = env.run(&args);
            assert_code(&out, 1);
            let err = stderr(&out);
            assert!(
                err.contains(&format!("snapshots/{}", ids[1]))
                    && err.contains("could be the newest"),
                "{damage} {args:?}: {err}"
            );
        }
        // An explicit ID still works.
        assert_eq!(env.ok(&["dump", &ids[0][..10], &f]), "old", "{damage}");
    }
}

#[test]
fn control_characters_in_names_host_and_tags_are_escaped() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("evil\x1b[2Jname\nfake line"), b"x").unwrap();
    fs::write(src.join(os(b"bad\x9b\xffbyte")), b"y").unwrap();
    fs::write(src.join("c1\u{9b}char"), b"z").unwrap();
    std::os::unix::fs::symlink("target\x07bell", src.join("link")).unwrap();
    let s = src.to_str().unwrap();
    let backup = env.run(&[
        "-vv",
        "backup",
        s,
        "--host",
        "h\x1b]0;owned\x07",
        "--tag",
        "t\x1b[31m",
    ]);
    assert_code(&backup, 0);
    let no_raw_controls = |what: &str, bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !bytes.iter().any(|b| matches!(*b, 0x1b | 0x07 | 0x9b))
                && !text.contains("\nfake line"),
            "{what}: {text:?}"
        );
        assert!(
            text.contains("\\x1b") || text.contains("\\x07"),
            "{what}: {text:?}"
        );
    };
    // `-vv` lists every entry on stdout (restic's place for it).
    no_raw_controls("backup -vv", &backup.stdout);
    assert!(!backup
        .stderr
        .iter()
        .any(|b| matches!(*b, 0x1b | 0x07 | 0x9b)));
    for args in [
        vec!["ls", "latest"],
        vec!["ls", "--long", "latest"],
        vec!["snapshots"],
        vec!["forget", "--keep-last", "1", "--dry-run"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 0);
        no_raw_controls(&format!("{args:?}"), &out.stdout);
    }
    let ls = env.ok(&["ls", "--long", "latest"]);
    assert!(ls.contains("evil\\x1b[2Jname\\nfake line"), "{ls}");
    assert!(ls.contains("bad\\x9b\\xffbyte"), "{ls}");
    assert!(ls.contains("c1\\u{9b}char"), "{ls}");
    assert!(ls.contains("-> target\\x07bell"), "{ls}");
    // Errors quoting a name are escaped too.
    let out = env.run(&["dump", "latest", &format!("{s}/nope\x1b[2J")]);
    assert_code(&out, 1);
    no_raw_controls("dump error", &out.stderr);
    // JSON keeps the exact text (JSON-escaped).
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps[0]["host"], "h\x1b]0;owned\x07");
}

#[test]
fn ls_long_shows_setuid_setgid_and_sticky_bits() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("sticky")).unwrap();
    for (name, mode) in [("suid", 0o4755), ("sgid-nox", 0o2644), ("plain", 0o755)] {
        fs::write(src.join(name), b"x").unwrap();
        fs::set_permissions(src.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::set_permissions(src.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    env.backup(&src, &[]);
    let ls = env.ok(&["ls", "--long", "latest"]);
    let mode_of = |name: &str| {
        ls.lines()
            .find(|l| l.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("{name} not listed: {ls}"))
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(mode_of("suid"), "-rwsr-xr-x");
    assert_eq!(mode_of("sgid-nox"), "-rw-r-Sr--");
    assert_eq!(mode_of("plain"), "-rwxr-xr-x");
    assert_eq!(mode_of("sticky"), "drwxrwxrwt");
}

#[test]
fn ls_into_a_closed_pipe_exits_zero_quietly() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let long = "n".repeat(100);
    for i in 0..3000 {
        fs::write(src.join(format!("{long}{i}")), b"").unwrap();
    }
    fs::write(src.join("big"), random_bytes(4 << 20, 9)).unwrap();
    env.backup(&src, &[]);
    let big = format!("{}/big", src.display());
    for args in [vec!["ls", "latest"], vec!["dump", "latest", &big]] {
        let mut child = env
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The read end is closed here, like `| head` exiting.
        let out = child.wait_with_output().unwrap();
        assert_code(&out, 0);
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn snapshots_json_to_dev_full_exits_nonzero() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    env.backup(&src, &[]);
    for args in [
        vec!["--json", "snapshots"],
        vec!["snapshots"],
        vec!["ls", "latest"],
        vec!["verify", "latest"],
    ] {
        let out = env
            .cmd(&args)
            .stdout(fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("no space"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn ls_dump_and_include_take_non_utf8_paths() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut name = src.as_os_str().as_encoded_bytes().to_vec();
    name.extend_from_slice(b"/caf\xe9.txt");
    fs::write(os(&name), b"latin-1 name").unwrap();
    fs::write(src.join("other"), b"other").unwrap();
    env.backup(&src, &[]);
    let out = env.cmd(&["ls", "latest"]).arg(os(&name)).output().unwrap();
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("caf\\xe9.txt"));
    let out = env
        .cmd(&["dump", "latest"])
        .arg(os(&name))
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"latin-1 name");
    let t = env.path("t");
    let out = env
        .cmd(&[
            "restore",
            "latest",
            "--target",
            t.to_str().unwrap(),
            "--include",
        ])
        .arg(os(&name))
        .output()
        .unwrap();
    assert_code(&out, 0);
    let mut restored = t.as_os_str().as_encoded_bytes().to_vec();
    restored.extend_from_slice(&name);
    assert_eq!(fs::read(os(&restored)).unwrap(), b"latin-1 name");
    assert!(!t
        .join(src.strip_prefix("/").unwrap())
        .join("other")
        .exists());
    // Unanchored, by its last component.
    let t2 = env.path("t2");
    let out = env
        .cmd(&[
            "restore",
            "latest",
            "--target",
            t2.to_str().unwrap(),
            "--include",
        ])
        .arg(os(b"caf\xe9.txt"))
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(!t2
        .join(src.strip_prefix("/").unwrap())
        .join("other")
        .exists());
}
