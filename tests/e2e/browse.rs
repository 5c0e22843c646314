//! `find` and `diff` through the binary (issue 14): restic's pattern
//! semantics and letters, newest snapshot first, `--json` forms, errors
//! and exit codes, and the proof that `diff` skips subtrees both
//! snapshots share without reading them.

use cairn_tests::{assert_code, Env};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

fn write(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

fn set_mtime(p: &Path, unix_secs: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(unix_secs);
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn id_of(backup: &Value) -> String {
    backup["snapshot_id"].as_str().unwrap().to_owned()
}

/// Two snapshots of `src`: the second adds `etc/new.conf` and changes
/// `etc/app.conf`. Returns the environment, the source path and the IDs.
fn two_snapshots() -> (Env, String, String, String) {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("etc/app.conf"), b"v1\n");
    write(&src.join("etc/sub/Deep.CONF"), b"deep\n");
    write(&src.join("notes.txt"), b"notes\n");
    set_mtime(&src.join("etc/app.conf"), 1_000_000_000);
    set_mtime(&src.join("etc/sub/Deep.CONF"), 1_100_000_000);
    let s = src.to_str().unwrap().to_owned();
    let one = id_of(&env.backup(&src, &["--time", "2001-01-01T00:00:00Z"]));
    write(&src.join("etc/new.conf"), b"new\n");
    write(&src.join("etc/app.conf"), b"version two\n");
    set_mtime(&src.join("etc/app.conf"), 1_200_000_000);
    let two = id_of(&env.backup(&src, &["--time", "2002-01-01T00:00:00Z"]));
    (env, s, one, two)
}

fn paths(matches: &Value) -> Vec<String> {
    matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn find_matches_names_or_paths_newest_snapshot_first() {
    let (env, src, one, two) = two_snapshots();
    let doc = env.json(&["find", "*.conf"]);
    let snaps = doc.as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{doc}");
    // Newest first, and every match with its size and mtime.
    assert_eq!(snaps[0]["snapshot"], two.as_str());
    assert_eq!(snaps[1]["snapshot"], one.as_str());
    assert_eq!(
        paths(&snaps[0]["matches"]),
        [format!("{src}/etc/app.conf"), format!("{src}/etc/new.conf")]
    );
    assert_eq!(snaps[0]["hits"], 2);
    assert_eq!(snaps[0]["matches"][0]["size"], 12);
    assert_eq!(
        snaps[0]["matches"][0]["mtime"], "2008-01-10T21:20:00Z",
        "{doc}"
    );
    assert_eq!(snaps[1]["matches"][0]["size"], 3);

    // Case: `Deep.CONF` only with -i.
    let doc = env.json(&["find", "-i", "*.conf", "--snapshot", &one[..8]]);
    assert_eq!(
        paths(&doc[0]["matches"]),
        [
            format!("{src}/etc/app.conf"),
            format!("{src}/etc/sub/Deep.CONF")
        ]
    );
    // A pattern with `/`: anchored at the root, or the last components.
    let doc = env.json(&["find", &format!("{src}/etc/*"), "-s", &two]);
    assert_eq!(doc[0]["hits"], 3, "etc/*: app.conf, new.conf, sub");
    let doc = env.json(&["find", "sub/*", "-s", &two]);
    assert_eq!(
        paths(&doc[0]["matches"]),
        [format!("{src}/etc/sub/Deep.CONF")]
    );
    let doc = env.json(&["find", "/etc/*", "-s", &two]);
    assert_eq!(doc, serde_json::json!([]), "anchored at the snapshot root");

    // --oldest/--newest bound the entries' modification times.
    let doc = env.json(&[
        "find",
        "*",
        "-i",
        "--oldest",
        "2004-01-01T00:00:00Z",
        "--newest",
        "2005-01-01T00:00:00Z",
    ]);
    for s in doc.as_array().unwrap() {
        assert_eq!(
            paths(&s["matches"]),
            [format!("{src}/etc/sub/Deep.CONF")],
            "{doc}"
        );
    }

    // Human form: a header per snapshot, then mtime, size and path.
    let text = env.ok(&["find", "app.conf"]);
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Found matching entries in snapshot"))
        .collect();
    assert_eq!(headers.len(), 2, "{text}");
    assert!(headers[0].contains(&two[..8]) && headers[1].contains(&one[..8]));
    assert!(
        text.contains(&format!("12 B  {src}/etc/app.conf")),
        "{text}"
    );
    let long = env.ok(&["find", "--long", "app.conf", "-s", &two]);
    assert!(long.contains("-rw-"), "{long}");
}

#[test]
fn find_errors_and_exit_codes() {
    let (env, _, _, _) = two_snapshots();
    // A malformed or empty pattern and a bad time: usage errors (2).
    for args in [
        vec!["find", "a["],
        vec!["find", ""],
        vec!["find", "x", "--newest", "yesterday"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 2);
    }
    let out = env.run(&["--json", "find", "a["]);
    assert_code(&out, 2);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "invalid_input");
    assert!(doc["error"].as_str().unwrap().contains("'a['"), "{doc}");
    // An unknown snapshot (1).
    assert_code(&env.run(&["find", "x", "--snapshot", "ffffffff"]), 1);
    // No repository (10).
    let none = Env::new();
    assert_code(&none.run(&["find", "x"]), 10);
    // Nothing found is no error: an empty array.
    assert_eq!(env.json(&["find", "nothing-here"]), serde_json::json!([]));
}

/// The change lines of `diff --json` (all but the last line), as
/// `(modifier, path relative to src)`, and the statistics line.
fn diff_json(env: &Env, src: &str, args: &[&str]) -> (Vec<(String, String)>, Value) {
    let mut a = vec!["--json", "diff"];
    a.extend_from_slice(args);
    let out = env.ok(&a);
    let mut lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stats = lines.pop().unwrap();
    assert_eq!(stats["message_type"], "statistics");
    let changes = lines
        .iter()
        .map(|l| {
            assert_eq!(l["message_type"], "change");
            let p = l["path"].as_str().unwrap();
            (
                l["modifier"].as_str().unwrap().to_owned(),
                p.strip_prefix(src).unwrap_or(p).to_owned(),
            )
        })
        .collect();
    (changes, stats)
}

#[test]
fn diff_shows_restics_letters_and_totals() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("same.txt"), b"same\n");
    write(&src.join("content.txt"), b"old content\n");
    write(&src.join("meta.txt"), b"meta\n");
    write(&src.join("gone.txt"), &cairn_tests::random_bytes(5000, 1));
    write(&src.join("becomes-dir"), b"file\n");
    write(&src.join("keep/inner.txt"), b"unchanged subtree\n");
    let s = src.to_str().unwrap().to_owned();
    let one = id_of(&env.backup(&src, &["--time", "2001-01-01T00:00:00Z"]));
    let mtime = fs::metadata(src.join("content.txt"))
        .unwrap()
        .modified()
        .unwrap();
    write(&src.join("content.txt"), b"new content!\n");
    fs::File::options()
        .write(true)
        .open(src.join("content.txt"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::set_permissions(src.join("meta.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(src.join("gone.txt")).unwrap();
    fs::remove_file(src.join("becomes-dir")).unwrap();
    write(&src.join("becomes-dir/child"), b"child\n");
    write(&src.join("added/file.txt"), b"added\n");
    let two = id_of(&env.backup(&src, &["--time", "2002-01-01T00:00:00Z"]));

    let (changes, stats) = diff_json(&env, &s, &[&one, &two, &s]);
    let rel: Vec<(&str, &str)> = changes
        .iter()
        // src itself changed its time (entries came and went).
        .filter(|(_, p)| !p.is_empty())
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        rel,
        [
            ("+", "/added"),
            ("+", "/added/file.txt"),
            ("T", "/becomes-dir"),
            ("+", "/becomes-dir/child"),
            ("M", "/content.txt"),
            ("-", "/gone.txt"),
            ("U", "/meta.txt"),
        ],
        "{changes:?}"
    );
    assert_eq!(stats["changed_files"], 1);
    assert_eq!(stats["type_changed"], 1);
    // Added: added/file.txt and becomes-dir/child; the directories added
    // and becomes-dir (the new side of its type change).
    assert_eq!(stats["added"]["files"], 2, "{stats}");
    assert_eq!(stats["added"]["dirs"], 2, "{stats}");
    assert_eq!(
        stats["removed"]["files"], 2,
        "gone.txt, becomes-dir (old side of T) {stats}"
    );
    assert!(
        stats["removed"]["bytes"].as_u64().unwrap() >= 5000,
        "{stats}"
    );
    assert_eq!(stats["source_snapshot"], one.as_str());
    assert_eq!(stats["target_snapshot"], two.as_str());

    // Human form: restic's layout, directories with a trailing slash.
    let text = env.ok(&["diff", &one, &two, &s]);
    assert!(text.contains(&format!("+    {s}/added/\n")), "{text}");
    assert!(text.contains(&format!("M    {s}/content.txt\n")), "{text}");
    assert!(text.contains(&format!("-    {s}/gone.txt\n")), "{text}");
    assert!(text.contains("Files:"), "{text}");

    // A path limits the comparison; a path in neither snapshot is an error.
    let (changes, _) = diff_json(&env, &s, &[&one, &two, &format!("{s}/meta.txt")]);
    assert_eq!(changes, [("U".to_owned(), "/meta.txt".to_owned())]);
    assert_code(&env.run(&["diff", &one, &two, "/no/such/path"]), 1);
    // Identical snapshots: no change lines, nothing read below the root.
    let (changes, stats) = diff_json(&env, &s, &[&two, &two]);
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(stats["trees_loaded"], 0, "{stats}");
}

#[test]
fn diff_skips_subtrees_both_snapshots_share() {
    let env = Env::init();
    let src = env.path("src");
    for i in 0..60 {
        write(
            &src.join(format!("d{i:02}/f")),
            format!("file {i}\n").as_bytes(),
        );
    }
    let s = src.to_str().unwrap().to_owned();
    let one = id_of(&env.backup(&src, &[]));
    write(&src.join("d07/f"), b"changed\n");
    let two = id_of(&env.backup(&src, &[]));
    let (changes, stats) = diff_json(&env, &s, &[&one, &two, &s]);
    assert!(
        changes.contains(&("M".to_owned(), "/d07/f".to_owned())),
        "{changes:?}"
    );
    // Read: src and d07 on each side (4 trees); the other 59 directories
    // are skipped by ID. Walking them would read 120 more.
    assert_eq!(stats["trees_loaded"], 4, "{stats}");
    assert_eq!(stats["trees_skipped"], 59, "{stats}");
}

#[test]
fn diff_errors_and_exit_codes() {
    let (env, _, one, _) = two_snapshots();
    assert_code(&env.run(&["diff", &one, "ffffffff"]), 1);
    assert_code(&env.run(&["diff", &one, "not-hex"]), 2);
    assert_code(&env.run(&["diff", &one]), 2);
    let out = env.run(&["--json", "diff", "ffffffff", &one]);
    assert_code(&out, 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "not_found", "{doc}");
    let none = Env::new();
    assert_code(&none.run(&["diff", "latest", "latest"]), 10);
}

#[test]
fn find_and_stats_name_an_unreadable_snapshot_file_and_read_the_others() {
    let (env, src, one, two) = two_snapshots();
    fs::write(env.repo.join("snapshots").join(&one), b"junk").unwrap();
    for args in [vec!["--json", "find", "app.conf"], vec!["--json", "stats"]] {
        let out = env.run(&args);
        assert_code(&out, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("snapshots/{one} is unreadable and was left out")),
            "{args:?}: {stderr}"
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        if args[1] == "find" {
            assert_eq!(doc[0]["snapshot"], two.as_str());
            assert_eq!(paths(&doc[0]["matches"]), [format!("{src}/etc/app.conf")]);
        } else {
            assert_eq!(doc["snapshots_count"], 1, "{doc}");
        }
    }
}
