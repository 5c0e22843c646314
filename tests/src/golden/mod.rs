//! Golden files for what the `cairn` binary prints: compare output with
//! a file under `tests/expect/`, showing a line diff on mismatch, or
//! write the file with `CAIRN_BLESS=1` (see `tests/expect/README.md`).
//! Output is first made comparable by [`Normaliser`].

mod normalise;

pub use normalise::Normaliser;

use std::path::{Path, PathBuf};

/// Set to `1` to write golden files instead of comparing with them.
pub const BLESS_VAR: &str = "CAIRN_BLESS";

/// The directory of golden files (`tests/expect`).
pub fn expect_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("expect")
}

/// Compare `actual` with the golden file `tests/expect/<rel>`; with
/// `CAIRN_BLESS=1`, write it there instead.
pub fn assert_golden(rel: &str, actual: &str) {
    let path = expect_dir().join(rel);
    let expected = std::fs::read_to_string(&path).ok();
    if expected.as_deref() == Some(actual) {
        return;
    }
    if std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir expect");
        std::fs::write(&path, actual).expect("write golden file");
        eprintln!("blessed {}", path.display());
        return;
    }
    match expected {
        None => panic!(
            "no golden file {}: run with {BLESS_VAR}=1 to create it, then read it.\nOutput:\n{actual}",
            path.display()
        ),
        Some(e) => panic!(
            "output differs from {} (- golden, + now). If the change is intended, \
             run with {BLESS_VAR}=1 and commit the file.\n{}",
            path.display(),
            diff(&e, actual)
        ),
    }
}

/// A line diff of `old` and `new` (longest common subsequence), with
/// three lines of context around each change.
pub fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] > lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(3)..(k + 4).min(ops.len())]
            .iter()
            .any(|(t, _)| *t != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{tag} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  …\n");
            skipped = true;
        }
    }
    if ops.iter().all(|(t, _)| *t == ' ') {
        out.push_str(
            "(the lines are equal: the files differ in line endings or the final newline)\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n");
        assert_eq!(d, "  …\n  b\n  c\n  d\n- e\n+ E\n  f\n  g\n  h\n");
    }
}
