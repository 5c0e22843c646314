//! Reading snapshots (`ls`, `dump`, `restore`, `verify`, `drill`): which
//! snapshot `latest` is, what a hostile or damaged repository can make a
//! reader do, and how output reaches the terminal or a pipe. Regression
//! tests of issue 9, named after what broke.

use cairn_engine::codec::pack::BlobType;
use cairn_engine::codec::tree::Extent;
use cairn_tests::forge::{dir, file, Forger};
use cairn_tests::{assert_code, os, random_bytes, Env};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Wait at most `secs` for `child`; kill it and fail if it is still running.
fn wait_or_kill(mut child: Child, secs: u64, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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

/// Wait (at most 30 s) for the first output on `out`, and keep draining
/// it in the background so its writer never blocks on a full pipe. A
/// reader that has printed is past start-up (its signal handler is set)
/// and inside the work it prints about.
fn first_output(mut out: impl Read + Send + 'static, what: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            let _ = tx.send(n);
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{what} printed nothing ({e})"));
}

fn sigint(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
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

/// A forged snapshot whose root holds `nodes`, with recorded totals.
fn forged(f: &Forger, nodes: Vec<cairn_engine::Node>, files: u64, dirs: u64) -> String {
    let (root, _) = f.tree(nodes);
    // 2001: older than any snapshot a test backs up besides.
    f.snapshot(root, files, dirs, 1_000_000_000).to_hex()
}

#[test]
fn dump_of_a_forged_huge_hole_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let id = forged(&f, vec![file("big", 10, vec![Extent::Hole(1 << 62)])], 1, 0);
    let (code, err) = run_bounded(&env, &["dump", &id[..10], "/big"], 20);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("content adds up to"), "{err}");
    let out = env.run(&["dump", &id[..10], "/big"]);
    assert!(
        out.stdout.is_empty(),
        "dump wrote {} bytes",
        out.stdout.len()
    );
    let (code, err) = run_bounded(&env, &["verify", &id[..10]], 20);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("content adds up to"), "{err}");
    let t = env.path("t");
    let out = env.run(&["restore", &id[..10], "--target", t.to_str().unwrap()]);
    assert_code(&out, 1);
    assert!(!t.join("big").exists(), "restore created the forged file");
}

/// A forged snapshot holding one file that is a single 2^62-byte hole,
/// recorded as such (consistent, just enormous).
fn enormous_hole(env: &Env) -> String {
    let f = Forger::open(env);
    forged(
        &f,
        vec![file("huge", 1 << 62, vec![Extent::Hole(1 << 62)])],
        1,
        0,
    )
}

#[test]
fn dump_and_verify_stop_on_sigint_inside_a_long_hole() {
    let env = Env::init();
    let id = enormous_hole(&env);
    // dump prints the hole's zeros; verify (-vv) names the file after its
    // last interrupt check before reading it, so the signal is noticed in
    // the hole.
    for args in [
        vec!["dump", &id[..10], "/huge"],
        vec!["-vv", "verify", &id[..10]],
    ] {
        let dump = args[0] == "dump";
        let pipe = |p: bool| if p { Stdio::piped() } else { Stdio::null() };
        let mut child = env
            .cmd(&args)
            .stdout(pipe(dump))
            .stderr(pipe(!dump))
            .spawn()
            .unwrap();
        match (child.stdout.take(), child.stderr.take()) {
            (Some(out), _) => first_output(out, "dump"),
            (_, Some(err)) => first_output(err, "verify -vv"),
            _ => unreachable!(),
        }
        sigint(&child);
        let st = wait_or_kill(child, 10, &format!("{args:?} after SIGINT"));
        assert_eq!(st.code(), Some(130), "{args:?}");
    }
}

#[test]
fn interrupted_dump_does_not_speak_of_snapshots_written() {
    let env = Env::init();
    // 100,000 holes of 1 GiB: an interrupt is noticed between extents.
    let f = Forger::open(&env);
    let n = 100_000u64;
    let id = forged(
        &f,
        vec![file(
            "holes",
            n << 30,
            vec![Extent::Hole(1 << 30); n as usize],
        )],
        1,
        0,
    );
    let mut child = env
        .cmd(&["dump", &id[..10], "/holes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    first_output(child.stdout.take().unwrap(), "dump");
    sigint(&child);
    let st = wait_or_kill(child, 10, "dump after SIGINT");
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    assert_eq!(st.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        !text.contains("snapshot"),
        "backup wording in a reader: {text}"
    );
}

#[test]
fn forged_file_pointing_at_a_tree_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let (secret, bytes) = f.tree(vec![file("inner", 0, vec![])]);
    let id = forged(
        &f,
        vec![file(
            "f",
            bytes.len() as u64,
            vec![Extent::Chunk(cairn_engine::ChunkId(secret.0))],
        )],
        1,
        0,
    );
    let out = env.run(&["dump", &id[..10], "/f"]);
    assert_code(&out, 1);
    assert!(out.stdout.is_empty(), "a tree was dumped as file content");
    assert!(
        stderr(&out).contains("stored as a tree"),
        "{}",
        stderr(&out)
    );
    let t = env.path("t");
    assert_code(
        &env.run(&["restore", &id[..10], "--target", t.to_str().unwrap()]),
        1,
    );
    let out = env.run(&["verify", &id[..10]]);
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("stored as a tree"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dump_checks_the_content_against_the_recorded_size() {
    let env = Env::init();
    let f = Forger::open(&env);
    let data = random_bytes(100, 3);
    let c = f.chunk(&data);
    let id = forged(
        &f,
        vec![
            file("short", 50, vec![Extent::Chunk(c)]),
            file("long", 150, vec![Extent::Chunk(c)]),
            file("right", 100, vec![Extent::Chunk(c)]),
        ],
        3,
        0,
    );
    for name in ["/short", "/long"] {
        let out = env.run(&["dump", &id[..10], name]);
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("the tree records"),
            "{}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{name}: wrote {} bytes",
            out.stdout.len()
        );
    }
    let out = env.run(&["dump", &id[..10], "/right"]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, data);
}

#[test]
fn forged_graph_reusing_subtrees_exponentially_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let c = f.chunk(b"leaf");
    // Level 0 holds one file; level k holds two directories that are both
    // level k-1: 2^40 files from 41 trees.
    let (mut t, bytes) = f.tree_unstored(vec![file("leaf", 4, vec![Extent::Chunk(c)])]);
    let mut trees = vec![(BlobType::Tree, bytes)];
    for _ in 0..40 {
        let (id, bytes) = f.tree_unstored(vec![dir("a", t), dir("b", t)]);
        trees.push((BlobType::Tree, bytes));
        t = id;
    }
    f.store(&trees);
    let id = forged(&f, vec![dir("top", t)], 1, 41);
    let target = env.path("t");
    let target = target.to_str().unwrap();
    // `ls` first: unbounded, it streams (no memory growth) until killed.
    for args in [
        vec!["ls", &id[..10]],
        vec!["restore", &id[..10], "--target", target],
        vec!["verify", &id[..10]],
        vec!["drill", &id[..10]],
    ] {
        let (code, err) = run_bounded(&env, &args, 30);
        // verify runs to the end and reports damage (4); the others
        // (drill restores first) cannot run (1).
        let want = if args[0] == "verify" { 4 } else { 1 };
        assert_eq!(code, Some(want), "{args:?}: {err}");
        assert!(err.contains("than the snapshot records"), "{args:?}: {err}");
    }
    // Legitimate reuse (identical directories stored once) still restores.
    let src = env.path("src");
    for d in ["x", "y"] {
        fs::create_dir_all(src.join(d).join("empty")).unwrap();
        fs::write(src.join(d).join("same"), b"same").unwrap();
    }
    env.backup(&src, &[]);
    env.ok(&["verify", "latest"]);
    let t = env.restore_latest("legit");
    assert!(t
        .join(src.strip_prefix("/").unwrap())
        .join("y/empty")
        .is_dir());
}

#[test]
fn forged_graph_nested_deeper_than_any_path_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let (mut t, bytes) = f.tree_unstored(vec![]);
    let mut trees = vec![(BlobType::Tree, bytes)];
    for _ in 0..2100 {
        let (id, bytes) = f.tree_unstored(vec![dir("d", t)]);
        trees.push((BlobType::Tree, bytes));
        t = id;
    }
    f.store(&trees);
    let id = forged(&f, vec![dir("top", t)], 0, 2101);
    let target = env.path("t");
    for args in [
        vec!["ls", &id[..10]],
        vec!["restore", &id[..10], "--target", target.to_str().unwrap()],
    ] {
        let (code, err) = run_bounded(&env, &args, 60);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("nested deeper than 2048"), "{args:?}: {err}");
    }
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
