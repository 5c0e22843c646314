//! Every repository and every export carries, readable without Cairn, the
//! whole of `format-spec/`: the specification, the test vectors and the
//! reference restorer; a newer Cairn's first write refreshes an older
//! repository's copy without touching data, and `check` reports a stale one.

use cairn_tests::Env;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every file of `format-spec/` under the name it has in `spec/`
/// (`v1/X.md` → `v1-X.md`, `test-vectors/v1/X.json` →
/// `test-vectors-v1-X.json`, `reference/X` → `reference-X`).
fn expected() -> BTreeMap<String, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec");
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e
            .path()
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let keep = [".md", ".json", ".py", ".txt"]
            .iter()
            .any(|x| rel.ends_with(x));
        if e.file_type().is_file() && keep && !rel.contains("__pycache__") && !rel.contains("/.") {
            out.insert(rel.replace('/', "-"), e.path().to_owned());
        }
    }
    out
}

fn assert_carries_the_spec(spec: &Path) {
    let want = expected();
    assert!(
        want.keys().any(|k| k.starts_with("test-vectors-v1-")),
        "{want:?}"
    );
    for (name, path) in &want {
        let copy =
            fs::read(spec.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", spec.display()));
        assert!(
            copy == fs::read(path).unwrap(),
            "{}/{name} differs from {}",
            spec.display(),
            path.display()
        );
    }
}

#[test]
fn repositories_and_exports_carry_the_spec_vectors_and_reference() {
    let env = Env::init();
    assert_carries_the_spec(&env.repo.join("spec"));
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    env.backup(&src, &[]);
    let out = env.path("out");
    env.ok(&[
        "export",
        "--to",
        out.to_str().unwrap(),
        "--volume-size",
        "10M",
    ]);
    for v in fs::read_dir(&out).unwrap() {
        assert_carries_the_spec(&v.unwrap().path().join("spec"));
    }
}

#[test]
fn a_write_refreshes_an_older_copy_without_touching_data_and_check_reports_it() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/v1");
    let env = Env::new();
    let repo = env.path("old");
    cairn_tests::copy_dir(&golden.join("repo"), &repo);
    fs::write(
        &env.pwfile,
        fs::read_to_string(golden.join("password")).unwrap(),
    )
    .unwrap();
    let env = Env { repo, ..env };
    // The golden repository was written before the vectors were copied.
    let before: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "check"])).unwrap();
    let reports_spec = |doc: &serde_json::Value| {
        doc["info"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().is_some_and(|s| s.starts_with("spec/ lacks")))
    };
    assert!(reports_spec(&before), "{before}");
    let data = |env: &Env| -> BTreeMap<PathBuf, String> {
        env.repo_fingerprint()
            .into_iter()
            .filter(|(p, _)| !p.starts_with(env.repo.join("spec")))
            .collect()
    };
    let data_before = data(&env);
    // A write that stores nothing else: protecting parity (off here).
    env.ok(&["parity", "protect"]);
    assert_eq!(data(&env), data_before, "refreshing the spec touched data");
    assert_carries_the_spec(&env.repo.join("spec"));
    let after: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "check"])).unwrap();
    assert!(!reports_spec(&after), "{after}");
    let target = env.restore_latest("out");
    assert!(target.exists());
}
