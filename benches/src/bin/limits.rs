//! `limits CORPUS`: what one core of this machine can do at each stage of
//! the pipeline, measured on the benchmark corpus itself, so the harness
//! (`benches/compare/run.py`) can say how close each step comes to the
//! machine's limits. Prints one JSON object (rates in bytes or files per
//! second, one core each):
//!
//! - `tree_read` / `tree_files`: walk the corpus and read every file, page
//!   cache warm (the second of two passes);
//! - `stat_files`: walk and `lstat` only (an unchanged re-backup's floor);
//! - `fastcdc`, `blake3`: keyed chunking and keyed chunk IDs on a mixed
//!   sample of the corpus;
//! - `zstd_jsonl`, `zstd_libs`: Cairn's compression (level 3, with its
//!   incompressibility probe) on the JSON-lines export and on the shared
//!   libraries; `unzstd`: decompression of the former (1 MiB chunks);
//! - `seal`, `open`: XChaCha20-Poly1305 over 1 MiB chunks;
//! - `kdf_seconds`: one Argon2id derivation with a new repository's
//!   parameters (every command that opens a repository pays it once).
//!
//! Each stage runs long enough (about a second) to be stable.

use cairn_engine::codec::chunking::{Chunker, ChunkerParams};
use cairn_engine::codec::compression;
use cairn_engine::codec::crypto::{KdfParams, MasterKey, ObjectType, Sealer};
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

const SAMPLE: usize = 64 << 20;

fn files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            files(&e.path(), out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

/// Bytes per second of `f` over `bytes`, repeated for about a second.
fn rate(bytes: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut rounds = 0u32;
    while rounds == 0 || start.elapsed().as_secs_f64() < 1.0 {
        f();
        rounds += 1;
    }
    bytes as f64 * f64::from(rounds) / start.elapsed().as_secs_f64()
}

/// Up to SAMPLE bytes from the files, in order.
fn sample(paths: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SAMPLE);
    for p in paths {
        if out.len() >= SAMPLE {
            break;
        }
        if let Ok(f) = std::fs::File::open(p) {
            let _ = f.take((SAMPLE - out.len()) as u64).read_to_end(&mut out);
        }
    }
    out
}

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: limits CORPUS");
        std::process::exit(2);
    };
    let mut all = Vec::new();
    files(&root, &mut all);
    if all.is_empty() {
        eprintln!("limits: no files under {}", root.display());
        std::process::exit(1);
    }

    let mut buf = vec![0u8; 1 << 20];
    let mut read_pass = || {
        let (start, mut bytes) = (Instant::now(), 0u64);
        for p in &all {
            if let Ok(mut f) = std::fs::File::open(p) {
                while let Ok(n @ 1..) = f.read(&mut buf) {
                    bytes += n as u64;
                }
            }
        }
        (bytes as f64, start.elapsed().as_secs_f64())
    };
    read_pass();
    let (bytes, secs) = read_pass();
    let start = Instant::now();
    for p in &all {
        black_box(std::fs::symlink_metadata(p).ok());
    }
    let stat_secs = start.elapsed().as_secs_f64();

    // A mixed sample: every 7th file, then the export and the libraries.
    let mixed: Vec<PathBuf> = all.iter().step_by(7).cloned().collect();
    let mixed = sample(&mixed);
    let jsonl = sample(&[root.join("export.jsonl")]);
    let libs: Vec<PathBuf> = all
        .iter()
        .filter(|p| p.starts_with(root.join("libs")))
        .cloned()
        .collect();
    let libs = sample(&libs);

    let keys = MasterKey::from_bytes([7; 32]).subkeys();
    let chunker = Chunker::new(&keys.gear, ChunkerParams::default()).expect("chunker");
    let sealer = Sealer::new(&keys.seal);
    let chunk = &mixed[..mixed.len().min(1 << 20)];
    let sealed = sealer
        .seal_compact(ObjectType::Chunk, &[0; 32], chunk)
        .expect("seal");
    let packed: Vec<Vec<u8>> = jsonl
        .chunks(1 << 20)
        .map(|c| compression::compress(c, compression::DEFAULT_LEVEL))
        .collect();

    let fields = [
        ("tree_read", bytes / secs),
        ("tree_files", all.len() as f64 / secs),
        ("stat_files", all.len() as f64 / stat_secs),
        (
            "fastcdc",
            rate(mixed.len(), || {
                black_box(chunker.cut_all(&mixed));
            }),
        ),
        (
            "blake3",
            rate(mixed.len(), || {
                for c in mixed.chunks(1 << 20) {
                    black_box(keys.blob_id(c));
                }
            }),
        ),
        ("zstd_jsonl", zstd_rate(&jsonl)),
        ("zstd_libs", zstd_rate(&libs)),
        (
            "unzstd",
            rate(jsonl.len(), || {
                for p in &packed {
                    black_box(compression::decompress(p, 1 << 20).expect("decompress"));
                }
            }),
        ),
        (
            "seal",
            rate(chunk.len(), || {
                black_box(sealer.seal_compact(ObjectType::Chunk, &[0; 32], chunk).ok());
            }),
        ),
        (
            "open",
            rate(chunk.len(), || {
                black_box(
                    sealer
                        .open_compact(ObjectType::Chunk, &[0; 32], &sealed)
                        .ok(),
                );
            }),
        ),
    ];
    // The best of three: one derivation is short enough for noise to show.
    let kdf = (0..3)
        .map(|_| {
            let start = Instant::now();
            black_box(
                KdfParams::default()
                    .derive(b"password", &[0; 16])
                    .expect("argon2id"),
            );
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v:.0}"))
        .chain([format!("\"kdf_seconds\": {kdf:.3}")])
        .collect();
    println!("{{{}}}", body.join(", "));
}

/// Cairn's compression in 1 MiB chunks (the average chunk size).
fn zstd_rate(data: &[u8]) -> f64 {
    rate(data.len(), || {
        for c in data.chunks(1 << 20) {
            black_box(compression::compress(c, compression::DEFAULT_LEVEL));
        }
    })
}
