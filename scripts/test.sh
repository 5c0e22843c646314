#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, end-to-end tests of
# the real binary, format test vectors, golden repositories.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR=never
echo "== fmt"; cargo fmt --all -- --check
echo "== clippy"; cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== build"; cargo build --workspace --all-targets --quiet
export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"
export CAIRN_SECANTUSD="${CAIRN_VENV:-$HOME/.cache/cairn-venv}/bin/secantusd-py"
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --test-threads 2
else
  cargo test --workspace --no-fail-fast -- --test-threads 2
fi
