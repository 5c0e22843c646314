//! Backup traps: an interrupted stdin backup, an unchanged re-backup that
//! stored data again, a missing path among several, a backup that read
//! nothing and still wrote a snapshot.

use super::*;

/// `systemctl stop` during a slow `pg_dump | cairn backup --stdin`: the
/// signal arrives before the first byte. Before the fix the blocked read
/// went on until the writer closed the pipe, and an empty snapshot was
/// saved with exit 0 (with parity on, the warning contradicted itself).
#[test]
fn interrupted_stdin_backup_before_the_first_byte_writes_no_snapshot() {
    for parity in [false, true] {
        let env = Env::init();
        if parity {
            env.ok(&["parity", "set", "2+1"]);
        }
        let fifo = env.path("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // A writer that holds the pipe open and never writes.
        let mut writer = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec sleep 60 > '{}'", fifo.display()))
            .spawn()
            .unwrap();
        let input = fs::File::open(&fifo).unwrap();
        let child = env
            .cmd(&["backup", "--stdin", "--stdin-name", "dump.sql"])
            .stdin(input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        env.wait_until_locked();
        let started = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        let _ = writer.kill();
        let _ = writer.wait();
        assert_code(&out, 130);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the backup waited for the writer instead of stopping"
        );
        assert_eq!(snapshot_count(&env), 0, "a snapshot was written");
        let err = stderr(&out);
        assert!(err.contains("no snapshot was written"), "{err}");
        assert!(!err.contains("is stored"), "contradictory message: {err}");
    }
}

/// A stdin backup that completes still records the whole stream (the
/// helper-thread reader delivers every byte in order).
#[test]
fn stdin_backup_through_the_interruptible_reader_is_byte_exact() {
    let env = Env::init();
    let data = random_bytes(9 << 20, 77);
    let src = env.path("data.bin");
    fs::write(&src, &data).unwrap();
    let out = env
        .cmd(&["backup", "--stdin", "--stdin-name", "d"])
        .stdin(fs::File::open(&src).unwrap())
        .output()
        .unwrap();
    assert_code(&out, 0);
    let back = env.run(&["dump", "latest", "d"]);
    assert_code(&back, 0);
    assert!(back.stdout == data, "dump differs from the stream");
}

/// Right after a first backup, a second one of the same unchanged tree
/// stored new data: access times were recorded, and reading a file or
/// listing a directory changes them.
#[test]
fn unchanged_rebackup_stores_no_new_data() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/a"), random_bytes(100_000, 1)).unwrap();
    fs::write(src.join("b"), b"small").unwrap();
    env.backup(&src, &[]);
    // Reading files and listing directories (relatime: the first access
    // after a change) moves their access times and nothing else.
    use std::os::unix::fs::MetadataExt;
    let atimes = || -> Vec<i64> {
        [src.join("b"), src.join("sub"), src.join("sub/a")]
            .iter()
            .map(|p| {
                let m = fs::metadata(p).unwrap();
                m.atime() * 1_000_000_000 + m.atime_nsec()
            })
            .collect()
    };
    let before = atimes();
    std::thread::sleep(Duration::from_millis(20));
    fs::read(src.join("b")).unwrap();
    fs::read(src.join("sub/a")).unwrap();
    fs::read_dir(src.join("sub")).unwrap().for_each(drop);
    assert_ne!(
        before,
        atimes(),
        "this filesystem does not record access times"
    );
    let again = env.backup(&src, &[]);
    assert_eq!(again["unchanged_files"], 2, "{again}");
    // The backed-up tree is byte-identical (its ancestors, /tmp above all,
    // may legitimately change while other tests run).
    let [first, second] = src_subtrees(&env, &src)[..] else {
        panic!("expected two snapshots");
    };
    assert_eq!(first, second, "the unchanged tree was stored again");
    // With --with-atime the access time is recorded and restored.
    env.backup(&src, &["--with-atime"]);
    let trees = src_subtrees(&env, &src);
    assert_ne!(trees[1], trees[2], "--with-atime recorded no access time");
    let t = env.restore_latest("out");
    let restored = fs::metadata(t.join(src.strip_prefix("/").unwrap()).join("b")).unwrap();
    let source = fs::metadata(src.join("b")).unwrap();
    assert_eq!(restored.atime(), source.atime());
}

/// The tree ID recorded for `src` in every snapshot, oldest first.
fn src_subtrees(env: &Env, src: &Path) -> Vec<cairn_engine::TreeId> {
    use std::os::unix::ffi::OsStrExt;
    let repo = cairn_engine::Repository::open(
        std::sync::Arc::new(cairn_engine::backend::LocalBackend::new(&env.repo)),
        cairn_tests::PASSWORD.as_bytes(),
        env.path("own-cache"),
    )
    .unwrap();
    repo.snapshots()
        .unwrap()
        .iter()
        .map(|(_, snap)| {
            let mut tree = repo.read_tree(&snap.tree).unwrap();
            let mut id = None;
            for c in src.strip_prefix("/").unwrap().components() {
                let node = tree.get(c.as_os_str().as_bytes()).unwrap().clone();
                id = node.subtree;
                tree = repo.read_tree(&id.unwrap()).unwrap();
            }
            id.unwrap()
        })
        .collect()
}

/// `cairn backup /nonexistent /etc` exited 1 and saved nothing; restic
/// warns, backs up the rest and exits 3. Only when no path exists (or
/// nothing could be read) is there no snapshot.
#[test]
fn missing_path_among_several_is_a_warning_and_exit_3() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    let missing = env.path("no-such-dir");
    let out = env.run(&["backup", missing.to_str().unwrap(), src.to_str().unwrap()]);
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    assert!(
        snaps[0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "partial"),
        "a partial snapshot is not marked: {snaps}"
    );
    let out = env.run(&["backup", missing.to_str().unwrap()]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert_eq!(snapshot_count(&env), 1);
}

/// A backup whose only path could not be read saved an empty snapshot
/// that became `latest` and counted toward `--keep-last`.
#[test]
fn a_backup_that_read_nothing_writes_no_snapshot() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    let s = src.to_str().unwrap();
    // Excluding the path itself leaves nothing to read.
    let out = env.run(&["backup", s, "--exclude", s]);
    assert_code(&out, 1);
    assert_eq!(snapshot_count(&env), 0);
    // An unreadable directory as the only path (root reads every
    // directory: cairn then runs as an unprivileged user).
    let locked = env.path("locked");
    fs::create_dir_all(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let args = ["backup", locked.to_str().unwrap()];
    let out = if cairn_tests::is_root() {
        env.cmd_as_nobody(&args).output().unwrap()
    } else {
        env.run(&args)
    };
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
    assert_code(&out, 1);
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    assert_eq!(snapshot_count(&env), 0);
}
