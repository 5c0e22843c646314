//! `cairn schedule install | list | remove` into scratch directories:
//! the units pass `systemd-analyze verify` where it exists, the cron file
//! has its exact format, and only files Cairn wrote are ever replaced or
//! removed.

use super::{config, s, stderr, stdout};
use cairn_tests::{assert_code, assert_success, Env};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A config with a scheduled profile `p` whose password is behind a
/// command with a recognisable secret in it.
fn scheduled(env: &Env, schedule: &str) -> String {
    config(
        env,
        "sched.toml",
        &format!(
            "[profiles.p]\nrepository = \"{}\"\npassword-command = \"echo PW-IN-CONFIG\"\n[profiles.p.schedule]\n{schedule}\n",
            s(&env.repo)
        ),
    )
}

/// `cairn --config CFG schedule install p EXTRA...`.
fn install(env: &Env, cfg: &str, extra: &[&str]) -> Output {
    let mut a = vec!["--config", cfg, "schedule", "install", "p"];
    a.extend_from_slice(extra);
    env.run(&a)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn schedule_install_writes_units_that_systemd_analyze_accepts() {
    let env = Env::new();
    let cfg = scheduled(&env, "on-calendar = \"Mon..Fri *-*-* 02:30:00\"");
    let units = env.path("units");
    fs::create_dir_all(&units).unwrap();
    // A relative --config becomes absolute in the unit.
    let out = env
        .cmd(&[
            "--config",
            "sched.toml",
            "schedule",
            "install",
            "p",
            "--unit-dir",
            s(&units),
        ])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert_success(&out, &["schedule", "install"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("systemctl daemon-reload && systemctl enable --now cairn-p.timer"),
        "{said}"
    );
    let service = units.join("cairn-p.service");
    let timer = units.join("cairn-p.timer");
    let st = fs::read_to_string(&service).unwrap();
    let tt = fs::read_to_string(&timer).unwrap();
    assert!(
        st.starts_with("# Written by cairn schedule install"),
        "{st}"
    );
    assert!(st.contains(&format!(" --config {cfg} run p\n")), "{st}");
    assert!(
        tt.contains("\nOnCalendar=Mon..Fri *-*-* 02:30:00\n"),
        "{tt}"
    );
    assert!(tt.contains("\nPersistent=true\n"), "{tt}");
    for (p, t) in [(&service, &st), (&timer, &tt)] {
        assert_eq!(mode(p), 0o644, "{p:?}");
        assert!(!t.contains("PW-IN-CONFIG"), "{t}");
    }
    // No temporary file left behind.
    assert_eq!(fs::read_dir(&units).unwrap().count(), 2);
    if !cairn_tests::has_systemd_analyze() {
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args([&service, &timer])
        .output()
        .unwrap();
    // verify exits 0 on mere warnings; it prints them, so none is allowed.
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify: {}{}",
        stdout(&out),
        stderr(&out)
    );
    // An expression systemd refuses is refused at install.
    let bad = scheduled(&env, "on-calendar = \"Mon..Fri 25:00\"");
    let out = install(&env, &bad, &["--unit-dir", s(&units)]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("systemd-analyze calendar"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schedule_install_cron_writes_one_line_as_root_with_a_path() {
    let env = Env::new();
    let dir = env.path("cron.d");
    fs::create_dir_all(&dir).unwrap();
    let cron = |schedule: &str| {
        let cfg = scheduled(&env, schedule);
        let out = install(&env, &cfg, &["--cron", "--cron-dir", s(&dir)]);
        (cfg, out)
    };
    let (cfg, out) = cron("on-calendar = \"daily\"\ncron = \"30 2 * * 1-5\"");
    assert_success(&out, &["schedule", "install", "--cron"]);
    let file = dir.join("cairn-p");
    let expected = format!(
        "# Written by cairn schedule install for profile p; `cairn schedule remove p` deletes it.\n\
         SHELL=/bin/sh\n\
         PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         30 2 * * 1-5 root {} --config {cfg} run p\n",
        fs::canonicalize(cairn_tests::cairn_bin()).unwrap().display()
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), expected);
    assert_eq!(mode(&file), 0o644);
    // A calendar shorthand alone becomes its cron line; anything else
    // needs a cron expression.
    let (_, out) = cron("on-calendar = \"weekly\"");
    assert_success(&out, &["schedule", "install", "--cron"]);
    assert!(fs::read_to_string(&file)
        .unwrap()
        .contains("\n0 0 * * 1 root "));
    let (_, out) = cron("on-calendar = \"*-*-* 02:30:00\"");
    assert_code(&out, 2);
    assert!(stderr(&out).contains("cron = "), "{}", stderr(&out));
    // --cron-dir without --cron is a usage error.
    let (cfg, _) = cron("cron = \"@daily\"");
    assert_code(&install(&env, &cfg, &["--cron-dir", s(&dir)]), 2);
    // A profile without [schedule] cannot be installed.
    let plain = config(
        &env,
        "plain.toml",
        &format!("[profiles.p]\nrepository = \"{}\"\n", s(&env.repo)),
    );
    let out = install(&env, &plain, &["--cron", "--cron-dir", s(&dir)]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("has no [schedule]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schedule_remove_deletes_only_files_cairn_wrote() {
    let env = Env::new();
    let cfg = scheduled(&env, "on-calendar = \"daily\"\ncron = \"0 3 * * *\"");
    let units = env.path("units");
    let cron = env.path("cron.d");
    let wants = units.join("timers.target.wants");
    fs::create_dir_all(&wants).unwrap();
    fs::create_dir_all(&cron).unwrap();
    let (unit_dir, cron_dir) = (
        ["--unit-dir", s(&units)],
        ["--cron", "--cron-dir", s(&cron)],
    );
    let foreign = "[Unit]\nDescription=someone else's\n";
    fs::write(units.join("cairn-p.timer"), foreign).unwrap();
    // install refuses to overwrite it, and writes neither unit.
    let out = install(&env, &cfg, &unit_dir);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("cairn-p.timer was not written by"),
        "{}",
        stderr(&out)
    );
    assert!(!units.join("cairn-p.service").exists());
    assert_success(
        &install(&env, &cfg, &cron_dir),
        &["schedule", "install", "--cron"],
    );
    // remove refuses too, and removes nothing (not even the cron file).
    let remove = [
        "schedule",
        "remove",
        "p",
        "--unit-dir",
        s(&units),
        "--cron-dir",
        s(&cron),
    ];
    assert_code(&env.run(&remove), 1);
    assert_eq!(
        fs::read_to_string(units.join("cairn-p.timer")).unwrap(),
        foreign
    );
    assert!(cron.join("cairn-p").exists());
    // Without the foreign file: install, "enable", list, remove.
    fs::remove_file(units.join("cairn-p.timer")).unwrap();
    assert_success(&install(&env, &cfg, &unit_dir), &["schedule", "install"]);
    std::os::unix::fs::symlink(units.join("cairn-p.timer"), wants.join("cairn-p.timer")).unwrap();
    let listed = env.json(&[
        "schedule",
        "list",
        "--unit-dir",
        s(&units),
        "--cron-dir",
        s(&cron),
    ]);
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{listed}");
    assert!(
        files
            .iter()
            .any(|f| f["schedule"] == "daily" && f["enabled"] == true),
        "{listed}"
    );
    assert!(
        files
            .iter()
            .any(|f| f["kind"] == "cron" && f["schedule"] == "0 3 * * *"),
        "{listed}"
    );
    assert_success(&env.run(&remove), &["schedule", "remove"]);
    let left: Vec<PathBuf> = [
        units.join("cairn-p.service"),
        units.join("cairn-p.timer"),
        wants.join("cairn-p.timer"),
        cron.join("cairn-p"),
    ]
    .into_iter()
    .filter(|p| fs::symlink_metadata(p).is_ok())
    .collect();
    assert!(left.is_empty(), "{left:?}");
    // Nothing left: remove says so (exit 1).
    assert_code(&env.run(&remove), 1);
}
