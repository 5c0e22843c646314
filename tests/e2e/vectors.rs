//! The checked-in format test vectors match what this build produces.

use std::path::Path;

#[test]
fn vectors_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(cairn_tests::vectors::DIR);
    let generated = cairn_tests::vectors::generate();
    assert!(generated.len() >= 7);
    for (name, v) in generated {
        let on_disk = std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| {
            panic!("{name}: {e}; run `cargo run -p cairn-tests --bin gen-vectors`")
        });
        assert!(
            on_disk == cairn_tests::vectors::render(&v),
            "{name} is stale: the format changed without updating the vectors and spec; \
             run `cargo run -p cairn-tests --bin gen-vectors` and update format-spec/"
        );
    }
}
