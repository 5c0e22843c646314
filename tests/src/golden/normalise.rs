//! The normaliser that makes the `cairn` binary's output comparable
//! from run to run, for the golden files.
//!
//! Output holds things that legitimately differ between two runs of the
//! same test: object IDs (keyed hashes and random nonces), the clock,
//! the scratch directory, sizes of encrypted and compressed data,
//! durations, the machine's host and user. [`Normaliser`] replaces each
//! with a placeholder and leaves everything else alone, so a golden file
//! still shows what a user sees:
//!
//! - IDs become `<id:N>`, numbered by first appearance in the file; a
//!   prefix of a known ID (`95215737`, or the `4a` of `data/4a/4ae2…`)
//!   becomes `<id:N:LEN>`, with the number of the ID it abbreviates.
//! - Times from the year 2010 on become `<time>`. Tests pin the times
//!   they choose in 2001, and those stay visible.
//! - Registered literals (the scratch directory, a child's PID) become
//!   their placeholder; the machine's host name becomes `<host>` where it
//!   is quoted or is the value of a JSON `host`.
//! - In JSON: `*_secs` and `seconds_*` numbers become `<secs>`. Sizes of stored data
//!   become `<size>`: a backup's `new_bytes` and `stored_bytes` always,
//!   the others (`used_bytes`, …; `bytes` unless a count of `files` or
//!   `documents` sits beside it, where it is their content; `size` and
//!   `used` beside a `pack`) unless they are 0. The running user's `uid`, `gid`, `user`
//!   and `group` become `<uid>`, `<gid>`, `<user>` and `<group>` (not for
//!   fixtures, see [`Normaliser::keep_identity`]).

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// JSON keys whose numbers are sizes of stored (compressed, encrypted,
/// packed) data: they move with chunk boundaries and compression.
const STORED_SIZES: &[&str] = &[
    "used_bytes",
    "unused_bytes",
    "unused_bytes_after",
    "copied_bytes",
];

/// Sizes of what a backup stored, even when 0: a backup of an unchanged
/// tree stores its changed ancestors again (`/tmp` changes whenever
/// another test makes a directory there).
const NEW_DATA: &[&str] = &["new_bytes", "stored_bytes"];

/// Replaces what differs between runs; see the module documentation.
pub struct Normaliser {
    /// Full IDs seen so far (output, repository file names).
    ids: Vec<String>,
    /// Exact text and its placeholder, longest text first.
    literals: Vec<(String, String)>,
    /// The running user and machine, for the identity placeholders;
    /// `None` where output is fixed (a fixture written elsewhere).
    me: Option<Identity>,
}

/// Who runs the tests, where.
struct Identity {
    uid: u32,
    gid: u32,
    user: Option<String>,
    group: Option<String>,
    host: Option<String>,
}

impl Identity {
    fn current() -> Identity {
        let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
        Identity {
            uid: uid.as_raw(),
            gid: gid.as_raw(),
            user: nix::unistd::User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name),
            group: nix::unistd::Group::from_gid(gid)
                .ok()
                .flatten()
                .map(|g| g.name),
            host: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .filter(|h| !h.is_empty()),
        }
    }

    /// The placeholder for `key: v` if `v` is this identity.
    fn placeholder(&self, key: &str, v: &Value) -> Option<&'static str> {
        let is = |mine: &Option<String>| mine.is_some() && v.as_str() == mine.as_deref();
        match key {
            "uid" if v.as_u64() == Some(self.uid.into()) => Some("<uid>"),
            "gid" if v.as_u64() == Some(self.gid.into()) => Some("<gid>"),
            "user" if is(&self.user) => Some("<user>"),
            "group" if is(&self.group) => Some("<group>"),
            "host" if is(&self.host) => Some("<host>"),
            _ => None,
        }
    }
}

impl Default for Normaliser {
    fn default() -> Self {
        Normaliser::new()
    }
}

impl Normaliser {
    /// A normaliser for the running user on this machine.
    pub fn new() -> Normaliser {
        Normaliser {
            ids: Vec::new(),
            literals: Vec::new(),
            me: Some(Identity::current()),
        }
    }

    /// Keep user, group and host names as they are: for output about a
    /// repository written elsewhere (a fixture), where they are fixed and
    /// may equal the running user's by chance.
    pub fn keep_identity(&mut self) {
        self.me = None;
    }

    /// Show `text` as `placeholder` wherever it occurs.
    pub fn literal(&mut self, text: impl Into<String>, placeholder: &str) {
        self.literals.push((text.into(), placeholder.to_owned()));
        self.literals
            .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    }

    /// Remember every full ID (32 or 64 lowercase hex digits) in `text`,
    /// so that prefixes of it are recognised later.
    pub fn learn_ids(&mut self, text: &str) {
        for (_, w) in words(text) {
            if is_full_id(w) && !self.ids.iter().any(|k| k == w) {
                self.ids.push(w.to_owned());
            }
        }
    }

    /// Remember the IDs that name files in a repository directory.
    pub fn learn_repository(&mut self, repo: &Path) {
        let names: Vec<String> = walkdir::WalkDir::new(repo)
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        self.learn_ids(&names.join("\n"));
    }

    /// Normalise a JSON document in place: volatile numbers and the
    /// running user's identity (strings are left to [`Normaliser::text`]).
    pub fn json(&self, v: &mut Value) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            Value::Object(map) => {
                // `bytes` beside a count of files or documents is their
                // content, the same in every run.
                let counts_content = map.contains_key("files") || map.contains_key("documents");
                let names_pack = map.contains_key("pack");
                for (k, child) in map.iter_mut() {
                    // A zero size is the same in every run: it stays.
                    let size = child.is_number() && child.as_u64() != Some(0);
                    let placeholder = match k.as_str() {
                        k if (k.ends_with("_secs") || k.starts_with("seconds_"))
                            && child.is_number() =>
                        {
                            Some("<secs>")
                        }
                        k if NEW_DATA.contains(&k) && child.is_number() => Some("<size>"),
                        k if STORED_SIZES.contains(&k) && size => Some("<size>"),
                        "bytes" if !counts_content && size => Some("<size>"),
                        "size" | "used" if names_pack && size => Some("<size>"),
                        k => self.me.as_ref().and_then(|me| me.placeholder(k, child)),
                    };
                    match placeholder {
                        Some(p) => *child = Value::String(p.to_owned()),
                        None => self.json(child),
                    }
                }
            }
            _ => {}
        }
    }

    /// Normalise text: literals, the quoted host name, times, then IDs.
    pub fn text(&self, s: &str) -> String {
        let mut s = s.to_owned();
        for (text, placeholder) in &self.literals {
            s = s.replace(text.as_str(), placeholder);
        }
        if let Some(h) = self.me.as_ref().and_then(|me| me.host.as_ref()) {
            s = s.replace(&format!("'{h}'"), "'<host>'");
        }
        self.ids_in(&times(&s))
    }

    /// The full ID a word stands for: itself, or the one known ID it is a
    /// prefix of (at least 8 digits, or the 2-digit fan-out directory
    /// right before the ID it belongs to).
    fn identity<'a>(&'a self, w: &'a str, rest: &'a str, local: &'a [&'a str]) -> Option<&'a str> {
        if is_full_id(w) {
            return Some(w);
        }
        if !is_hex(w) {
            return None;
        }
        if w.len() == 2 {
            let next = rest.strip_prefix('/')?;
            let id = next.split(|c: char| !c.is_ascii_alphanumeric()).next()?;
            return (is_full_id(id) && id.starts_with(w)).then_some(id);
        }
        if w.len() < 8 {
            return None;
        }
        let mut found = self
            .ids
            .iter()
            .map(String::as_str)
            .chain(local.iter().copied())
            .filter(|k| k.starts_with(w));
        let first = found.next()?;
        found.all(|k| k == first).then_some(first)
    }

    fn ids_in(&self, s: &str) -> String {
        let local: Vec<&str> = words(s).map(|(_, w)| w).filter(|w| is_full_id(w)).collect();
        let mut numbers: HashMap<&str, usize> = HashMap::new();
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for (at, w) in words(s) {
            let Some(id) = self.identity(w, &s[at + w.len()..], &local) else {
                continue;
            };
            let next = numbers.len() + 1;
            let n = *numbers.entry(id).or_insert(next);
            out.push_str(&s[last..at]);
            if w.len() == id.len() {
                out.push_str(&format!("<id:{n}>"));
            } else {
                out.push_str(&format!("<id:{n}:{}>", w.len()));
            }
            last = at + w.len();
        }
        out.push_str(&s[last..]);
        out
    }
}

/// Maximal runs of ASCII letters and digits, with their byte offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        (i > start).then(|| (start, &s[start..i]))
    })
}

fn is_hex(w: &str) -> bool {
    w.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_full_id(w: &str) -> bool {
    (w.len() == 64 || w.len() == 32) && is_hex(w)
}

/// Replace times (`YYYY-MM-DDTHH:MM:SS`, or with a space, optional
/// fraction and zone) from the year 2010 on with `<time>`.
fn times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut last) = (0, 0);
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_digit();
        match time_len(&b[i..]) {
            Some((len, year)) if boundary && year >= 2010 => {
                out.push_str(&s[last..i]);
                out.push_str("<time>");
                i += len;
                last = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Length and year of a time at the start of `b`.
fn time_len(b: &[u8]) -> Option<(usize, u32)> {
    const SHAPE: &[u8] = b"dddd-dd-dd_dd:dd:dd";
    if b.len() < SHAPE.len() {
        return None;
    }
    for (c, want) in b.iter().zip(SHAPE) {
        let ok = match want {
            b'd' => c.is_ascii_digit(),
            b'_' => matches!(c, b'T' | b' '),
            w => c == w,
        };
        if !ok {
            return None;
        }
    }
    let year = std::str::from_utf8(&b[..4]).ok()?.parse().ok()?;
    let mut n = SHAPE.len();
    if b.get(n) == Some(&b'.') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1;
        while b.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    if b.get(n) == Some(&b'Z') {
        n += 1;
    } else if b.get(n).is_some_and(|c| matches!(c, b'+' | b'-')) && time_len_zone(&b[n + 1..]) {
        n += 6;
    }
    Some((n, year))
}

/// `HH:MM` at the start of `b`.
fn time_len_zone(b: &[u8]) -> bool {
    b.len() >= 5
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2] == b':'
        && b[3..5].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "4ae2523a2c3b2498934550e5813933c3bf3b0ac816f3ae7b926a00286746bd5c";
    const B: &str = "95215737c9e06cf7e2c3550d2916cbac512fd72cdafb286112e99aed785c2f7e";

    #[test]
    fn ids_are_numbered_by_first_appearance_with_their_prefixes() {
        let mut n = Normaliser::new();
        n.learn_ids(A);
        let text = format!("snapshot 95215737 of {B}; pack data/4a/{A}; 4ae2523a and 12345678");
        assert_eq!(
            n.text(&text),
            "snapshot <id:1:8> of <id:1>; pack data/<id:2:2>/<id:2>; <id:2:8> and 12345678"
        );
    }

    #[test]
    fn recent_times_are_hidden_and_pinned_ones_kept() {
        let n = Normaliser::new();
        assert_eq!(
            n.text(
                "a 2026-12-04T19:22:39.292740092Z b 2001-02-03T04:05:06Z c 2026-12-04 19:22:39 d"
            ),
            "a <time> b 2001-02-03T04:05:06Z c <time> d"
        );
        assert_eq!(n.text("at 2030-01-01T00:00:00+01:00."), "at <time>.");
    }

    #[test]
    fn json_volatile_numbers_and_identity() {
        let mut n = Normaliser::new();
        let me = n.me.as_mut().unwrap();
        me.user = Some("alice".into());
        let doc = format!(
            r#"{{"files": 2, "bytes": 12, "new_bytes": 0, "used_bytes": 0, "duration_secs": 0.1,
                "user": "alice", "uid": {}, "delete": {{"packs": 1, "bytes": 4096}}}}"#,
            me.uid
        );
        let mut v: Value = serde_json::from_str(&doc).unwrap();
        n.json(&mut v);
        assert_eq!(
            v.to_string(),
            r#"{"files":2,"bytes":12,"new_bytes":"<size>","used_bytes":0,"duration_secs":"<secs>","user":"<user>","uid":"<uid>","delete":{"packs":1,"bytes":"<size>"}}"#,
            "keys must also keep their order (serde_json's preserve_order)"
        );
        n.keep_identity();
        let mut v: Value = serde_json::from_str(&doc).unwrap();
        n.json(&mut v);
        assert_eq!(v["user"], "alice");
    }
}
