//! The layering rule, checked on the source text: each layer of the engine
//! uses only the layers below it, and the CLI uses only the engine's
//! public API (never its `#[doc(hidden)]` test and fuzzing surface).
//!
//! Layers, lowest first: primitives (`error`, `id`, `progress`,
//! `chunking`, `compression`, `crypto`), `format`, `backend`, `repo`,
//! `source`, `ops`. Unit tests at the end of a file (after its
//! `#[cfg(test)]` module starts) may reach anywhere. A violation names the
//! file, the line and the forbidden path, so the fix is obvious.

use std::path::{Path, PathBuf};

/// The layer of a top-level engine module, or `None` for the crate root.
fn layer(module: &str) -> Option<usize> {
    Some(match module {
        "error" | "id" | "progress" | "chunking" | "compression" | "crypto" => 0,
        "format" => 1,
        "backend" => 2,
        "repo" => 3,
        "source" => 4,
        "ops" => 5,
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read source directory") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines of `text` before its unit-test module.
fn non_test_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]" || !l.starts_with('#'))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

/// Every top-level module named by a `crate::` path on `line`.
fn crate_paths(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(i, _)| {
            // Not `cairn_engine::crate::`-like suffixes of other names.
            !line[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(i, m)| {
            let rest = &line[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn each_engine_layer_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs"))
            .unwrap_or_default();
        let Some(own) = layer(top) else { continue };
        let text = std::fs::read_to_string(f).expect("read source file");
        for (n, line) in non_test_lines(&text) {
            for used in crate_paths(line) {
                if layer(used).is_some_and(|l| l > own) {
                    violations.push(format!(
                        "{}:{}: layer `{top}` uses the higher layer `{used}`: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "\n{}", violations.join("\n"));
}

#[test]
fn the_cli_uses_only_the_public_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // The hidden surface exists for test vectors, forgers and fuzzing.
    let hidden = ["cairn_engine::codec", ".sealer()", ".keys()"];
    let mut violations = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source file");
        for (n, line) in non_test_lines(&text) {
            for h in hidden {
                if line.contains(h) {
                    violations.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "\n{}", violations.join("\n"));
    assert!(!files.is_empty(), "no CLI sources found");
}

#[test]
fn the_checker_sees_a_violation() {
    // The rule cannot pass vacuously: a higher-layer path is recognised.
    let paths = crate_paths("use crate::ops::backup; x(crate::repo::gc::store)");
    assert_eq!(paths, ["ops", "repo"]);
    assert!(layer("ops") > layer("format"));
    let lines: Vec<_> = non_test_lines("use a;\n// crate::ops\n#[cfg(test)]\nuse b;")
        .map(|(_, l)| l)
        .collect();
    assert_eq!(lines, ["use a;"]);
}
