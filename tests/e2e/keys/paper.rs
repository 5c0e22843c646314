//! The paper key: `cairn key export --paper` and `key import --paper`. A
//! typo is reported at its line and nothing is written; a paper key of
//! another repository is refused; the right text restores access after
//! every key file is gone, without the old password.

use super::{assert_restores, key_files, password, with, FAST};
use cairn_tests::{assert_code, random_bytes, Env};
use serde_json::Value;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

fn export(env: &Env) -> String {
    let out = env.run(&["key", "export", "--paper"]);
    assert_code(&out, 0);
    String::from_utf8(out.stdout).unwrap()
}

/// `key import --paper -` with `text` on stdin and no current password.
fn import_stdin(env: &Env, text: &str, new: &Path) -> Output {
    let mut args = vec![
        "key",
        "import",
        "--paper",
        "-",
        "--new-password-file",
        new.to_str().unwrap(),
    ];
    args.extend(FAST);
    let mut child = env
        .cmd(&args)
        .env_remove("CAIRN_PASSWORD_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The text with the 3rd symbol of key line `n` replaced by another one.
fn mistype(text: &str, n: usize) -> String {
    text.lines()
        .map(|l| match l.strip_prefix(&format!("{n}: ")) {
            Some(rest) => {
                let mut c: Vec<char> = rest.chars().collect();
                c[2] = if c[2] == 'Q' { 'R' } else { 'Q' };
                format!("{n}: {}\n", c.into_iter().collect::<String>())
            }
            None => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn a_mistyped_paper_key_is_reported_at_its_line_and_nothing_is_written() {
    let env = Env::init();
    let text = export(&env);
    let new = password(&env, "new", "new password");
    let before = env.repo_fingerprint();
    for n in [1, 4, 7] {
        let bad = mistype(&text, n);
        assert_ne!(bad, text);
        let file = env.path("typed.txt");
        fs::write(&file, &bad).unwrap();
        let mut args = vec!["key", "import", "--paper", file.to_str().unwrap()];
        args.extend(["--new-password-file", new.to_str().unwrap()]);
        let out = env.run(&args);
        assert_code(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("key line {n} (line {} of the text)", n + 4)),
            "{err}"
        );
        assert_eq!(err.matches("key line").count(), 1, "{err}");
        // The message names the line, never its symbols.
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{n}: ")))
            .unwrap();
        assert!(!err.contains(&line[3..7]), "{err}");
        let out = import_stdin(&env, &bad, &new);
        assert_code(&out, 2);
    }
    assert_eq!(
        env.repo_fingerprint(),
        before,
        "a mistyped paper key wrote something"
    );
}

#[test]
fn the_paper_key_restores_access_after_every_key_file_is_removed() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("data"), random_bytes(300_000, 7)).unwrap();
    env.backup(&src, &[]);
    let text = export(&env);
    let report = env.json(&["key", "export", "--paper"]);
    assert_eq!(report["text"].as_str().unwrap().trim_end(), text.trim_end());
    let id = report["repository_id"].as_str().unwrap().to_owned();
    assert!(
        text.contains(&format!("Repository: {} ", &id[..8])),
        "{text}"
    );

    // Every password key file gone.
    for name in key_files(&env) {
        fs::remove_file(env.repo.join("keys").join(name)).unwrap();
    }
    assert_code(&env.run(&["snapshots"]), 1);

    // Typed in lower case with odd spacing, between other text.
    let typed: String = text
        .lines()
        .map(|l| format!("  {}\n\n", l.to_lowercase().replace(' ', "   ")))
        .collect();
    let typed = format!("From the safe, 3rd shelf:\n{typed}-- end --\n");
    let new = password(&env, "new", "password after the fire");
    let out = import_stdin(&env, &typed, &new);
    assert_code(&out, 0);
    // One line of result on stdout, and nothing of the key echoed.
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("the paper key opened repository"), "{said}");
    assert_eq!(key_files(&env).len(), 1);
    let keys: Value =
        serde_json::from_slice(&with(&env, &new, &["--json", "key", "list"]).stdout).unwrap();
    assert_eq!(keys["repository_id"], id.as_str());
    assert_eq!(keys["keys"][0]["in_use"], true);
    assert_code(&env.run(&["snapshots"]), 12);
    assert_restores(&env, &new, &src.join("data"));
}

#[test]
fn a_paper_key_of_another_repository_is_refused() {
    let a = Env::init();
    let b = Env::init();
    let new = password(&b, "new", "new password");
    let before = b.repo_fingerprint();
    let out = import_stdin(&b, &export(&a), &new);
    assert_code(&out, 12);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not open the repository"), "{err}");
    assert!(err.contains("Nothing was written"), "{err}");
    assert_eq!(b.repo_fingerprint(), before);
    // Its own paper key opens it, with the ID it names.
    let out = import_stdin(&b, &export(&b), &new);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("the paper key opened repository"));
}
