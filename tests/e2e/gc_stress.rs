//! The GC protocol under load: four backups run continuously while
//! `forget --prune` runs again and again. Afterwards every surviving
//! snapshot restores byte-exact and `check` is clean.
//!
//! One worker backs up standard input and feeds it slowly, so its backups
//! span whole prune runs while reusing data that earlier forgets made
//! garbage: a writer that deduplicated against condemned packs (breaking
//! rule W3 of `format-spec/v1/gc.md`) loses data here.
//!
//! CI runs the loop for 40 seconds; set `CAIRN_STRESS_SECS=600` for the
//! ten-minute run.

use cairn_tests::{copy_dir, describe, random_bytes, Env};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WORKERS: u64 = 4;
/// Prunes that must run beside the backups, however slow the machine.
const MIN_PRUNES: u64 = 5;

/// What a snapshot must restore to.
enum Expect {
    /// The source directory and a copy of it taken after the backup.
    Dir(PathBuf, PathBuf),
    /// The bytes fed on standard input.
    Stdin(Vec<u8>),
}

/// Back up slowly fed standard input; contents recur from a small pool.
fn stdin_worker(
    env: &Env,
    going: &(dyn Fn() -> bool + Sync),
    expected: &Mutex<BTreeMap<String, Expect>>,
) {
    let mut round = 0u64;
    while going() {
        let data = random_bytes(1 << 20, 0x5eed + round % 4);
        let mut child = env
            .cmd(&["--json", "backup", "--stdin", "--stdin-name", "stream"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            let mut stdin = child.stdin.take().unwrap();
            for piece in data.chunks(data.len() / 8) {
                std::thread::sleep(Duration::from_millis(120));
                stdin.write_all(piece).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "stdin round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j = cairn_tests::stdout_json(&out);
        let id = j["snapshot_id"].as_str().unwrap().to_owned();
        expected.lock().unwrap().insert(id, Expect::Stdin(data));
        round += 1;
    }
}

#[test]
fn four_backups_and_repeated_prunes_never_lose_data() {
    let secs: u64 = std::env::var("CAIRN_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    stress(&Env::new(), secs);
}

/// The same on S3 (s3s-fs), where there is no rename and a lock is an
/// object: the protocol must not rely on either.
#[test]
fn four_backups_and_repeated_prunes_never_lose_data_on_s3() {
    let store = cairn_tests::s3::S3sFs::start();
    stress(&Env::on_store(&store), 20);
}

/// Run the workers and prunes for `secs` seconds on `env` (not yet
/// initialised), then restore every surviving snapshot.
fn stress(env: &Env, secs: u64) {
    env.ok(&[
        "init",
        "--pack-size",
        "128K",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
    ]);
    let deadline = Instant::now() + Duration::from_secs(secs);
    // snapshot ID -> copy of what it should contain.
    let expected: Mutex<BTreeMap<String, Expect>> = Mutex::new(BTreeMap::new());
    let (mut swept, mut prunes) = (0u64, 0u64);
    // Backups go on until the deadline *and* enough prunes ran beside
    // them: a slow machine stretches the run, it does not fail it.
    let prunes_seen = std::sync::atomic::AtomicU64::new(0);
    // Set when the prune loop ends, also by a panic: the backups then stop
    // too, so a failed prune fails the test instead of hanging it.
    let ended = std::sync::atomic::AtomicBool::new(false);
    let going = || {
        !ended.load(Ordering::SeqCst)
            && (Instant::now() < deadline || prunes_seen.load(Ordering::SeqCst) < MIN_PRUNES)
    };
    std::thread::scope(|s| {
        s.spawn(|| stdin_worker(env, &going, &expected));
        for w in 1..WORKERS {
            let expected = &expected;
            let going = &going;
            s.spawn(move || {
                let src = env.path(&format!("src{w}"));
                fs::create_dir_all(&src).unwrap();
                let mut round = 0u64;
                while going() {
                    // Contents recur across rounds (a small pool), so backups
                    // keep wanting data that prunes have just condemned.
                    for f in 0..6u64 {
                        let pick = (round * 7 + f * 3 + w) % 5;
                        let len = if f == 0 {
                            700_000
                        } else {
                            9000 + 100 * f as usize
                        };
                        fs::write(
                            src.join(format!("f{f}")),
                            random_bytes(len, w * 1000 + f * 10 + pick),
                        )
                        .unwrap();
                    }
                    fs::write(
                        src.join("unique"),
                        random_bytes(20_000, 1 << 32 | w << 16 | round),
                    )
                    .unwrap();
                    let out = env.run(&["--json", "backup", src.to_str().unwrap()]);
                    assert!(
                        out.status.success(),
                        "worker {w} round {round}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let j = cairn_tests::stdout_json(&out);
                    let id = j["snapshot_id"].as_str().unwrap().to_owned();
                    let copy = env.path(&format!("expected/{id}"));
                    copy_dir(&src, &copy);
                    expected
                        .lock()
                        .unwrap()
                        .insert(id, Expect::Dir(src.clone(), copy));
                    round += 1;
                }
            });
        }
        struct End<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let _end = End(&ended);
        // Prune once a snapshot exists: before that, a backup's index file
        // with no snapshot yet is what a lost `snapshots/` prefix looks like
        // on an object store, and prune rightly refuses to run.
        let wait_until = Instant::now() + Duration::from_secs(120);
        while expected.lock().unwrap().is_empty() {
            assert!(Instant::now() < wait_until, "no backup finished in 120 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        while going() {
            let r = env.json(&["forget", "--keep-last", "2", "--prune"]);
            swept += r["prune"]["swept"]["packs"].as_u64().unwrap();
            prunes += 1;
            prunes_seen.store(prunes, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    // Nothing runs now: one prune finishes every plan.
    env.json(&["forget", "--keep-last", "2", "--prune"]);
    let r = env.json(&["prune", "--dry-run"]);
    assert_eq!(r["pending_plans"].as_array().unwrap().len(), 0, "{r}");
    eprintln!(
        "{secs} s: {} backups, {prunes} prunes deleted {swept} packs",
        expected.lock().unwrap().len()
    );
    assert!(swept > 0, "no prune ever deleted a pack in {prunes} runs");
    assert_eq!(env.json(&["check"])["ok"], true);
    let snaps = env.json(&["snapshots"]);
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len() as u64, 2 * WORKERS, "keep-last 2 per worker");
    let expected = expected.into_inner().unwrap();
    for s in snaps {
        let id = s["id"].as_str().unwrap();
        match &expected[id] {
            Expect::Dir(src, copy) => {
                let target = env.path(&format!("restored/{id}"));
                env.ok(&["restore", id, "--target", target.to_str().unwrap()]);
                assert_same_content(copy, &target.join(src.strip_prefix("/").unwrap()), id);
            }
            Expect::Stdin(data) => {
                let out = env.cmd(&["dump", id, "stream"]).output().unwrap();
                assert!(
                    out.status.success(),
                    "snapshot {id}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.stdout == *data, "snapshot {id}: stdin restored wrong");
            }
        }
    }
}

/// Names, types and bytes agree (the copies do not keep times).
fn assert_same_content(expected: &std::path::Path, actual: &std::path::Path, id: &str) {
    let strip = |p| {
        describe(p)
            .into_iter()
            .map(|(k, e)| (k, (e.kind, e.size, e.content)))
            .collect::<Vec<_>>()
    };
    assert!(
        strip(expected) == strip(actual),
        "snapshot {id} does not restore what was backed up"
    );
}
