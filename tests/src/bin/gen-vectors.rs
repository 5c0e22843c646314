//! Regenerate `format-spec/test-vectors/v1/*.json`. Run from the workspace
//! root: `cargo run -p cairn-tests --bin gen-vectors`.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join(cairn_tests::vectors::DIR);
    std::fs::create_dir_all(&dir).expect("create vector dir");
    for (name, v) in cairn_tests::vectors::generate() {
        std::fs::write(dir.join(&name), cairn_tests::vectors::render(&v)).expect("write vector");
        println!("wrote {name}");
    }
}
