//! Chunk classes (`format-spec/v1/chunking.md`, "Chunk classes"): database
//! files and exports are cut finely, so scattered row updates store a
//! small increment; page-structured database files are cut at their
//! pages, so an updated page stores one page; other files and
//! repositories without the class keep 1 MiB chunks; the init flags set
//! the sizes and refuse bad ones.

use cairn_tests::{assert_code, random_bytes, Env};
use std::fs;
use std::path::Path;

/// About 8 MiB of JSON-lines rows (300-odd bytes each, 26,000 rows).
fn rows() -> Vec<String> {
    let noise = random_bytes(26_000 * 150, 42);
    noise
        .chunks(150)
        .enumerate()
        .map(|(i, b)| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{{\"_id\":{i},\"rev\":0,\"payload\":\"{hex}\"}}\n")
        })
        .collect()
}

/// Rewrite 20 rows spread over the file (same length, new content).
fn update_rows(rows: &mut [String]) {
    let n = rows.len();
    for k in 0..20 {
        let i = k * n / 20 + 7;
        rows[i] = rows[i].replace("\"rev\":0", "\"rev\":1");
    }
}

/// Bytes the second backup of `name` (holding `before`, then `after`)
/// stores in `env`'s repository; checks the restore of the second.
fn increment(
    env: &Env,
    dir: &str,
    name: &str,
    before: impl AsRef<[u8]>,
    after: impl AsRef<[u8]>,
) -> u64 {
    let (before, after) = (before.as_ref(), after.as_ref());
    let src = env.path(dir);
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join(name), before).unwrap();
    env.backup(&src, &[]);
    fs::write(src.join(name), after).unwrap();
    let second = env.backup(&src, &[]);
    let out = env.restore_latest(&format!("{dir}-out"));
    let back = fs::read(out.join(src.strip_prefix("/").unwrap()).join(name)).unwrap();
    assert!(back == after, "{name}: restored content differs");
    second["new_bytes"].as_u64().expect("new_bytes")
}

fn config(env: &Env) -> serde_json::Value {
    env.json(&["cat", "config"])
}

#[test]
fn scattered_row_updates_store_a_small_increment_in_database_files_only() {
    let mut rows = rows();
    let before = rows.concat();
    update_rows(&mut rows);
    let after = rows.concat();
    assert_eq!(before.len(), after.len());

    let env = Env::init();
    let c = config(&env);
    assert_eq!(c["fine_avg"], 8192, "{c}");
    assert_eq!(c["fine_limit"], 1u64 << 30, "{c}");
    let fine = increment(&env, "a", "export.jsonl", &before, &after);
    let normal = increment(&env, "b", "export.bin", &before, &after);
    // 20 rows changed in 8 MiB: every 1 MiB chunk is touched, but only
    // 20 neighbourhoods of about 8 KiB each (at most 32 KiB per chunk).
    assert!(normal > 7 << 20, "1 MiB chunks stored only {normal}");
    assert!(fine < (20 * 64) << 10, "fine chunks stored {fine}");
    assert!(fine > 0);

    // Without the class, the same file is cut like any other.
    let off = Env::init_with(&["--fine-chunk-size", "off"]);
    assert!(config(&off).get("fine_avg").is_none());
    let without = increment(&off, "a", "export.jsonl", &before, &after);
    assert!(without > 7 << 20, "without the class: {without}");
}

/// A file of a page-structured database (1 MiB of 4 KiB pages) with one
/// byte changed in each of eight pages.
fn pages() -> (Vec<u8>, Vec<u8>) {
    let before = random_bytes(1 << 20, 7);
    let mut after = before.clone();
    for page in [3usize, 40, 77, 100, 150, 199, 230, 255] {
        after[page * 4096 + 1000] ^= 0xff;
    }
    (before, after)
}

#[test]
fn updated_pages_of_a_database_file_store_one_page_each() {
    let (before, after) = pages();
    let env = Env::init();
    assert_eq!(config(&env)["fine_page"], 4096);
    let paged = increment(&env, "a", "app.sqlite", &before, &after);
    // Eight 4 KiB pages, plus the trees: the file's node lists 256 chunk
    // IDs (about 9 KB), its directories a few hundred bytes each.
    assert!(paged >= 8 * 4096, "pages stored {paged}");
    assert!(paged < 8 * 4096 + (16 << 10), "pages stored {paged}");
    // A name outside the page class, in the same repository: fine chunks
    // of 4 to 32 KiB around each change.
    let fine = increment(&env, "b", "app.jsonl", &before, &after);
    assert!(fine > paged + (24 << 10), "fine {fine}, pages {paged}");
    // Without a page size, page files are cut as fine ones.
    let off = Env::init_with(&["--page-size", "off"]);
    let c = config(&off);
    assert!(c.get("fine_page").is_none(), "{c}");
    assert_eq!(c["fine_avg"], 8192, "{c}");
    let unpaged = increment(&off, "a", "app.sqlite", &before, &after);
    assert!(
        unpaged > paged + (24 << 10),
        "no pages {unpaged}, pages {paged}"
    );
}

#[test]
fn init_sets_and_checks_chunk_sizes() {
    let env = Env::new();
    let init = |extra: &[&str]| {
        let mut a = vec!["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"];
        a.extend_from_slice(extra);
        env.run(&a)
    };
    for bad in [
        &["--chunk-size", "100K"][..],
        &["--chunk-size", "32K"],
        &["--chunk-size", "32M"],
        &["--fine-chunk-size", "512"],
        &["--fine-chunk-size", "3K"],
        &["--fine-chunk-size", "sometimes"],
        &["--page-size", "3000"],
        &["--page-size", "256"],
        &["--page-size", "128K"],
        &["--page-size", "16K", "--fine-chunk-size", "off"],
        &["--zstd-level", "23"],
    ] {
        let out = init(bad);
        assert_code(&out, 2);
        assert!(
            !env.repo.join("config").exists(),
            "{bad:?} made a repository"
        );
    }
    let out = init(&[
        "--chunk-size",
        "4M",
        "--fine-chunk-size",
        "16K",
        "--page-size",
        "16K",
        "--zstd-level",
        "0",
    ]);
    assert_code(&out, 0);
    let c = config(&env);
    assert_eq!(
        (&c["chunk_min"], &c["chunk_avg"], &c["chunk_max"]),
        (
            &(2u64 << 20).into(),
            &(4u64 << 20).into(),
            &(16u64 << 20).into()
        ),
        "{c}"
    );
    assert_eq!(
        (&c["fine_min"], &c["fine_avg"], &c["fine_max"]),
        (&8192.into(), &16384.into(), &65536.into()),
        "{c}"
    );
    assert_eq!(c["fine_page"], 16384, "{c}");
    assert_eq!(c["zstd_level"], 0, "{c}");
    // Level 0 stores data uncompressed: a compressible file keeps its size.
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("zeros.txt"), vec![b'z'; 3 << 20]).unwrap();
    let s = env.backup(&src, &[]);
    assert!(s["stored_bytes"].as_u64().unwrap() >= 3 << 20, "{s}");
    // A repository sharing chunker parameters takes the fine class too.
    let twin = Env::new();
    let pw = env.path("password");
    let out = twin.run(&[
        "init",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
        "--copy-chunker-params-from",
        env.repo.to_str().unwrap(),
        "--from-password-file",
        pw.to_str().unwrap(),
    ]);
    assert_code(&out, 0);
    assert_eq!(config(&twin)["fine_avg"], 16384);
    assert!(Path::new(&twin.repo).join("config").exists());
}
