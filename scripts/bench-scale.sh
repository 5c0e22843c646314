#!/usr/bin/env bash
# Scale benchmarks (issue 15, part 4; benches/scale/):
#
#   scripts/bench-scale.sh files [--files N] [--tools cairn,restic]
#       N small files (default 2,000,000) in tmpfs: backup, unchanged
#       re-backup (files/s against restic), restore and verify with their
#       peak RSS.
#   scripts/bench-scale.sh index [--entries N] [--backup-mib M]
#       a repository whose index holds N chunk entries (default 20,000,000):
#       cache rebuild time, dedup lookups per second, peak RSS of an M MiB
#       backup into it (default 1024).
#
# Installs restic and /usr/bin/time when missing (setup.sh --bench), builds
# cairn and the `scale` program with the dev profile, and writes the table
# to benches/results/DATE-scale-*.md.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
what="${1:-}"; shift || true
./scripts/setup.sh --bench
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli -p cairn-benches --bins --quiet
CAIRN="${CAIRN_BENCH_BIN:-$CARGO_TARGET_DIR/debug/cairn}"
case "$what" in
  files) exec python3 benches/scale/files.py --cairn "$CAIRN" "$@" ;;
  index) exec python3 benches/scale/index.py --cairn "$CAIRN" --scale "$CARGO_TARGET_DIR/debug/scale" "$@" ;;
  *) echo "usage: scripts/bench-scale.sh files|index [options]" >&2; exit 2 ;;
esac
