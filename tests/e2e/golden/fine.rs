//! The golden repository `v1-fine` (tests/golden/README.md; format
//! generation 2): a repository whose config declares the fine chunk class
//! (`format-spec/v1/chunking.md`, "Chunk classes") must restore forever,
//! both days of it, byte-exact, including a sparse file whose data crosses
//! the class's 1 GiB limit.

use super::{copy_of, golden_dir, restores_two_days};

#[test]
fn golden_v1_fine_restores_both_days_byte_exact() {
    let env = copy_of("v1-fine");
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
    // Made before the page class: its big.db was cut as a fine stream.
    assert!(config.get("fine_page").is_none(), "{config}");
    let new = restores_two_days(&env, &golden_dir("v1-fine"), "tmp/cairn-golden-fine/big.db");
    // The writer that made it cut the export finely: rewriting three of
    // its 1,500 rows stored a few 8 KiB chunks, not the 240 KB file.
    assert!(new < 120_000, "day 2 stored {new} bytes");
}
