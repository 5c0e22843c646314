//! Forged snapshots (written with the repository's keys, so every seal
//! verifies) whose trees lie: extents that do not add up to the recorded
//! size, a file pointing at a tree, graphs that reuse subtrees
//! exponentially or nest deeper than any path. Readers refuse them with a
//! clear message instead of looping, allocating without bound or writing.

use super::{run_bounded, stderr};
use cairn_engine::codec::pack::BlobType;
use cairn_engine::codec::tree::Extent;
use cairn_tests::forge::{dir, file, Forger};
use cairn_tests::{assert_code, random_bytes, Env};
use std::fs;

/// A forged snapshot whose root holds `nodes`, with recorded totals.
pub(super) fn forged(f: &Forger, nodes: Vec<cairn_engine::Node>, files: u64, dirs: u64) -> String {
    let (root, _) = f.tree(nodes);
    // 2001: older than any snapshot a test backs up besides.
    f.snapshot(root, files, dirs, 1_000_000_000).to_hex()
}

#[test]
fn dump_of_a_forged_huge_hole_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let id = forged(&f, vec![file("big", 10, vec![Extent::Hole(1 << 62)])], 1, 0);
    let (code, err) = run_bounded(&env, &["dump", &id[..10], "/big"], 20);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("content adds up to"), "{err}");
    let out = env.run(&["dump", &id[..10], "/big"]);
    assert!(
        out.stdout.is_empty(),
        "dump wrote {} bytes",
        out.stdout.len()
    );
    let (code, err) = run_bounded(&env, &["verify", &id[..10]], 20);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("content adds up to"), "{err}");
    let t = env.path("t");
    let out = env.run(&["restore", &id[..10], "--target", t.to_str().unwrap()]);
    assert_code(&out, 1);
    assert!(!t.join("big").exists(), "restore created the forged file");
}

#[test]
fn forged_file_pointing_at_a_tree_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let (secret, bytes) = f.tree(vec![file("inner", 0, vec![])]);
    let id = forged(
        &f,
        vec![file(
            "f",
            bytes.len() as u64,
            vec![Extent::Chunk(cairn_engine::ChunkId(secret.0))],
        )],
        1,
        0,
    );
    let out = env.run(&["dump", &id[..10], "/f"]);
    assert_code(&out, 1);
    assert!(out.stdout.is_empty(), "a tree was dumped as file content");
    assert!(
        stderr(&out).contains("stored as a tree"),
        "{}",
        stderr(&out)
    );
    let t = env.path("t");
    assert_code(
        &env.run(&["restore", &id[..10], "--target", t.to_str().unwrap()]),
        1,
    );
    let out = env.run(&["verify", &id[..10]]);
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("stored as a tree"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dump_checks_the_content_against_the_recorded_size() {
    let env = Env::init();
    let f = Forger::open(&env);
    let data = random_bytes(100, 3);
    let c = f.chunk(&data);
    let id = forged(
        &f,
        vec![
            file("short", 50, vec![Extent::Chunk(c)]),
            file("long", 150, vec![Extent::Chunk(c)]),
            file("right", 100, vec![Extent::Chunk(c)]),
        ],
        3,
        0,
    );
    for name in ["/short", "/long"] {
        let out = env.run(&["dump", &id[..10], name]);
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("the tree records"),
            "{}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{name}: wrote {} bytes",
            out.stdout.len()
        );
    }
    let out = env.run(&["dump", &id[..10], "/right"]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, data);
}

#[test]
fn forged_graph_reusing_subtrees_exponentially_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let c = f.chunk(b"leaf");
    // Level 0 holds one file; level k holds two directories that are both
    // level k-1: 2^40 files from 41 trees.
    let (mut t, bytes) = f.tree_unstored(vec![file("leaf", 4, vec![Extent::Chunk(c)])]);
    let mut trees = vec![(BlobType::Tree, bytes)];
    for _ in 0..40 {
        let (id, bytes) = f.tree_unstored(vec![dir("a", t), dir("b", t)]);
        trees.push((BlobType::Tree, bytes));
        t = id;
    }
    f.store(&trees);
    let id = forged(&f, vec![dir("top", t)], 1, 41);
    let target = env.path("t");
    let target = target.to_str().unwrap();
    // `ls` first: unbounded, it streams (no memory growth) until killed.
    for args in [
        vec!["ls", &id[..10]],
        vec!["restore", &id[..10], "--target", target],
        vec!["verify", &id[..10]],
        vec!["drill", &id[..10]],
    ] {
        let (code, err) = run_bounded(&env, &args, 30);
        // verify runs to the end and reports damage (4); the others
        // (drill restores first) cannot run (1).
        let want = if args[0] == "verify" { 4 } else { 1 };
        assert_eq!(code, Some(want), "{args:?}: {err}");
        assert!(err.contains("than the snapshot records"), "{args:?}: {err}");
    }
    // Legitimate reuse (identical directories stored once) still restores.
    let src = env.path("src");
    for d in ["x", "y"] {
        fs::create_dir_all(src.join(d).join("empty")).unwrap();
        fs::write(src.join(d).join("same"), b"same").unwrap();
    }
    env.backup(&src, &[]);
    env.ok(&["verify", "latest"]);
    let t = env.restore_latest("legit");
    assert!(t
        .join(src.strip_prefix("/").unwrap())
        .join("y/empty")
        .is_dir());
}

#[test]
fn forged_graph_nested_deeper_than_any_path_is_refused() {
    let env = Env::init();
    let f = Forger::open(&env);
    let (mut t, bytes) = f.tree_unstored(vec![]);
    let mut trees = vec![(BlobType::Tree, bytes)];
    for _ in 0..2100 {
        let (id, bytes) = f.tree_unstored(vec![dir("d", t)]);
        trees.push((BlobType::Tree, bytes));
        t = id;
    }
    f.store(&trees);
    let id = forged(&f, vec![dir("top", t)], 0, 2101);
    let target = env.path("t");
    for args in [
        vec!["ls", &id[..10]],
        vec!["restore", &id[..10], "--target", target.to_str().unwrap()],
    ] {
        let (code, err) = run_bounded(&env, &args, 60);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("nested deeper than 2048"), "{args:?}: {err}");
    }
}
