//! prune and forget --prune: space is reclaimed, and no snapshot ever loses
//! data — not with backups running beside it, not when it is killed.

use cairn_tests::{assert_code, assert_same_tree, random_bytes, Env};
use std::fs;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ChildStdin, Stdio};
use std::time::{Duration, Instant};

/// A repository with small packs, so repacking has something to choose.
fn small_packs(extra: &[&str]) -> Env {
    let e = Env::new();
    let mut a = vec![
        "init",
        "--pack-size",
        "64K",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
    ];
    a.extend_from_slice(extra);
    e.ok(&a);
    e
}

/// `n` files of `len` random bytes each, named f000, f001, ...
fn small_files(dir: &Path, n: u64, len: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        fs::write(dir.join(format!("f{i:03}")), random_bytes(len, i)).unwrap();
    }
}

fn dir_size(p: &Path) -> u64 {
    walk(p).iter().map(|f| f.metadata().unwrap().len()).sum()
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(p).unwrap().filter_map(Result::ok) {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every snapshot reads back completely (all blobs, verified).
fn verify_all(env: &Env, context: &str) {
    for s in env.json(&["snapshots"]).as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let v = env.json(&["verify", id]);
        assert_eq!(v["ok"], true, "{context}: snapshot {id}: {v}");
    }
}

fn plans(env: &Env) -> usize {
    fs::read_dir(env.repo.join("state"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("gc-"))
        .count()
}

#[test]
fn prune_deletes_unused_packs_and_repacks_partly_used_ones() {
    let env = small_packs(&[]);
    let src = env.path("src");
    small_files(&src, 300, 4000);
    env.backup(&src, &[]);
    // Drop every other file: most packs become half used.
    for i in (0..300u64).step_by(2) {
        fs::remove_file(src.join(format!("f{i:03}"))).unwrap();
    }
    env.backup(&src, &[]);
    env.json(&["forget", "--keep-last", "1"]);

    let before = env.repo_fingerprint();
    let dry = env.json(&["prune", "--dry-run"]);
    assert_eq!(env.repo_fingerprint(), before, "a dry run changed files");
    assert!(dry["repack"]["packs"].as_u64().unwrap() > 0, "{dry}");
    let listed = dry["packs"].as_array().unwrap();
    assert!(listed.iter().all(|p| p["size"].as_u64().unwrap() > 0));
    assert!(listed.iter().any(|p| p["action"] == "repack"));

    let data_before = dir_size(&env.repo.join("data"));
    let r = env.json(&["prune"]);
    assert_eq!(r["pending_plans"].as_array().unwrap().len(), 0, "{r}");
    assert!(r["swept"]["bytes"].as_u64().unwrap() > 0, "{r}");
    let data_after = dir_size(&env.repo.join("data"));
    assert!(
        data_after * 10 < data_before * 7,
        "prune freed too little: {data_before} -> {data_after}"
    );
    assert_eq!(plans(&env), 0);
    assert_eq!(env.json(&["check"])["ok"], true);
    let out = env.restore_latest("out");
    assert_same_tree(&src, &out.join(src.strip_prefix("/").unwrap()));
    // Nothing is left to do, and the spec copy explains GC plans.
    let again = env.json(&["prune", "--dry-run"]);
    assert_eq!(again["delete"]["packs"], 0, "{again}");
    assert_eq!(again["repack"]["packs"], 0, "{again}");
    let unused = again["unused_bytes"].as_u64().unwrap();
    let used = again["used_bytes"].as_u64().unwrap();
    assert!(unused * 20 <= used, "more than 5% unused: {again}");
    assert!(env.repo.join("spec/v1-gc.md").is_file());
}

#[test]
fn forget_prune_dry_run_counts_the_forgotten_snapshots() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(3 << 20, 1)).unwrap();
    env.backup(&src, &[]);
    fs::write(src.join("a"), random_bytes(3 << 20, 2)).unwrap();
    env.backup(&src, &[]);
    let before = env.repo_fingerprint();
    let r = env.json(&["forget", "--keep-last", "1", "--prune", "--dry-run"]);
    assert_eq!(env.repo_fingerprint(), before);
    assert_eq!(r["remove"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["prune"]["snapshots"], 1, "{r}");
    assert!(
        r["prune"]["delete"]["bytes"].as_u64().unwrap() >= 3 << 20,
        "{r}"
    );
    let r = env.json(&["forget", "--keep-last", "1", "--prune"]);
    assert!(
        r["prune"]["swept"]["bytes"].as_u64().unwrap() >= 3 << 20,
        "{r}"
    );
    assert_eq!(env.json(&["snapshots"]).as_array().unwrap().len(), 1);
    env.restore_latest("out");
    // Bad flags are usage errors.
    assert_code(&env.run(&["prune", "--max-unused", "120%"]), 2);
    assert_code(&env.run(&["prune", "--max-repack-size", "lots"]), 2);
}

#[test]
fn space_after_forgetting_all_but_the_last_is_close_to_a_fresh_backup() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for round in 0..10u64 {
        // Churn: some files change, some appear, big ones shift.
        for i in 0..40u64 {
            if (i + round) % 3 == 0 {
                fs::write(
                    src.join(format!("s{i}")),
                    random_bytes(6000, round * 100 + i),
                )
                .unwrap();
            }
        }
        let mut big = random_bytes(2 << 20, 7);
        big.splice(0..0, random_bytes(1000 * round as usize, round));
        fs::write(src.join("big"), big).unwrap();
        fs::write(
            src.join(format!("new{round}")),
            random_bytes(300_000, round),
        )
        .unwrap();
        env.backup(&src, &[]);
    }
    env.json(&["forget", "--keep-last", "1", "--prune"]);
    let pruned = dir_size(&env.repo.join("data")) + dir_size(&env.repo.join("index"));

    let fresh = Env::init();
    fresh.backup(&src, &[]);
    let fresh_size = dir_size(&fresh.repo.join("data")) + dir_size(&fresh.repo.join("index"));
    assert!(
        pruned * 100 <= fresh_size * 110,
        "pruned repository {pruned} B is more than 10% above a fresh backup {fresh_size} B"
    );
    let out = env.restore_latest("out");
    assert_same_tree(&src, &out.join(src.strip_prefix("/").unwrap()));
}

/// Feed a `backup --stdin` the start of `data` and return once it has
/// read some of it, with how much was fed. It reads its input only after
/// it has taken its lock and read the GC plans (its blob writer is made
/// first), so from then on it works with the plans that existed before
/// this returned. Writing one byte more than the pipe holds completes
/// only after the backup has read.
fn fed_past_the_plans(mut stdin: ChildStdin, data: &[u8]) -> (ChildStdin, usize) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stdin);
    let capacity = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETPIPE_SZ).unwrap();
    let head = data[..usize::try_from(capacity).unwrap() + 1].to_vec();
    let fed = head.len();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(stdin.write_all(&head).map(|()| stdin));
    });
    let stdin = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the backup never read its input")
        .expect("feeding the backup");
    (stdin, fed)
}

/// The protocol end to end, deterministically: a backup that started
/// before the plan and reuses condemned data keeps it alive (resurrection);
/// one that starts after the plan stores the data again.
#[test]
fn a_running_backup_holds_back_the_sweep_and_keeps_what_it_uses() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let x = random_bytes(3 << 20, 42);
    let y = random_bytes(3 << 20, 43);
    fs::write(src.join("x"), &x).unwrap();
    fs::write(src.join("y"), &y).unwrap();
    env.backup(&src, &[]);

    // A stdin backup that holds its lock until we feed it all of x.
    let mut child = env
        .cmd(&["--json", "backup", "--stdin", "--stdin-name", "x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdin, fed) = fed_past_the_plans(child.stdin.take().unwrap(), &x);
    let first = env.json(&["snapshots"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.json(&["forget", &first]);
    let r = env.json(&["prune"]);
    let pending = r["pending_plans"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "the plan must wait for the backup: {r}");
    assert_eq!(pending[0]["waiting_for_locks"], 1, "{r}");
    assert_eq!(r["swept"]["packs"], 0, "{r}");
    assert_eq!(plans(&env), 1);
    assert_eq!(env.json(&["check"])["ok"], true);

    // A backup that starts now sees the plan and stores y again.
    let only_y = env.path("only_y");
    fs::create_dir_all(&only_y).unwrap();
    fs::write(only_y.join("y"), &y).unwrap();
    let late = env.backup(&only_y, &[]);
    assert!(
        late["new_bytes"].as_u64().unwrap() >= y.len() as u64,
        "a backup deduplicated against condemned packs: {late}"
    );

    // The early backup deduplicates x against the condemned packs.
    stdin.write_all(&x[fed..]).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = cairn_tests::stdout_json(&out);
    // Only its tree is new: every chunk came from the condemned packs.
    assert!(
        s["new_bytes"].as_u64().unwrap() < 4096,
        "expected deduplication: {s}"
    );
    let id = s["snapshot_id"].as_str().unwrap().to_owned();

    // The sweep finds that a new snapshot needs the condemned x chunks.
    let r = env.json(&["prune"]);
    assert!(r["swept"]["resurrected"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(plans(&env), 0, "{r}");
    let dumped = env.cmd(&["dump", &id, "x"]).output().unwrap();
    assert!(dumped.status.success());
    assert!(dumped.stdout == x, "the resurrected data differs");
    assert_eq!(env.json(&["check"])["ok"], true);
    verify_all(&env, "after resurrection");
    // With nothing running, the next prune reclaims what is really unused.
    let r = env.json(&["prune"]);
    assert_eq!(r["pending_plans"].as_array().unwrap().len(), 0);
    verify_all(&env, "final");
}

#[test]
fn an_unreadable_plan_stops_backups_until_prune_removes_it() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    env.backup(&src, &[]);
    fs::write(
        env.repo.join("state/gc-00112233445566778899aabbccddeeff"),
        b"junk",
    )
    .unwrap();
    let out = env.run(&["backup", src.to_str().unwrap()]);
    assert_code(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cairn prune"));
    let check = env.run(&["--json", "check"]);
    assert!(!check.status.success());
    let r = env.json(&["prune"]);
    assert_eq!(r["removed_unreadable_plans"].as_array().unwrap().len(), 1);
    env.backup(&src, &[]);
}

#[test]
fn sigkill_during_prune_never_loses_data_and_the_next_prune_finishes() {
    let env = small_packs(&[]);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut full = Duration::from_millis(200);
    let (mut killed, mut round, mut left_plan) = (0, 0u64, 0);
    while killed < 30 {
        assert!(round < 120, "only {killed} prunes were killed mid-way");
        // New garbage every round: rewrite a third of the files, forget.
        for i in 0..200u64 {
            if rand(3) == 0 {
                fs::write(src.join(format!("f{i}")), random_bytes(5000, rand(1 << 40))).unwrap();
            }
        }
        env.backup(&src, &[]);
        env.json(&["forget", "--keep-last", "3"]);
        if round % 8 == 0 {
            // Measure an uninterrupted prune to aim the kills.
            let t = Instant::now();
            env.json(&["prune"]);
            full = t.elapsed();
        } else {
            let mut child = env
                .cmd(&["prune"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            if round % 2 == 0 {
                // Anywhere in the run.
                std::thread::sleep(Duration::from_micros(rand(
                    full.as_micros() as u64 * 3 / 2 + 1,
                )));
            } else {
                // In the second phase: as soon as the plan is stored.
                let until = Instant::now() + full * 3;
                while plans(&env) == 0 && Instant::now() < until {
                    std::thread::sleep(Duration::from_micros(200));
                }
                std::thread::sleep(Duration::from_micros(rand(2000)));
            }
            let _ = child.kill();
            if child.wait().unwrap().signal() == Some(9) {
                killed += 1;
                left_plan += usize::from(plans(&env) > 0);
            }
        }
        let check = env.json(&["check"]);
        assert_eq!(check["ok"], true, "round {round}: {check}");
        verify_all(&env, &format!("round {round}"));
        round += 1;
    }
    eprintln!("{killed} prunes killed, {left_plan} with their plan stored");
    assert!(
        left_plan >= 3,
        "only {left_plan} of {killed} kills interrupted a prune with its plan stored"
    );
    // The next prune completes the work: nothing pending, nothing to do.
    env.json(&["prune"]);
    let r = env.json(&["prune", "--dry-run"]);
    assert_eq!(r["pending_plans"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["delete"]["packs"], 0, "{r}");
    assert_eq!(plans(&env), 0);
    assert_eq!(env.json(&["check"])["ok"], true);
    let out = env.restore_latest("out");
    assert_same_tree(&src, &out.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn prune_keeps_parity_complete_and_usable() {
    let env = small_packs(&["--parity", "4+1"]);
    let src = env.path("src");
    small_files(&src, 120, 4000);
    env.backup(&src, &[]);
    for i in (0..120u64).step_by(3) {
        fs::remove_file(src.join(format!("f{i:03}"))).unwrap();
    }
    env.backup(&src, &[]);
    env.json(&["forget", "--keep-last", "1", "--prune"]);
    let scrub = env.json(&["scrub"]);
    assert_eq!(scrub["ok"], true, "{scrub}");
    assert_eq!(scrub["unprotected_packs"], 0, "{scrub}");
    // Every parity file describes only packs that exist.
    let s = env.json(&["scrub"]);
    assert_eq!(s["missing"].as_array().map_or(0, Vec::len), 0, "{s}");
    // And the new groups really rebuild a damaged pack.
    let pack = env.packs().into_iter().max().unwrap();
    let mut b = fs::read(&pack).unwrap();
    b[100] ^= 0x10;
    fs::write(&pack, b).unwrap();
    assert!(!env.run(&["scrub"]).status.success());
    let fixed = env.json(&["scrub", "--repair"]);
    assert_eq!(fixed["ok"], true, "{fixed}");
    let out = env.restore_latest("out");
    assert_same_tree(&src, &out.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn prune_removes_temporaries_of_long_dead_writes_only() {
    let env = Env::init();
    let src = env.path("src");
    small_files(&src, 3, 1000);
    env.backup(&src, &[]);
    // Where a killed backup leaves a streamed pack, and a killed atomic write.
    let old = [
        env.repo.join("data/.tmp-killed-pack"),
        env.repo.join("index/.tmp-killed-index"),
    ];
    let fresh = env.repo.join("data/.tmp-being-written");
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    for p in &old {
        fs::write(p, vec![7u8; 50_000]).unwrap();
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    fs::write(&fresh, vec![7u8; 50_000]).unwrap();
    let r = env.json(&["prune"]);
    assert_eq!(r["stale_temporaries_bytes"], 100_000, "{r}");
    assert!(old.iter().all(|p| !p.exists()));
    assert!(fresh.exists(), "a temporary that may be live was removed");
    env.restore_latest("out");
}
