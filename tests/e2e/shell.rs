//! Help and shell integration through the real binary: `--help` text,
//! `completions` (loaded into a real bash), `man` (pages rendered by
//! man/groff), `version`, and `--repository-file` with its variable.

use cairn_tests::{assert_code, assert_success, cairn_bin, Env};
use std::process::Command;

fn bare(args: &[&str]) -> std::process::Output {
    Command::new(cairn_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = bare(args);
    assert_success(&out, args);
    String::from_utf8(out.stdout).unwrap()
}

/// The top-level commands `cairn --help` lists.
fn commands() -> Vec<String> {
    let help = stdout(&["--help"]);
    let list = help.split("Commands:\n").nth(1).unwrap();
    list.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn help_shows_examples_exit_codes_environment_and_global_options_apart() {
    let top = stdout(&["--help"]);
    for want in [
        "Exit codes:",
        "  130  interrupted",
        "Environment:",
        "CAIRN_PASSWORD_COMMAND",
        "CAIRN_PASSWORD ",
        "CAIRN_REPOSITORY_FILE",
        "Global options:",
        "Examples:",
    ] {
        assert!(top.contains(want), "`cairn --help` lacks {want:?}:\n{top}");
    }
    // -h is short, and says where the rest is.
    let short = stdout(&["-h"]);
    assert!(!short.contains("Exit codes:") && short.contains("cairn --help"));
    let cmds = commands();
    assert!(cmds.len() >= 25, "{cmds:?}");
    for c in &cmds {
        let h = stdout(&[c, "--help"]);
        assert!(
            h.contains("Examples:\n  "),
            "`cairn {c} --help` has no examples"
        );
        let global = h.split("Global options:").nth(1).unwrap_or_default();
        assert!(
            global.contains("--repository-file") && global.contains("--json"),
            "`cairn {c} --help` does not group the global options"
        );
    }
}

#[test]
fn bash_completion_loads_and_completes_commands_and_shells() {
    let env = Env::new();
    let script = env.path("cairn.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).unwrap();
    let probe = r#"source "$1" || exit 9
complete -p cairn || exit 8
COMP_WORDS=(cairn ba); COMP_CWORD=1; _cairn cairn ba cairn; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(cairn key pa); COMP_CWORD=2; _cairn cairn pa key; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(cairn completions f); COMP_CWORD=2; _cairn cairn f completions; echo "3:${COMPREPLY[*]}""#;
    let out = Command::new("bash")
        .args(["-c", probe, "bash"])
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("-F _cairn") && text.contains(" cairn\n"),
        "{text}"
    );
    assert!(text.contains("1:backup\n"), "{text}");
    assert!(text.contains("2:passwd\n"), "{text}");
    assert!(text.contains("3:fish\n"), "{text}");
    for shell in ["zsh", "fish"] {
        let s = stdout(&["completions", shell]);
        assert!(
            s.contains("cairn") && s.contains("repository-file"),
            "{shell}"
        );
    }
    assert_code(&bare(&["completions", "tcsh"]), 2);
}

#[test]
fn man_writes_a_page_per_command_that_renders() {
    let env = Env::new();
    let dir = env.path("man/man1");
    let out = bare(&["--json", "man", "--dir", dir.to_str().unwrap()]);
    assert_success(&out, &["man", "--dir"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pages: Vec<&str> = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(pages[0], "cairn.1");
    for c in commands() {
        let name = format!("cairn-{c}.1");
        assert!(pages.contains(&name.as_str()), "no page for {c}");
    }
    for nested in [
        "cairn-key-add.1",
        "cairn-repair-index.1",
        "cairn-export-verify.1",
    ] {
        assert!(pages.contains(&nested), "{nested}");
    }
    let mut listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    let mut want: Vec<String> = pages.iter().map(|p| p.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);
    // Each page starts as a man page does, and the top one renders with
    // its examples, exit codes and environment as sections.
    for p in &pages {
        let text = std::fs::read_to_string(dir.join(p)).unwrap();
        let stem = p.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {stem} 1")), "{p}");
        assert!(
            text.contains(".SH NAME") && text.contains(".SH SYNOPSIS"),
            "{p}"
        );
    }
    let top = dir.join("cairn.1");
    assert_eq!(stdout(&["man"]), std::fs::read_to_string(&top).unwrap());
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&top)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .output();
    let text = match rendered {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => {
            let o = Command::new("groff")
                .args(["-man", "-Tutf8"])
                .arg(&top)
                .output();
            match o {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                _ => return cairn_tests::skip("neither man nor groff renders pages here"),
            }
        }
    };
    // Overstrike bold ("E\bE") as some formatters print it: keep one.
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    for want in ["EXAMPLES", "EXIT CODES", "ENVIRONMENT", "GLOBAL OPTIONS"] {
        assert!(plain.contains(want), "rendered cairn.1 lacks {want}");
    }
    assert!(
        plain
            .lines()
            .any(|l| l.trim() == "cairn backup /srv /etc --tag nightly"),
        "examples are not kept line by line:\n{plain}"
    );
}

#[test]
fn version_names_the_formats_and_the_build() {
    let v: serde_json::Value = serde_json::from_str(&stdout(&["--json", "version"])).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["formats"]["repository"]["writes"], 1);
    assert_eq!(v["formats"]["repository"]["reads"], serde_json::json!([1]));
    assert_eq!(v["formats"]["objects"]["pack"], 1);
    let target = v["build"]["target"].as_str().unwrap();
    assert!(target.contains("linux"), "{target}");
    assert!(["debug", "release"].contains(&v["build"]["profile"].as_str().unwrap()));
    let human = stdout(&["version"]);
    assert!(human.starts_with(&format!("cairn {}\n", env!("CARGO_PKG_VERSION"))));
    assert!(
        human.contains("repository format: reads 1, writes 1"),
        "{human}"
    );
    // Needs no repository, and a broken environment does not stop it.
    let out = Command::new(cairn_bin())
        .arg("version")
        .env("CAIRN_REPOSITORY_FILE", "/nonexistent/repo-file")
        .env("CAIRN_REPOSITORY", "/nonexistent/repo")
        .output()
        .unwrap();
    assert_success(&out, &["version"]);
}

/// restic's `--repository-file`: the file names the repository; `-r` and
/// the flag conflict (exit 2); a flag beats both variables; both
/// variables at once are refused; missing file exit 1, empty file exit 2.
#[test]
fn repository_file_flag_and_variable() {
    let env = Env::init();
    let good = env.path("repo-location");
    std::fs::write(&good, format!("  {}\n\n", env.repo.display())).unwrap();
    let good = good.to_str().unwrap();
    let none = env.path("no-repo");
    let none = none.to_str().unwrap();
    let snapshots = |c: &mut Command| c.output().unwrap();

    // Through the flag, with CAIRN_REPOSITORY pointing elsewhere: the flag wins.
    let out = snapshots(
        env.cmd(&["--repository-file", good, "snapshots"])
            .env("CAIRN_REPOSITORY", none),
    );
    assert_success(&out, &["--repository-file", "snapshots"]);
    // Through the variable alone.
    let out = snapshots(
        env.cmd(&["snapshots"])
            .env_remove("CAIRN_REPOSITORY")
            .env("CAIRN_REPOSITORY_FILE", good),
    );
    assert_success(&out, &["snapshots (CAIRN_REPOSITORY_FILE)"]);
    // -r beats CAIRN_REPOSITORY_FILE.
    let repo = env.repo.to_str().unwrap();
    let out = snapshots(
        env.cmd(&["-r", repo, "snapshots"])
            .env("CAIRN_REPOSITORY_FILE", none),
    );
    assert_success(&out, &["-r", "snapshots"]);
    // The file is read as a location: a wrong one is "no repository" (10).
    std::fs::write(env.path("wrong"), format!("{none}\n")).unwrap();
    let wrong = env.path("wrong");
    let out = snapshots(&mut env.cmd(&["--repository-file", wrong.to_str().unwrap(), "snapshots"]));
    assert_code(&out, 10);

    // Both flags: usage error, also as JSON on stdout.
    let out =
        snapshots(&mut env.cmd(&["--json", "-r", repo, "--repository-file", good, "snapshots"]));
    assert_code(&out, 2);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "invalid_input");
    assert_eq!(doc["exit_code"], 2);
    // Both variables and no flag: refused, naming both.
    let out = snapshots(env.cmd(&["snapshots"]).env("CAIRN_REPOSITORY_FILE", good));
    assert_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAIRN_REPOSITORY and CAIRN_REPOSITORY_FILE"),
        "{err}"
    );
    // A missing file is an I/O error (1), an empty one a usage error (2).
    let out = snapshots(&mut env.cmd(&["--repository-file", none, "snapshots"]));
    assert_code(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("repository file"));
    std::fs::write(env.path("empty"), "\n").unwrap();
    let empty = env.path("empty");
    let out = snapshots(&mut env.cmd(&["--repository-file", empty.to_str().unwrap(), "snapshots"]));
    assert_code(&out, 2);
    // An empty variable is unset.
    let out = snapshots(env.cmd(&["snapshots"]).env("CAIRN_REPOSITORY_FILE", ""));
    assert_success(&out, &["snapshots (empty CAIRN_REPOSITORY_FILE)"]);
}
