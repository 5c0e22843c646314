//! The paper key codec: round trip, tolerance of how people type and
//! scanners read, and every typo the line check promises to catch reported
//! at its line.

use super::*;

fn sample() -> PaperKey {
    PaperKey::new(
        MasterKey::from_bytes(std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5c)),
        std::array::from_fn(|i| i as u8 * 17),
    )
}

fn key_line_positions(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| numbered(l).is_some())
        .map(|(i, _)| i)
        .collect()
}

/// Replace the `k`-th symbol (0..10, spaces skipped) of text line `line`.
fn with_symbol(text: &str, line: usize, k: usize, c: char) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let l = &lines[line];
    let colon = l.find(':').unwrap();
    let mut seen = 0;
    let mut out = String::new();
    for (i, ch) in l.char_indices() {
        if i > colon && !ch.is_whitespace() {
            if seen == k {
                out.push(c);
                seen += 1;
                continue;
            }
            seen += 1;
        }
        out.push(ch);
    }
    lines[line] = out;
    lines.join("\n")
}

fn symbols_of(text: &str, line: usize) -> Vec<char> {
    let l = text.lines().nth(line).unwrap();
    let colon = l.find(':').unwrap();
    l[colon + 1..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn round_trip() {
    let p = sample();
    let text = p.to_text();
    assert!(text.starts_with("CAIRN PAPER KEY, FORMAT 1\n\nRepository: 00112233 "));
    assert_eq!(key_line_positions(&text).len(), KEY_LINES);
    let back = PaperKey::decode(&text).unwrap();
    assert_eq!(back.master().expose(), p.master().expose());
    assert_eq!(back.repository_id(), p.repository_id());
}

#[test]
fn tolerant_of_case_spacing_aliases_and_surrounding_text() {
    let p = sample();
    let mut messy =
        String::from("Scanned 2070-01-01, page 1 of 1\r\n\r\n  cairn paper key -- format 1\r\n");
    for l in p.to_text().lines() {
        if let Some((n, rest)) = numbered(l) {
            // Lower case, hyphens between groups, odd spacing, 0 as O and
            // 1 as l, as a hand or a scanner may write them.
            let rest: String = rest
                .to_lowercase()
                .replace(' ', " - ")
                .replace('0', "o")
                .replace('1', "l");
            messy.push_str(&format!("\r\n   {n} :{rest}   \r\n\r\n"));
        } else if l.starts_with("Repository") {
            messy.push_str(&l.to_uppercase().replace(' ', "  "));
            messy.push('\n');
        } else if !l.starts_with("CAIRN") {
            messy.push_str(l);
            messy.push('\n');
        }
    }
    let back = PaperKey::decode(&messy).unwrap();
    assert_eq!(back.master().expose(), p.master().expose());
    assert_eq!(back.repository_id(), p.repository_id());
    // The repository line is optional.
    let bare: String = messy
        .lines()
        .filter(|l| !l.to_lowercase().starts_with("repository"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(PaperKey::decode(&bare).unwrap().repository_id(), None);
}

#[test]
fn every_single_substitution_is_reported_at_its_line() {
    let text = sample().to_text();
    for (n, &line) in key_line_positions(&text).iter().enumerate() {
        let original = symbols_of(&text, line);
        for (k, &was) in original.iter().enumerate() {
            for &a in ALPHABET {
                let c = char::from(a);
                if c == was {
                    continue;
                }
                let e = PaperKey::decode(&with_symbol(&text, line, k, c)).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput);
                let want = format!(
                    "key line {} (line {} of the text) does not match",
                    n + 1,
                    line + 1
                );
                assert!(e.message().contains(&want), "{k} {c}: {e}");
                assert!(!e.message().contains("missing"), "{e}");
            }
        }
    }
}

#[test]
fn every_adjacent_transposition_and_misnumbered_line_is_caught() {
    let text = sample().to_text();
    let lines = key_line_positions(&text);
    for &line in &lines {
        let s = symbols_of(&text, line);
        for k in 0..7 {
            if s[k] == s[k + 1] {
                continue;
            }
            let swapped = with_symbol(&with_symbol(&text, line, k, s[k + 1]), line, k + 1, s[k]);
            assert!(PaperKey::decode(&swapped).is_err(), "transposition at {k}");
        }
    }
    // Lines 2 and 3 typed under each other's numbers.
    let mut t: Vec<String> = text.lines().map(str::to_owned).collect();
    let (a, b) = (lines[1], lines[2]);
    let (ra, rb) = (t[a][1..].to_owned(), t[b][1..].to_owned());
    t[a] = format!("2{rb}");
    t[b] = format!("3{ra}");
    let e = PaperKey::decode(&t.join("\n")).unwrap_err();
    assert!(e.message().contains("key line 2 ("), "{e}");
    assert!(e.message().contains("key line 3 ("), "{e}");
}

#[test]
fn missing_lines_header_and_bad_symbols_are_named() {
    let text = sample().to_text();
    let lines = key_line_positions(&text);
    let without: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != lines[3] && *i != lines[5])
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let e = PaperKey::decode(&without).unwrap_err();
    assert!(e.message().contains("key lines 4 and 6 are missing"), "{e}");

    let e = PaperKey::decode(text.trim_start_matches(HEADER)).unwrap_err();
    assert!(e.message().contains("no header line"), "{e}");

    let e = PaperKey::decode(&with_symbol(&text, lines[0], 2, 'U')).unwrap_err();
    assert!(
        e.message()
            .contains("key line 1 (line 5 of the text) holds 'U'"),
        "{e}"
    );

    let short = with_symbol(&text, lines[6], 9, ' ');
    let e = PaperKey::decode(&short).unwrap_err();
    assert!(
        e.message()
            .contains("key line 7 (line 11 of the text) has 9 symbols"),
        "{e}"
    );

    let e = PaperKey::decode(&format!("{text}\n8: 0000 0000  00\n")).unwrap_err();
    assert!(e.message().contains("numbered 8"), "{e}");

    let e = PaperKey::decode(&text.replace("FORMAT 1", "FORMAT 2")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedVersion);

    let e = PaperKey::decode(&text.replace("Repository: 0011", "Repository: 011")).unwrap_err();
    assert!(e.message().contains("not 32 hex digits"), "{e}");

    assert!(PaperKey::decode(&"x".repeat(MAX_PAPER_TEXT + 1)).is_err());
    assert!(PaperKey::decode("").is_err());
}

#[test]
fn errors_never_show_a_key_line() {
    let text = sample().to_text();
    let lines = key_line_positions(&text);
    let s = symbols_of(&text, lines[2]);
    let bad = with_symbol(&text, lines[2], 0, if s[0] == 'A' { 'B' } else { 'A' });
    let e = PaperKey::decode(&bad).unwrap_err();
    for &l in &lines {
        let line = text.lines().nth(l).unwrap();
        let group = &line[line.find(':').unwrap() + 2..][..4];
        assert!(!e.message().contains(group), "{e}");
    }
}

#[test]
fn the_whole_key_check_catches_what_a_line_check_lets_through() {
    // Rewrite line 1 to other bytes with a valid line check: only the
    // check over the whole key can tell.
    let text = sample().to_text();
    let line = key_line_positions(&text)[0];
    let values = to_values(&[1, 2, 3, 4, 5]);
    let check = line_check(1, &values);
    let s: String = values.iter().map(|&v| symbol(v)).collect();
    let mut t: Vec<String> = text.lines().map(str::to_owned).collect();
    t[line] = format!("1: {s} {}{}", symbol(check / 32), symbol(check % 32));
    let e = PaperKey::decode(&t.join("\n")).unwrap_err();
    assert!(e.message().contains("as a whole"), "{e}");
}

#[test]
fn line_check_by_hand() {
    // Line 1, symbols 0000 0001: r = 1, then 32, 1024 mod 1021 = 3, 96,
    // 3072 mod 1021 = 9, 288, 9216 mod 1021 = 27, 864, 864·32+1 mod 1021.
    assert_eq!(
        line_check(1, &[0, 0, 0, 0, 0, 0, 0, 1]),
        (864 * 32 + 1) % 1021
    );
    assert_eq!(
        to_bytes(&to_values(&[0xde, 0xad, 0xbe, 0xef, 0x01])),
        [0xde, 0xad, 0xbe, 0xef, 0x01]
    );
    assert_eq!(symbol_value('o'), Some(0));
    assert_eq!(symbol_value('L'), Some(1));
    assert_eq!(symbol_value('u'), None);
}
