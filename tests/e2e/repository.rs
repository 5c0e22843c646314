//! Properties of the repository itself: it explains itself, it is private,
//! and it survives interruption.

use cairn_tests::{assert_code, random_bytes, Env};
use std::fs;
use std::os::unix::fs::PermissionsExt;

mod self_describing;

#[test]
fn init_writes_a_copy_of_the_spec() {
    let env = Env::init();
    let spec_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec");
    let copy = fs::read_to_string(env.repo.join("spec/README.md")).unwrap();
    assert_eq!(
        copy,
        fs::read_to_string(spec_dir.join("README.md")).unwrap()
    );
    let pack_spec = fs::read_to_string(env.repo.join("spec/v1-packs-and-index.md")).unwrap();
    assert_eq!(
        pack_spec,
        fs::read_to_string(spec_dir.join("v1/packs-and-index.md")).unwrap()
    );
    let marker = fs::read_to_string(env.repo.join("CAIRN")).unwrap();
    assert!(marker.starts_with("CAIRN-REPOSITORY 1\n"));
    // Exactly the bytes the spec prescribes.
    let overview = fs::read_to_string(spec_dir.join("v1/overview.md")).unwrap();
    let start = overview.find("```\nCAIRN-REPOSITORY 1\n").unwrap() + 4;
    let end = start + overview[start..].find("```").unwrap();
    assert_eq!(marker, &overview[start..end]);
}

#[test]
fn repository_and_cache_files_are_not_world_readable() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(100_000, 1)).unwrap();
    env.backup(&src, &[]);
    let mut checked = 0;
    for root in [&env.repo, &env.cache] {
        for e in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
        {
            if root == &env.cache && e.depth() > 1 {
                continue; // RocksDB's own files live inside the private directory
            }
            let mode = e.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", e.path().display());
            checked += 1;
        }
    }
    assert!(checked > 10);
}

#[test]
fn password_from_env_and_command_never_echoed() {
    let env = Env::init();
    let secret = cairn_tests::PASSWORD;
    let out = env
        .cmd(&["snapshots"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .env("CAIRN_PASSWORD", secret)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = env
        .cmd(&["-v", "snapshots"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .env("CAIRN_PASSWORD_COMMAND", format!("echo '{secret}'"))
        .output()
        .unwrap();
    assert_code(&out, 0);
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains(secret));
    let out = env
        .cmd(&["snapshots"])
        .env_remove("CAIRN_PASSWORD_FILE")
        .output()
        .unwrap();
    assert_code(&out, 2); // no password source and no terminal
}

#[test]
fn interrupted_backup_exits_130_writes_no_snapshot_and_next_backup_works() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..6 {
        fs::write(src.join(format!("big{i}")), random_bytes(64 << 20, i)).unwrap();
    }
    let child = env
        .cmd(&["backup", src.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt as soon as the backup has started writing its first pack.
    env.wait_until_writing();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 130);
    assert!(
        fs::read_dir(env.repo.join("snapshots"))
            .unwrap()
            .next()
            .is_none(),
        "a snapshot was written"
    );
    assert!(
        fs::read_dir(env.repo.join("locks"))
            .unwrap()
            .next()
            .is_none(),
        "lock left behind"
    );
    let s = env.backup(&src, &[]);
    assert_eq!(s["files"], 6);
    let t = env.restore_latest("out");
    let r = t.join(src.strip_prefix("/").unwrap());
    assert!(fs::read(r.join("big5")).unwrap() == fs::read(src.join("big5")).unwrap());
}

#[test]
fn one_file_system_stops_at_mount_points() {
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata("/dev").unwrap().dev();
    match fs::metadata("/dev/pts") {
        Ok(pts) if pts.dev() != dev => {}
        _ => return cairn_tests::skip(
            "one_file_system_stops_at_mount_points needs /dev/pts mounted as its own filesystem",
        ),
    }
    let env = Env::init();
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "backup", "/dev"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        env.ok(&["ls", "latest", "/dev/pts"])
    };
    let ls = run(&["-x"]);
    assert_eq!(ls.trim(), "/dev/pts", "crossed into /dev/pts");
    let ls = run(&[]);
    assert!(ls.contains("/dev/pts/"), "{ls}");
}
