#!/usr/bin/env bash
# Cairn, restic and borg side by side on a generated 1.6 GB server corpus
# (benches/compare/: the corpus, the runner and its report).
#
#   scripts/bench.sh [--rounds N] [--scale S] [--tools cairn,restic,borg]
#   CAIRN_BENCH_BIN=path/to/cairn scripts/bench.sh   (another build of cairn,
#   e.g. a release build, instead of the dev-profile one)
#
# Installs restic, borg and /usr/bin/time when missing (setup.sh --bench),
# builds cairn and the `limits` program with the dev profile (the tests'
# profile: RocksDB is built once), keeps the corpus and repositories in
# $BENCH_DIR (default ~/.cache/cairn-bench/compare), and writes the table
# to benches/results/DATE-HOST.md.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
./scripts/setup.sh --bench
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli -p cairn-benches --bins --quiet
CAIRN="${CAIRN_BENCH_BIN:-$CARGO_TARGET_DIR/debug/cairn}"
exec python3 benches/compare/run.py --cairn "$CAIRN" --limits "$CARGO_TARGET_DIR/debug/limits" \
  --work "${BENCH_DIR:-$HOME/.cache/cairn-bench/compare}" "$@"
