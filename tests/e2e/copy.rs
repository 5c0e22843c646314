//! `cairn copy`: snapshots into other repositories (other keys, other
//! backends, other parity), deduplicated, resumable and verified; and
//! `init --copy-chunker-params-from` so copies deduplicate.

use cairn_tests::s3::S3sFs;
use cairn_tests::{assert_code, assert_same_tree, random_bytes, Env};
use std::fs;
use std::path::Path;

fn tree(dir: &Path, seed: u64) {
    fs::create_dir_all(dir.join("d")).unwrap();
    fs::write(dir.join("big"), random_bytes(4 << 20, seed)).unwrap();
    for i in 0..10u64 {
        fs::write(
            dir.join(format!("d/{i}")),
            random_bytes(2000 + i as usize, seed * 100 + i),
        )
        .unwrap();
    }
}

/// `copy` from `src` to each of `dsts` (same password), as JSON.
fn copy(src: &Env, dsts: &[&Env], extra: &[&str]) -> (serde_json::Value, i32) {
    let mut args: Vec<String> = vec!["--json".into(), "copy".into()];
    for d in dsts {
        args.push("--to".into());
        args.push(d.repo_arg().into_string().unwrap());
    }
    args.push("--to-password-file".into());
    args.push(src.pwfile.to_str().unwrap().into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = src.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Destinations on S3 need the store's environment.
    for d in dsts {
        cmd.envs(d.extra_env.iter().map(|(k, v)| (k, v)));
    }
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (doc, out.status.code().unwrap_or(-1))
}

fn restores_same(env: &Env, id: &str, src: &Path, name: &str) {
    let t = env.path(name);
    env.ok(&["restore", id, "--target", t.to_str().unwrap()]);
    assert_same_tree(src, &t.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn copy_to_a_local_and_an_s3_repository_with_other_keys_and_parity() {
    let src = Env::init();
    let a = src.path("a");
    tree(&a, 1);
    src.backup(&a, &[]);
    fs::write(a.join("d/new"), b"changed").unwrap();
    src.backup(&a, &["--tag", "second"]);

    let local = Env::new();
    local.ok(&[
        "init",
        "--parity",
        "4+1",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
    ]);
    let store = S3sFs::start();
    let remote = Env::init_on(&store);
    let (doc, code) = copy(&src, &[&local, &remote], &[]);
    assert_eq!(code, 0, "{doc}");
    for t in doc["targets"].as_array().unwrap() {
        let r = &t["report"];
        assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{doc}");
        assert!(r["blobs_written"].as_u64().unwrap() > 10, "{doc}");
    }
    for dst in [&local, &remote] {
        assert_eq!(dst.json(&["check"])["ok"], true);
        let snaps = dst.json(&["snapshots"]);
        assert_eq!(snaps.as_array().unwrap().len(), 2);
        restores_same(dst, "latest", &a, "latest");
        assert_code(&dst.run(&["scrub"]), 0);
    }
    // Tags and times are kept.
    let snaps = remote.json(&["snapshots", "--tag", "second"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    // Parity follows the destination's settings.
    assert!(local
        .repo
        .join("parity")
        .read_dir()
        .unwrap()
        .next()
        .is_some());
    // Copying again finds everything there: nothing is written.
    let (doc, code) = copy(&src, &[&local, &remote], &[]);
    assert_eq!(code, 0);
    for t in doc["targets"].as_array().unwrap() {
        assert_eq!(t["report"]["skipped"].as_array().unwrap().len(), 2, "{doc}");
        assert_eq!(t["report"]["blobs_written"], 0, "{doc}");
    }
}

#[test]
fn a_failing_destination_does_not_stop_the_others() {
    let src = Env::init();
    let a = src.path("a");
    tree(&a, 2);
    src.backup(&a, &[]);
    let good = Env::init();
    let missing = Env::new(); // never initialised
    let (doc, code) = copy(&src, &[&missing, &good], &[]);
    assert_eq!(code, 1, "{doc}");
    let t = doc["targets"].as_array().unwrap();
    assert!(
        t[0]["error"]
            .as_str()
            .unwrap()
            .contains("no Cairn repository"),
        "{doc}"
    );
    assert_eq!(
        t[1]["report"]["copied"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    restores_same(&good, "latest", &a, "out");
}

#[test]
fn shared_chunker_params_make_copies_deduplicate() {
    let src = Env::init();
    let a = src.path("a");
    tree(&a, 3);
    src.backup(&a, &[]);
    // Without shared keys, the destination's own backup of the same data
    // stores it again; with them, it finds every chunk already there.
    for (shared, expect_dedup) in [(false, false), (true, true)] {
        let dst = Env::new();
        let mut args = vec!["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"];
        let from = src.repo.to_str().unwrap().to_owned();
        let pw = src.pwfile.to_str().unwrap().to_owned();
        if shared {
            args.extend([
                "--copy-chunker-params-from",
                &from,
                "--from-password-file",
                &pw,
            ]);
        }
        dst.ok(&args);
        let (doc, code) = copy(&src, &[&dst], &[]);
        assert_eq!(code, 0, "{doc}");
        // Another path: no parent snapshot, so every file is chunked anew.
        let elsewhere = dst.path("elsewhere");
        cairn_tests::copy_dir(&a, &elsewhere);
        let again = dst.backup(&elsewhere, &[]);
        let new = again["new_bytes"].as_u64().unwrap();
        assert_eq!(new < 100_000, expect_dedup, "shared={shared}: {again}");
        restores_same(&dst, "latest", &elsewhere, "out");
    }
    // The source's password is required, and a wrong one is refused.
    let dst = Env::new();
    let bad = dst.path("bad");
    fs::write(&bad, "not the password\n").unwrap();
    let out = dst.run(&[
        "init",
        "--copy-chunker-params-from",
        src.repo.to_str().unwrap(),
        "--from-password-file",
        bad.to_str().unwrap(),
    ]);
    assert_code(&out, 12);
}

#[test]
fn an_interrupted_copy_resumes_with_the_snapshots_it_finished() {
    let src = Env::init();
    let a = src.path("a");
    for i in 0..3u64 {
        tree(&a, 10 + i);
        src.backup(&a, &[]);
    }
    let dst = Env::init();
    // Copy the first snapshot only, as if a run was cut short after it.
    let first = src.json(&["snapshots"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (doc, _) = copy(&src, &[&dst], &[&first]);
    let first_written = doc["targets"][0]["report"]["bytes_written"]
        .as_u64()
        .unwrap();
    assert!(first_written > 4 << 20);
    // The full copy skips it and writes only the rest.
    let (doc, code) = copy(&src, &[&dst], &[]);
    assert_eq!(code, 0);
    let r = &doc["targets"][0]["report"];
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(dst.json(&["snapshots"]).as_array().unwrap().len(), 3);
    assert_eq!(dst.json(&["check"])["ok"], true);
    restores_same(&dst, "latest", &a, "out");
    // A copy killed mid-way leaves a valid destination; the next run finishes.
    let b = src.path("b");
    fs::create_dir_all(&b).unwrap();
    for i in 0..6u64 {
        fs::write(b.join(format!("f{i}")), random_bytes(8 << 20, 500 + i)).unwrap();
    }
    src.backup(&b, &[]);
    let mut child = src
        .cmd(&[
            "copy",
            "--to",
            dst.repo.to_str().unwrap(),
            "--to-password-file",
            src.pwfile.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    dst.wait_until_writing();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(dst.json(&["check"])["ok"], true);
    assert_eq!(
        dst.json(&["snapshots"]).as_array().unwrap().len(),
        3,
        "killed before its commit"
    );
    let (doc, code) = copy(&src, &[&dst], &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(dst.json(&["snapshots"]).as_array().unwrap().len(), 4);
    restores_same(&dst, "latest", &b, "out-b");
}

#[test]
fn copy_needs_the_destination_password() {
    let src = Env::init();
    let dst = Env::init();
    let out = src.run(&["copy", "--to", dst.repo.to_str().unwrap()]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to-password-file"));
}
