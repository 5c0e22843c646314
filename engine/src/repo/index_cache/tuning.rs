//! RocksDB settings of the index cache, each with the measurement behind
//! it (`benches/scale/index.py`). Invariant: memory stays bounded whatever
//! the number of entries (a fixed block cache holds data, index and
//! filter blocks; memtables are fixed in size).

/// Block cache shared by data, index and filter blocks: the bound on what
/// the cache holds in memory, whatever the repository's size.
const BLOCK_CACHE: usize = 64 << 20;

/// RocksDB settings, each chosen for this workload and measured with
/// `benches/scale/index.py` (2 cores; 20 million entries, the index of a
/// 20 TB repository at 1 MiB chunks, about 1.6 GB of keys and values):
/// point lookups of random 32-byte IDs (most of them misses while new data
/// is backed up), bulk inserts of whole index files, and memory that stays
/// flat as the repository grows.
///
/// At 20 million entries, warm: RocksDB's defaults gave 32,000 lookups/s
/// (hits and misses alike); these settings 166,000 hits/s and 803,000
/// misses/s. Filters kept outside the block cache were as fast but grow
/// with the entries (17 MB more RSS at 20 million); filters in the cache
/// unpartitioned were evicted by data blocks and re-read whole (1 MB) on
/// every lookup: 29,000/s.
pub(super) fn options() -> rocksdb::Options {
    let mut o = rocksdb::Options::default();
    o.create_if_missing(true);
    // Some 25 SST files of 64 MiB at 20 million entries: 128 handles keep
    // every file open without reopening it on each lookup.
    o.set_max_open_files(128);
    // Memtables are the other memory bound (two of them while one is
    // flushed): 16 MiB keeps RSS low. Larger ones or no write-ahead log
    // did not shorten a rebuild measurably (34 s for 20 million entries,
    // bound by compaction on both cores).
    o.set_write_buffer_size(16 << 20);
    // A Bloom filter over each memtable's whole keys: during a first
    // backup most lookups are of new chunks, and the IDs this backup
    // already indexed sit in the memtable, where each miss otherwise walks
    // the skip list (`FindGreaterOrEqual`, 5.5% of the source thread's
    // samples, issue 15; 0.05% with the filter). 2% of the memtable is
    // 335 KB, some 16 bits per entry at about 100 bytes an entry: a false
    // positive rate near 0.1% for a third of a megabyte of memory per
    // memtable (10%, RocksDB's usual ratio, would be 1.6 MB).
    o.set_memtable_prefix_bloom_ratio(0.02);
    o.set_memtable_whole_key_filtering(true);
    o.set_max_background_jobs(2);
    o.set_keep_log_file_num(2);
    // Keys are random IDs and values mostly IDs too: compression would
    // cost CPU on every read and save almost nothing.
    o.set_compression_type(rocksdb::DBCompressionType::None);
    // Leveled compaction (the default style) keeps a point lookup to one
    // file per level; dynamic level sizes keep space amplification near
    // 1.1x as the cache grows, where universal compaction can double it.
    o.set_level_compaction_dynamic_level_bytes(true);
    let mut t = rocksdb::BlockBasedOptions::default();
    // Bloom filters, 10 bits per key (about 1% false positives): a lookup
    // of a new chunk (a miss) is answered from the filter without reading
    // a data block.
    t.set_bloom_filter(10.0, false);
    // Filters and indexes are partitioned into small blocks and kept in
    // the bounded block cache (only their top level pinned), so memory
    // does not grow with the number of entries and an evicted partition
    // costs a 4 KiB read, not the whole filter of a file.
    t.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    t.set_partition_filters(true);
    t.set_cache_index_and_filter_blocks(true);
    t.set_pin_top_level_index_and_filter(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    // 16 KiB data blocks: a quarter of the index entries of the 4 KiB
    // default, for the same point-lookup cost once a block is cached.
    t.set_block_size(16 << 10);
    t.set_block_cache(&rocksdb::Cache::new_lru_cache(BLOCK_CACHE));
    o.set_block_based_table_factory(&t);
    o
}
