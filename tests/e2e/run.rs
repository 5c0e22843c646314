//! `cairn run PROFILE`: the nightly routine in one command, through the
//! real binary: every step, one JSON report, the hooks, and which steps
//! still run after a failure.

use cairn_tests::s3::{self, S3sFs, Store};
use cairn_tests::{random_bytes, Env};
use std::fs;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Run `cairn --json --config CFG run NAME` with only the store's
/// environment (no repository or password variables); returns the report
/// and the exit code.
fn run(env: &Env, cfg: &Path, name: &str, store: Option<&dyn Store>) -> (serde_json::Value, i32) {
    let mut c = env.cmd(&["--json", "--config", s(cfg), "run", name]);
    c.env_remove("CAIRN_REPOSITORY")
        .env_remove("CAIRN_PASSWORD_FILE")
        .env_remove("CAIRN_CACHE_DIR");
    if let Some(st) = store {
        c.envs(st.env());
    }
    let out = c.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (doc, out.status.code().unwrap_or(-1))
}

fn step<'a>(doc: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == name)
        .collect()
}

fn init(env: &Env, repo: &str, store: Option<&dyn Store>) {
    let mut c = env.cmd(&[
        "-r",
        repo,
        "init",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
    ]);
    if let Some(st) = store {
        c.envs(st.env());
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_profile_runs_every_step_and_hands_the_report_to_the_hook() {
    let env = Env::new();
    let store = S3sFs::start();
    let offsite = format!("s3://{}/{}", s3::BUCKET, s3::unique_prefix("offsite"));
    let local = env.path("local");
    let mirror = env.path("mirror");
    init(&env, s(&local), None);
    init(&env, s(&mirror), None);
    init(&env, &offsite, Some(&store));
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(300_000, 1)).unwrap();
    fs::write(src.join("skip.tmp"), b"excluded").unwrap();
    let hook_out = env.path("after.json");
    let cfg = env.path("cairn.toml");
    let pw = s(&env.pwfile);
    fs::write(
        &cfg,
        format!(
            r#"[profiles.nightly]
repository = "{local}"
password-file = "{pw}"
cache-dir = "{cache}"

[[profiles.nightly.sources]]
paths = ["{src}"]
exclude = ["*.tmp"]
tags = ["files"]

[[profiles.nightly.sources]]
command = ["printf", "agent-state"]
stdin-name = "agent.json"

[profiles.nightly.retention]
keep-last = 2

[profiles.nightly.copy]
to = ["mirror", "{offsite}"]

[profiles.nightly.scrub]
subset = "100%"

[profiles.nightly.drill]
tmp-dir = "{tmp}"

[profiles.nightly.hooks]
after = ["sh", "-c", "cat > '{hook}'"]

[profiles.mirror]
repository = "{mirror}"
password-file = "{pw}"
"#,
            local = s(&local),
            cache = s(&env.cache),
            src = s(&src),
            tmp = s(env.dir.path()),
            hook = s(&hook_out),
            mirror = s(&mirror),
        ),
    )
    .unwrap();
    let (doc, code) = run(&env, &cfg, "nightly", Some(&store));
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "backup",
            "backup",
            "forget",
            "copy",
            "copy",
            "scrub",
            "drill",
            "after_hook"
        ],
        "{doc:#}"
    );
    // The hook got the routine's report on its standard input.
    let hooked: serde_json::Value = serde_json::from_slice(&fs::read(&hook_out).unwrap()).unwrap();
    assert_eq!(hooked["profile"], "nightly");
    assert_eq!(hooked["ok"], true);
    // Both copies hold both snapshots; the command's output is restorable.
    for (repo, st) in [
        (s(&mirror).to_owned(), None),
        (offsite.clone(), Some(&store as &dyn Store)),
    ] {
        let mut c = env.cmd(&["--json", "-r", &repo, "snapshots"]);
        if let Some(st) = st {
            c.envs(st.env());
        }
        let out = c.output().unwrap();
        let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(snaps.as_array().unwrap().len(), 2, "{repo}: {snaps}");
    }
    let dumped = env
        .cmd(&["-r", s(&local), "dump", "latest", "agent.json"])
        .output()
        .unwrap();
    assert_eq!(dumped.stdout, b"agent-state");
    let t = env.path("restored");
    env.ok(&[
        "-r",
        s(&local),
        "restore",
        "latest",
        "--tag",
        "files",
        "--target",
        s(&t),
    ]);
    let restored = t.join(src.strip_prefix("/").unwrap());
    assert!(restored.join("a").is_file() && !restored.join("skip.tmp").exists());
    // A second and third run: retention keeps the last two per source.
    run(&env, &cfg, "nightly", Some(&store));
    let (doc, code) = run(&env, &cfg, "nightly", Some(&store));
    assert_eq!(code, 0, "{doc:#}");
    let snaps = env.json(&["-r", s(&local), "snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 4, "{snaps}");
}

#[test]
fn a_failed_copy_still_scrubs_and_a_failed_source_keeps_every_snapshot() {
    let env = Env::new();
    let local = env.path("local");
    init(&env, s(&local), None);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(100_000, 2)).unwrap();
    let failed_hook = env.path("failure.json");
    let cfg = env.path("cairn.toml");
    fs::write(
        &cfg,
        format!(
            r#"[profiles.p]
repository = "{local}"
password-file = "{pw}"
cache-dir = "{cache}"

[[profiles.p.sources]]
paths = ["{src}"]

[[profiles.p.sources]]
command = ["sh", "-c", "printf partial; exit 3"]
stdin-name = "export"

[profiles.p.retention]
keep-last = 1

[profiles.p.copy]
to = ["{missing}"]

[profiles.p.scrub]
subset = "100%"

[profiles.p.hooks]
on-failure = ["sh", "-c", "cat > '{hook}'"]
"#,
            local = s(&local),
            pw = s(&env.pwfile),
            cache = s(&env.cache),
            src = s(&src),
            missing = s(&env.path("never-initialised")),
            hook = s(&failed_hook),
        ),
    )
    .unwrap();
    for round in 0..2 {
        let (doc, code) = run(&env, &cfg, "p", None);
        assert_eq!(code, 1, "{doc:#}");
        assert_eq!(doc["ok"], false);
        let backups = step(&doc, "backup");
        assert_eq!(backups[0]["status"], "ok", "{doc:#}");
        assert_eq!(backups[1]["status"], "failed", "{doc:#}");
        assert!(
            backups[1]["error"]
                .as_str()
                .unwrap()
                .contains("no snapshot"),
            "{doc:#}"
        );
        assert_eq!(
            doc["failed_step"],
            format!("backup (command sh > export)"),
            "{doc:#}"
        );
        // A failed backup: nothing is forgotten.
        assert_eq!(step(&doc, "forget")[0]["status"], "skipped", "{doc:#}");
        // A failed copy does not skip the scrub.
        assert_eq!(step(&doc, "copy")[0]["status"], "failed", "{doc:#}");
        assert_eq!(step(&doc, "scrub")[0]["status"], "ok", "{doc:#}");
        let hooked: serde_json::Value =
            serde_json::from_slice(&fs::read(&failed_hook).unwrap()).unwrap();
        assert_eq!(hooked["ok"], false);
        let snaps = env.json(&["-r", s(&local), "snapshots"]);
        assert_eq!(
            snaps.as_array().unwrap().len(),
            round + 1,
            "keep-last 1 did not run: {snaps}"
        );
    }
}

#[test]
fn copy_with_a_profile_and_no_to_copies_to_the_profiles_targets() {
    let env = Env::new();
    let local = env.path("local");
    let mirror = env.path("mirror");
    init(&env, s(&local), None);
    init(&env, s(&mirror), None);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(50_000, 7)).unwrap();
    env.ok(&["-r", s(&local), "backup", s(&src)]);
    let cfg = env.path("cairn.toml");
    let pw = s(&env.pwfile);
    fs::write(
        &cfg,
        format!(
            "[profiles.p]\nrepository = \"{}\"\npassword-file = \"{pw}\"\n[profiles.p.copy]\nto = [\"m\"]\n\
             [profiles.m]\nrepository = \"{}\"\npassword-file = \"{pw}\"\n",
            s(&local),
            s(&mirror)
        ),
    )
    .unwrap();
    // Only the profile names the repository and the password.
    let out = env
        .cmd(&["--json", "--config", s(&cfg), "--profile", "p", "copy"])
        .env_remove("CAIRN_REPOSITORY")
        .env_remove("CAIRN_PASSWORD_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["location"], "profile m", "{doc}");
    assert_eq!(
        doc["targets"][0]["report"]["copied"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let snaps = env.json(&["-r", s(&mirror), "snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    // Without --to and without a profile there is nowhere to copy to.
    let out = env.run(&["-r", s(&local), "copy"]);
    cairn_tests::assert_code(&out, 2);
}
