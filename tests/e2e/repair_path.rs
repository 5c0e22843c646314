//! Every finding ends in advice that works: lose one pack (no parity, no
//! copy), then do exactly what Cairn says, step by step, until `check` is
//! clean and every remaining snapshot restores.

use cairn_tests::{assert_code, random_bytes, Env};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

/// The commands in backticks in `text`, minus those that need a copy of
/// the repository (`--from DIR`), which this user does not have.
fn advice(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("cairn ") && !c.contains("DIR"))
        .map(str::to_owned)
        .collect()
}

/// Five snapshots; the third one's backup stored nothing but its trees,
/// so its single new pack holds its root tree and the tree of `a/`, which
/// the fourth and fifth snapshots share.
fn five_snapshots() -> (Env, PathBuf, PathBuf) {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::create_dir_all(src.join("b")).unwrap();
    fs::write(src.join("a/f1"), random_bytes(200_000, 1)).unwrap();
    fs::write(src.join("b/g1"), random_bytes(100_000, 2)).unwrap();
    let time = |n: u32| format!("2026-01-0{n} 00:00:00");
    env.backup(&src, &["--time", &time(1)]);
    fs::write(src.join("b/g2"), random_bytes(50_000, 3)).unwrap();
    env.backup(&src, &["--time", &time(2)]);
    let packs_before: BTreeSet<PathBuf> = env.packs().into_iter().collect();
    let f1 = fs::File::options()
        .write(true)
        .open(src.join("a/f1"))
        .unwrap();
    f1.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
        .unwrap();
    drop(f1);
    env.backup(&src, &["--time", &time(3)]);
    let new: Vec<PathBuf> = env
        .packs()
        .into_iter()
        .filter(|p| !packs_before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "the third backup stores only its tree pack");
    fs::write(src.join("b/g3"), random_bytes(60_000, 4)).unwrap();
    env.backup(&src, &["--time", &time(4)]);
    fs::write(src.join("top"), b"fifth").unwrap();
    env.backup(&src, &["--time", &time(5)]);
    (env, src, new.into_iter().next().unwrap())
}

#[test]
fn losing_a_pack_leads_through_advice_to_a_clean_repository() {
    let (env, src, lost_pack) = five_snapshots();
    let snaps = env.json(&["snapshots"]);
    let ids: Vec<String> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    fs::remove_file(&lost_pack).unwrap();

    // The first thing a user tries: scrub --repair. It cannot help without
    // parity or a copy, and says what comes next.
    let out = env.run(&["scrub", "--repair"]);
    assert_code(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let next = advice(&stderr);
    assert_eq!(
        next.first().map(String::as_str),
        Some("cairn repair snapshots"),
        "{stderr}"
    );

    // Its advice: repair snapshots. Two snapshots lose `a/`; the third
    // cannot be repaired at all, and is named with what to do.
    let out = env.run(&["repair", "snapshots"]);
    assert_code(&out, 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The report is one stream: each snapshot and its lost files.
    assert_eq!(stdout.matches("lost:").count(), 2, "{stdout}");
    assert_eq!(
        stdout.matches("/a/ (whole directory)").count(),
        2,
        "{stdout}"
    );
    assert!(!stderr.contains("(whole directory)"), "{stderr}");
    assert!(
        stderr.contains(&format!("`cairn forget {}`", ids[2])),
        "{stderr}"
    );

    // Then: run check, do the first thing it advises, until it is clean.
    let mut done = Vec::new();
    for _ in 0..8 {
        // The findings as the user reads them: "error: PROBLEM; ADVICE".
        let out = env.run(&["check"]);
        if out.status.code() == Some(0) {
            break;
        }
        assert_code(&out, 4);
        let errors: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| l.strip_prefix("error: "))
            .map(str::to_owned)
            .collect();
        assert!(!errors.is_empty(), "check failed without findings");
        for e in &errors {
            assert!(
                !advice(e).is_empty() || e.contains("follow the advice given for each snapshot"),
                "a finding without advice that works: {e}"
            );
            assert!(!e.contains("condemned"), "{e}");
        }
        let next = errors
            .iter()
            .flat_map(|e| advice(e))
            .next()
            .unwrap_or_else(|| panic!("no runnable advice in {errors:#?}"));
        let args: Vec<&str> = next.split_whitespace().skip(1).collect();
        let out = env.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_code(&out, 0);
        assert!(!stdout.contains("panicked"));
        done.push(next);
    }
    assert_eq!(
        env.json(&["check"])["ok"],
        true,
        "still not clean after {done:?}"
    );
    assert_eq!(
        done,
        [
            format!("cairn forget {}", ids[2]),
            "cairn repair index".into()
        ],
        "check's advice after repair snapshots"
    );

    // Every remaining snapshot restores; what the lost pack held is gone,
    // the rest is exact.
    let snaps = env.json(&["snapshots"]);
    let left = snaps.as_array().unwrap();
    assert_eq!(left.len(), 4, "{snaps}");
    for (i, s) in left.iter().enumerate() {
        let t = env.path(&format!("out{i}"));
        env.ok(&[
            "restore",
            s["id"].as_str().unwrap(),
            "--target",
            t.to_str().unwrap(),
        ]);
        let base = t.join(src.strip_prefix("/").unwrap());
        assert_eq!(
            fs::read(base.join("b/g1")).unwrap(),
            random_bytes(100_000, 2)
        );
        let repaired = s["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "repaired");
        assert_eq!(base.join("a/f1").exists(), !repaired, "snapshot {i}");
        if !repaired {
            assert_eq!(
                fs::read(base.join("a/f1")).unwrap(),
                random_bytes(200_000, 1)
            );
        }
    }
    assert_eq!(env.json(&["scrub"])["ok"], true);
}
