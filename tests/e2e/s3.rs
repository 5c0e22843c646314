//! Repositories on real S3 servers: s3s-fs (objects are plain files, so
//! bit rot can be made on disk) and a 3-node Garage cluster over three
//! zones (nodes can die). The engine's one backend conformance suite runs
//! on both; the CLI's round trip, dedup, check, scrub and bit-rot checks
//! run on S3 here, prune beside backups in `gc_stress`.

use cairn_engine::backend::{conformance, S3Backend, S3Config, S3Credentials};
use cairn_tests::s3::{self, FlakyProxy, Garage, S3sFs, Store};
use cairn_tests::{assert_code, assert_same_tree, random_bytes, Env};
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

fn backend_on(store: &dyn Store) -> S3Backend {
    let mut c = S3Config::new(s3::BUCKET, s3::unique_prefix("conformance"));
    c.endpoint = Some(store.endpoint());
    c.region = store.region().to_owned();
    c.retries = 3;
    c.credentials = Some(S3Credentials {
        access_key_id: s3::ACCESS_KEY.into(),
        secret_access_key: s3::SECRET_KEY.into(),
    });
    S3Backend::new(c).unwrap()
}

#[test]
fn backend_conformance_on_s3s_fs_and_garage() {
    let fs_store = S3sFs::start();
    conformance::run(&backend_on(&fs_store)).unwrap();
    let garage = Garage::start();
    conformance::run(&backend_on(&garage)).unwrap();
}

/// A source tree: a big random file, small files, a shared file twice.
fn source(dir: &Path, seed: u64) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("big.bin"), random_bytes(6 << 20, seed)).unwrap();
    for i in 0..20u64 {
        fs::write(
            dir.join(format!("sub/f{i}")),
            random_bytes(3000 + i as usize * 100, seed + i),
        )
        .unwrap();
    }
    let shared = random_bytes(300_000, 99);
    fs::write(dir.join("copy-a"), &shared).unwrap();
    fs::write(dir.join("sub/copy-b"), &shared).unwrap();
}

/// `check` is clean and `scrub` reads and verifies every pack.
fn audit_clean(env: &Env) {
    assert_eq!(env.json(&["check"])["ok"], true);
    assert_code(&env.run(&["scrub"]), 0);
}

fn restored(env: &Env, id: &str, name: &str) -> std::path::PathBuf {
    let t = env.path(name);
    env.ok(&["restore", id, "--target", t.to_str().unwrap()]);
    t
}

/// Round trip, dedup, check, scrub: what every repository must do.
fn round_trip(env: &Env) {
    let src = env.path("src");
    source(&src, 1);
    let first = env.backup(&src, &[]);
    let id1 = first["snapshot_id"].as_str().unwrap().to_owned();
    // Unchanged: every file is skipped, and only directory metadata that
    // changed (the scratch directory above the source) is stored again.
    let again = env.backup(&src, &[]);
    assert_eq!(again["unchanged_files"], again["files"], "{again}");
    assert!(again["new_bytes"].as_u64().unwrap() < 4096, "{again}");
    // One file changed: only its chunks are new.
    fs::write(src.join("sub/f3"), random_bytes(5000, 777)).unwrap();
    let third = env.backup(&src, &[]);
    let new = third["new_bytes"].as_u64().unwrap();
    assert!(
        new > 0 && new < 200_000,
        "only the change is stored: {third}"
    );
    let out = restored(env, &id1, "out1");
    let t = restored(env, "latest", "out-latest");
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
    let old = fs::read(out.join(src.strip_prefix("/").unwrap()).join("sub/f3")).unwrap();
    assert!(
        old == random_bytes(3300, 4),
        "the first snapshot keeps the old f3"
    );
    audit_clean(env);
}

#[test]
fn round_trip_dedup_check_and_scrub_on_s3s_fs() {
    let store = S3sFs::start();
    let env = Env::init_on(&store);
    round_trip(&env);
    // The repository is where s3s-fs keeps its objects: the same layout.
    assert!(env.repo.join("config").is_file() && env.repo.join("CAIRN").is_file());
    assert!(!env.packs().is_empty());
}

#[test]
fn round_trip_dedup_check_and_scrub_on_garage() {
    let garage = Garage::start();
    let env = Env::init_on(&garage);
    round_trip(&env);
}

#[test]
fn bit_rot_in_the_stores_files_is_found_and_named() {
    let store = S3sFs::start();
    let env = Env::init_on(&store);
    let src = env.path("src");
    source(&src, 5);
    env.backup(&src, &[]);
    let damaged = env.corrupt_data_packs(0x10);
    assert!(!damaged.is_empty());
    let scrub = env.run(&["scrub"]);
    assert_code(&scrub, 4);
    let said = String::from_utf8_lossy(&scrub.stdout) + String::from_utf8_lossy(&scrub.stderr);
    assert!(
        damaged.iter().any(|p| said.contains(&p[..8])),
        "scrub names a damaged pack: {said}"
    );
    // A restore fails rather than writing wrong bytes as if they were right.
    let t = env.path("out");
    let r = env.run(&["restore", "latest", "--target", t.to_str().unwrap()]);
    assert!(
        !r.status.success(),
        "a restore from rotten packs cannot succeed"
    );
}

#[test]
fn wrong_credentials_and_a_missing_bucket_have_their_own_exit_codes() {
    let store = S3sFs::start();
    let mut env = Env::init_on(&store);
    // A wrong secret: 13, and the secret is never printed.
    let good = env.extra_env.clone();
    let wrong = "wrong-secret-0123456789abcdef-do-not-print";
    env.extra_env.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    env.extra_env.push(("AWS_SECRET_ACCESS_KEY", wrong.into()));
    let out = env.run(&["snapshots"]);
    assert_code(&out, 13);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused access"), "{err}");
    assert!(
        !err.contains(wrong) && !err.contains(s3::SECRET_KEY),
        "{err}"
    );
    // No credentials at all: 13 too.
    env.extra_env
        .retain(|(k, _)| !k.starts_with("AWS_SECRET") && !k.starts_with("AWS_ACCESS"));
    assert_code(&env.run(&["snapshots"]), 13);
    // A missing bucket: 10, named.
    env.extra_env = good;
    env.location = Some("s3://no-such-bucket/x".into());
    let out = env.run(&["snapshots"]);
    assert_code(&out, 10);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bucket 'no-such-bucket' does not exist"));
    // An empty prefix in an existing bucket: no repository (10), and init works there.
    env.location = Some(format!("s3://{}/empty-prefix", s3::BUCKET));
    assert_code(&env.run(&["snapshots"]), 10);
}

/// Start a backup of `src` in the background.
fn spawn_backup(env: &Env, src: &Path) -> std::process::Child {
    env.cmd(&["--json", "backup", src.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Poll `cond` every 20 ms for at most 60 s.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Files below `dir` (none if it does not exist).
fn walkdir_count(dir: &Path) -> usize {
    fn walk(d: &Path, n: &mut usize) {
        for e in fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

/// Exit 0, or a clean failure: an error message and exit 1 (never a
/// panic, never an internal error).
fn completed_or_failed_cleanly(out: &std::process::Output) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    match out.status.code() {
        Some(0) => true,
        Some(1) => {
            assert!(err.contains("cairn: error:"), "{err}");
            false
        }
        other => panic!("backup ended with {other:?}: {err}"),
    }
}

#[test]
fn a_garage_node_dying_mid_backup_leaves_every_snapshot_restorable() {
    let mut garage = Garage::start();
    let env = Env::init_on(&garage);
    let early = env.path("early");
    source(&early, 10);
    let first = env.backup(&early, &[]);
    let id1 = first["snapshot_id"].as_str().unwrap().to_owned();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..16u64 {
        fs::write(src.join(format!("big{i}")), random_bytes(8 << 20, 100 + i)).unwrap();
    }
    let before = garage.stored_blocks();
    let mut child = spawn_backup(&env, &src);
    wait_until("the backup stores blocks", || {
        garage.stored_blocks() > before + 3
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the backup ended before the node died"
    );
    garage.kill_node(2);
    let out = child.wait_with_output().unwrap();
    let ok = completed_or_failed_cleanly(&out);
    // Two of three replicas are a quorum: the cluster still serves.
    assert_eq!(env.json(&["check"])["ok"], true);
    let t = restored(&env, &id1, "out1");
    assert_same_tree(&early, &t.join(early.strip_prefix("/").unwrap()));
    if ok {
        let t = restored(&env, "latest", "out2");
        assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
    }
    garage.start_node(2);
    audit_clean(&env);
}

#[test]
fn the_whole_store_dying_mid_backup_fails_cleanly_and_loses_nothing() {
    let mut store = S3sFs::start();
    let mut env = Env::init_on(&store);
    // Give up quickly while the store is down.
    env.extra_env.push(("CAIRN_S3_RETRIES", "2".into()));
    let early = env.path("early");
    source(&early, 20);
    let id1 = env.backup(&early, &[])["snapshot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..8u64 {
        fs::write(src.join(format!("big{i}")), random_bytes(8 << 20, 200 + i)).unwrap();
    }
    let mut child = spawn_backup(&env, &src);
    let data = env.repo.join("data");
    wait_until("the backup uploads a pack", || walkdir_count(&data) > 2);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the backup ended before the store died"
    );
    store.kill();
    let out = child.wait_with_output().unwrap();
    let ok = completed_or_failed_cleanly(&out);
    store.restart();
    audit_clean(&env);
    let t = restored(&env, &id1, "out1");
    assert_same_tree(&early, &t.join(early.strip_prefix("/").unwrap()));
    // The next backup completes, and everything restores.
    let again = env.backup(&src, &[]);
    if ok {
        eprintln!("the backup finished before the store died");
    }
    let t = restored(&env, again["snapshot_id"].as_str().unwrap(), "out2");
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
    assert_eq!(env.json(&["check"])["ok"], true);
}

#[test]
fn a_store_answering_503_for_a_while_is_retried() {
    let store = S3sFs::start();
    let proxy = FlakyProxy::start(store.port, store.region());
    let env = Env::init_on(&proxy);
    let src = env.path("src");
    source(&src, 30);
    proxy.set_failing(true);
    let child = spawn_backup(&env, &src);
    std::thread::sleep(Duration::from_millis(1500));
    proxy.set_failing(false);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the backup rides out 1.5 s of 503s: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And a store that never recovers is a clean error naming the retries.
    proxy.set_failing(true);
    let mut env2 = Env::on_store(&proxy);
    env2.location = env.location.clone();
    env2.extra_env.push(("CAIRN_S3_RETRIES", "1".into()));
    let out = env2.run(&["snapshots"]);
    assert_code(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept failing after 1 retry"));
    proxy.set_failing(false);
    let t = restored(&env, "latest", "out");
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn init_refuses_a_prefix_that_holds_any_repository_object() {
    let store = S3sFs::start();
    let env = Env::on_store(&store);
    // A leftover snapshot object, and nothing at the top of the prefix.
    let dir = env.repo.join("snapshots");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("ab".repeat(32)), b"old").unwrap();
    let out = env.run(&["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
    assert_code(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    fs::remove_dir_all(&dir).unwrap();
    env.ok(&["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
}

#[test]
fn prune_on_s3_deletes_nothing_when_the_snapshots_prefix_is_gone() {
    let store = S3sFs::start();
    let env = Env::init_on(&store);
    let src = env.path("src");
    source(&src, 40);
    env.backup(&src, &[]);
    let packs = env.packs().len();
    // Lose every snapshot object, as a lifecycle rule or a partial copy would.
    let snaps = env.repo.join("snapshots");
    let saved = env.path("saved-snapshots");
    cairn_tests::copy_dir(&snaps, &saved);
    fs::remove_dir_all(&snaps).unwrap();
    let out = env.run(&["prune"]);
    assert_code(&out, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("deletes nothing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.packs().len(), packs, "a pack was deleted");
    // With the snapshots back, everything restores.
    cairn_tests::copy_dir(&saved, &snaps);
    let t = restored(&env, "latest", "out");
    assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
}
