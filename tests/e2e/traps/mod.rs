//! Regression tests for the traps a restic user (or a newcomer) fell into
//! (issue 9, parts 2 and 3): each test is named after what broke, and each
//! failed before its fix. The backup's own traps are in `backup`.

mod backup;

use cairn_tests::{assert_code, random_bytes, Env};
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `src/f` in the scratch area; returns `src`.
fn source_with_one_file(env: &Env) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"data").unwrap();
    src
}

fn snapshot_count(env: &Env) -> usize {
    fs::read_dir(env.repo.join("snapshots")).unwrap().count()
}

/// `cairn -r sftp:user@host:/srv/repo init` created a local directory
/// named `sftp:user@host:` and reported success.
#[test]
fn repository_urls_are_refused_not_created_as_directories() {
    let env = Env::new();
    let cwd = env.path("cwd");
    fs::create_dir_all(&cwd).unwrap();
    // S3 locations are a backend now: without credentials they fail with
    // "access denied" (13) before any request, and create nothing here.
    for url in ["s3://bucket/prefix", "s3:s3.amazonaws.com/bucket"] {
        let out = env
            .cmd(&["-r", url, "snapshots"])
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_code(&out, 13);
    }
    for url in ["sftp:user@host:/srv/repo", "rest:http://host:8000/"] {
        let out = env
            .cmd(&["-r", url, "init"])
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_code(&out, 2);
        assert!(stderr(&out).contains("local:PATH"), "{}", stderr(&out));
        let out = env
            .cmd(&["snapshots"])
            .env("CAIRN_REPOSITORY", url)
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_code(&out, 2);
    }
    assert!(
        fs::read_dir(&cwd).unwrap().next().is_none(),
        "something was created for a URL"
    );
    // A local path with a colon is still reachable.
    for local in ["./sftp:odd", "local:other:odd"] {
        let out = env
            .cmd(&[
                "-r",
                local,
                "init",
                "--kdf-memory-kib",
                "1024",
                "--kdf-iterations",
                "1",
            ])
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_code(&out, 0);
    }
    assert!(cwd.join("sftp:odd/CAIRN").exists());
    assert!(cwd.join("other:odd/CAIRN").exists());
}

/// `--keep-within 6m` meant six minutes; in restic it is six months.
#[test]
fn keep_within_6m_means_six_months() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    for t in [
        "2026-01-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
        "2026-07-15T00:00:00Z",
        "2026-12-01T00:00:00Z",
    ] {
        env.backup(&src, &["--time", t]);
    }
    let r = env.json(&["forget", "--keep-within", "6m", "--dry-run"]);
    let mut removed: Vec<String> = r["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["time"].as_str().unwrap().to_owned())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        vec!["2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z"],
        "{r}"
    );
    let kept = r["groups"][0]["keep"][0]["reasons"][0].as_str().unwrap();
    assert_eq!(kept, "within 6m");
    // The other grammar's minutes, and restic's units elsewhere, are
    // refused rather than guessed.
    for bad in ["6min", "2w", "30s", "6", "m", "1d1d"] {
        let out = env.run(&["forget", "--keep-within", bad, "--dry-run"]);
        assert_code(&out, 2);
    }
    let out = env.run(&["scrub", "--max-duration", "30m"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("30min"), "{}", stderr(&out));
    assert_code(&env.run(&["scrub", "--max-duration", "30min"]), 0);
}

/// `CAIRN_PASSWORD_FILE= cairn snapshots` failed with "a value is
/// required for '--password-file'"; usage errors showed env-supplied
/// options as if they were required flags.
#[test]
fn empty_environment_variables_count_as_unset() {
    let env = Env::init();
    let out = env
        .cmd(&["snapshots"])
        .env("CAIRN_PASSWORD_FILE", "")
        .env("CAIRN_PASSWORD", cairn_tests::PASSWORD)
        .env("CAIRN_CACHE_DIR", "")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = env
        .cmd(&["-r", env.repo.to_str().unwrap(), "snapshots"])
        .env("CAIRN_REPOSITORY", "")
        .output()
        .unwrap();
    assert_code(&out, 0);
    // An empty CAIRN_REPOSITORY and no -r: no repository given (usage).
    let out = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", "")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let out = env.run(&["restore"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        !err.contains("--repo") && !err.contains("--password-file"),
        "usage shows environment-supplied options: {err}"
    );
}

/// "no repository given" exited 10 (no repository at the location); it
/// is a usage error. A regular file given as the repository exited 1.
#[test]
fn no_repository_given_is_a_usage_error_and_a_file_is_no_repository() {
    let env = Env::new();
    let out = env
        .cmd(&["snapshots"])
        .env_remove("CAIRN_REPOSITORY")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let file = env.path("not-a-repo");
    fs::write(&file, b"just a file").unwrap();
    let out = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", &file)
        .output()
        .unwrap();
    assert_code(&out, 10);
    assert!(stderr(&out).contains("is a file"), "{}", stderr(&out));
}

/// `forget --keep-last 0` removed every snapshot (and with `--prune`, all
/// data) with exit 0; restic treats an all-zero policy as no policy.
#[test]
fn forget_with_an_all_zero_policy_removes_nothing() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    env.backup(&src, &[]);
    env.backup(&src, &["--tag", "x"]);
    let before = env.repo_fingerprint();
    for args in [
        vec!["forget", "--keep-last", "0"],
        vec!["forget", "--keep-last", "0", "--keep-daily", "0", "--prune"],
        vec!["forget", "--keep-within", "0d", "--prune"],
        vec!["forget", "--keep-last", "-5"],
        vec!["forget", "--keep-monthly", "-2", "--prune"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 2);
    }
    assert_eq!(
        before,
        env.repo_fingerprint(),
        "forget changed the repository"
    );
    // -1 still means "all".
    let r = env.json(&["forget", "--keep-last", "-1", "--dry-run"]);
    assert!(r["remove"].as_array().unwrap().is_empty(), "{r}");
}

/// `--exclude ''` matched everything: an empty snapshot with exit 0, and
/// `restore --exclude ''` restored nothing with exit 0. Glob errors showed
/// the internally rewritten pattern (`**/a[`).
#[test]
fn empty_exclude_pattern_is_refused() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    let s = src.to_str().unwrap();
    assert_code(&env.run(&["backup", s, "--exclude", ""]), 2);
    assert_code(&env.run(&["backup", s, "--exclude", "/"]), 2);
    assert_eq!(snapshot_count(&env), 0);
    env.backup(&src, &[]);
    let t = env.path("out");
    let out = env.run(&[
        "restore",
        "latest",
        "--target",
        t.to_str().unwrap(),
        "--exclude",
        "",
    ]);
    assert_code(&out, 2);
    let out = env.run(&["backup", s, "--exclude", "a["]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("'a['") && !err.contains("**/"), "{err}");
}

/// `--password-file /dev/zero` and a password command that never stops
/// printing were read without limit (1.5 GB after 5 s).
#[test]
fn endless_password_sources_are_refused() {
    let env = Env::init();
    let start = Instant::now();
    let out = env
        .cmd(&["snapshots"])
        .env("CAIRN_PASSWORD_FILE", "/dev/zero")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let out = env
        .cmd(&["snapshots"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .env("CAIRN_PASSWORD_COMMAND", "yes")
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(stderr(&out).contains("more than"), "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(20));
    // A password command still works.
    let out = env
        .cmd(&["snapshots"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .env(
            "CAIRN_PASSWORD_COMMAND",
            format!("cat '{}'", env.pwfile.display()),
        )
        .output()
        .unwrap();
    assert_code(&out, 0);
}

/// `--time 9999-12-31T23:59:59Z` was called "not RFC 3339"; empty tags
/// were accepted silently.
#[test]
fn time_out_of_range_and_empty_tags_are_explained() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let s = src.to_str().unwrap();
    let out = env.run(&["backup", s, "--time", "9999-12-31T23:59:59Z"]);
    assert_code(&out, 2);
    assert!(!stderr(&out).contains("not RFC 3339"), "{}", stderr(&out));
    assert_code(&env.run(&["backup", s, "--tag", ""]), 2);
    assert_code(&env.run(&["backup", s, "--tag", "a,,b"]), 2);
    env.backup(&src, &[]);
    assert_code(&env.run(&["tag", "latest", "--add", ""]), 2);
    assert!(Path::new(&env.repo).join("snapshots").exists());
}

/// Output said "1 snapshots" and "0 other".
#[test]
fn counts_are_singular_or_plural() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    env.backup(&src, &[]);
    let listing = env.ok(&["snapshots"]);
    assert!(listing.trim_end().ends_with("\n1 snapshot"), "{listing}");
    let t = env.path("out");
    let out = env.run(&["restore", "latest", "--target", t.to_str().unwrap()]);
    assert_code(&out, 0);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(" 1 file,") && said.contains("0 other entries"),
        "{said}"
    );
}

/// `check` advised `cairn forget ID` for an unreadable snapshot file, but
/// `forget` could not remove a snapshot it could not read: advice that
/// went nowhere.
#[test]
fn check_advice_to_forget_an_unreadable_snapshot_works() {
    let env = Env::init();
    let src = source_with_one_file(&env);
    env.backup(&src, &[]);
    let id = env.backup(&src, &["--tag", "second"])["snapshot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = env.repo.join("snapshots").join(&id);
    let bytes = fs::read(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = env.run(&["check"]);
    assert_code(&out, 4);
    let advice = format!("cairn forget {id}");
    assert!(stderr(&out).contains(&advice), "{}", stderr(&out));
    env.ok(&["forget", &id]);
    assert_eq!(env.json(&["check"])["ok"], true);
    assert_eq!(snapshot_count(&env), 1);
}
