//! `cairn mount`: a real FUSE mount of a real repository, read back
//! through the kernel byte for byte, then unmounted with SIGINT. Skips
//! (with a message) only where /dev/fuse is missing or mounting is
//! refused; on a machine that can mount, it runs.

use cairn_engine::codec::tree::Extent;
use cairn_tests::forge::{file, Forger};
use cairn_tests::{assert_code, random_bytes, skip, Env};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `cairn mount`; dropping it stops the process and detaches
/// the mount, so a failed assertion leaves no mount behind.
struct Mounted {
    child: Option<Child>,
    at: PathBuf,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.at)
                .output();
        }
    }
}

/// Start `cairn mount` on `mnt`; `None` (after saying why) where FUSE
/// cannot be used here.
fn start(env: &Env, mnt: &Path) -> Option<Mounted> {
    start_with(env, mnt, &[])
}

/// [`start`] with more arguments for `cairn mount`.
fn start_with(env: &Env, mnt: &Path, extra: &[&str]) -> Option<Mounted> {
    if !Path::new("/dev/fuse").exists() {
        skip("no /dev/fuse on this machine");
        return None;
    }
    let child = env
        .cmd(&[&["mount", mnt.to_str().expect("utf8")], extra].concat())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cairn mount");
    let mut m = Mounted {
        child: Some(child),
        at: mnt.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mnt.join("snapshots").exists() {
        let c = m.child.as_mut().expect("child");
        if let Some(status) = c.try_wait().expect("try_wait") {
            let mut err = String::new();
            let _ = c.stderr.take().map(|mut e| e.read_to_string(&mut err));
            m.child = None;
            if err.contains("was refused") {
                skip(&format!("mounting FUSE is refused here: {err}"));
                return None;
            }
            panic!("cairn mount exited early with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "mount did not appear in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(m)
}

/// Stop the mount with SIGINT; it must exit 0 within 30 s.
fn stop(mut m: Mounted) {
    let mut c = m.child.take().expect("child");
    let pid = nix::unistd::Pid::from_raw(c.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = c.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            m.child = Some(c);
            panic!("cairn mount did not exit within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    let _ = c.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert_eq!(status.code(), Some(0), "stderr: {err}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn mount_serves_snapshots_byte_exact_and_unmounts_on_sigint() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    // Many chunks: 24 MiB of incompressible data.
    let big = random_bytes(24 << 20, 7);
    std::fs::write(src.join("big"), &big).unwrap();
    // A hole between two pieces of data.
    let mut sparse = vec![0u8; 9 << 20];
    sparse[..4096].copy_from_slice(&random_bytes(4096, 1));
    let tail = sparse.len() - 5000;
    sparse[tail..].copy_from_slice(&random_bytes(5000, 2));
    {
        let mut f = std::fs::File::create(src.join("sparse")).unwrap();
        use std::io::Write;
        f.write_all(&sparse[..4096]).unwrap();
        f.seek(SeekFrom::Start(tail as u64)).unwrap();
        f.write_all(&sparse[tail..]).unwrap();
    }
    std::fs::write(src.join("sub/secret"), b"mode 640\n").unwrap();
    std::fs::set_permissions(src.join("sub/secret"), PermissionsExt::from_mode(0o640)).unwrap();
    let have_xattr = xattr::set(src.join("sub/secret"), "user.cairn.note", b"kept").is_ok();
    std::os::unix::fs::symlink("sub/secret", src.join("link")).unwrap();
    env.backup(
        &src,
        &[
            "--host",
            "alpha",
            "--tag",
            "t1",
            "--time",
            "2026-01-02T03:04:05Z",
        ],
    );
    let last = env.backup(&src, &["--host", "beta", "--time", "2026-02-03T04:05:06Z"]);
    let short = last["snapshot_id"].as_str().map(|s| s[..8].to_owned());

    let mnt = env.path("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(m) = start(&env, &mnt) else { return };

    assert_eq!(names(&mnt), ["hosts", "ids", "snapshots", "tags"]);
    let snaps = names(&mnt.join("snapshots"));
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    assert_eq!(snaps[2], "latest");
    let latest = std::fs::read_link(mnt.join("snapshots/latest")).unwrap();
    assert_eq!(latest, Path::new(&snaps[1]), "latest names the newest");
    assert_eq!(names(&mnt.join("hosts")), ["alpha", "beta"]);
    assert_eq!(
        names(&mnt.join("hosts/alpha")),
        [snaps[0].as_str(), "latest"]
    );
    assert_eq!(names(&mnt.join("tags")), ["t1"]);
    assert_eq!(names(&mnt.join("tags/t1")), [snaps[0].as_str(), "latest"]);
    if let Some(short) = short {
        assert!(mnt.join("ids").join(&short).is_dir(), "ids/{short}");
    }

    let root = mnt
        .join("snapshots/latest")
        .join(src.strip_prefix("/").unwrap());
    let got = std::fs::read(root.join("big")).unwrap();
    assert!(got == big, "big file differs ({} bytes read)", got.len());
    assert!(
        std::fs::read(root.join("sparse")).unwrap() == sparse,
        "sparse file differs"
    );
    // Random access, across a chunk boundary somewhere in the middle.
    let mut f = std::fs::File::open(root.join("big")).unwrap();
    f.seek(SeekFrom::Start(13_000_001)).unwrap();
    let mut piece = vec![0u8; 3 << 20];
    f.read_exact(&mut piece).unwrap();
    assert!(piece[..] == big[13_000_001..13_000_001 + (3 << 20)]);
    drop(f);

    assert_eq!(
        std::fs::read_link(root.join("link")).unwrap(),
        Path::new("sub/secret")
    );
    assert_eq!(std::fs::read(root.join("link")).unwrap(), b"mode 640\n");
    let (orig, served) = (
        std::fs::metadata(src.join("sub/secret")).unwrap(),
        std::fs::metadata(root.join("sub/secret")).unwrap(),
    );
    assert_eq!(served.mode() & 0o7777, 0o640);
    assert_eq!((served.uid(), served.gid()), (orig.uid(), orig.gid()));
    assert_eq!(
        (served.mtime(), served.mtime_nsec()),
        (orig.mtime(), orig.mtime_nsec())
    );
    assert_eq!(served.len(), 9);
    if have_xattr {
        let v = xattr::get(root.join("sub/secret"), "user.cairn.note").unwrap();
        assert_eq!(v.as_deref(), Some(&b"kept"[..]));
    } else {
        skip("this filesystem has no user xattrs; the xattr check did not run");
    }
    // Read-only.
    assert!(std::fs::write(root.join("new"), b"x").is_err());

    stop(m);
    assert!(
        names(&mnt).is_empty(),
        "the mountpoint is empty after unmounting"
    );
}

#[test]
fn mount_refuses_a_missing_or_non_directory_mountpoint_with_exit_2() {
    let env = Env::init();
    let missing = env.path("no-such-dir");
    let out = env.run(&["mount", missing.to_str().unwrap()]);
    assert_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");

    let file = env.path("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = env.run(&["mount", file.to_str().unwrap()]);
    assert_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
}

/// Wait (30 s at most) for the mount process to exit; its exit code.
fn wait_exit(mut m: Mounted) -> Option<i32> {
    let mut c = m.child.take().expect("child");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = c.try_wait().expect("try_wait") {
            return s.code();
        }
        if Instant::now() > deadline {
            m.child = Some(c);
            panic!("cairn mount did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mount_ends_on_an_outside_umount_and_detaches_when_busy() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"held open\n").unwrap();
    env.backup(&src, &[]);
    let mnt = env.path("mnt");
    std::fs::create_dir(&mnt).unwrap();

    // `umount` from outside: the command notices, exits 0.
    let Some(m) = start(&env, &mnt) else { return };
    let out = std::process::Command::new("umount")
        .arg(&mnt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "umount: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(wait_exit(m), Some(0));
    assert!(names(&mnt).is_empty());

    // SIGINT while a file inside is open: retried, then detached; exit 0.
    let Some(m) = start(&env, &mnt) else { return };
    let held = std::fs::File::open(
        mnt.join("snapshots/latest")
            .join(src.strip_prefix("/").unwrap())
            .join("f"),
    )
    .unwrap();
    stop(m);
    assert!(names(&mnt).is_empty(), "detached although a file was open");
    drop(held);
}

#[test]
fn mount_and_archive_refuse_content_that_differs_from_the_tree() {
    let env = Env::init();
    let f = Forger::open(&env);
    let data = random_bytes(100, 3);
    let c = f.chunk(&data);
    let (tree, tree_bytes) = f.tree(vec![file("inner", 0, vec![])]);
    let (root, _) = f.tree(vec![
        file("long", 150, vec![Extent::Chunk(c)]),
        file("right", 100, vec![Extent::Chunk(c)]),
        file("short", 50, vec![Extent::Chunk(c)]),
        // A "chunk" that is a tree blob: typed reads refuse it.
        file(
            "tree",
            tree_bytes.len() as u64,
            vec![Extent::Chunk(cairn_engine::ChunkId(tree.0))],
        ),
    ]);
    let id = f.snapshot(root, 4, 0, 1_000_000_000).to_hex();
    for name in ["/short", "/long", "/tree"] {
        for format in ["tar", "zip"] {
            let out = env.run(&["dump", &id[..10], name, "--archive", format]);
            assert_code(&out, 1);
        }
    }
    let out = env.run(&["dump", &id[..10], "/right", "--archive", "tar"]);
    assert_code(&out, 0);

    let mnt = env.path("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(m) = start(&env, &mnt) else { return };
    let root = mnt.join("snapshots/latest");
    assert_eq!(std::fs::read(root.join("right")).unwrap(), data);
    for name in ["short", "long", "tree"] {
        let e = std::fs::read(root.join(name)).expect_err(name);
        assert_eq!(e.raw_os_error(), Some(nix::libc::EIO), "{name}: {e}");
    }
    stop(m);
}

#[test]
fn mount_allow_other_lets_others_in_as_the_recorded_modes_allow() {
    if !cairn_tests::is_root() {
        skip("reading as another user needs root");
        return;
    }
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("open"), b"for all\n").unwrap();
    std::fs::set_permissions(src.join("open"), PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(src.join("closed"), b"root only\n").unwrap();
    std::fs::set_permissions(src.join("closed"), PermissionsExt::from_mode(0o600)).unwrap();
    env.backup(&src, &[]);
    // The scratch directory must be passable for the other user.
    std::fs::set_permissions(env.dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let mnt = env.path("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(m) = start_with(&env, &mnt, &["--allow-other"]) else {
        return;
    };
    let dir = mnt
        .join("snapshots/latest")
        .join(src.strip_prefix("/").unwrap());
    let cat = |name: &str| {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("cat")
            .arg(dir.join(name))
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let open = cat("open");
    assert!(
        open.status.success(),
        "{}",
        String::from_utf8_lossy(&open.stderr)
    );
    assert_eq!(open.stdout, b"for all\n");
    let closed = cat("closed");
    assert!(
        !closed.status.success(),
        "a 0600 root file was readable by nobody"
    );
    assert!(String::from_utf8_lossy(&closed.stderr).contains("Permission denied"));
    stop(m);
}
