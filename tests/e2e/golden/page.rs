//! The golden repository `v1-page` (tests/golden/README.md; format
//! generation 3): a repository whose config declares the page class
//! (`format-spec/v1/chunking.md`, "Chunk classes", step 3) must restore
//! forever, both days of it, byte-exact, including a sparse page file
//! whose data crosses the 1 GiB limit.

use super::{copy_of, golden_dir, restores_two_days};

#[test]
fn golden_v1_page_restores_both_days_byte_exact() {
    let env = copy_of("v1-page");
    let config = env.json(&["cat", "config"]);
    assert_eq!(config["fine_page"], 4096, "{config}");
    assert_eq!(config["fine_limit"], 1u64 << 30, "{config}");
    let new = restores_two_days(&env, &golden_dir("v1-page"), "tmp/cairn-golden-page/big.wt");
    // The writer that made it cut the database at its 4 KiB pages:
    // updating five rows stored their pages and the header page (27.3 KiB
    // with the trees), not 8 KiB or more around each.
    assert!(new < 32 * 1024, "day 2 stored {new} bytes");
}
