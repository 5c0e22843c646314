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

/// Every negative vector, as checked in, is refused by the engine with the
/// error kind the vector names (corrupt, or unsupported_version).
#[test]
fn negative_vectors_are_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(cairn_tests::vectors::DIR)
        .join("negative.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("negative.json")).expect("json");
    let items = v["vectors"].as_array().expect("vectors");
    assert!(items.len() >= 20);
    for item in items {
        let name = item["name"].as_str().expect("name");
        let hex = item["bytes"].as_str().expect("bytes");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let object = item["object"].as_str().expect("object");
        match cairn_tests::vectors_negative::check(object, &bytes) {
            Ok(()) => panic!("{name}: the engine accepts a vector it must reject"),
            Err(e) => assert_eq!(
                e.kind().as_str(),
                item["expect"].as_str().expect("expect"),
                "{name}: {e}"
            ),
        }
    }
}
