//! `scale`: a repository index at 20 TB scale without 20 TB of data
//! (issue 15, part 4; driven by `benches/scale/index.py`).
//!
//! - `scale fill REPO PASSWORD_FILE FROM TO`: add index files that list
//!   chunk entries FROM..TO, 16 per pack (1 MiB chunks in 16 MiB packs),
//!   sealed with the repository's keys like any index file. The packs they
//!   name do not exist: the repository is for index benchmarks only
//!   (`check` would report every pack missing).
//! - `scale lookup REPO PASSWORD_FILE ENTRIES N`: open the repository (its
//!   index cache is rebuilt from the index files when missing), then look
//!   up N of the ENTRIES IDs the fills stored and N they did not. Prints one JSON line: seconds
//!   to open and sync the cache, and lookups per second for hits and
//!   misses.
//!
//! Entry IDs are the BLAKE3 XOF of the fill seed, so `lookup` knows which
//! IDs are present without storing them.

use cairn_engine::backend::{Backend, Kind, LocalBackend};
use cairn_engine::codec::index::{IndexFile, PackEntries};
use cairn_engine::codec::pack::{BlobEntry, BlobType};
use cairn_engine::{BlobId, IndexId, PackId, Repository};
use std::sync::Arc;
use std::time::Instant;

/// Entries per index file (a backup writes one file per run; 100,000
/// entries is a 100 GB backup at 1 MiB chunks).
const PER_FILE: u64 = 100_000;
const PER_PACK: u64 = 16;

fn fail(msg: String) -> ! {
    eprintln!("scale: {msg}");
    std::process::exit(1)
}

/// The `i`-th present ID (`present`) or the `i`-th absent one.
fn id(i: u64, present: bool) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(if present { b"present" } else { b"absent!" });
    h.update(&i.to_le_bytes());
    *h.finalize().as_bytes()
}

fn open(repo: &str, pw_file: &str) -> (Arc<LocalBackend>, Repository) {
    let pw = std::fs::read_to_string(pw_file).unwrap_or_else(|e| fail(format!("{pw_file}: {e}")));
    let backend = Arc::new(LocalBackend::new(repo));
    let cache = std::env::var_os("CAIRN_CACHE_DIR")
        .map(Into::into)
        .unwrap_or_else(cairn_engine::default_cache_root);
    let r = Repository::open(backend.clone(), pw.trim_end_matches('\n').as_bytes(), cache)
        .unwrap_or_else(|e| fail(format!("opening {repo}: {e}")));
    (backend, r)
}

fn fill(repo: &str, pw_file: &str, from: u64, entries: u64) {
    let (backend, r) = open(repo, pw_file);
    let start = Instant::now();
    let mut next = from;
    while next < entries {
        let end = (next + PER_FILE).min(entries);
        let mut packs = Vec::new();
        let mut i = next;
        while i < end {
            let n = PER_PACK.min(end - i);
            let blobs = (0..n)
                .map(|k| BlobEntry {
                    blob_type: BlobType::Chunk,
                    id: BlobId(id(i + k, true)),
                    offset: 8 + k * (1 << 20),
                    sealed_len: (1 << 20) + 40,
                    plain_len: 1 << 20,
                })
                .collect();
            packs.push(PackEntries {
                pack: PackId(id(i, false)),
                blobs,
            });
            i += n;
        }
        let file = IndexFile {
            supersedes: vec![],
            packs,
        };
        let bytes = file
            .seal(r.sealer(), 3)
            .unwrap_or_else(|e| fail(format!("sealing: {e}")));
        let name = IndexId(*blake3::hash(&bytes).as_bytes()).to_hex();
        backend
            .write(Kind::Index, &name, &bytes)
            .unwrap_or_else(|e| fail(format!("writing: {e}")));
        next = end;
    }
    println!(
        "{{\"entries\":{entries},\"fill_seconds\":{:.2}}}",
        start.elapsed().as_secs_f64()
    );
}

fn lookup(repo: &str, pw_file: &str, entries: u64, n: u64) {
    let start = Instant::now();
    let (_backend, r) = open(repo, pw_file);
    let index = r.index().unwrap_or_else(|e| fail(format!("index: {e}")));
    let sync = start.elapsed().as_secs_f64();
    let rate = |present: bool| {
        let t = Instant::now();
        for k in 0..n {
            // Spread over the whole key space: every 7919th entry, wrapping.
            let i = (k * 7919) % entries;
            let found = index
                .get(&BlobId(id(i, present)))
                .unwrap_or_else(|e| fail(format!("lookup: {e}")))
                .is_some();
            if found != present {
                fail(format!("entry {i}: found = {found}, expected {present}"));
            }
        }
        n as f64 / t.elapsed().as_secs_f64()
    };
    let hits = rate(true);
    let misses = rate(false);
    println!(
        "{{\"sync_seconds\":{sync:.2},\"hit_lookups_per_s\":{hits:.0},\"miss_lookups_per_s\":{misses:.0}}}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |s: &str| {
        s.parse::<u64>()
            .unwrap_or_else(|_| fail(format!("'{s}' is not a number")))
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["fill", repo, pw, from, to] => fill(repo, pw, num(from), num(to)),
        ["lookup", repo, pw, entries, n] => lookup(repo, pw, num(entries), num(n)),
        _ => fail(
            "usage: scale fill REPO PASSWORD_FILE FROM TO | lookup REPO PASSWORD_FILE ENTRIES N"
                .into(),
        ),
    }
}
