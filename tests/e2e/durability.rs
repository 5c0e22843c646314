//! Durability: a backup killed with SIGKILL at arbitrary points never
//! damages what is already stored.

use cairn_tests::{random_bytes, Env};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

#[test]
fn sigkill_during_backup_never_damages_the_repository() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("base")).unwrap();
    for i in 0..8 {
        fs::write(src.join(format!("base/f{i}")), random_bytes(1 << 20, i)).unwrap();
    }
    let first = env.backup(&src, &[]);
    let first_id = first["snapshot_id"].as_str().unwrap().to_owned();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed = 0;
    for round in 0..50u64 {
        // New data each round, so every backup has work to do.
        fs::write(
            src.join(format!("new{round}")),
            random_bytes(6 << 20, 100 + round),
        )
        .unwrap();
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_micros((seed >> 33) % 60_000);
        let mut child = env
            .cmd(&["backup", src.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.signal() == Some(9) {
            killed += 1;
        }
        let check = env.json(&["check"]);
        assert_eq!(
            check["ok"], true,
            "round {round} (killed after {delay:?}): {check}"
        );
        let v = env.json(&["verify", &first_id]);
        assert_eq!(v["ok"], true, "round {round}: first snapshot damaged: {v}");
        if round % 10 == 9 {
            let s = env.backup(&src, &[]);
            assert_eq!(s["partial"], false);
        }
    }
    assert!(
        killed >= 20,
        "only {killed} of 50 backups were killed mid-way"
    );
    // Every snapshot still verifies, and the latest restores byte-exact.
    let snaps = env.json(&["snapshots"]);
    for s in snaps.as_array().unwrap() {
        assert_eq!(env.json(&["verify", s["id"].as_str().unwrap()])["ok"], true);
    }
    env.backup(&src, &[]);
    let t = env.restore_latest("out");
    cairn_tests::assert_same_tree(&src, &t.join(src.strip_prefix("/").unwrap()));
}

/// A tmpfs mounted for one test, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// Mount it at `at`; `None` (with the reason printed) where this
    /// process may not mount: not root, or root without CAP_SYS_ADMIN (an
    /// unprivileged container).
    fn mount(at: &std::path::Path, size: &str) -> Option<SmallDisk> {
        if !cairn_tests::is_root() {
            cairn_tests::skip("the disk-full test mounts a tmpfs and needs root (CI runs it)");
            return None;
        }
        fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        if !out.status.success() {
            cairn_tests::skip(&format!(
                "the disk-full test could not mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Some(SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn backup_onto_a_full_disk_fails_cleanly_and_keeps_the_repository_valid() {
    let mut env = Env::new();
    let disk = env.path("small");
    let Some(mounted) = SmallDisk::mount(&disk, "24m") else {
        return;
    };
    env.repo = disk.join("repo");
    env.ok(&["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("small"), random_bytes(1 << 20, 1)).unwrap();
    let first = env.backup(&src, &[]);
    fs::write(src.join("huge"), random_bytes(40 << 20, 2)).unwrap();
    let out = env.run(&["backup", src.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no space left"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The message names the temporary pack where it is: in data/, not in
    // a fan-out directory made up from its name.
    assert!(
        err.contains("/data/.tmp-") && !err.contains("/.t/"),
        "{err}"
    );
    assert_eq!(
        env.json(&["snapshots"]).as_array().unwrap().len(),
        1,
        "a snapshot was written"
    );
    assert_eq!(env.json(&["check"])["ok"], true);
    let id = first["snapshot_id"].as_str().unwrap();
    assert_eq!(env.json(&["verify", id])["ok"], true);
    let t = env.path("out");
    env.ok(&["restore", id, "--target", t.to_str().unwrap()]);
    let back = fs::read(t.join(src.strip_prefix("/").unwrap()).join("small")).unwrap();
    assert!(back == fs::read(src.join("small")).unwrap());
    drop(mounted); // unmount before the scratch directory is removed
    drop(env);
}
