//! The compatibility gate of issue 13: the reference restorer
//! (`format-spec/reference/cairn_ref.py`, written from the spec alone)
//! restores repositories made by the current `cairn` binary, byte for byte
//! and with every kind of metadata, and passes every checked-in vector.
//!
//! Invariant kept: whatever the engine writes, a reader built only from
//! `format-spec/` can read. A format change that the spec does not describe
//! fails here. The restorer runs under the Python named by
//! `CAIRN_REF_PYTHON` (default: the test venv made by `scripts/setup.sh`).

use cairn_tests::{assert_same_tree, random_bytes, Env, PASSWORD};
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn python() -> PathBuf {
    match std::env::var_os("CAIRN_REF_PYTHON") {
        Some(p) => p.into(),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/cairn-venv/bin/python"),
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec/reference/cairn_ref.py")
}

/// Run the reference restorer with the test password in its environment.
fn reference(args: &[&Path]) -> Output {
    reference_with(PASSWORD, args)
}

fn reference_with(password: &str, args: &[&Path]) -> Output {
    let py = python();
    assert!(
        py.exists(),
        "no Python for the reference restorer at {} (run scripts/setup.sh or set CAIRN_REF_PYTHON)",
        py.display()
    );
    Command::new(py)
        .arg(script())
        .args(args)
        .env("CAIRN_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .expect("spawn python")
}

fn reference_ok(args: &[&Path]) -> String {
    let out = reference(args);
    assert!(
        out.status.success(),
        "cairn_ref.py {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `REPO restore latest TARGET` with the reference restorer; returns TARGET.
fn ref_restore(repo: &Path, target: PathBuf) -> PathBuf {
    reference_ok(&[repo, Path::new("restore"), Path::new("latest"), &target]);
    target
}

#[test]
fn reference_restorer_passes_every_checked_in_vector() {
    let out = reference_ok(&[Path::new("selftest")]);
    assert!(out.contains("vector checks passed"), "{out}");
}

#[test]
fn reference_restores_the_golden_repository_and_export_like_the_engine() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let password = fs::read_to_string(golden.join("v1/password")).unwrap();
    let env = Env::new();
    fs::write(&env.pwfile, &password).unwrap();
    for (i, fixture) in ["v1/repo", "export-v1"].iter().enumerate() {
        // Work on a copy: tests must never modify the committed fixture.
        let repo = &env.path(&format!("copy-{i}"));
        cairn_tests::copy_dir(&golden.join(fixture), repo);
        // Both readers restore the same bytes and metadata; the engine's
        // restore is pinned to golden/v1/MANIFEST by golden.rs.
        let ours = env.path(&format!("engine-{i}"));
        let loc = if i == 0 {
            repo.display().to_string()
        } else {
            format!("export:{}", repo.display())
        };
        let t = ours.to_str().unwrap();
        env.ok(&["-r", &loc, "restore", "latest", "--target", t]);
        let theirs = env.path(&format!("ref-{i}"));
        let out = reference_with(
            password.trim_end_matches('\n'),
            &[repo, Path::new("restore"), Path::new("latest"), &theirs],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(assert_same_tree(&ours, &theirs) >= 5);
    }
}

#[test]
fn reference_restores_every_metadata_kind_with_parity_and_without_index() {
    let env = Env::new();
    env.ok(&[
        "init",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
        "--parity",
        "3+1",
    ]);
    let src = env.path("src");
    let root = crate::roundtrip::build_tree(&src);
    env.backup(&src, &["--tag", "ref"]);
    assert!(
        fs::read_dir(env.repo.join("parity")).unwrap().count() > 0,
        "no parity files written"
    );
    let listing = reference_ok(&[&env.repo, Path::new("snapshots")]);
    assert!(
        listing.contains(" files ") && listing.contains("ref"),
        "{listing}"
    );
    reference_ok(&[&env.repo, Path::new("verify"), Path::new("latest")]);

    let rel = src.strip_prefix("/").unwrap();
    let t = ref_restore(&env.repo, env.path("ref"));
    assert!(assert_same_tree(&src, &t.join(rel)) > 50);
    let md = fs::metadata(t.join(rel).join("sparse.img")).unwrap();
    assert!(md.blocks() * 512 < 8 << 20, "sparse file restored dense");
    if root {
        assert_eq!(
            fs::metadata(t.join(rel).join("private")).unwrap().uid(),
            1234
        );
    }

    // Without index/ the blobs are found through the pack trailers.
    let copy = env.path("no-index");
    cairn_tests::copy_dir(&env.repo, &copy);
    fs::remove_dir_all(copy.join("index")).unwrap();
    let t = ref_restore(&copy, env.path("ref-no-index"));
    assert_same_tree(&src, &t.join(rel));

    // Every chunk is verified: a flipped bit in a pack fails the restore.
    env.corrupt_data_packs(0x01);
    let out = reference(&[&env.repo, Path::new("verify"), Path::new("latest")]);
    assert!(!out.status.success(), "a corrupt pack verified");
}

#[test]
fn reference_restores_a_stdin_snapshot() {
    let env = Env::init();
    let data = random_bytes(3 << 20, 31);
    let mut child = env
        .cmd(&["backup", "--stdin", "--stdin-name", "db.archive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    assert!(child.wait().unwrap().success());
    let t = ref_restore(&env.repo, env.path("ref"));
    assert!(
        fs::read(t.join("db.archive")).unwrap() == data,
        "stdin bytes differ"
    );
}

#[test]
fn reference_restores_a_mongodb_snapshot_to_a_dump_directory() {
    let server = cairn_tests::mongo::MongoServer::start();
    crate::mongo::seed(&server.client(), 2_000);
    let env = Env::init();
    env.json(&["backup", &server.uri()]);
    let ours = env.restore_latest("cairn-dump");
    let t = ref_restore(&env.repo, env.path("ref-dump"));
    assert!(t.join("shop/many.bson").exists(), "no mongodump layout");
    // Both commands compare every collection with the dump's manifest.
    let v = reference_ok(&[&env.repo, Path::new("verify"), Path::new("latest")]);
    assert!(v.contains("collections match the manifest"), "{v}");
    assert!(assert_same_tree(&ours, &t) >= 10);
}

#[test]
fn reference_restores_from_an_export_set() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..4u64 {
        fs::write(src.join(format!("f{i}")), random_bytes(6 << 20, 40 + i)).unwrap();
    }
    env.backup(&src, &[]);
    let out = env.path("export");
    env.ok(&[
        "export",
        "--to",
        out.to_str().unwrap(),
        "--volume-size",
        "20M",
    ]);
    let vols = fs::read_dir(&out).unwrap().count();
    assert!(vols >= 3, "expected several volumes, got {vols}");
    let t = ref_restore(&out, env.path("ref"));
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));

    // A missing data volume is asked for by set and number, not met as
    // missing blobs halfway through the restore.
    let first = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    fs::remove_dir_all(&first).unwrap();
    let o = reference(&[
        &out,
        Path::new("restore"),
        Path::new("latest"),
        &env.path("x"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("missing export volumes"),
        "{err}"
    );
    assert!(!env.path("x").exists(), "restore began without the volume");
}

#[test]
fn a_repository_restores_with_the_reference_restorer_it_carries() {
    // Issue 13, part 2: the copy in the repository's own spec/, not the
    // source tree's, runs its vector self-test (on the vectors it carries)
    // and restores the repository.
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), random_bytes(300_000, 13)).unwrap();
    fs::write(src.join("g"), b"carried").unwrap();
    env.backup(&src, &[]);
    let carried = env.repo.join("spec/reference-cairn_ref.py");
    let run = |args: &[&Path]| {
        let out = Command::new(python())
            .arg(&carried)
            .args(args)
            .env("CAIRN_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let selftest = run(&[Path::new("selftest")]);
    assert!(selftest.contains("vector checks passed"), "{selftest}");
    let target = env.path("t");
    run(&[
        &env.repo,
        Path::new("restore"),
        Path::new("latest"),
        &target,
    ]);
    assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
}
