//! Hostile storage (`format-spec/v1/threat-model.md`): layouts an attacker
//! can leave in a repository, each run against one table of operations.
//!
//! For every (layout, operation) pair: no panic; an exit code the layout
//! expects (all documented in the README); nothing outside the repository
//! touched (a scratch directory stands in for `/etc` and the rest of the
//! machine — never the real one); files planted by the attacker never
//! deleted; and an operation that fails deletes nothing at all.
//!
//! To cover a new operation, add a row to [`OPS`] and its expected exit
//! code to each layout's `expect`; a new hostile layout is one more
//! [`Layout`] and test function. Tests run as root here, so permissions
//! stop nothing: only Cairn's own refusal protects the scratch "etc".

use cairn_tests::{random_bytes, Env};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// Every operation, with `{out}` (a fresh restore target) and `{src}` (a
/// directory of new data) filled in per run.
const OPS: &[(&str, &[&str])] = &[
    ("snapshots", &["snapshots"]),
    ("ls", &["ls", "latest"]),
    ("restore", &["restore", "latest", "--target", "{out}"]),
    ("verify", &["verify", "latest"]),
    ("check", &["check"]),
    ("scrub", &["scrub"]),
    ("backup", &["backup", "{src}"]),
    ("forget", &["forget", "--keep-last", "1"]),
    ("prune", &["prune"]),
    ("repair-index", &["repair", "index"]),
    ("unlock", &["unlock"]),
    ("unlock-all", &["unlock", "--remove-all"]),
];

/// Operations that may delete repository files when they succeed.
const DELETERS: &[&str] = &["forget", "prune", "repair-index", "unlock", "unlock-all"];

/// A hostile layout.
struct Layout {
    /// Make `repo` hostile; `outside` stands in for the rest of the
    /// machine. Returns the files the attacker planted (which Cairn must
    /// never delete, except where `may_delete` allows).
    make: fn(repo: &Path, outside: &Path) -> Vec<PathBuf>,
    /// The exit codes accepted for an operation.
    expect: fn(op: &str) -> &'static [i32],
    /// Text a refusal (non-zero exit) must contain.
    says: &'static str,
    /// Operations allowed to delete planted files (valid names whose
    /// content is damaged are Cairn's to replace).
    may_delete: &'static [&'static str],
}

/// A clean repository with two snapshots, made once per test.
fn base() -> Env {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/a"), random_bytes(300_000, 1)).unwrap();
    fs::write(src.join("b"), b"small").unwrap();
    env.backup(&src, &[]);
    fs::write(src.join("c"), random_bytes(50_000, 2)).unwrap();
    env.backup(&src, &[]);
    env
}

/// Every path below `dir` (links not followed) with a hash of what it is.
fn snapshot_of(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = e.path().to_path_buf();
        let v = if e.path_is_symlink() {
            format!("link {}", fs::read_link(&p).unwrap().display())
        } else if e.file_type().is_file() {
            let len = e.metadata().unwrap().len();
            if len > 64 << 20 {
                format!("big {len}") // sparse junk: never read it whole
            } else {
                blake3::hash(&fs::read(&p).unwrap()).to_hex().to_string()
            }
        } else {
            "dir".into()
        };
        m.insert(p, v);
    }
    m
}

fn run_table(layout: &Layout) {
    let clean = base();
    for (op, args) in OPS {
        let env = Env::new();
        cairn_tests::copy_dir(&clean.repo, &env.repo);
        let outside = env.path("outside");
        fs::create_dir_all(&outside).unwrap();
        let planted = (layout.make)(&env.repo, &outside);
        let src = env.path("newdata");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("new"), random_bytes(200_000, 99)).unwrap();
        let out_dir = env.path("out");
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{out}", out_dir.to_str().unwrap())
                    .replace("{src}", src.to_str().unwrap())
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let outside_before = snapshot_of(&outside);
        let repo_before = snapshot_of(&env.repo);
        let out = env.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        let ctx = format!("operation {op}: exit {code:?}\nstderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{ctx}");
        assert!(
            code.is_some_and(|c| (layout.expect)(op).contains(&c)),
            "expected exit {:?}; {ctx}",
            (layout.expect)(op)
        );
        if code != Some(0) {
            assert!(
                stderr.contains(layout.says),
                "refusal must say '{}'; {ctx}",
                layout.says
            );
        }
        assert_eq!(
            snapshot_of(&outside),
            outside_before,
            "something outside the repository changed; {ctx}"
        );
        for p in &planted {
            if !layout.may_delete.contains(op) {
                assert!(
                    fs::symlink_metadata(p).is_ok(),
                    "planted {} was deleted; {ctx}",
                    p.display()
                );
            }
        }
        if code != Some(0) || !DELETERS.contains(op) {
            let after = snapshot_of(&env.repo);
            for p in repo_before.keys() {
                assert!(
                    after.contains_key(p) || p.starts_with(env.repo.join("locks")),
                    "{} was deleted; {ctx}",
                    p.display()
                );
            }
        }
    }
}

/// Replace directory `dir` by a link to `target`.
fn link_dir(dir: &Path, target: &Path) {
    fs::remove_dir_all(dir).unwrap();
    symlink(target, dir).unwrap();
}

/// What `/etc` looks like to the test: files an `unlock` must not delete.
fn fake_etc(outside: &Path) -> Vec<PathBuf> {
    let etc = outside.join("etc");
    fs::create_dir_all(&etc).unwrap();
    let mut v = Vec::new();
    for name in ["hosts", "passwd", &"ab".repeat(32)] {
        fs::write(etc.join(name), format!("{name}: precious")).unwrap();
        v.push(etc.join(name));
    }
    v
}

#[test]
fn locks_linked_to_etc_are_refused_and_etc_is_untouched() {
    run_table(&Layout {
        make: |repo, outside| {
            let planted = fake_etc(outside);
            link_dir(&repo.join("locks"), &outside.join("etc"));
            planted
        },
        expect: |op| match op {
            "snapshots" | "ls" | "restore" | "verify" | "scrub" => &[0],
            _ => &[1],
        },
        says: "symbolic link",
        may_delete: &[],
    });
}

#[test]
fn linked_pack_directories_are_refused_and_nothing_is_written_through_them() {
    run_table(&Layout {
        make: |repo, outside| {
            // Every fan-out directory without a pack becomes a link, so any
            // new pack would land outside.
            for e in fs::read_dir(repo.join("data")).unwrap() {
                let p = e.unwrap().path();
                if fs::read_dir(&p).unwrap().next().is_none() {
                    link_dir(&p, outside);
                }
            }
            // Git-style copies lack empty fan-out directories: make them too.
            for i in 0..=255u8 {
                let p = repo.join("data").join(format!("{i:02x}"));
                if fs::symlink_metadata(&p).is_err() {
                    symlink(outside, &p).unwrap();
                }
            }
            Vec::new()
        },
        expect: |op| match op {
            // The new pack's name is random: it lands in one of the few
            // real fan-out directories (those already holding a pack) by
            // chance, a legitimate write; `run_table` still checks that
            // nothing appeared outside. The refusal itself is pinned by
            // `a_first_backup_through_linked_fan_out_directories_is_refused`.
            "backup" => &[0, 1],
            "check" | "scrub" | "prune" | "repair-index" => &[1],
            _ => &[0],
        },
        says: "symbolic link",
        may_delete: &[],
    });
}

#[test]
fn a_first_backup_through_linked_fan_out_directories_is_refused() {
    // A fresh repository has no pack: with every fan-out directory a link,
    // wherever the first pack goes, it would go outside.
    let env = Env::init();
    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    for i in 0..=255u8 {
        let p = env.repo.join("data").join(format!("{i:02x}"));
        if fs::symlink_metadata(&p).is_ok() {
            fs::remove_dir_all(&p).unwrap();
        }
        symlink(&outside, &p).unwrap();
    }
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(200_000, 7)).unwrap();
    let out = env.run(&["backup", src.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{stderr}");
    assert_eq!(env.ok(&["snapshots", "--json"]).trim(), "[]");
}

#[test]
fn a_linked_index_directory_is_refused() {
    run_table(&Layout {
        make: |repo, outside| {
            let copy = outside.join("index");
            cairn_tests::copy_dir(&repo.join("index"), &copy);
            link_dir(&repo.join("index"), &copy);
            Vec::new()
        },
        expect: |op| match op {
            "snapshots" | "forget" | "unlock" | "unlock-all" => &[0],
            // verify reads blobs through the pack trailers and reports
            // the damage; check and scrub need the directory and cannot run.
            "verify" => &[4],
            _ => &[1],
        },
        says: "symbolic link",
        may_delete: &[],
    });
}

/// Without `snapshots/`, only what needs no snapshot may succeed.
fn without_snapshots(op: &str) -> &'static [i32] {
    match op {
        "repair-index" | "unlock" | "unlock-all" => &[0],
        _ => &[1],
    }
}

#[test]
fn a_missing_snapshots_directory_is_damage_not_an_empty_repository() {
    run_table(&Layout {
        make: |repo, _| {
            fs::remove_dir_all(repo.join("snapshots")).unwrap();
            Vec::new()
        },
        expect: without_snapshots,
        says: "missing",
        may_delete: &[],
    });
}

#[test]
fn snapshots_linked_to_an_empty_directory_are_refused() {
    run_table(&Layout {
        make: |repo, outside| {
            let empty = outside.join("empty");
            fs::create_dir_all(&empty).unwrap();
            link_dir(&repo.join("snapshots"), &empty);
            Vec::new()
        },
        expect: without_snapshots,
        says: "symbolic link",
        may_delete: &[],
    });
}

#[test]
fn junk_in_locks_blocks_nothing_and_is_never_deleted() {
    run_table(&Layout {
        make: |repo, _| {
            let locks = repo.join("locks");
            fs::create_dir_all(locks.join("sub")).unwrap();
            let mut v = vec![locks.join("sub")];
            for name in ["hosts", "README.txt", &format!("{}.bak", "cd".repeat(32))] {
                fs::write(locks.join(name), b"not a lock").unwrap();
                v.push(locks.join(name));
            }
            v
        },
        expect: |_| &[0],
        says: "",
        may_delete: &[],
    });
}

#[test]
fn a_junk_index_file_is_skipped_by_readers_and_blocks_prune() {
    run_table(&Layout {
        make: |repo, _| {
            let p = repo.join("index").join("ef".repeat(32));
            fs::write(&p, random_bytes(5000, 7)).unwrap();
            vec![p]
        },
        expect: |op| match op {
            "check" | "scrub" => &[4],
            "prune" => &[1],
            _ => &[0],
        },
        says: "cairn repair index",
        // It has an index file's name: `repair index` replaces it.
        may_delete: &["repair-index"],
    });
}

/// Peak resident memory of the largest `cairn` run by this test process
/// so far (nextest runs each test in its own process), in MiB.
fn children_peak_rss_mib() -> i64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss() / 1024
}

#[test]
fn huge_junk_files_are_refused_by_size_before_they_are_read() {
    run_table(&Layout {
        make: |repo, _| {
            let hex = |b: &str| b.repeat(32);
            let mut v = Vec::new();
            // Sparse: no disk space, but reading one costs its full size.
            for (rel, len) in [
                (format!("index/{}", hex("e1")), 1536u64 << 20),
                (format!("snapshots/{}", hex("e2")), 300 << 20),
                (format!("keys/{}", hex("00")), 300 << 20),
                (format!("locks/{}", hex("e3")), 300 << 20),
                ("state/scrub".to_owned(), 300 << 20),
                (
                    "state/gc-0123456789abcdef0123456789abcdef".to_owned(),
                    300 << 20,
                ),
                (format!("parity/{}.0", hex("e4")), 300 << 20),
            ] {
                let p = repo.join(rel);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                let f = fs::File::create(&p).unwrap();
                f.set_len(len).unwrap();
                v.push(p);
            }
            v
        },
        // Exit 11: prune and repair wait for an unreadable lock file; 4:
        // an audit reports the junk as damage.
        expect: |_| &[0, 1, 4, 11],
        says: "",
        // Valid names with content that cannot be Cairn's: prune removes
        // an unreadable plan, unlock a lock, repair index an index file.
        may_delete: &["prune", "repair-index", "unlock", "unlock-all"],
    });
    let peak = children_peak_rss_mib();
    assert!(
        peak < 200,
        "a cairn run peaked at {peak} MiB: a junk file was read"
    );
}

#[test]
fn a_damaged_index_file_in_a_read_only_copy_restores_in_place() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..3u64 {
        fs::write(src.join(format!("f{i}")), random_bytes(150_000, i)).unwrap();
        env.backup(&src, &[]);
    }
    let mut index: Vec<_> = fs::read_dir(env.repo.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    index.sort();
    assert!(index.len() >= 3, "one index file per backup");
    // One flipped bit in one index file; a cold cache (another machine).
    let mut b = fs::read(&index[1]).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x10;
    fs::write(&index[1], b).unwrap();
    let _ = fs::remove_dir_all(&env.cache);
    let before = env.repo_fingerprint();
    let target = env.path("out");
    let (out, read_only) =
        env.run_read_only(&["restore", "latest", "--target", target.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    cairn_tests::assert_code(&out, 0);
    assert!(
        stderr.contains("warning:") && stderr.contains("cairn repair index"),
        "{stderr}"
    );
    cairn_tests::assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
    assert_eq!(
        env.repo_fingerprint(),
        before,
        "restore wrote to the repository"
    );
    if !read_only {
        eprintln!("note: the storage could not be made read-only; checked by fingerprint only");
    }
    // check reports the file with advice that works; scrub says its record
    // could not be saved on read-only storage.
    let (out, _) = env.run_read_only(&["check"]);
    cairn_tests::assert_code(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cairn repair index"), "{stderr}");
    if read_only {
        let (out, _) = env.run_read_only(&["--json", "scrub"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("could not be saved"), "{stderr}");
        let doc = String::from_utf8_lossy(&out.stdout);
        let report: serde_json::Value = serde_json::from_str(doc.lines().next().unwrap()).unwrap();
        assert_eq!(report["record_saved"], false, "{report}");
    }
    assert_eq!(env.repo_fingerprint(), before);
    // A backup meanwhile stores again what it cannot locate, with a warning.
    fs::write(src.join("f3"), random_bytes(10_000, 3)).unwrap();
    let out = env.run(&["backup", src.to_str().unwrap()]);
    cairn_tests::assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cairn repair index"));
    // Following the advice makes the repository clean again.
    env.ok(&["repair", "index"]);
    assert_eq!(env.json(&["check"])["ok"], true);
    let again = env.path("again");
    env.ok(&["restore", "latest", "--target", again.to_str().unwrap()]);
    cairn_tests::assert_same_tree(&src, &again.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn scrub_on_read_only_storage_says_its_record_was_not_saved() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), random_bytes(100_000, 1)).unwrap();
    env.backup(&src, &[]);
    let (out, read_only) = env.run_read_only(&["scrub"]);
    if !read_only {
        eprintln!("note: the storage could not be made read-only here; nothing to test");
        return;
    }
    cairn_tests::assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("state/scrub"),
        "{stderr}"
    );
    let (out, _) = env.run_read_only(&["--json", "scrub"]);
    cairn_tests::assert_code(&out, 0);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["record_saved"], false, "{r}");
    assert!(r["record_error"].is_string(), "{r}");
    // On writable storage the record is saved and nothing is said.
    let r = env.json(&["scrub"]);
    assert_eq!(r["record_saved"], true, "{r}");
}
