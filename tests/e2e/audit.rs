//! Integrity audits: `check` (structure) and `scrub` (every byte).

use cairn_tests::{assert_code, random_bytes, Env};
use std::fs;

fn repo_with_two_snapshots() -> Env {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/a"), random_bytes(400_000, 1)).unwrap();
    fs::write(src.join("b"), random_bytes(50_000, 2)).unwrap();
    env.backup(&src, &[]);
    fs::write(src.join("c"), random_bytes(70_000, 3)).unwrap();
    env.backup(&src, &[]);
    env
}

#[test]
fn clean_repository_passes_check_and_scrub() {
    let env = repo_with_two_snapshots();
    let c = env.json(&["check"]);
    assert_eq!(c["ok"], true, "{c}");
    assert_eq!(c["snapshots"], 2);
    assert!(c["packs"].as_u64().unwrap() >= 2);
    let s = env.json(&["scrub"]);
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["packs"], c["packs"]);
    // Subsets partition the packs.
    let parts: u64 = (1..=3)
        .map(|n| {
            env.json(&["scrub", "--subset", &format!("{n}/3")])["packs"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(parts, s["packs"].as_u64().unwrap());
    assert_code(&env.run(&["scrub", "--subset", "4/3"]), 2);
}

#[test]
fn scrub_detects_every_flipped_bit_in_packs() {
    let env = repo_with_two_snapshots();
    let packs = env.packs();
    let mut cases = 0;
    for (i, p) in packs.iter().enumerate() {
        let orig = fs::read(p).unwrap();
        for k in 0..30usize {
            let pos = (k * 7919 + i * 104_729) % orig.len();
            let mut bad = orig.clone();
            bad[pos] ^= 1 << (k % 8);
            fs::write(p, &bad).unwrap();
            let out = env.run(&["--json", "scrub"]);
            assert_code(&out, 4);
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(&name),
                "flip at {pos} in {name} not attributed"
            );
            cases += 1;
        }
        fs::write(p, &orig).unwrap();
    }
    assert!(cases >= 100, "only {cases} cases");
    assert_eq!(env.json(&["scrub"])["ok"], true);
}

#[test]
fn check_reports_missing_pack_and_missing_index() {
    let env = repo_with_two_snapshots();
    let victim = env
        .packs()
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let saved = fs::read(&victim).unwrap();
    fs::remove_file(&victim).unwrap();
    let out = env.run(&["--json", "check"]);
    assert_code(&out, 4);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("missing") && stdout.contains("restore"),
        "{stdout}"
    );
    fs::write(&victim, saved).unwrap();
    assert_eq!(env.json(&["check"])["ok"], true);

    for e in fs::read_dir(env.repo.join("index")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    let _ = fs::remove_dir_all(&env.cache);
    let out = env.run(&["--json", "check"]);
    assert_code(&out, 4);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("no index file records"), "{stdout}");
    assert!(stdout.contains("not in any index"), "{stdout}");
}

#[test]
fn repair_index_rebuilds_from_pack_trailers() {
    let env = repo_with_two_snapshots();
    let src = env.path("src");
    // Lose every index file and the cache: restore still finds the data,
    // through the pack trailers, and says what to run.
    for e in fs::read_dir(env.repo.join("index")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    fs::remove_dir_all(&env.cache).unwrap();
    let x = env.path("x");
    let out = env.run(&["restore", "latest", "--target", x.to_str().unwrap()]);
    assert_code(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("cairn repair index"),
        "{err}"
    );
    cairn_tests::assert_same_tree(&src, &x.join(src.strip_prefix("/").unwrap()));
    let out = env.run(&["check"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cairn repair index"),
        "check must say what to run next"
    );
    let r = env.json(&["repair", "index"]);
    assert!(r["packs"].as_u64().unwrap() >= 2, "{r}");
    assert_eq!(r["unreadable"].as_array().unwrap().len(), 0);
    assert_eq!(env.json(&["check"])["ok"], true);
    let t = env.restore_latest("out");
    cairn_tests::assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));

    // A damaged index file is replaced too, and the old one removed.
    let idx: Vec<_> = fs::read_dir(env.repo.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(idx.len(), 1);
    let mut b = fs::read(&idx[0]).unwrap();
    b[40] ^= 0xff;
    fs::write(&idx[0], b).unwrap();
    assert_code(&env.run(&["check"]), 4);
    env.json(&["repair", "index"]);
    assert_eq!(env.json(&["check"])["ok"], true);
    assert!(!idx[0].exists(), "the damaged index file was not removed");
}

#[test]
fn scrub_detects_flipped_bits_in_index_snapshot_and_key_files() {
    let env = repo_with_two_snapshots();
    let mut files = Vec::new();
    for dir in ["index", "snapshots", "keys"] {
        for e in fs::read_dir(env.repo.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    assert!(files.len() >= 4);
    let mut cases = 0;
    for (i, p) in files.iter().enumerate() {
        let orig = fs::read(p).unwrap();
        for k in 0..20usize {
            let pos = (k * 131 + i * 17) % orig.len();
            let mut bad = orig.clone();
            bad[pos] ^= 1 << ((k + i) % 8);
            fs::write(p, &bad).unwrap();
            // Key-file damage may make the repository unopenable (that is
            // detection too: exit 12 or 1); otherwise scrub names the file.
            let out = env.run(&["--json", "scrub"]);
            assert_ne!(
                out.status.code(),
                Some(0),
                "flip at {pos} of {} went unnoticed",
                p.display()
            );
            let rel = p
                .strip_prefix(&env.repo)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
            assert!(
                text.contains(&rel) || text.contains("key file") || text.contains("wrong password"),
                "{rel}: {text}"
            );
            cases += 1;
        }
        fs::write(p, &orig).unwrap();
    }
    assert!(cases >= 80, "only {cases} cases");
    assert_eq!(env.json(&["scrub"])["ok"], true);
}

#[test]
fn scrub_remembers_what_it_verified_and_covers_the_stalest_first() {
    let env = repo_with_two_snapshots();
    let total = env.json(&["scrub", "--stale", "1d"])["packs"]
        .as_u64()
        .unwrap();
    assert!(total >= 2);
    // Everything was just verified: nothing is stale now.
    let again = env.json(&["scrub", "--stale", "1d"]);
    assert_eq!(again["packs"], 0, "{again}");
    assert_eq!(again["never_verified_packs"], 0);
    assert!(again["oldest_verification_age_secs"].as_i64().unwrap() < 3600);
    // A new backup adds never-verified packs; 50% runs take those first.
    fs::write(env.path("src").join("later"), random_bytes(90_000, 7)).unwrap();
    env.backup(&env.path("src"), &[]);
    let before = env.json(&["scrub", "--stale", "1d", "--subset", "100%"])["packs"]
        .as_u64()
        .unwrap();
    assert!(before >= 1, "the new packs were not selected");
    assert_eq!(env.json(&["scrub", "--stale", "1d"])["packs"], 0);
    assert!(env.repo.join("state/scrub").exists());
    assert_code(&env.run(&["scrub", "--stale", "soon"]), 2);
}

#[test]
fn drill_restores_compares_reports_and_cleans_up() {
    let env = repo_with_two_snapshots();
    let tmp = env.path("drilltmp");
    fs::create_dir_all(&tmp).unwrap();
    let report_file = env.path("drill.json");
    let r = env.json(&[
        "drill",
        "latest",
        "--tmp-dir",
        tmp.to_str().unwrap(),
        "--report",
        report_file.to_str().unwrap(),
    ]);
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["files"], 3);
    assert!(r["bytes"].as_u64().unwrap() > 500_000);
    let on_disk: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(on_disk["status"], "ok");
    assert!(
        fs::read_dir(&tmp).unwrap().next().is_none(),
        "drill left files behind"
    );
    // Damage: the drill fails, says so in its report, and still cleans up.
    assert!(!env.corrupt_data_packs(0x04).is_empty());
    let out = env.run(&[
        "--json",
        "drill",
        "latest",
        "--tmp-dir",
        tmp.to_str().unwrap(),
        "--report",
        report_file.to_str().unwrap(),
    ]);
    assert_code(&out, 1);
    let on_disk: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(on_disk["status"], "failed", "{on_disk}");
    assert!(
        fs::read_dir(&tmp).unwrap().next().is_none(),
        "drill left files behind"
    );
}

#[test]
fn repair_snapshots_keeps_what_survives_and_lists_the_rest() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("doomed"), random_bytes(400_000, 1)).unwrap();
    env.backup(&src, &[]);
    fs::write(src.join("kept"), b"small and in a later pack").unwrap();
    fs::write(src.join("kept2"), random_bytes(30_000, 2)).unwrap();
    env.backup(&src, &[]);
    // Lose the first backup's data pack (the largest one).
    let victim = env
        .packs()
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    fs::remove_file(&victim).unwrap();
    env.json(&["repair", "index"]);
    assert_code(&env.run(&["check"]), 4);
    let r = env.json(&["repair", "snapshots"]);
    let repaired = r["repaired"].as_array().unwrap();
    assert_eq!(repaired.len(), 2, "{r}");
    for s in repaired {
        let lost: Vec<&str> = s["lost"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert!(lost[0].ends_with("/doomed"), "{lost:?}");
    }
    assert_eq!(env.json(&["check"])["ok"], true);
    let snaps = env.json(&["snapshots"]);
    assert!(snaps.as_array().unwrap().iter().all(|s| s["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "repaired")));
    let t = env.restore_latest("out");
    let base = t.join(src.strip_prefix("/").unwrap());
    assert!(!base.join("doomed").exists());
    assert_eq!(
        fs::read(base.join("kept")).unwrap(),
        b"small and in a later pack"
    );
    assert_eq!(
        fs::read(base.join("kept2")).unwrap(),
        random_bytes(30_000, 2)
    );
}
