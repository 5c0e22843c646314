//! Locking: concurrent backups are safe; an exclusive lock blocks them.

use cairn_engine::backend::LocalBackend;
use cairn_engine::Repository;
use cairn_tests::{assert_code, random_bytes, Env, PASSWORD};
use std::fs;
use std::sync::Arc;

#[test]
fn concurrent_backups_both_succeed_and_restore() {
    let env = Env::init();
    let mut srcs = Vec::new();
    for i in 0..3u64 {
        let s = env.path(&format!("src{i}"));
        fs::create_dir_all(&s).unwrap();
        fs::write(s.join("shared"), random_bytes(4 << 20, 100)).unwrap();
        fs::write(s.join("own"), random_bytes(3 << 20, i)).unwrap();
        srcs.push(s);
    }
    let children: Vec<_> = srcs
        .iter()
        .map(|s| {
            env.cmd(&["backup", s.to_str().unwrap()])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_code(&out, 0);
    }
    let snaps = env.json(&["snapshots"]);
    assert_eq!(snaps.as_array().unwrap().len(), 3);
    for (i, s) in srcs.iter().enumerate() {
        let t = env.path(&format!("out{i}"));
        let id = snaps
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["paths"][0] == s.to_str().unwrap())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        env.ok(&["restore", &id, "--target", t.to_str().unwrap()]);
        let r = t.join(s.strip_prefix("/").unwrap());
        assert!(fs::read(r.join("own")).unwrap() == fs::read(s.join("own")).unwrap());
        assert!(fs::read(r.join("shared")).unwrap() == fs::read(s.join("shared")).unwrap());
    }
    assert!(
        fs::read_dir(env.repo.join("locks"))
            .unwrap()
            .next()
            .is_none(),
        "locks left behind"
    );
}

#[test]
fn exclusive_lock_blocks_backup_with_exit_11() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let repo = Repository::open(
        Arc::new(LocalBackend::new(&env.repo)),
        PASSWORD.as_bytes(),
        env.path("own-cache"),
    )
    .unwrap();
    let guard = repo.lock(cairn_engine::LockMode::Exclusive).unwrap();
    let out = env.run(&["backup", src.to_str().unwrap()]);
    assert_code(&out, 11);
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"));
    drop(guard);
    env.backup(&src, &[]);
}

#[test]
fn deleting_the_cache_loses_nothing() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(2 << 20, 8)).unwrap();
    env.backup(&src, &[]);
    fs::remove_dir_all(&env.cache).unwrap();
    env.restore_latest("out");
    // A rebuilt cache still deduplicates.
    let again = env.backup(&src, &["--parent", "latest"]);
    assert!(again["new_bytes"].as_u64().unwrap() < 10_000, "{again}");
}
