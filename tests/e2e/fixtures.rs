//! The damaged-repository fixtures of tests/fixtures/README.md: each gives
//! a clear, documented outcome, never a panic, and recovers where it can.

use cairn_tests::{assert_code, Env};
use std::path::Path;

fn fixture(name: &str) -> Env {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/damaged")
        .join(name)
        .join("repo");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/v1");
    let env = Env::new();
    cairn_tests::copy_dir(&base, &env.repo);
    std::fs::write(&env.pwfile, std::fs::read(golden.join("password")).unwrap()).unwrap();
    env
}

fn stderr(out: &std::process::Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!s.contains("panicked"), "{s}");
    s
}

#[test]
fn missing_pack() {
    let env = fixture("missing-pack");
    let out = env.run(&["check"]);
    assert_code(&out, 4);
    assert!(stderr(&out).contains("missing"));
    assert_code(
        &env.run(&[
            "restore",
            "latest",
            "--target",
            env.path("x").to_str().unwrap(),
        ]),
        1,
    );
    env.json(&["repair", "index"]);
    let r = env.json(&["repair", "snapshots"]);
    assert!(!r["repaired"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(env.json(&["check"])["ok"], true);
    env.restore_latest("out");
}

#[test]
fn corrupt_pack() {
    let env = fixture("corrupt-pack");
    assert_eq!(env.json(&["check"])["ok"], true);
    let out = env.run(&["--json", "scrub"]);
    assert_code(&out, 4);
    let out = env.run(&[
        "restore",
        "latest",
        "--target",
        env.path("x").to_str().unwrap(),
    ]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("pack "));
}

#[test]
fn missing_and_corrupt_index() {
    // A missing index directory stops check (1: it cannot run); a corrupt
    // index file is damage it reports (4).
    for (name, code) in [("missing-index", 1), ("corrupt-index", 4)] {
        let env = fixture(name);
        let out = env.run(&["check"]);
        assert_code(&out, code);
        assert!(stderr(&out).contains("cairn repair index"), "{name}");
        env.json(&["repair", "index"]);
        assert_eq!(env.json(&["check"])["ok"], true, "{name}");
        env.restore_latest("out");
    }
}

#[test]
fn truncated_snapshot() {
    let env = fixture("truncated-snapshot");
    let out = env.run(&["snapshots"]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("unreadable"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("golden"))
            .count(),
        1
    );
    // The unreadable snapshot could be the newest: `latest` is refused
    // (naming the file); the readable one restores by its ID.
    let out = env.run(&[
        "restore",
        "latest",
        "--target",
        env.path("x").to_str().unwrap(),
    ]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("could be the newest"));
    let out = env.run(&["--json", "snapshots"]);
    // The listing comes first, the error object after it.
    let snaps: serde_json::Value = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let id = snaps[0]["id"].as_str().unwrap();
    let t = env.path("out");
    env.ok(&["restore", id, "--target", t.to_str().unwrap()]);
}

#[test]
fn garbage_key() {
    let env = fixture("garbage-key");
    let out = env.run(&["snapshots"]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("key file"));
}

#[test]
fn duplicate_blobs() {
    let env = fixture("duplicate-blobs");
    let c = env.json(&["check"]);
    assert_eq!(c["ok"], true, "{c}");
    assert!(c["info"].to_string().contains("more than one pack"), "{c}");
    env.restore_latest("out");
}
