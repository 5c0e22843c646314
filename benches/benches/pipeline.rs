//! Micro-benchmarks of the pipeline stages: keyed FastCDC chunking, keyed
//! BLAKE3 IDs, and zstd compression plus XChaCha20-Poly1305 sealing.
//! Run: `cargo bench -p cairn-benches --profile dev` (same profile as the
//! tests, so RocksDB is built once). End-to-end numbers: scripts/bench.sh.

use cairn_engine::codec::chunking::{Chunker, ChunkerParams};
use cairn_engine::codec::compression;
use cairn_engine::codec::crypto::{MasterKey, ObjectType, Sealer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    blake3::Hasher::new()
        .update(b"bench")
        .finalize_xof()
        .fill(&mut v);
    v
}

fn text(n: usize) -> Vec<u8> {
    let words = [
        "cairn ",
        "backup ",
        "mongodb ",
        "archive ",
        "restore ",
        "century ",
        "{\"_id\": ",
        "42, ",
    ];
    let r = random(n / 4);
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(words[usize::from(r[i % r.len()]) % words.len()].as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

fn stages(c: &mut Criterion) {
    let keys = MasterKey::from_bytes([7; 32]).subkeys();
    let data = random(64 << 20);
    let chunker = Chunker::new(&keys.gear, ChunkerParams::default()).expect("chunker");

    let mut g = c.benchmark_group("chunking");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("fastcdc_keyed_64MiB", |b| {
        b.iter(|| black_box(chunker.cut_all(&data)))
    });
    g.finish();

    let chunk = &data[..1 << 20];
    let mut g = c.benchmark_group("hashing");
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("blake3_keyed_1MiB", |b| {
        b.iter(|| black_box(keys.blob_id(chunk)))
    });
    g.finish();

    let sealer = Sealer::new(&keys.seal);
    let txt = text(1 << 20);
    let mut g = c.benchmark_group("compress_seal");
    g.throughput(Throughput::Bytes(1 << 20));
    g.sample_size(20);
    for (name, input) in [("random_1MiB", chunk), ("text_1MiB", &txt[..])] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let payload = compression::compress(input, compression::DEFAULT_LEVEL);
                black_box(
                    sealer
                        .seal_compact(ObjectType::Chunk, &[0; 32], &payload)
                        .expect("seal"),
                )
            })
        });
    }
    g.bench_function("seal_only_1MiB", |b| {
        b.iter(|| {
            black_box(
                sealer
                    .seal_compact(ObjectType::Chunk, &[0; 32], chunk)
                    .expect("seal"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
