//! The golden repository `v1-fine` (tests/golden/README.md; format
//! generation 2): a repository whose config declares the fine chunk class
//! (`format-spec/v1/chunking.md`, "Chunk classes") must restore forever,
//! both days of it, byte-exact, including a sparse file whose data crosses
//! the class's 1 GiB limit.

use super::{golden_dir, matches_manifest};
use cairn_tests::Env;

#[test]
fn golden_v1_fine_restores_both_days_byte_exact() {
    let golden = golden_dir("v1-fine");
    let env = Env::new();
    // Work on a copy: tests must never modify the committed fixture.
    let copy = env.path("golden-copy");
    cairn_tests::copy_dir(&golden.join("repo"), &copy);
    std::fs::copy(golden.join("password"), &env.pwfile).unwrap();
    let env = Env { repo: copy, ..env };
    let config = env.json(&["cat", "config"]);
    assert_eq!(
        (
            &config["fine_min"],
            &config["fine_avg"],
            &config["fine_max"]
        ),
        (&4096.into(), &8192.into(), &32768.into()),
        "{config}"
    );
    assert_eq!(config["fine_limit"], 1u64 << 30, "{config}");
    for (tag, manifest) in [("day1", "MANIFEST-1"), ("day2", "MANIFEST-2")] {
        let snaps = env.json(&["snapshots", "--tag", tag]);
        let id = snaps[0]["id"].as_str().unwrap().to_owned();
        let target = env.path(tag);
        env.ok(&["restore", &id, "--target", target.to_str().unwrap()]);
        assert_eq!(
            matches_manifest(&golden.join(manifest), &target),
            3,
            "{tag}"
        );
        let big = target.join("tmp/cairn-golden-fine/big.db");
        let md = std::fs::metadata(&big).unwrap();
        assert_eq!(md.len(), (1 << 30) + (1 << 20));
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&md) < 4096,
            "big.db was restored dense"
        );
    }
    // The writer that made it cut the export finely: rewriting three of
    // its 1,500 rows stored a few 8 KiB chunks, not the 240 KB file.
    let day2 = env.json(&["snapshots", "--tag", "day2"]);
    let new = day2[0]["stats"]["new_bytes"].as_u64().expect("new_bytes");
    assert!(new < 120_000, "day 2 stored {new} bytes");
}
