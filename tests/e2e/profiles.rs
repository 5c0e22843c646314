//! Profiles (`--config`, `--profile`), `--password-command` and
//! `cairn schedule` (in `schedule.rs`), through the real binary.

mod schedule;

use cairn_tests::{assert_code, assert_success, Env};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cairn` with the scratch area's environment minus the repository,
/// password and cache variables, so only flags and the profile give them.
fn bare(env: &Env, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    c.env_remove("CAIRN_REPOSITORY")
        .env_remove("CAIRN_PASSWORD_FILE")
        .env_remove("CAIRN_CACHE_DIR");
    c
}

/// Write `text` as a config file in the scratch area; returns its path.
fn config(env: &Env, name: &str, text: &str) -> String {
    let p = env.path(name);
    fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_profile_gives_repository_password_and_cache_to_init_backup_and_snapshots() {
    let env = Env::new();
    let cache = env.path("profile-cache");
    let cfg = config(
        &env,
        "cairn.toml",
        &format!(
            "[profiles.home]\nrepository = \"{}\"\npassword-command = \"cat '{}'\"\ncache-dir = \"{}\"\n",
            s(&env.repo),
            s(&env.pwfile),
            s(&cache)
        ),
    );
    let with = |args: &[&str]| {
        let mut a = vec!["--config", &cfg, "--profile", "home"];
        a.extend_from_slice(args);
        bare(&env, &a).output().unwrap()
    };
    let out = with(&["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
    assert_success(&out, &["init"]);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"profile data").unwrap();
    assert_success(&with(&["backup", s(&src)]), &["backup"]);
    let out = with(&["--json", "snapshots"]);
    assert_success(&out, &["snapshots"]);
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snaps.as_array().map(Vec::len), Some(1), "{snaps}");
    // The profile's cache directory was used, and the repository is the
    // one the profile names (read here without the profile).
    assert!(
        fs::read_dir(&cache).is_ok_and(|d| d.count() > 0),
        "no cache in {cache:?}"
    );
    assert_eq!(env.json(&["snapshots"]).as_array().map(Vec::len), Some(1));
}

#[test]
fn flags_and_environment_win_over_the_profile() {
    let env = Env::init();
    let wrong = env.path("wrong-password");
    fs::write(&wrong, "not the password\n").unwrap();
    let cfg = config(
        &env,
        "cairn.toml",
        &format!(
            "[profiles.p]\nrepository = \"{}\"\npassword-file = \"{}\"\n",
            s(&env.repo),
            s(&wrong)
        ),
    );
    // Nothing else given: the profile's (wrong) password is used.
    let out = bare(&env, &["--config", &cfg, "--profile", "p", "snapshots"])
        .output()
        .unwrap();
    assert_code(&out, 12);
    // A flag wins over it ...
    for flag in [
        vec!["--password-file", s(&env.pwfile)],
        vec!["--password-command", &format!("cat '{}'", s(&env.pwfile))],
    ] {
        let mut a = vec!["--config", &cfg, "--profile", "p"];
        a.extend(flag.iter().copied());
        a.push("snapshots");
        assert_code(&bare(&env, &a).output().unwrap(), 0);
    }
    // ... and so does the environment (Env sets CAIRN_PASSWORD_FILE).
    let out = env.run(&["--config", &cfg, "--profile", "p", "snapshots"]);
    assert_code(&out, 0);
    // The repository: -r wins over the profile's.
    let other = env.path("not-a-repo");
    let out = bare(
        &env,
        &[
            "--config",
            &cfg,
            "--profile",
            "p",
            "-r",
            s(&other),
            "snapshots",
        ],
    )
    .output()
    .unwrap();
    assert_code(&out, 10);
    assert!(stderr(&out).contains("not-a-repo"), "{}", stderr(&out));
}

#[test]
fn password_command_flag_gives_the_first_line_and_hides_a_failure() {
    let env = Env::init();
    let ok = format!("cat '{}'; echo second line", s(&env.pwfile));
    let out = bare(
        &env,
        &["-r", s(&env.repo), "--password-command", &ok, "snapshots"],
    )
    .output()
    .unwrap();
    assert_code(&out, 0);
    // The flag wins over the environment's command.
    let out = bare(
        &env,
        &["-r", s(&env.repo), "--password-command", &ok, "snapshots"],
    )
    .env("CAIRN_PASSWORD_COMMAND", "exit 1")
    .output()
    .unwrap();
    assert_code(&out, 0);
    // A failing command: exit 1, and nothing it printed is shown.
    let secret = "LEAKED-IF-SHOWN";
    let failing = format!("echo {secret}; exit 3");
    for json in [false, true] {
        let mut a = vec![
            "-r",
            s(&env.repo),
            "--password-command",
            &failing,
            "snapshots",
        ];
        if json {
            a.insert(0, "--json");
        }
        let out = bare(&env, &a).output().unwrap();
        assert_code(&out, 1);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(secret), "{all}");
        assert!(!all.contains("echo"), "the command itself was shown: {all}");
        assert!(
            stderr(&out).contains("the password command failed"),
            "{}",
            stderr(&out)
        );
    }
    // Empty output is refused like an empty password file.
    let out = bare(
        &env,
        &[
            "-r",
            s(&env.repo),
            "--password-command",
            "true",
            "snapshots",
        ],
    )
    .output()
    .unwrap();
    assert_code(&out, 2);
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    // Both flags: a usage error.
    let out = bare(
        &env,
        &[
            "-r",
            s(&env.repo),
            "--password-command",
            &ok,
            "--password-file",
            s(&env.pwfile),
            "snapshots",
        ],
    )
    .output()
    .unwrap();
    assert_code(&out, 2);
}

/// Each invalid config exits 2 and names the file, the line and the key.
#[test]
fn invalid_configs_name_file_line_and_key() {
    let env = Env::init();
    let head = format!("[profiles.p]\nrepository = \"{}\"\n", s(&env.repo));
    let cases = [
        (
            format!("{head}[profiles.p.retention]\nkeep-daily = 7\nkeep-dayly = 3\n"),
            "line 5, key profiles.p.retention.keep-dayly",
            "unknown field",
        ),
        (
            format!("{head}[profiles.p.retention]\nkeep-daily = -7\n"),
            "line 4, key profiles.p.retention.keep-daily",
            "-1 for all",
        ),
        (
            format!("{head}[profiles.p.retention]\nkeep-within = \"2 weeks\"\n"),
            "line 4, key profiles.p.retention.keep-within",
            "not a retention duration",
        ),
        (
            "[profiles.p]\n\nrepository = \"sftp:host:/srv/repo\"\n".to_owned(),
            "line 3, key profiles.p.repository",
            "no backend for 'sftp:'",
        ),
        (
            "[profiles.p]\nrepository = \"s3://Not_A_Bucket/x\"\n".to_owned(),
            "line 2, key profiles.p.repository",
            "not a bucket name",
        ),
        (
            format!("{head}[[profiles.p.sources]]\npaths = [\"/srv\"\n"),
            "line 4, key profiles.p.sources.paths",
            "",
        ),
        (
            format!("{head}[profiles.p.scrub]\nsubset = \"0%\"\n"),
            "line 4, key profiles.p.scrub.subset",
            "1% to 100%",
        ),
    ];
    for (i, (text, place, why)) in cases.iter().enumerate() {
        let cfg = config(&env, &format!("bad-{i}.toml"), text);
        for args in [
            vec!["--config", cfg.as_str(), "--profile", "p", "snapshots"],
            vec!["--config", cfg.as_str(), "snapshots"],
        ] {
            let out = env.run(&args);
            assert_code(&out, 2);
            let err = stderr(&out);
            assert!(
                err.contains(&format!("config file {cfg}, {place}")) && err.contains(why),
                "case {i}: wanted '{place}' and '{why}' in: {err}"
            );
        }
    }
    let good = config(&env, "good.toml", &head);
    let out = env.run(&["--config", &good, "--profile", "q", "snapshots"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("no profile 'q'") && stderr(&out).contains("profiles: p"));
}

#[test]
fn the_config_is_found_in_xdg_config_home_then_home() {
    let env = Env::init();
    let text = format!(
        "[profiles.p]\nrepository = \"{}\"\npassword-file = \"{}\"\n",
        s(&env.repo),
        s(&env.pwfile)
    );
    // HOME is the scratch area (Env sets it): ~/.config/cairn/cairn.toml.
    let home_cfg = env.path(".config/cairn");
    fs::create_dir_all(&home_cfg).unwrap();
    fs::write(home_cfg.join("cairn.toml"), &text).unwrap();
    assert_code(
        &bare(&env, &["--profile", "p", "snapshots"])
            .output()
            .unwrap(),
        0,
    );
    // XDG_CONFIG_HOME comes first: a profile only there is found, and the
    // one under HOME is no longer read.
    let xdg = env.path("xdg");
    fs::create_dir_all(xdg.join("cairn")).unwrap();
    fs::write(
        xdg.join("cairn/cairn.toml"),
        text.replace("profiles.p", "profiles.x"),
    )
    .unwrap();
    let run = |name: &str| {
        bare(&env, &["--profile", name, "snapshots"])
            .env("XDG_CONFIG_HOME", &xdg)
            .output()
            .unwrap()
    };
    assert_code(&run("x"), 0);
    let out = run("p");
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("xdg/cairn/cairn.toml"),
        "{}",
        stderr(&out)
    );
}
