//! The key tables of `format-spec/` list CBOR map keys in the canonical
//! order of RFC 8949 §4.2.1 (shorter keys first, then bytewise), which is
//! the order the engine's encoder writes and readers demand. A table out
//! of that order once told writers to produce configs readers must reject
//! (issue 13); this test keeps every such table honest.

use std::path::Path;

/// Keys named (in backticks) in the first cell of a table row.
fn keys_of(row: &str) -> Vec<String> {
    let cell = row.trim_start_matches('|').split('|').next().unwrap_or("");
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every CBOR key table: `(file, line of the header, keys in row order)`.
/// A table is one whose header starts `| Key | CBOR type`, or any `| Key |`
/// table of `trees-and-snapshots.md` (the snapshot `stats` table).
fn tables() -> Vec<(String, usize, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec/v1");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("format-spec/v1")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let cbor = l.starts_with("| Key | CBOR type")
                || (l.starts_with("| Key |") && name == "trees-and-snapshots.md");
            if !cbor {
                continue;
            }
            let keys = lines[i + 2..]
                .iter()
                .take_while(|r| r.starts_with('|'))
                .flat_map(|r| keys_of(r))
                .collect();
            out.push((name.clone(), i + 1, keys));
        }
    }
    out
}

#[test]
fn spec_key_tables_are_in_canonical_order() {
    let tables = tables();
    // config, lock, GC plan, key file, tree, node, snapshot, stats.
    assert!(tables.len() >= 8, "found only {} key tables", tables.len());
    for (file, line, keys) in tables {
        assert!(keys.len() >= 2, "{file}:{line}: no keys found");
        for w in keys.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!(
                (a.len(), a.as_bytes()) < (b.len(), b.as_bytes()),
                "{file}:{line}: `{a}` is listed before `{b}`, but canonical CBOR \
                 (RFC 8949 §4.2.1) sorts shorter keys first, then bytewise"
            );
        }
    }
}
