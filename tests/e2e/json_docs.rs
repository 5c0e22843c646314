//! `docs/json.md` describes every `--json` document, and this test keeps
//! it true: a field added, renamed or removed without the document
//! changing fails here, naming the section to update.
//!
//! Documents come from two places: every golden transcript under
//! `tests/expect/` (the blessed output of real runs, see `golden_output`),
//! and [`LIVE`], commands with no golden case run here on a small
//! repository. Each document goes to the section named by its command
//! (`key add`, else `key`), or to `error` when it is an error object; a
//! line of a stream other than its summary (`"message_type": "status"`)
//! to the command's section for that kind (`backup status`). Its
//! key paths (`a.b`, `a[].c`, `[].id`) must all be listed in that
//! section's `keys` block, and every listed path not marked `?` must occur
//! in some document of the section. Every section must receive a document.
//!
//! To cover a new command: append its section to docs/json.md and, unless
//! a golden case already runs it, one line to [`LIVE`].

use cairn_tests::{assert_success, Env};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Commands run here, in order, on one repository with one backup.
/// `{dir}` is the scratch directory, `{pw}` the password file, `{NAME}`
/// the last string field NAME of an earlier document, and `{file:NAME}` a
/// file holding it.
const LIVE: &[&str] = &[
    "version",
    "man --dir {dir}/man",
    "backup -v {dir}/man",
    "stats",
    "dump latest {dir}/src --host docs --archive tar --target {dir}/src.tar",
    "key list",
    "key add --new-password-file {pw} --kdf-memory-kib 1024 --kdf-iterations 1",
    "key remove {added} --force",
    "key passwd --new-password-file {pw} --kdf-memory-kib 1024 --kdf-iterations 1",
    "key export --paper",
    "key import --paper {file:text} --new-password-file {pw} --kdf-memory-kib 1024 --kdf-iterations 1",
    "schedule list --unit-dir {dir}/units --cron-dir {dir}/cron",
    "-r {dir}/other init --kdf-memory-kib 1024 --kdf-iterations 1",
    "copy --to {dir}/other --to-password-file {pw}",
    "export --to {dir}/export --volume-size 1G",
    "export verify {dir}/export",
    "-r {dir}/imported init --kdf-memory-kib 1024 --kdf-iterations 1",
    "import {dir}/export --to {dir}/imported --to-password-file {pw}",
    "--config {dir}/cairn.toml run nightly --no-drill",
];

/// One section of docs/json.md: required paths and optional ones.
#[derive(Default)]
struct Section {
    required: BTreeSet<String>,
    optional: BTreeSet<String>,
    /// Prefixes (from `a.*`) under which any path is allowed.
    open: Vec<String>,
}

impl Section {
    fn allows(&self, path: &str) -> bool {
        self.required.contains(path)
            || self.optional.contains(path)
            || self.open.iter().any(|p| path.starts_with(p.as_str()))
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The sections of docs/json.md (headings "## `name`") with their `keys`
/// block.
fn sections(doc: &str) -> BTreeMap<String, Section> {
    let mut out = BTreeMap::new();
    for part in doc.split("\n## `").skip(1) {
        let Some((name, body)) = part.split_once('`') else {
            continue;
        };
        let Some(block) = body.split("```keys\n").nth(1) else {
            panic!("docs/json.md: section `{name}` has no ```keys block");
        };
        let block = block.split("```").next().unwrap_or_default();
        let mut s = Section::default();
        for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(prefix) = line.strip_suffix('*') {
                s.open.push(prefix.to_owned());
            } else if let Some(p) = line.strip_suffix('?') {
                s.optional.insert(p.to_owned());
            } else {
                s.required.insert(line.to_owned());
            }
        }
        out.insert(name.to_owned(), s);
    }
    out
}

/// The key paths of a document.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                paths(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The section a command line's documents belong to: the first word (not
/// a flag) that, alone or with the next word, names a section.
fn section_of(argv: &[&str], doc: &Value, known: &BTreeMap<String, Section>) -> Option<String> {
    let is_error = ["error", "kind", "exit_code"]
        .iter()
        .all(|k| doc.get(k).is_some());
    if is_error {
        return Some("error".into());
    }
    let words: Vec<&str> = argv
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    // A line of a JSON stream other than its summary has a section of its
    // own: `backup status`, `backup verbose_status`.
    if let Some(kind) = doc.get("message_type").and_then(Value::as_str) {
        if kind != "summary" {
            let hit = words
                .iter()
                .map(|w| format!("{w} {kind}"))
                .find(|name| known.contains_key(name));
            if hit.is_some() {
                return hit;
            }
        }
    }
    for (i, w) in words.iter().enumerate() {
        if let Some(next) = words.get(i + 1) {
            let two = format!("{w} {next}");
            if known.contains_key(&two) {
                return Some(two);
            }
        }
        if known.contains_key(*w) {
            return Some((*w).to_owned());
        }
    }
    None
}

/// Every JSON value in `text` (one document, or one per line).
fn values(text: &str, what: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.unwrap_or_else(|e| panic!("{what}: stdout is not JSON: {e}\n{text}")))
        .collect()
}

/// (command line, documents) of every golden transcript.
fn golden_documents() -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let expect = root().join("tests/expect");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&expect)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let Some(cmd) = line.strip_prefix("$ ") else {
                continue;
            };
            if !cmd.starts_with("cairn ") {
                continue;
            }
            // A case may also record a command's human output.
            let json = cmd
                .split_whitespace()
                .take_while(|w| *w != "--")
                .any(|w| w == "--json");
            let _exit = lines.next();
            if lines.next() != Some("stdout:") {
                continue; // "stdout: (none)"
            }
            let mut stdout = String::new();
            while let Some(l) = lines.next_if(|l| !l.starts_with("stderr:")) {
                stdout.push_str(l);
                stdout.push('\n');
            }
            if !json {
                continue;
            }
            let what = format!("{} ({cmd})", f.display());
            out.push((cmd.to_owned(), values(&stdout, &what)));
        }
    }
    out
}

/// Run [`LIVE`] and return (command line, documents).
fn live_documents(env: &Env) -> Vec<(String, Vec<Value>)> {
    let dir = env.dir.path().to_str().unwrap().to_owned();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"json docs\n").unwrap();
    env.ok(&["backup", src.to_str().unwrap(), "--host", "docs"]);
    std::fs::write(
        env.path("cairn.toml"),
        format!(
            "[profiles.nightly]\nrepository = \"{}\"\npassword-file = \"{}\"\n\n\
             [[profiles.nightly.sources]]\npaths = [\"{}\"]\n",
            env.repo.display(),
            env.pwfile.display(),
            src.display()
        ),
    )
    .unwrap();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for line in LIVE {
        let mut argv = vec!["--json".to_owned()];
        for w in line.split_whitespace() {
            let mut w = w
                .replace("{dir}", &dir)
                .replace("{pw}", env.pwfile.to_str().unwrap());
            if let Some(name) = w.strip_prefix("{file:").and_then(|n| n.strip_suffix('}')) {
                let path = env.path(&format!("{name}.field"));
                std::fs::write(&path, &seen[name]).unwrap();
                w = path.to_str().unwrap().to_owned();
            } else if let Some(name) = w.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                w = seen
                    .get(name)
                    .unwrap_or_else(|| panic!("LIVE `{line}`: no earlier `{name}`"))
                    .clone();
            }
            argv.push(w);
        }
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let run = env.run(&args);
        assert_success(&run, &args);
        let docs = values(&String::from_utf8_lossy(&run.stdout), line);
        for d in &docs {
            for (k, v) in d.as_object().into_iter().flatten() {
                if let Some(s) = v.as_str() {
                    seen.insert(k.clone(), s.to_owned());
                }
            }
        }
        out.push((format!("cairn {}", argv.join(" ")), docs));
    }
    out
}

#[test]
fn json_docs_describe_every_document() {
    let text = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    let known = sections(&text);
    let env = Env::init();
    let mut docs = golden_documents();
    docs.extend(live_documents(&env));

    let mut produced: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (cmd, values) in &docs {
        let argv: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        for v in values {
            let Some(name) = section_of(&argv, v, &known) else {
                problems.push(format!(
                    "no section in docs/json.md for `{cmd}`: add one (\"## `COMMAND`\" with a keys block)"
                ));
                continue;
            };
            let set = produced.entry(name.clone()).or_default();
            let mut p = BTreeSet::new();
            paths(v, "", &mut p);
            for path in p {
                if !known[&name].allows(&path) {
                    problems.push(format!(
                        "docs/json.md, section `{name}`: `{path}` (from `{cmd}`) is not documented"
                    ));
                }
                set.insert(path);
            }
        }
    }
    for (name, s) in &known {
        let Some(got) = produced.get(name) else {
            problems.push(format!(
                "docs/json.md, section `{name}`: no document checks it; add a golden case or a LIVE line in tests/e2e/json_docs.rs"
            ));
            continue;
        };
        for path in s.required.difference(got) {
            problems.push(format!(
                "docs/json.md, section `{name}`: `{path}` is listed but no document has it (removed or renamed? mark it `{path}?` if it is optional)"
            ));
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The checker itself: an undocumented field and a vanished one are both
/// caught, and documents are routed by command.
#[test]
fn json_docs_checker_catches_drift() {
    let known = sections(
        "x\n## `a b`\n\n```keys\nx\ny?\nz\nz[].w\nr\nr.*\n```\n## `a`\n\n```keys\nq\n```\n## `error`\n\n```keys\nerror\n```\n",
    );
    let doc: Value = serde_json::json!({"x": 1, "z": [{"w": 2}], "r": {"s": 1}});
    assert_eq!(
        section_of(&["--json", "a", "b"], &doc, &known).as_deref(),
        Some("a b")
    );
    assert_eq!(section_of(&["a", "c"], &doc, &known).as_deref(), Some("a"));
    let err = serde_json::json!({"error": "e", "kind": "k", "exit_code": 2});
    assert_eq!(section_of(&["a"], &err, &known).as_deref(), Some("error"));
    let mut p = BTreeSet::new();
    paths(&doc, "", &mut p);
    let s = &known["a b"];
    assert!(p.iter().all(|x| s.allows(x)), "{p:?}");
    assert!(!s.allows("v"));
    assert!(s.required.contains("x") && !s.required.contains("y"));
    let mut top = BTreeSet::new();
    paths(&serde_json::json!([{"id": 1}]), "", &mut top);
    assert_eq!(top.into_iter().collect::<Vec<_>>(), vec!["[].id"]);
}
