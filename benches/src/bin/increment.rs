//! `increment SIZES OLD NEW`: how many bytes a backup of `NEW` would add
//! to a repository that already holds `OLD`, counted after Cairn's
//! compression (level 3), with chunks cut by the keyed FastCDC of
//! `SIZES`: an average `AVG` (minimum AVG/2, maximum 4·AVG, as `init`
//! makes them) or `MIN:AVG:MAX`. Used to choose the fine chunk class for
//! database-like files (issue 15, part 2; README, "Performance"). Prints
//! one line of JSON: chunks of NEW, how many and how many bytes are new,
//! the bytes they add, and what storing all of NEW takes.

use cairn_engine::codec::chunking::{Chunker, ChunkerParams};
use cairn_engine::codec::compression;
use std::collections::HashSet;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [avg, old, new] = args.as_slice() else {
        eprintln!("usage: increment AVG|MIN:AVG:MAX OLD NEW");
        std::process::exit(2);
    };
    let sizes: Vec<u32> = avg.split(':').map(|s| s.parse().unwrap_or(0)).collect();
    let (min, avg, max) = match sizes.as_slice() {
        [a] => (a / 2, *a, a * 4),
        [min, a, max] => (*min, *a, *max),
        _ => (0, 0, 0),
    };
    let params = ChunkerParams {
        min_size: min,
        avg_size: avg,
        max_size: max,
    };
    let Ok(chunker) = Chunker::new(&[7; 32], params) else {
        eprintln!("increment: bad chunk sizes");
        std::process::exit(2);
    };
    let read = |p: &str| match std::fs::read(p) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("increment: {p}: {e}");
            std::process::exit(1);
        }
    };
    let (old, new) = (read(old), read(new));
    let mut seen: HashSet<[u8; 32]> = HashSet::new();
    let mut pos = 0;
    for n in chunker.cut_all(&old) {
        seen.insert(*blake3::hash(&old[pos..pos + n]).as_bytes());
        pos += n;
    }
    let (mut added, mut raw, mut chunks, mut new_chunks, mut total) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    pos = 0;
    for n in chunker.cut_all(&new) {
        let c = &new[pos..pos + n];
        pos += n;
        chunks += 1;
        let z = compression::compress(c, 3).len();
        total += z;
        if seen.insert(*blake3::hash(c).as_bytes()) {
            new_chunks += 1;
            raw += n;
            added += z;
        }
    }
    println!(
        "{{\"avg\":{avg},\"chunks\":{chunks},\"new_chunks\":{new_chunks},\"new_raw\":{raw},\"added\":{added},\"stored_total\":{total}}}"
    );
}
