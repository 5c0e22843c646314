//! The format gate: an on-disk change cannot land without a new golden
//! repository and a new `format-spec/CHANGES.md` entry.
//!
//! `tests/golden/GENERATIONS` is an append-only list of format
//! generations. Each names its CHANGES.md heading, the golden directories
//! made under it, and the fingerprint of every test vector (the engine's
//! encoders on fixed input; `vectors_are_up_to_date` keeps the files equal
//! to what this build writes). Invariants checked here:
//! - every vector the newest generation pins still has that fingerprint;
//!   a vector file that is new is allowed (and reported), a changed or
//!   removed one fails with the exact generation block to append;
//! - every generation names a CHANGES.md heading of its own and at least
//!   one golden directory of its own, and differs from the one before in
//!   some fingerprint;
//! - CHANGES.md headings and directories under `tests/golden/` correspond
//!   one to one with what the generations name (nothing unlisted, nothing
//!   listed that is gone).
//!
//! Design and instructions: tests/golden/README.md, "The format gate".

use super::golden_dir;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One format generation as GENERATIONS records it.
struct Generation {
    number: usize,
    changes: String,
    golden: Vec<String>,
    /// Vector path (under `format-spec/test-vectors/`) → fingerprint; only
    /// the lines of this generation (earlier ones are inherited).
    vectors: BTreeMap<String, String>,
}

fn parse(text: &str) -> Vec<Generation> {
    let mut gens: Vec<Generation> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(num) = line.strip_prefix("generation ") {
            let number = num
                .parse()
                .unwrap_or_else(|e| panic!("GENERATIONS:{}: {e}", n + 1));
            assert_eq!(
                number,
                gens.len() + 1,
                "GENERATIONS:{}: numbers run 1, 2, ...",
                n + 1
            );
            gens.push(Generation {
                number,
                changes: String::new(),
                golden: Vec::new(),
                vectors: BTreeMap::new(),
            });
            continue;
        }
        let g = gens
            .last_mut()
            .expect("GENERATIONS starts with `generation 1`");
        let (key, value) = line.split_once(": ").unwrap_or((line, ""));
        match key {
            "changes" => g.changes = value.to_owned(),
            "golden" => g.golden.push(value.to_owned()),
            "vector" => {
                let (path, fp) = value.split_once(' ').expect("vector: PATH FINGERPRINT");
                g.vectors.insert(path.to_owned(), fp.to_owned());
            }
            _ => panic!("GENERATIONS:{}: unknown line {line:?}", n + 1),
        }
    }
    gens
}

/// JSON keys that hold prose about a vector, not bytes of the format:
/// rewording them is not an on-disk change.
fn is_prose(key: &str) -> bool {
    matches!(key, "description" | "comment" | "notes" | "fields") || key.ends_with("_description")
}

/// Canonical text of a JSON value without its prose: keys sorted, no
/// whitespace, so reordering or re-indenting a file changes nothing.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().filter(|k| !is_prose(k)).collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// BLAKE3 of a vector file's format content: canonical JSON without prose
/// for `.json`, the raw bytes for anything else.
pub(super) fn fingerprint(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "json") {
        let v: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut s = String::new();
        canonical(&v, &mut s);
        return blake3::hash(s.as_bytes()).to_hex().to_string();
    }
    blake3::hash(&bytes).to_hex().to_string()
}

/// Every vector file (prose such as `.md` excluded) → its fingerprint.
fn current_vectors(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            !e.path()
                .extension()
                .is_some_and(|x| x == "md" || x == "txt")
        })
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fingerprint(e.path()))
        })
        .collect()
}

/// What the gate found wrong; empty when the format is pinned.
pub(super) fn problems(
    generations: &str,
    changes: &str,
    golden: &Path,
    vectors: &Path,
) -> Vec<String> {
    let gens = parse(generations);
    let mut out = Vec::new();
    if gens.is_empty() {
        return vec!["GENERATIONS names no generation".into()];
    }
    let headings: Vec<&str> = changes.lines().filter(|l| l.starts_with("## ")).collect();
    let mut pinned: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_dirs: Vec<&str> = Vec::new();
    for g in &gens {
        let n = g.number;
        if !headings.contains(&g.changes.as_str()) {
            out.push(format!(
                "generation {n}: `changes: {}` is not a `## ` heading of format-spec/CHANGES.md",
                g.changes
            ));
        }
        if gens.iter().filter(|o| o.changes == g.changes).count() > 1 {
            out.push(format!(
                "generation {n}: its CHANGES.md heading is another generation's too"
            ));
        }
        if g.golden.is_empty() {
            out.push(format!(
                "generation {n}: names no golden directory (`golden: DIR`)"
            ));
        }
        for d in &g.golden {
            if seen_dirs.contains(&d.as_str()) {
                out.push(format!(
                    "generation {n}: golden directory {d} belongs to an earlier generation"
                ));
            }
            seen_dirs.push(d);
            let dir = golden.join(d);
            if !dir.is_dir() || std::fs::read_dir(&dir).map_or(true, |mut r| r.next().is_none()) {
                out.push(format!(
                    "generation {n}: tests/golden/{d} is missing or empty"
                ));
            }
        }
        if n > 1 && g.vectors.iter().all(|(p, fp)| pinned.get(p) == Some(fp)) {
            out.push(format!(
                "generation {n}: changes no fingerprint of generation {}",
                n - 1
            ));
        }
        pinned.extend(g.vectors.clone());
    }
    for h in &headings {
        if !gens.iter().any(|g| g.changes == *h) {
            out.push(format!(
                "CHANGES.md heading {h:?} has no generation in tests/golden/GENERATIONS"
            ));
        }
    }
    for e in std::fs::read_dir(golden).unwrap().map(Result::unwrap) {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() && !seen_dirs.contains(&name.as_str()) {
            out.push(format!("tests/golden/{name} is named by no generation: add `golden: {name}` to the newest one"));
        }
    }
    let current = current_vectors(vectors);
    let changed: Vec<&String> = pinned
        .keys()
        .filter(|p| current.get(*p) != pinned.get(*p))
        .collect();
    if !changed.is_empty() {
        let mut block = format!(
            "generation {}\nchanges: ## <the new heading you add to format-spec/CHANGES.md>\ngolden: <a NEW directory under tests/golden/, made by a new make-*.sh>\n",
            gens.len() + 1
        );
        for p in &changed {
            let fp = current
                .get(*p)
                .map_or("<removed: restore the file>", String::as_str);
            block.push_str(&format!("vector: {p} {fp}\n"));
        }
        out.push(format!(
            "the on-disk format changed: the fingerprints of {changed:?} are not those generation {} pinned.\n\
             If this change is intended, do all of the following (tests/golden/README.md, \"The format gate\"):\n\
             1. describe it under a new `## ` heading in format-spec/CHANGES.md;\n\
             2. make a new golden repository with this build in a new tests/golden/ directory (never regenerate an old one),\n   \
             keep its make-*.sh, and add it to tests/golden/README.md and to a test in tests/e2e/golden/;\n\
             3. append this block to tests/golden/GENERATIONS, with the placeholders filled in:\n\n{block}",
            gens.len()
        ));
    }
    let new: Vec<String> = current
        .iter()
        .filter(|(p, _)| !pinned.contains_key(*p))
        .map(|(p, fp)| format!("vector: {p} {fp}"))
        .collect();
    if !new.is_empty() {
        eprintln!(
            "new test vectors, not pinned yet; add these lines to the newest generation in tests/golden/GENERATIONS:\n{}",
            new.join("\n")
        );
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn format_gate_every_on_disk_change_has_a_golden_repository_and_a_changes_entry() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec");
    let found = problems(
        &read(&golden_dir("GENERATIONS")),
        &read(&spec.join("CHANGES.md")),
        &golden_dir(""),
        &spec.join("test-vectors"),
    );
    assert!(found.is_empty(), "format gate:\n- {}", found.join("\n- "));
}

/// The gate itself, on a scratch layout: it fails on a changed vector
/// until a proper new generation is appended, and only then passes.
#[test]
fn format_gate_demands_a_new_generation_for_a_changed_vector_and_only_for_that() {
    let dir = tempfile::tempdir().unwrap();
    let (golden, vectors) = (dir.path().join("golden"), dir.path().join("vectors"));
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("golden/g1/repo/config", "x");
    write(
        "vectors/v1/a.json",
        r#"{"description": "old words", "bytes": "00ff"}"#,
    );
    let fp = |rel: &str| fingerprint(&vectors.join(rel));
    let mut gens = format!(
        "generation 1\nchanges: ## v1\ngolden: g1\nvector: v1/a.json {}\n",
        fp("v1/a.json")
    );
    let mut changes = "# Format changes\n## v1\n".to_owned();
    let check = |gens: &str, changes: &str| problems(gens, changes, &golden, &vectors);
    assert_eq!(check(&gens, &changes), Vec::<String>::new());

    // Prose, layout and new vector files are not format changes.
    write(
        "vectors/v1/a.json",
        "{\n  \"bytes\": \"00ff\",\n  \"description\": \"new words\"\n}\n",
    );
    write("vectors/v1/b.json", r#"{"bytes": "01"}"#);
    write("vectors/README.md", "about the vectors");
    assert_eq!(check(&gens, &changes), Vec::<String>::new());

    // A changed byte is: the gate names the file and the block to append.
    write("vectors/v1/a.json", r#"{"bytes": "00fe"}"#);
    let found = check(&gens, &changes).join("\n");
    assert!(
        found.contains("on-disk format changed") && found.contains("v1/a.json"),
        "{found}"
    );
    assert!(
        found.contains(&format!("vector: v1/a.json {}", fp("v1/a.json"))),
        "{found}"
    );

    // New fingerprints alone, or without a new golden directory, do not pass.
    gens.push_str(&format!(
        "generation 2\nchanges: ## v2\nvector: v1/a.json {}\n",
        fp("v1/a.json")
    ));
    let found = check(&gens, &changes).join("\n");
    assert!(
        found.contains("not a `## ` heading") && found.contains("names no golden"),
        "{found}"
    );
    changes.push_str("## v2\n");
    let reused = format!("{gens}golden: g1\n");
    assert!(check(&reused, &changes)
        .join("\n")
        .contains("belongs to an earlier generation"));
    let missing = format!("{gens}golden: g2\n");
    assert!(check(&missing, &changes)
        .join("\n")
        .contains("tests/golden/g2 is missing"));
    write("golden/g2/repo/config", "y");
    gens.push_str("golden: g2\n");
    assert_eq!(check(&gens, &changes), Vec::<String>::new());

    // Nothing unlisted, nothing listed that is gone.
    changes.push_str("## v3\n");
    assert!(check(&gens, &changes)
        .join("\n")
        .contains("\"## v3\" has no generation"));
    changes.truncate(changes.len() - "## v3\n".len());
    write("golden/g3/repo/config", "z");
    assert!(check(&gens, &changes)
        .join("\n")
        .contains("tests/golden/g3 is named by no generation"));
    std::fs::remove_dir_all(golden.join("g3")).unwrap();
    std::fs::remove_dir_all(golden.join("g1")).unwrap();
    assert!(check(&gens, &changes)
        .join("\n")
        .contains("tests/golden/g1 is missing"));
    // A removed vector is a format change too.
    write("golden/g1/repo/config", "x");
    std::fs::remove_file(vectors.join("v1/a.json")).unwrap();
    assert!(check(&gens, &changes).join("\n").contains("<removed"));
}
