//! What `backup` tells the user (issue 14): the summary (new / changed /
//! unmodified, data added, the parent used), `-v`/`-vv` lists, `--dry-run`,
//! the `--json` stream (status, verbose_status, summary lines) and the
//! progress display in a pseudo-terminal; `selection` has the filters.

mod selection;

use cairn_tests::{assert_code, json_doc, random_bytes, Env};
use std::fs;
use std::path::Path;

/// A small tree: two files in `src/`, one in `src/sub/`.
fn tree(env: &Env) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), random_bytes(50_000, 1)).unwrap();
    fs::write(src.join("b"), b"bee").unwrap();
    fs::write(src.join("sub/c"), b"sea").unwrap();
    src
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_summary_counts_new_changed_and_unmodified_entries_against_the_parent() {
    let env = Env::init();
    let src = tree(&env);
    let first = env.backup(&src, &[]);
    assert_eq!(first["files_new"], 3, "{first}");
    assert_eq!(first["dirs_new"], 2, "{first}");
    assert_eq!(first["parent"], serde_json::Value::Null);
    fs::write(src.join("b"), b"bee, changed").unwrap();
    fs::write(src.join("sub/d"), b"new").unwrap();
    let out = env.run(&["backup", s(&src)]);
    assert_code(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    let parent = &first["snapshot_id"].as_str().unwrap()[..8];
    assert!(
        text.contains(&format!("compared with parent snapshot {parent}")),
        "{text}"
    );
    assert!(
        text.contains("Files:        1 new,        1 changed,        2 unmodified"),
        "{text}"
    );
    assert!(
        text.contains("Dirs:         0 new,        2 changed,        0 unmodified"),
        "{text}"
    );
    assert!(text.contains("Added to the repository: "), "{text}");
    assert!(text.contains("MiB/s)"), "binary units: {text}");
    assert!(
        text.lines().last().unwrap().starts_with("snapshot "),
        "{text}"
    );
    // Diagnostics, not the summary, go to stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Files:"));
    let third = env.backup(&src, &[]);
    assert_eq!(
        (
            third["files_unmodified"].as_u64(),
            third["dirs_unmodified"].as_u64()
        ),
        (Some(4), Some(2)),
        "{third}"
    );
}

#[test]
fn verbose_lists_changed_entries_and_very_verbose_every_entry() {
    let env = Env::init();
    let src = tree(&env);
    let first = env.ok(&["backup", "-v", s(&src)]);
    assert!(
        first.contains(&format!("new       {}/a\n", s(&src))),
        "{first}"
    );
    assert!(
        first.contains(&format!("new       {}/sub/\n", s(&src))),
        "{first}"
    );
    fs::write(src.join("b"), b"changed").unwrap();
    let v = env.ok(&["backup", "-v", s(&src)]);
    assert!(v.contains(&format!("modified  {}/b\n", s(&src))), "{v}");
    assert!(!v.contains("unchanged"), "-v lists only changes: {v}");
    let vv = env.ok(&["backup", "-vv", s(&src)]);
    assert!(vv.contains(&format!("unchanged {}/a\n", s(&src))), "{vv}");
    assert!(
        vv.contains(&format!("unchanged {}/sub/\n", s(&src))),
        "{vv}"
    );
    let q = env.ok(&["backup", "-q", s(&src)]);
    assert_eq!(q, "", "-q prints nothing");
}

#[test]
fn force_reads_everything_again_without_a_parent() {
    let env = Env::init();
    let src = tree(&env);
    env.backup(&src, &[]);
    let forced = env.backup(&src, &["--force"]);
    assert_eq!(forced["parent"], serde_json::Value::Null, "{forced}");
    assert_eq!(forced["unchanged_files"], 0, "{forced}");
    assert_eq!(forced["files_new"], 3, "{forced}");
    // The content was there already: at most the ancestors' trees are new
    // (the scratch directory's mtime moves as the test writes into it).
    assert!(forced["new_bytes"].as_u64() < Some(1024), "{forced}");
    let text = env.ok(&["backup", "-f", s(&src)]);
    assert!(text.contains("no parent snapshot used (--force)"), "{text}");
    let both = env.run(&["backup", "--force", "--parent", "latest", s(&src)]);
    assert_code(&both, 2);
}

#[test]
fn a_dry_run_reads_everything_and_stores_nothing() {
    let env = Env::init();
    let src = tree(&env);
    env.backup(&src, &[]);
    fs::write(src.join("new"), random_bytes(200_000, 7)).unwrap();
    let before = env.repo_fingerprint();
    let dry = env.backup(&src, &["--dry-run"]);
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(dry["snapshot_id"], serde_json::Value::Null, "{dry}");
    assert_eq!(dry["files_new"], 1, "{dry}");
    let added = dry["new_bytes"].as_u64().unwrap();
    assert!(added >= 200_000, "{dry}");
    assert_eq!(
        env.repo_fingerprint(),
        before,
        "a dry run changed the repository"
    );
    let text = env.ok(&["backup", "-n", s(&src)]);
    assert!(text.contains("Would add to the repository: "), "{text}");
    assert!(text.ends_with("dry run: nothing was stored\n"), "{text}");
    assert_eq!(env.repo_fingerprint(), before);
    // What it announced is what a real backup adds.
    let real = env.backup(&src, &[]);
    assert_eq!(real["new_bytes"].as_u64(), Some(added), "{real}");
}

#[test]
fn json_is_a_stream_of_status_lines_ending_in_one_summary() {
    let env = Env::init();
    let src = tree(&env);
    fs::write(src.join("big"), random_bytes(12 << 20, 3)).unwrap();
    let out = env
        .cmd(&["--json", "backup", "-v", s(&src)])
        .env("CAIRN_PROGRESS_FPS", "1000")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|v| v["message_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"summary"), "{text}");
    assert_eq!(kinds.iter().filter(|k| **k == "summary").count(), 1);
    let status: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| v["message_type"] == "status")
        .collect();
    assert!(status.len() >= 2, "periodic and final status lines: {text}");
    let last = status.last().unwrap();
    assert_eq!(last["files_done"], 4, "{last}");
    assert_eq!(last["total_files"], 4, "{last}");
    assert_eq!(last["percent_done"], 1.0, "{last}");
    assert!(last["bytes_done"].as_u64() >= Some(12 << 20), "{last}");
    for key in [
        "seconds_elapsed",
        "error_count",
        "current_files",
        "total_bytes",
    ] {
        assert!(!last[key].is_null(), "{key} in {last}");
    }
    let verbose: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| v["message_type"] == "verbose_status")
        .collect();
    assert!(
        verbose
            .iter()
            .any(|v| v["action"] == "new" && v["item"] == format!("{}/big", s(&src))),
        "{text}"
    );
    assert_eq!(json_doc(&text).unwrap()["files_new"], 4);
    // A usage error keeps stdout JSON too.
    let bad = env.run(&["--json", "backup", "--exclude-larger-than", "lots", s(&src)]);
    assert_code(&bad, 2);
    let doc: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("lots"), "{doc}");
}

#[test]
fn progress_is_drawn_in_a_terminal() {
    let env = Env::init();
    let src = tree(&env);
    fs::write(src.join("big"), random_bytes(24 << 20, 5)).unwrap();
    // `script` runs the command on a pseudo-terminal and copies what it
    // drew; the environment (repository, password file) is inherited.
    let cmd = format!("{} backup {}", cairn_tests::cairn_bin().display(), s(&src));
    let out = env
        .program("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("files"), "{screen}");
    assert!(
        screen.contains(" errors"),
        "the status line was drawn: {screen:?}"
    );
    assert!(screen.contains("[0:0"), "elapsed time: {screen:?}");
    assert!(screen.contains("snapshot "), "{screen}");
}
