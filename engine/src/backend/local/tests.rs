//! Tests of the local backend: the shared conformance suite, and the
//! hostile layouts only a real file system can hold (links, FIFOs, junk).

use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn hex(b: u8) -> String {
    crate::id::hex_encode(&[b; 32])
}

fn fresh() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("repo"));
    b.create().unwrap();
    (dir, b)
}

fn kind_of(r: Result<impl std::fmt::Debug>) -> ErrorKind {
    r.expect_err("must fail").kind()
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("repo"));
    super::super::conformance::run(&b).unwrap();
}

#[test]
fn the_root_may_be_a_link() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
    super::super::conformance::run(&LocalBackend::new(dir.path().join("link"))).unwrap();
}

#[test]
fn files_are_private() {
    let (dir, b) = fresh();
    b.write(Kind::Snapshot, &hex(0xab), b"x").unwrap();
    for p in [
        format!("repo/snapshots/{}", hex(0xab)),
        "repo/snapshots".into(),
    ] {
        let mode = fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}

/// Every file below `dir` with its content.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_linked_kind_directory_is_refused_and_never_touched() {
    let (dir, b) = fresh();
    let outside = dir.path().join("etc");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("hosts"), b"127.0.0.1 localhost").unwrap();
    fs::write(outside.join(hex(1)), b"looks like a lock").unwrap();
    let before = contents(&outside);
    fs::remove_dir(dir.path().join("repo/locks")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("repo/locks")).unwrap();
    let err = b.list(Kind::Lock).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(err.to_string().contains("locks"), "{err}");
    assert_eq!(kind_of(b.remove(Kind::Lock, &hex(1))), ErrorKind::Corrupt);
    assert_eq!(
        kind_of(b.write(Kind::Lock, &hex(2), b"x")),
        ErrorKind::Corrupt
    );
    assert_eq!(kind_of(b.read(Kind::Lock, &hex(1))), ErrorKind::Corrupt);
    assert_eq!(kind_of(b.size(Kind::Lock, &hex(1))), ErrorKind::Corrupt);
    assert_eq!(kind_of(b.foreign(Kind::Lock)), ErrorKind::Corrupt);
    assert!(b
        .remove_stale_temporaries(Kind::Lock, Duration::ZERO)
        .is_err());
    assert!(b.begin_write(Kind::Lock).is_err());
    assert_eq!(
        contents(&outside),
        before,
        "nothing outside the repository changed"
    );
}

#[test]
fn a_linked_pack_directory_is_refused() {
    let (dir, b) = fresh();
    let outside = dir.path().join("elsewhere");
    fs::create_dir(&outside).unwrap();
    let xx = dir.path().join("repo/data/ab");
    fs::remove_dir(&xx).unwrap();
    std::os::unix::fs::symlink(&outside, &xx).unwrap();
    let name = format!("ab{}", &hex(0xab)[2..]);
    assert_eq!(
        kind_of(b.write(Kind::Data, &name, b"pack")),
        ErrorKind::Corrupt
    );
    let mut w = b.begin_write(Kind::Data).unwrap();
    w.write_all(b"pack").unwrap();
    assert_eq!(kind_of(w.commit(&name)), ErrorKind::Corrupt);
    assert_eq!(kind_of(b.list(Kind::Data)), ErrorKind::Corrupt);
    assert_eq!(kind_of(b.read(Kind::Data, &name)), ErrorKind::Corrupt);
    assert!(contents(&outside).is_empty());
    // No temporary was left in data/ either.
    assert!(fs::read_dir(dir.path().join("repo/data"))
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')));
}

#[test]
fn linked_and_special_files_are_refused() {
    let (dir, b) = fresh();
    let secret = dir.path().join("secret");
    fs::write(&secret, b"not yours").unwrap();
    let link = dir.path().join("repo/snapshots").join(hex(3));
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    for r in [
        b.read(Kind::Snapshot, &hex(3)).map(|_| ()),
        b.read_range(Kind::Snapshot, &hex(3), 0, 1).map(|_| ()),
        b.size(Kind::Snapshot, &hex(3)).map(|_| ()),
        b.list(Kind::Snapshot).map(|_| ()),
        b.remove(Kind::Snapshot, &hex(3)),
    ] {
        assert_eq!(kind_of(r), ErrorKind::Corrupt);
    }
    assert!(
        fs::symlink_metadata(&link).is_ok(),
        "the link is reported, not removed"
    );
    assert_eq!(fs::read(&secret).unwrap(), b"not yours");
    fs::remove_file(&link).unwrap();
    // A FIFO named like a snapshot must not block a reader.
    nix::unistd::mkfifo(&link, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let err = b.read(Kind::Snapshot, &hex(3)).unwrap_err();
    assert!(err.to_string().contains("FIFO"), "{err}");
    assert_eq!(kind_of(b.list(Kind::Snapshot)), ErrorKind::Corrupt);
}

#[test]
fn a_missing_required_directory_is_an_error_not_an_empty_list() {
    let (dir, b) = fresh();
    for kind in Kind::ALL {
        let d = dir.path().join("repo").join(kind.dir());
        if kind == Kind::Root {
            continue;
        }
        fs::remove_dir_all(&d).unwrap();
        let listed = b.list(kind);
        if kind.required() {
            let e = listed.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{kind:?}");
            assert!(e.to_string().contains("missing"), "{e}");
        } else {
            assert!(listed.unwrap().is_empty(), "{kind:?}");
        }
        fs::create_dir(&d).unwrap();
    }
    // Missing fan-out directories of data/ are normal (git drops them).
    assert!(b.list(Kind::Data).unwrap().is_empty());
    // A required directory that is a link to an empty one is refused too.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::remove_dir(dir.path().join("repo/snapshots")).unwrap();
    std::os::unix::fs::symlink(&empty, dir.path().join("repo/snapshots")).unwrap();
    assert_eq!(kind_of(b.list(Kind::Snapshot)), ErrorKind::Corrupt);
}

#[test]
fn foreign_names_are_never_listed_or_removed() {
    let (dir, b) = fresh();
    let repo = dir.path().join("repo");
    fs::write(repo.join("locks/hosts"), b"junk").unwrap();
    fs::write(repo.join(format!("index/{}.bak", hex(4))), b"junk").unwrap();
    fs::write(repo.join("data/ab/junk"), b"junk").unwrap();
    fs::write(repo.join("data/ab").join(hex(0xcd)), b"misplaced").unwrap();
    fs::create_dir(repo.join("data/zz")).unwrap();
    fs::create_dir(repo.join("snapshots/sub")).unwrap();
    b.write(Kind::Lock, &hex(6), b"lock").unwrap();
    assert_eq!(b.list(Kind::Lock).unwrap(), vec![(hex(6), 4)]);
    assert!(b.list(Kind::Index).unwrap().is_empty());
    assert!(b.list(Kind::Data).unwrap().is_empty());
    assert!(b.list(Kind::Snapshot).unwrap().is_empty());
    assert_eq!(
        b.foreign(Kind::Lock).unwrap(),
        vec!["locks/hosts (a regular file)"]
    );
    let data = b.foreign(Kind::Data).unwrap();
    assert_eq!(data.len(), 3, "{data:?}");
    assert!(data.iter().any(|d| d.starts_with("data/zz ")), "{data:?}");
    assert_eq!(
        b.foreign(Kind::Snapshot).unwrap(),
        vec!["snapshots/sub (a directory)"]
    );
    assert!(b.foreign(Kind::Root).unwrap().is_empty());
    assert_eq!(
        kind_of(b.remove(Kind::Lock, "hosts")),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind_of(b.write(Kind::Lock, "hosts", b"x")),
        ErrorKind::InvalidInput
    );
    assert_eq!(fs::read(repo.join("locks/hosts")).unwrap(), b"junk");
}

#[test]
fn bounded_reads_refuse_large_files() {
    let (_dir, b) = fresh();
    b.write(Kind::Key, &hex(7), &[0u8; 100]).unwrap();
    assert_eq!(b.read_max(Kind::Key, &hex(7), 100).unwrap().len(), 100);
    let e = b.read_max(Kind::Key, &hex(7), 99).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("100 bytes"), "{e}");
}
