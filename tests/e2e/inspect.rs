//! `stats` and `cat` through the binary (issue 14): what each stats mode
//! counts, deduplication and compression ratios, the repository totals;
//! `cat`'s JSON names are the spec's, and it never shows a secret.

use cairn_tests::{assert_code, random_bytes, Env};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::process::Stdio;

/// A source of 400 000 logical bytes: 200 000 compressible, and the same
/// 100 000 random bytes twice (two entries, one content).
fn source(env: &Env) -> std::path::PathBuf {
    let src = env.path("src");
    fs::create_dir_all(src.join("copy")).unwrap();
    fs::write(src.join("text"), "all work, no play!!\n".repeat(10_000)).unwrap();
    let r = random_bytes(100_000, 7);
    fs::write(src.join("random"), &r).unwrap();
    fs::write(src.join("copy/random"), &r).unwrap();
    src
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn stats_modes_count_what_restic_counts() {
    let env = Env::init();
    let src = source(&env);
    env.backup(&src, &["--host", "a"]);
    env.backup(&src, &["--host", "b"]);

    let r = env.json(&["stats"]);
    assert_eq!(r["mode"], "restore-size");
    assert_eq!(n(&r["snapshots_count"]), 2);
    assert_eq!(n(&r["total_size"]), 800_000, "every file of every snapshot");
    assert_eq!(n(&r["total_file_count"]), 6);
    let stored = n(&r["blobs"]["stored_size"]);
    let plain = n(&r["blobs"]["uncompressed_size"]);
    assert!(stored < plain, "the text compresses: {r}");
    assert!(r["compression_ratio"].as_f64().unwrap() > 1.5, "{r}");
    // 800 000 restored from 300 000 unique bytes of content.
    let dedup = r["dedup_ratio"].as_f64().unwrap();
    assert!((dedup - 8.0 / 3.0).abs() < 0.01, "{r}");
    assert!(n(&r["blobs"]["packs"]) >= 1);
    // Without arguments: the repository's own totals (from the index).
    let repo = &r["repository"];
    assert!(n(&repo["packs"]) >= n(&r["blobs"]["packs"]), "{r}");
    assert_eq!(n(&repo["stored_size"]), stored, "nothing unreferenced yet");
    assert_eq!(
        n(&repo["blobs"]),
        n(&r["blobs"]["data_blobs"]) + n(&r["blobs"]["tree_blobs"])
    );

    let f = env.json(&["stats", "--mode", "files"]);
    assert_eq!(n(&f["total_file_count"]), 2, "two distinct contents: {f}");
    assert_eq!(n(&f["total_size"]), 300_000);
    let raw = env.json(&["stats", "--mode", "raw-data"]);
    assert_eq!(n(&raw["total_size"]), stored, "stored size of unique blobs");

    // One snapshot, chosen by ID or by filter: no repository totals.
    let one = env.json(&["stats", "latest"]);
    assert_eq!(n(&one["snapshots_count"]), 1);
    assert_eq!(n(&one["total_size"]), 400_000);
    assert!(one.get("repository").is_none(), "{one}");
    let host = env.json(&["stats", "--host", "a"]);
    assert_eq!(n(&host["snapshots_count"]), 1);
    assert!(host.get("repository").is_none(), "{host}");

    let text = env.ok(&["stats", "--mode", "raw-data"]);
    for want in [
        "Stats in raw-data mode:",
        "Snapshots processed:  2",
        "Deduplication Ratio:  2.67x",
        "Repository (everything the index lists):",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
}

#[test]
fn stats_counts_a_hard_link_group_once_as_restore_writes_it() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::create_dir_all(src.join("b")).unwrap();
    fs::write(src.join("a/file"), random_bytes(10_000, 3)).unwrap();
    fs::hard_link(src.join("a/file"), src.join("b/link")).unwrap();
    fs::write(src.join("b/other"), b"other").unwrap();
    env.backup(&src, &[]);
    env.backup(&src, &[]);
    // Per snapshot: the linked file once (10 000) and `other` (5); every
    // entry counts as a file, and the next snapshot counts its own group.
    let r = env.json(&["stats"]);
    assert_eq!(n(&r["total_size"]), 2 * 10_005, "{r}");
    assert_eq!(n(&r["total_file_count"]), 6, "{r}");
    assert_eq!(n(&env.json(&["stats", "latest"])["total_size"]), 10_005);
}

#[test]
fn stats_errors_and_exit_codes() {
    let env = Env::init();
    let out = env.run(&["--json", "stats", "--mode", "bogus"]);
    assert_code(&out, 2);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("bogus"), "{doc}");
    assert_code(&env.run(&["stats", "ffffffff"]), 1);
    assert_code(&Env::new().run(&["stats"]), 10);
    // An empty repository has nothing to count, and says so in numbers.
    let r = env.json(&["stats"]);
    assert_eq!(n(&r["snapshots_count"]), 0);
    assert_eq!(r["dedup_ratio"], Value::Null);
}

/// Every key named in a table row of `format-spec/v1/<file>`.
fn spec_keys(file: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../format-spec/v1")
        .join(file);
    let text = fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let cell = l.trim_start_matches('|').split('|').next().unwrap_or("");
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn assert_spec_names(v: &Value, file: &str) {
    let spec = spec_keys(file);
    let extra: Vec<_> = keys(v).difference(&spec).cloned().collect();
    assert!(extra.is_empty(), "not in {file}: {extra:?} ({v})");
}

/// The first name under `dir` of the repository.
fn first(env: &Env, dir: &str) -> String {
    let mut names: Vec<String> = walkdir::WalkDir::new(env.repo.join(dir))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names.remove(0)
}

#[test]
fn cat_shows_objects_with_the_specs_names() {
    let env = Env::init();
    env.backup(&source(&env), &[]);
    let cat = |args: &[&str]| -> Value {
        let mut a = vec!["cat"];
        a.extend_from_slice(args);
        serde_json::from_str(&env.ok(&a)).unwrap()
    };
    let config = cat(&["config"]);
    let compact = env.ok(&["--json", "cat", "config"]);
    assert_eq!(compact.lines().count(), 1, "--json: one line: {compact}");
    assert_eq!(serde_json::from_str::<Value>(&compact).unwrap(), config);
    assert_spec_names(&config, "overview.md");
    assert_eq!(config["v"], 1);
    let snap = cat(&["snapshot", "latest"]);
    assert_spec_names(&snap, "trees-and-snapshots.md");
    assert_spec_names(&snap["stats"], "trees-and-snapshots.md");
    assert_eq!(n(&snap["stats"]["files"]), 3);
    let root = cat(&["tree", snap["tree"].as_str().unwrap()]);
    assert_spec_names(&root, "trees-and-snapshots.md");
    for node in root["nodes"].as_array().unwrap() {
        assert_spec_names(node, "trees-and-snapshots.md");
    }
    // Index files and pack trailers: the 49-byte entry's field names.
    let entry: BTreeSet<String> = ["id", "offset", "plain_len", "sealed_len", "type"]
        .map(String::from)
        .into();
    let index = cat(&["index", &first(&env, "index")[..6]]);
    assert_eq!(index["version"], 1);
    assert_eq!(keys(&index["packs"][0]["entries"][0]), entry);
    let pack = index["packs"][0]["pack"].as_str().unwrap().to_owned();
    let trailer = cat(&["pack-trailer", &pack[..10]]);
    assert_eq!(
        trailer["entries"], index["packs"][0]["entries"],
        "index = trailer"
    );

    // A key file: KDF parameters and metadata; salt and wrapped key never.
    let name = first(&env, "keys");
    let key = cat(&["key", &name[..4]]);
    assert_spec_names(&key, "crypto.md");
    assert_eq!(n(&key["m_kib"]), 1024);
    let raw = fs::read(env.repo.join("keys").join(&name)).unwrap();
    let decoded = cairn_engine::codec::keyfile::KeyFile::decode(&raw).unwrap();
    let text = env.ok(&["cat", "key", &name]);
    for secret in [&decoded.salt, &decoded.wrapped] {
        assert!(!text.contains(&cairn_engine::hex_encode(secret)), "{text}");
    }
    assert!(key.get("salt").is_none() && key.get("wrapped").is_none());

    // A lock, while a backup holds one.
    let mut child = env
        .cmd(&["backup", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    env.wait_until_locked();
    let lock = cat(&["lock", &first(&env, "locks")[..8]]);
    assert_spec_names(&lock, "overview.md");
    assert_eq!(lock["exclusive"], false, "{lock}");
    child.stdin.take().unwrap().write_all(b"data").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn cat_errors_and_exit_codes() {
    let env = Env::init();
    env.backup(&source(&env), &[]);
    for args in [
        vec!["cat", "blob", "ab"],
        vec!["cat", "tree"],
        vec!["cat", "tree", "abcd"],
        vec!["cat", "config", "x"],
        vec!["cat", "index", "xyz"],
        vec!["cat"],
    ] {
        assert_code(&env.run(&args), 2);
    }
    assert_code(&env.run(&["cat", "snapshot", "ffffffff"]), 1);
    assert_code(&env.run(&["cat", "lock", "0"]), 1);
    let out = env.run(&["--json", "cat", "index", "ffffffff"]);
    assert_code(&out, 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "not_found", "{doc}");
    assert_code(&Env::new().run(&["cat", "config"]), 10);
}
