//! Tests of the help text: the examples are real command lines, every
//! command is described, every variable documented.

use crate::args::Cli;
use clap::{CommandFactory, Parser};

/// Every command, nested ones too, with its path (`key add`).
fn all_commands() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, c: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        for sub in c.get_subcommands() {
            let path = format!("{prefix} {}", sub.get_name()).trim().to_owned();
            out.push((path.clone(), sub.clone()));
            walk(&path, sub, out);
        }
    }
    let mut out = Vec::new();
    walk("", &Cli::command(), &mut out);
    out
}

/// The cairn command lines of an examples text: lines (or pipe
/// segments) that start with `cairn `, split as the shell would for the
/// simple quoting examples use, up to a redirection or comment.
fn example_lines(text: &str) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    for l in text.lines() {
        for seg in l.split(" | ") {
            let seg = seg.trim();
            if seg.starts_with("cairn ") || seg == "cairn" {
                lines.push(words(seg));
            }
        }
    }
    lines
}

fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut any) = (None, false);
    for ch in s.chars() {
        match (quote, ch) {
            (None, '\'' | '"') => (quote, any) = (Some(ch), true),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, '>' | '<' | '#') if !any => return out,
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quote in example: {s}");
    if any {
        out.push(cur);
    }
    out
}

#[test]
fn every_example_parses() {
    let mut texts = vec![super::EXAMPLES.to_owned()];
    for (_, c) in all_commands() {
        texts.extend(c.get_after_help().map(|h| h.to_string()));
    }
    let mut n = 0;
    for t in &texts {
        for argv in example_lines(t) {
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("example does not parse: {argv:?}\n{e}");
            }
            n += 1;
        }
    }
    assert!(n > 60, "only {n} examples found");
}

#[test]
fn a_broken_example_is_caught() {
    let argv = example_lines("  cairn backup --no-such-flag /srv");
    assert!(Cli::try_parse_from(&argv[0]).is_err());
    assert_eq!(
        example_lines("  x | cairn dump latest 'a b' > f # c"),
        vec![vec!["cairn", "dump", "latest", "a b"]]
    );
}

#[test]
fn every_command_has_a_description_and_top_level_ones_examples() {
    for (path, c) in all_commands() {
        assert!(c.get_about().is_some(), "`cairn {path}` has no description");
        if !path.contains(' ') {
            let h = c
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                h.starts_with("Examples:") && !example_lines(&h).is_empty(),
                "`cairn {path} --help` has no examples: add an EXAMPLES const in its module \
                 and `#[command(after_help = ...)]` on its variant in args.rs"
            );
        }
    }
}

#[test]
fn the_top_level_help_renders_the_exit_table_and_environment() {
    let h = super::after_long_help();
    for (code, meaning) in crate::exit::TABLE {
        assert!(h.contains(&format!("{code:>3}  {meaning}")), "{code}");
    }
    for (name, _) in super::ENVIRONMENT {
        assert!(h.contains(name), "{name}");
    }
}

/// Every `CAIRN_*` name in the CLI's sources is documented (a new
/// variable without an entry in ENVIRONMENT fails here).
#[test]
fn every_variable_the_cli_reads_is_documented() {
    fn scan(dir: &std::path::Path, found: &mut std::collections::BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                scan(&p, found);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("help_tests.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, _) in text.match_indices("\"CAIRN_") {
                    let name: String = text[i + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    found.insert(name);
                }
            }
        }
    }
    let mut found = std::collections::BTreeSet::new();
    scan(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.contains("CAIRN_PASSWORD_COMMAND"), "{found:?}");
    for name in found {
        assert!(
            super::ENVIRONMENT.iter().any(|(k, _)| *k == name),
            "{name} is read by the CLI but not listed in help::ENVIRONMENT"
        );
    }
}
