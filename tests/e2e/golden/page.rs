//! The golden repository `v1-page` (tests/golden/README.md; format
//! generation 3): a repository whose config declares the page class
//! (`format-spec/v1/chunking.md`, "Chunk classes", step 3) must restore
//! forever, both days of it, byte-exact, including a sparse page file
//! whose data crosses the 1 GiB limit.

use super::{golden_dir, matches_manifest};
use cairn_tests::Env;

#[test]
fn golden_v1_page_restores_both_days_byte_exact() {
    let golden = golden_dir("v1-page");
    let env = Env::new();
    // Work on a copy: tests must never modify the committed fixture.
    let copy = env.path("golden-copy");
    cairn_tests::copy_dir(&golden.join("repo"), &copy);
    std::fs::copy(golden.join("password"), &env.pwfile).unwrap();
    let env = Env { repo: copy, ..env };
    let config = env.json(&["cat", "config"]);
    assert_eq!(config["fine_page"], 4096, "{config}");
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
        let big = target.join("tmp/cairn-golden-page/big.wt");
        let md = std::fs::metadata(&big).unwrap();
        assert_eq!(md.len(), (1 << 30) + (1 << 20));
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&md) < 4096,
            "big.wt was restored dense"
        );
    }
    // The writer that made it cut the database at its 4 KiB pages:
    // updating five rows stored their pages and the header page (27.3 KiB
    // with the trees), not 8 KiB or more around each.
    let day2 = env.json(&["snapshots", "--tag", "day2"]);
    let new = day2[0]["stats"]["new_bytes"].as_u64().expect("new_bytes");
    assert!(new < 32 * 1024, "day 2 stored {new} bytes");
}
