//! Where in the config file an error is: its line and the dotted key
//! (`profiles.nightly.retention.keep-daily`, `…sources[1].paths[0]`).
//!
//! Both come from byte spans: toml's own errors carry one, and every value
//! a semantic check refuses is kept `Spanned`. The key is found in toml's
//! span-preserving document tree, so it is exact for dotted keys, inline
//! tables and arrays of tables alike; a syntax error, where that tree is
//! only partial, falls back to the key written on the error's line.
//!
//! Invariant: a message built here adds the file name, the line and the
//! key, never a value (a value may be a password command or a URI with a
//! password in it).

use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A config file's name and text, to place errors in.
pub struct Doc<'a> {
    /// The file, as given or found.
    pub path: &'a Path,
    /// Its contents.
    pub text: &'a str,
}

impl Doc<'_> {
    /// The `InvalidInput` error (exit 2) for `msg` at `span`.
    pub fn error(&self, span: Option<Range<usize>>, msg: &str) -> cairn_engine::Error {
        let mut head = format!("config file {}", crate::output::esc_path(self.path));
        if let Some(span) = span {
            let (tree, _) = DeTable::parse_recoverable(self.text);
            let key = key_at(tree.get_ref(), span.start)
                .or_else(|| key_on_line(self.text, span.start))
                .filter(|k| !k.is_empty());
            head.push_str(&format!(", line {}", line_of(self.text, span.start)));
            if let Some(k) = key {
                head.push_str(&format!(", key {}", crate::output::esc(&k)));
            }
        }
        cairn_engine::Error::invalid(format!("{head}: {msg}"))
    }
}

/// The 1-based line holding byte `offset`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// The dotted path of the key or value whose span most narrowly covers
/// `offset`.
pub fn key_at(doc: &DeTable<'_>, offset: usize) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    walk_table(doc, "", offset, &mut best);
    best.map(|(_, k)| k)
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

fn consider(span: Range<usize>, path: &str, offset: usize, best: &mut Option<(usize, String)>) {
    if !covers(&span, offset) {
        return;
    }
    let len = span.len();
    // Narrower wins; on a tie the deeper key (a longer path) does.
    let better = match best {
        None => true,
        Some((l, p)) => len < *l || (len == *l && path.len() > p.len()),
    };
    if better {
        *best = Some((len, path.to_owned()));
    }
}

fn walk_table(t: &DeTable<'_>, prefix: &str, offset: usize, best: &mut Option<(usize, String)>) {
    for (k, v) in t.iter() {
        let name = k.get_ref();
        let bare = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name = match bare {
            true => name.to_string(),
            false => format!("{name:?}"),
        };
        let path = match prefix.is_empty() {
            true => name,
            false => format!("{prefix}.{name}"),
        };
        consider(k.span(), &path, offset, best);
        walk_value(v, &path, offset, best);
    }
}

fn walk_value(
    v: &Spanned<DeValue<'_>>,
    path: &str,
    offset: usize,
    best: &mut Option<(usize, String)>,
) {
    consider(v.span(), path, offset, best);
    if let Some(t) = v.get_ref().as_table() {
        walk_table(t, path, offset, best);
    } else if let Some(a) = v.get_ref().as_array() {
        for (i, item) in a.iter().enumerate() {
            walk_value(item, &format!("{path}[{i}]"), offset, best);
        }
    }
}

/// The key written before `=` on the line of `offset`, under the nearest
/// `[table]` header above it: a best effort for syntax errors.
fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let line_no = line_of(text, offset);
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(line_no.checked_sub(1)?)?;
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('['));
    let header = lines
        .iter()
        .take(line_no)
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(h), None) if line.trim_start().starts_with('[') => Some(h),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_offset() {
        let text =
            "[profiles.a]\nrepository = \"/r\"\n[[profiles.a.sources]]\npaths = [\"/x\", \"y\"]\n\
                    [profiles.a.retention]\nkeep-daily = -5\n";
        let (tree, errs) = DeTable::parse_recoverable(text);
        assert!(errs.is_empty());
        let at = |needle: &str| key_at(tree.get_ref(), text.find(needle).unwrap());
        assert_eq!(at("\"/r\"").as_deref(), Some("profiles.a.repository"));
        assert_eq!(
            at("\"y\"").as_deref(),
            Some("profiles.a.sources[0].paths[1]")
        );
        assert_eq!(at("-5").as_deref(), Some("profiles.a.retention.keep-daily"));
        assert_eq!(line_of(text, text.find("-5").unwrap()), 6);
    }

    #[test]
    fn syntax_errors_fall_back_to_the_line() {
        let text = "[profiles.a]\nrepository = \"/r\n";
        assert_eq!(
            key_on_line(text, text.find("\"/r").unwrap()).as_deref(),
            Some("profiles.a.repository")
        );
    }
}
