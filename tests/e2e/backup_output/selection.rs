//! `backup`'s selection flags, as restic means them: `--iexclude`,
//! `--exclude-if-present`, `--exclude-caches`, `--exclude-larger-than`,
//! `--files-from` / `--files-from-verbatim` / `--files-from-raw`, and the
//! change rules `--ignore-inode` / `--ignore-ctime`.

use super::s;
use cairn_tests::{assert_code, Env};
use std::fs;
use std::path::Path;

/// The paths of the latest snapshot below `under`, relative to it.
fn listed(env: &Env, under: &Path) -> Vec<String> {
    env.ok(&["ls", "latest", s(under)])
        .lines()
        .filter_map(|l| l.strip_prefix(s(under)).map(str::to_owned))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn iexclude_tags_caches_and_sizes() {
    let env = Env::init();
    let src = env.path("src");
    for d in ["cache", "tagged", "fake", "plain"] {
        fs::create_dir_all(src.join(d)).unwrap();
    }
    fs::write(
        src.join("cache/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# made by a test\n",
    )
    .unwrap();
    fs::write(src.join("cache/blob"), b"cached").unwrap();
    fs::write(src.join("fake/CACHEDIR.TAG"), "not a signature\n").unwrap();
    fs::write(src.join("fake/kept"), b"k").unwrap();
    fs::write(src.join("tagged/.nobackup"), b"").unwrap();
    fs::write(src.join("tagged/secret"), b"s").unwrap();
    fs::write(src.join("plain/Notes.TXT"), b"n").unwrap();
    fs::write(src.join("plain/big"), vec![1u8; 2048]).unwrap();
    fs::write(src.join("plain/small"), vec![1u8; 1024]).unwrap();
    env.backup(
        &src,
        &[
            "--iexclude",
            "*.txt",
            "--exclude-caches",
            "--exclude-if-present",
            ".nobackup",
            "--exclude-larger-than",
            "1K",
        ],
    );
    assert_eq!(
        listed(&env, &src),
        [
            "/cache",
            "/cache/CACHEDIR.TAG",
            "/fake",
            "/fake/CACHEDIR.TAG",
            "/fake/kept",
            "/plain",
            "/plain/small",
            "/tagged",
            "/tagged/.nobackup",
        ]
    );
    // A header that does not match excludes nothing.
    env.backup(&src, &["--exclude-if-present", ".nobackup:magic"]);
    assert!(listed(&env, &src).contains(&"/tagged/secret".to_owned()));
    for bad in [
        ["--exclude-if-present", "a/b"],
        ["--exclude-larger-than", "12Q"],
        ["--iexclude", "["],
    ] {
        let out = env.run(&["backup", bad[0], bad[1], s(&src)]);
        assert_code(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad[1]), "{bad:?}: {err}");
    }
}

#[test]
fn files_from_lists_in_restics_three_formats() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for n in ["a.txt", "b.txt", "c.log", "#hash", "new\nline"] {
        fs::write(src.join(n), n).unwrap();
    }
    let list = env.path("list");
    fs::write(
        &list,
        format!("# comment\n\n{0}/*.txt\n{0}/nothing-*.zip\n", s(&src)),
    )
    .unwrap();
    let verbatim = env.path("verbatim");
    fs::write(&verbatim, format!("{}/#hash\n\n", s(&src))).unwrap();
    let raw = env.path("raw");
    fs::write(&raw, format!("{}/new\nline\0", s(&src))).unwrap();
    let out = env.run(&[
        "backup",
        "--files-from",
        s(&list),
        "--files-from-verbatim",
        s(&verbatim),
        "--files-from-raw",
        s(&raw),
        &format!("{}/c.log", s(&src)),
    ]);
    assert_code(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("matches no file"), "{err}");
    let all = env.ok(&["ls", "--json", "latest", s(&src)]);
    let names: Vec<String> = all
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .filter_map(|p| p.strip_prefix(&format!("{}/", s(&src))).map(str::to_owned))
        .collect();
    assert_eq!(names, ["#hash", "a.txt", "b.txt", "c.log", "new\nline"]);
    // A list naming nothing is an error, not an empty snapshot.
    let empty = env.path("empty");
    fs::write(&empty, "# nothing\n").unwrap();
    let out = env.run(&["backup", "--files-from", s(&empty)]);
    assert_code(&out, 2);
    let missing = env.run(&["backup", "--files-from", s(&env.path("absent"))]);
    assert_code(&missing, 1);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent"));
}

#[test]
fn ignore_ctime_and_ignore_inode_decide_what_is_read_again() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), vec![7u8; 10_000]).unwrap();
    env.backup(&src, &[]);
    // A chmod there and back changes only the ctime.
    let touch_ctime = || {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(src.join("f"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(src.join("f"), fs::Permissions::from_mode(0o644)).unwrap();
    };
    touch_ctime();
    assert_eq!(
        env.backup(&src, &[])["unchanged_files"],
        0,
        "ctime changed: read again"
    );
    touch_ctime();
    let kept = env.backup(&src, &["--ignore-ctime"]);
    assert_eq!(kept["unchanged_files"], 1, "{kept}");
    // A copy with the same mtime has a new inode (and ctime).
    let copy = env.path("copy");
    fs::copy(src.join("f"), &copy).unwrap();
    let mtime = fs::metadata(src.join("f")).unwrap().modified().unwrap();
    fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::rename(&copy, src.join("f")).unwrap();
    assert_eq!(env.backup(&src, &["--ignore-ctime"])["unchanged_files"], 0);
    fs::copy(src.join("f"), &copy).unwrap();
    fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::rename(&copy, src.join("f")).unwrap();
    let kept = env.backup(&src, &["--ignore-inode"]);
    assert_eq!(kept["unchanged_files"], 1, "{kept}");
}
