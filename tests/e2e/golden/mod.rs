//! Golden repositories: every format version ever written must restore
//! forever. See tests/golden/README.md for passwords and contents. Tests
//! work on copies: a committed golden directory is never modified.

mod features;
mod fine;
mod gate;
mod page;

use cairn_tests::Env;
use std::path::{Path, PathBuf};

/// `tests/golden/NAME`.
fn golden_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name)
}

/// An environment on a fresh copy of golden repository `name` (its
/// `repo/` and `password`): tests must never modify a committed fixture.
fn copy_of(name: &str) -> Env {
    let golden = golden_dir(name);
    let env = Env::new();
    let copy = env.path("golden-copy");
    cairn_tests::copy_dir(&golden.join("repo"), &copy);
    std::fs::copy(golden.join("password"), &env.pwfile).unwrap();
    Env { repo: copy, ..env }
}

/// Restore the snapshots tagged `day1` and `day2` of a two-day golden
/// repository (`v1-fine`, `v1-page`) and check them against its
/// `MANIFEST-1` and `MANIFEST-2` (three files each) and that `big` (a
/// path under the restore target) comes back as a sparse file of
/// 1 GiB + 1 MiB; returns the bytes day 2 stored.
fn restores_two_days(env: &Env, golden: &Path, big: &str) -> u64 {
    for (tag, manifest) in [("day1", "MANIFEST-1"), ("day2", "MANIFEST-2")] {
        let snaps = env.json(&["snapshots", "--tag", tag]);
        let id = snaps[0]["id"].as_str().unwrap().to_owned();
        let target = env.path(tag);
        env.ok(&["restore", &id, "--target", target.to_str().unwrap()]);
        assert_eq!(
            matches_manifest(&golden.join(manifest), &target),
            3,
            "{tag}"
        );
        let md = std::fs::metadata(target.join(big)).unwrap();
        assert_eq!(md.len(), (1 << 30) + (1 << 20));
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&md) < 4096,
            "{big} was restored dense"
        );
    }
    let day2 = env.json(&["snapshots", "--tag", "day2"]);
    day2[0]["stats"]["new_bytes"].as_u64().expect("new_bytes")
}

/// Raw bytes of a path as the golden text files write it: `\xNN` stands
/// for one byte (names need not be UTF-8); everything else is literal.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match (b, tail) {
            (b'\\', [b'x', h, l, more @ ..]) => {
                let hex = std::str::from_utf8(&[*h, *l]).unwrap().to_owned();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or_else(|e| panic!("{s}: {e}")));
                rest = more;
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    out
}

/// BLAKE3 of a file, reading only its data regions (`SEEK_DATA` /
/// `SEEK_HOLE`) and hashing zeros for its holes: reading the 1 GiB hole of
/// `v1-fine`'s `big.db` costs seconds of kernel time, hashing zeros does not.
fn sparse_blake3(path: &Path) -> std::io::Result<blake3::Hash> {
    use nix::unistd::{lseek, Whence};
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let zeros = vec![0u8; 1 << 20];
    let mut h = blake3::Hasher::new();
    let mut pos = 0u64;
    let seek = |f: &std::fs::File, off: u64, w: Whence| {
        lseek(std::os::fd::AsRawFd::as_raw_fd(f), off as i64, w)
            .map(|o| o as u64)
            .unwrap_or(len)
    };
    while pos < len {
        let data = seek(&f, pos, Whence::SeekData);
        let mut hole = data - pos;
        while hole > 0 {
            let n = hole.min(zeros.len() as u64) as usize;
            h.update(&zeros[..n]);
            hole -= n as u64;
        }
        if data >= len {
            break;
        }
        let end = seek(&f, data, Whence::SeekHole).min(len);
        f.seek(SeekFrom::Start(data))?;
        std::io::copy(&mut (&mut f).take(end - data), &mut h)?;
        pos = end;
    }
    Ok(h.finalize())
}

/// Every file `manifest` lists has its BLAKE3 under `target`; returns
/// how many were checked.
fn matches_manifest(manifest: &Path, target: &Path) -> usize {
    let manifest = std::fs::read_to_string(manifest).unwrap();
    let mut checked = 0;
    for line in manifest.lines().filter(|l| !l.is_empty()) {
        let (hash, rel) = line.split_once("  ").unwrap();
        let path = target.join(cairn_tests::os(&unescape(rel)));
        let got = sparse_blake3(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(got.to_hex().as_str(), hash, "{rel}");
        checked += 1;
    }
    checked
}

#[test]
fn golden_v1_restores_byte_exact() {
    let golden = golden_dir("v1");
    let env = Env::new();
    // Work on a copy: tests must never modify the committed fixture.
    let copy = env.path("golden-copy");
    cairn_tests::copy_dir(&golden.join("repo"), &copy);
    std::fs::write(
        &env.pwfile,
        std::fs::read_to_string(golden.join("password")).unwrap(),
    )
    .unwrap();
    let env = Env { repo: copy, ..env };
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 2, "{snaps}");
    let target = env.restore_latest("out");
    assert!(matches_manifest(&golden.join("MANIFEST"), &target) >= 3);
    let dumped = env.ok(&["dump", &snaps[0]["id"].as_str().unwrap()[..8], "notes.txt"]);
    assert!(dumped.starts_with("golden stdin"), "{dumped}");
}

#[test]
fn golden_export_v1_verifies_and_restores_byte_exact() {
    let golden = golden_dir("");
    let env = Env::new();
    // Work on a copy: tests must never modify the committed fixture.
    let copy = env.path("export-copy");
    cairn_tests::copy_dir(&golden.join("export-v1"), &copy);
    std::fs::write(
        &env.pwfile,
        std::fs::read_to_string(golden.join("v1/password")).unwrap(),
    )
    .unwrap();
    let verified = env.ok(&["--json", "export", "verify", copy.to_str().unwrap()]);
    assert!(verified.contains("\"outcome\":\"success\""), "{verified}");
    let loc = format!("export:{}", copy.display());
    let snaps = env.json(&["-r", &loc, "snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 2, "{snaps}");
    let target = env.path("out");
    env.ok(&[
        "-r",
        &loc,
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
    ]);
    assert!(matches_manifest(&golden.join("v1/MANIFEST"), &target) >= 3);
    let dumped = env.ok(&[
        "-r",
        &loc,
        "dump",
        &snaps[0]["id"].as_str().unwrap()[..8],
        "notes.txt",
    ]);
    assert!(dumped.starts_with("golden stdin"), "{dumped}");
}
