//! Embeds `format-spec/` (the specification, the test vectors and the
//! reference restorer) into the engine, so every repository and export the
//! engine writes carries the copy that matches its writer (`spec/`,
//! `format-spec/v1/overview.md`). Generates `$OUT_DIR/spec_files.rs`: one
//! `(name inside spec/, bytes)` per file, names flattened by the rule the
//! spec gives (`v1/X.md` → `v1-X.md`, `test-vectors/v1/X.json` →
//! `test-vectors-v1-X.json`, `reference/X` → `reference-X`), sorted.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        let flat = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}-{name}")
        };
        let path = e.path();
        if path.is_dir() {
            walk(&path, &flat, out);
        } else if [".md", ".json", ".py", ".txt"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            out.push((flat, path));
        }
    }
}

fn main() {
    // The manifest directory of this build, as Cargo gives it when it runs
    // the script (not `env!`, fixed when the script was compiled: a script
    // compiled for a checkout elsewhere would walk a directory that may no
    // longer exist, and embed nothing).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../format-spec");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, "", &mut files);
    files.sort();
    // A build without its spec would write repositories that do not
    // explain themselves: refuse it.
    for required in ["README.md", "v1-overview.md", "reference-cairn_ref.py"] {
        assert!(
            files.iter().any(|(name, _)| name == required),
            "format-spec/ not found or incomplete at {} (no {required})",
            root.display()
        );
    }
    let mut src = String::from("/// Every file of `format-spec/`: (name inside `spec/`, contents).\npub const FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let abs = path.canonicalize().expect("spec file");
        src += &format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        );
        // Directories are watched as a whole, files one by one.
        println!("cargo:rerun-if-changed={}", abs.display());
        if let Some(dir) = abs.parent() {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
    src += "];\n";
    // A digest of the whole copy: a writer compares it with the repository's
    // `spec/STAMP.txt` to see in one small read whether its copy is there.
    let mut h = blake3::Hasher::new();
    for (name, path) in &files {
        let bytes = std::fs::read(path).expect("spec file");
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    src += &format!(
        "/// BLAKE3 over every (name, length, contents) of [`FILES`].\npub const STAMP: &str = \"{}\";\n",
        h.finalize().to_hex()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("spec_files.rs");
    std::fs::write(out, src).expect("write spec_files.rs");
}
