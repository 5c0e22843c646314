//! Key slots: `cairn key list | add | remove | passwd`. A password opens
//! its own key file; the last readable key file is never removed; a
//! killed `key passwd` always leaves a key file that opens; key files are
//! private and passwords never leave their files. The paper key is in
//! `keys/paper.rs`.

mod paper;

use cairn_tests::{assert_code, random_bytes, Env, PASSWORD};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// Cheap Argon2id for key files the test does not time.
const FAST: [&str; 4] = ["--kdf-memory-kib", "1024", "--kdf-iterations", "1"];

/// A password file in the scratch area.
fn password(env: &Env, name: &str, secret: &str) -> PathBuf {
    let p = env.path(name);
    fs::write(&p, format!("{secret}\n")).unwrap();
    p
}

/// Run `cairn` with the current password from `pw`.
fn with(env: &Env, pw: &Path, args: &[&str]) -> Output {
    env.cmd(args)
        .env("CAIRN_PASSWORD_FILE", pw)
        .output()
        .unwrap()
}

/// `args` followed by `--new-password-file new` and the cheap KDF.
fn new_key_args<'a>(args: &[&'a str], new: &'a Path) -> Vec<&'a str> {
    let mut a = args.to_vec();
    a.extend(["--new-password-file", new.to_str().unwrap()]);
    a.extend(FAST);
    a
}

/// Does the password in `pw` open the repository? (Exit 12 if not.)
fn opens(env: &Env, pw: &Path) -> bool {
    let out = with(env, pw, &["key", "list"]);
    match out.status.code() {
        Some(0) => true,
        Some(12) => false,
        _ => panic!("key list: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// `key list --json` with the password in `pw`.
fn list(env: &Env, pw: &Path) -> Vec<Value> {
    let out = with(env, pw, &["--json", "key", "list"]);
    assert_code(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["keys"].as_array().unwrap().clone()
}

/// With the password in `pw`, the latest snapshot restores `file` as it is.
fn assert_restores(env: &Env, pw: &Path, file: &Path) {
    let t = env.path("restored");
    let out = with(
        env,
        pw,
        &["restore", "latest", "--target", t.to_str().unwrap()],
    );
    assert_code(&out, 0);
    let restored = t.join(file.strip_prefix("/").unwrap());
    assert_eq!(fs::read(restored).unwrap(), fs::read(file).unwrap());
}

/// The names in `keys/` (temporaries of killed writes left out).
fn key_files(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(env.repo.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn add_use_passwd_and_remove_key_files() {
    let env = Env::init();
    let first = env.pwfile.clone();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(50_000, 3)).unwrap();
    env.backup(&src, &[]);
    let [original] = key_files(&env).try_into().unwrap();

    let second = password(&env, "pw2", "second password");
    let out = with(
        &env,
        &first,
        &new_key_args(
            &["--json", "key", "add", "--label", "laptop", "--host", "h2"],
            &second,
        ),
    );
    assert_code(&out, 0);
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let added_id = added["added"].as_str().unwrap().to_owned();
    assert_eq!(key_files(&env), {
        let mut v = vec![original.clone(), added_id.clone()];
        v.sort();
        v
    });
    // Each password opens its own key file, as `key list` marks it.
    for (pw, own) in [(&first, &original), (&second, &added_id)] {
        let keys = list(&env, pw);
        assert_eq!(keys.len(), 2);
        for k in &keys {
            assert_eq!(k["in_use"], k["id"] == own.as_str(), "{k}");
        }
    }
    let labelled = list(&env, &first)
        .into_iter()
        .find(|k| k["id"] == added_id.as_str())
        .unwrap();
    assert_eq!(labelled["label"], "laptop");
    assert_eq!(labelled["host"], "h2");
    assert_code(&with(&env, &second, &["snapshots"]), 0);

    // passwd replaces the second password's key file, keeping its label.
    let third = password(&env, "pw3", "third password");
    let out = with(
        &env,
        &second,
        &new_key_args(&["--json", "key", "passwd"], &third),
    );
    assert_code(&out, 0);
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changed["removed"], added_id.as_str());
    assert_eq!(changed["label"], "laptop");
    assert!(!opens(&env, &second), "the old password still opens");
    assert!(opens(&env, &third) && opens(&env, &first));
    assert_eq!(key_files(&env).len(), 2);

    // Remove the first password's key file with the third password.
    let out = with(&env, &third, &["key", "remove", &original[..8]]);
    assert_code(&out, 0);
    assert!(!opens(&env, &first));
    assert_eq!(
        key_files(&env),
        vec![changed["added"].as_str().unwrap().to_owned()]
    );
    assert_restores(&env, &third, &src.join("f"));
}

#[test]
fn the_last_readable_key_file_is_never_removed() {
    let env = Env::init();
    let [only] = key_files(&env).try_into().unwrap();
    let out = env.run(&["key", "remove", &only, "--force"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("last readable key file"));
    assert_eq!(key_files(&env), vec![only.clone()]);
    // A damaged file in keys/ is no second key: still refused.
    fs::write(env.repo.join("keys").join("ab".repeat(32)), b"CRNK\x01junk").unwrap();
    let keys = list(&env, &env.pwfile);
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k["error"].is_string()));
    assert_code(&env.run(&["key", "remove", &only, "--force"]), 2);
    assert!(opens(&env, &env.pwfile));
    // The damaged one may go: a readable key file remains.
    assert_code(&env.run(&["key", "remove", "abab"]), 0);
    assert_eq!(key_files(&env), vec![only]);
}

#[test]
fn the_key_file_in_use_is_removed_only_with_force() {
    let env = Env::init();
    let [in_use] = key_files(&env).try_into().unwrap();
    let other = password(&env, "pw2", "other password");
    assert_code(&env.run(&new_key_args(&["key", "add"], &other)), 0);
    let before = env.repo_fingerprint();
    let out = env.run(&["key", "remove", &in_use[..12]]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(env.repo_fingerprint(), before, "something was written");
    assert_code(&env.run(&["key", "remove", &in_use[..12], "--force"]), 0);
    assert!(!opens(&env, &env.pwfile));
    assert!(opens(&env, &other));
    // A prefix that matches nothing, or is not hex: nothing removed.
    assert_code(&with(&env, &other, &["key", "remove", "zz"]), 2);
    assert_code(&with(&env, &other, &["key", "remove", &in_use[..12]]), 1);
    assert_eq!(key_files(&env).len(), 1);
}

/// Start `key passwd` from `current` to `new` with a slow Argon2id (about
/// a second per run) and SIGKILL it once `moment` holds (or after
/// `delay`); returns whether the kill hit a running process.
fn kill_passwd(
    env: &Env,
    current: &Path,
    new: &Path,
    delay: Duration,
    moment: &dyn Fn() -> bool,
) -> bool {
    let mut child = env
        .cmd(&[
            "key",
            "passwd",
            "--new-password-file",
            new.to_str().unwrap(),
            "--kdf-memory-kib",
            "131072",
            "--kdf-iterations",
            "4",
        ])
        .env("CAIRN_PASSWORD_FILE", current)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !(moment() || start.elapsed() >= delay) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the moment never came"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().unwrap().signal() == Some(9)
}

/// After a kill: some password opens, and every key file is whole (opens
/// with one of the passwords).
fn assert_working(env: &Env, pws: &[&Path]) -> Vec<PathBuf> {
    let working: Vec<PathBuf> = pws
        .iter()
        .filter(|p| opens(env, p))
        .map(|p| p.to_path_buf())
        .collect();
    assert!(
        !working.is_empty(),
        "no password opens the repository: {:?}",
        key_files(env)
    );
    let mut in_use: Vec<String> = Vec::new();
    for p in &working {
        for k in list(env, p) {
            assert!(k["error"].is_null(), "{k}");
            if k["in_use"] == true {
                in_use.push(k["id"].as_str().unwrap().to_owned());
            }
        }
    }
    in_use.sort();
    in_use.dedup();
    assert_eq!(in_use, key_files(env), "a key file no password opens");
    working
}

#[test]
fn a_killed_key_passwd_leaves_a_working_key_file() {
    let env = Env::init();
    let old = env.pwfile.clone();
    let new = password(&env, "new", "new password");
    let before = key_files(&env);

    // During the Argon2id of the new key file: it holds the lock and has
    // written nothing yet; the old password must still open.
    let locks = env.repo.join("locks");
    let locked = || {
        fs::read_dir(&locks)
            .unwrap()
            .flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
    };
    assert!(
        kill_passwd(&env, &old, &new, Duration::MAX, &locked),
        "passwd finished before the kill"
    );
    assert_eq!(key_files(&env), before);
    assert_eq!(assert_working(&env, &[&old, &new]), vec![old.clone()]);

    // Right after the new key file appears: it must open already.
    let appeared = || key_files(&env).len() > before.len();
    assert!(
        kill_passwd(&env, &old, &new, Duration::MAX, &appeared),
        "passwd finished before the kill"
    );
    assert!(
        opens(&env, &new),
        "the new key file was visible before it was whole"
    );
    assert_working(&env, &[&old, &new]);

    // At spread-out moments, each from whichever password works now.
    let mut working = assert_working(&env, &[&old, &new]);
    let mut killed = 0;
    for (i, ms) in [0u64, 100, 300, 500, 700, 900].into_iter().enumerate() {
        let next = password(&env, &format!("pw{i}"), &format!("password {i}"));
        let current = working.last().unwrap().clone();
        killed += kill_passwd(&env, &current, &next, Duration::from_millis(ms), &|| false) as usize;
        let mut candidates: Vec<&Path> = working.iter().map(PathBuf::as_path).collect();
        candidates.push(&next);
        working = assert_working(&env, &candidates);
    }
    assert!(killed >= 3, "only {killed} kills hit a running passwd");
}

#[test]
fn key_files_are_private_and_passwords_stay_in_their_files() {
    let env = Env::init();
    let new = password(&env, "new", "fresh secret words");
    // No flag takes a password, and the current password is never taken
    // for the new one: without a new-password source or a terminal the
    // command refuses and writes nothing.
    let before = env.repo_fingerprint();
    let out = env.run(&["key", "add", "--new-password", "fresh secret words"]);
    assert_code(&out, 2);
    let from_file = env.run(&["key", "add"]);
    let from_var = env
        .cmd(&["key", "add"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .env("CAIRN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    for out in [from_file, from_var] {
        assert_code(&out, 2);
        assert!(String::from_utf8_lossy(&out.stderr).contains("no new password given"));
    }
    let out = env.run(&[
        "key",
        "add",
        "--new-password-command",
        "echo fresh secret words; exit 3",
    ]);
    assert_code(&out, 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("fresh secret"));
    assert_eq!(env.repo_fingerprint(), before);

    let mut seen = Vec::new();
    for args in [
        new_key_args(&["key", "add", "--label", "l"], &new),
        vec!["key", "list"],
        vec!["--json", "key", "list"],
        new_key_args(&["--json", "key", "add"], &new),
        new_key_args(&["-v", "key", "passwd"], &new),
    ] {
        let out = env.run(&args);
        assert_code(&out, 0);
        seen.extend(out.stdout);
        seen.extend(out.stderr);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        !text.contains(PASSWORD) && !text.contains("fresh secret"),
        "{text}"
    );
    let names = key_files(&env);
    assert_eq!(names.len(), 3);
    for name in names {
        let mode = fs::metadata(env.repo.join("keys").join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "keys/{name} is mode {mode:o}");
    }
}
