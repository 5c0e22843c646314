//! `cairn dump SNAPSHOT DIR --archive tar|zip`: archives extracted with
//! the system's GNU tar and unzip must give back the source tree: bytes,
//! modes, owners, nanosecond mtimes, xattrs, symlinks, hard links,
//! devices and fifos for tar; bytes, modes, symlinks and second mtimes
//! for zip. Long (> 100 byte) and non-UTF-8 names included.

use cairn_tests::{assert_code, assert_same_tree, os, random_bytes, skip, Env};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A source tree with every kind of entry and name the archives carry.
fn source(env: &Env) -> PathBuf {
    let src = env.path("src");
    let long_dir = src.join("d".repeat(60));
    std::fs::create_dir_all(&long_dir).unwrap();
    std::fs::write(src.join("big"), random_bytes(5 << 20, 3)).unwrap();
    // Over 100 bytes from the archive root, with a name that is not UTF-8.
    let mut long_name = b"n".repeat(70);
    long_name.push(0xe9);
    std::fs::write(long_dir.join(os(&long_name)), b"long and not UTF-8\n").unwrap();
    std::fs::write(src.join(os(b"caf\xe9")), b"latin-1 name\n").unwrap();
    std::fs::write(src.join("secret"), b"640\n").unwrap();
    std::fs::set_permissions(src.join("secret"), PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::set_permissions(&long_dir, PermissionsExt::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("secret", src.join("short-link")).unwrap();
    std::os::unix::fs::symlink("t".repeat(150), src.join("long-link")).unwrap();
    std::fs::write(src.join("linked"), b"two names\n").unwrap();
    std::fs::hard_link(src.join("linked"), src.join("linked-too")).unwrap();
    let _ = xattr::set(src.join("secret"), "user.cairn.note", b"\x00binary\xff");
    nix::unistd::mkfifo(
        &src.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    if cairn_tests::is_root() {
        nix::sys::stat::mknod(
            &src.join("null-dev"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        nix::unistd::chown(&src.join("secret"), Some(1234.into()), Some(5678.into())).unwrap();
    } else {
        skip("device node and foreign owner in the archive (need root)");
    }
    // Nanoseconds that a second-resolution format would lose, and an odd
    // second that zip's two-second DOS time would (the UT field keeps it).
    let t = nix::sys::time::TimeSpec::new(1_700_000_001, 123_456_789);
    nix::sys::stat::utimensat(
        None,
        &src.join("big"),
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
    src
}

/// `src` inside an extraction directory (archive names are snapshot
/// paths without the leading `/`).
fn inside(out: &Path, src: &Path) -> PathBuf {
    out.join(src.strip_prefix("/").unwrap())
}

#[test]
fn dump_archive_tar_extracts_to_the_source_tree_with_gnu_tar() {
    let env = Env::init();
    let src = source(&env);
    env.backup(&src, &[]);
    let dir = src.to_str().unwrap();
    let tar = env.path("out.tar");
    let report = env.json(&[
        "dump",
        "latest",
        dir,
        "--archive",
        "tar",
        "--target",
        tar.to_str().unwrap(),
    ]);
    assert!(report["entries"].as_u64().unwrap() >= 10, "{report}");
    // The same stream on standard output.
    let out = env.run(&["dump", "latest", dir, "--archive", "tar"]);
    assert_code(&out, 0);
    assert!(
        out.stdout == std::fs::read(&tar).unwrap(),
        "stdout and --target differ"
    );

    let x = env.path("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf"])
        .arg(&tar)
        .arg("-C")
        .arg(&x)
        .output()
        .expect("run tar");
    assert!(
        st.status.success(),
        "tar: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let n = assert_same_tree(&src, &inside(&x, &src));
    assert!(n >= 10, "compared {n} entries");
}

#[test]
fn dump_archive_zip_extracts_with_unzip() {
    let env = Env::init();
    let src = source(&env);
    env.backup(&src, &[]);
    let zip = env.path("out.zip");
    let out = env.run(&["dump", "latest", src.to_str().unwrap(), "--archive", "zip"]);
    assert_code(&out, 0);
    std::fs::write(&zip, &out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fifo") && stderr.contains("left out"),
        "{stderr}"
    );

    let x = env.path("x");
    let st = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&x)
        .output()
        .expect("unzip");
    assert!(
        st.status.success(),
        "unzip: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let got = inside(&x, &src);
    let same = |rel: &str| {
        let (a, b) = (src.join(rel), got.join(rel));
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{rel}"
        );
        let (ma, mb) = (
            std::fs::metadata(&a).unwrap(),
            std::fs::metadata(&b).unwrap(),
        );
        assert_eq!(ma.mode() & 0o7777, mb.mode() & 0o7777, "{rel} mode");
        assert_eq!(ma.mtime(), mb.mtime(), "{rel} mtime (seconds)");
    };
    for rel in ["big", "secret", "linked", "linked-too"] {
        same(rel);
    }
    assert_eq!(
        std::fs::read_link(got.join("short-link")).unwrap(),
        Path::new("secret")
    );
    assert_eq!(
        std::fs::read_link(got.join("long-link")).unwrap(),
        Path::new(&"t".repeat(150))
    );
    let long_dir = got.join("d".repeat(60));
    assert_eq!(std::fs::metadata(&long_dir).unwrap().mode() & 0o7777, 0o750);
    // Zip names are text: the non-UTF-8 byte became U+FFFD, content kept.
    let long = format!("{}\u{fffd}", "n".repeat(70));
    let listed: Vec<String> = std::fs::read_dir(&long_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, std::slice::from_ref(&long));
    assert_eq!(
        std::fs::read(long_dir.join(&long)).unwrap(),
        b"long and not UTF-8\n"
    );
    assert!(!got.join("fifo").exists());
}

#[test]
fn dump_archive_to_a_closed_stdout_exits_quietly() {
    let env = Env::init();
    let src = source(&env);
    env.backup(&src, &[]);
    for format in ["tar", "zip"] {
        let mut child = env
            .cmd(&["dump", "latest", src.to_str().unwrap(), "--archive", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 100];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_code(&out, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("error"), "{format}: {stderr}");
    }
}

#[test]
fn dump_of_a_directory_without_archive_names_the_flag() {
    let env = Env::init();
    let src = env.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    env.backup(&src, &[]);
    for dir in [src.to_str().unwrap(), "/"] {
        let out = env.run(&["dump", "latest", dir]);
        assert_code(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--archive tar"), "{stderr}");
    }
}
