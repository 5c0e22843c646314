#!/usr/bin/env bash
# The whole test suite: formatting, lints (with and without the optional
# mongodb and s3 features), unit and in-process tests, the layering check,
# end-to-end tests of the real binary (on local directories and on real S3
# servers: s3s-fs and a 3-node Garage cluster, built by setup.sh), golden
# output, format test vectors, golden repositories.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR=never
echo "== fmt"; cargo fmt --all -- --check
echo "== clippy"; cargo clippy --workspace --all-targets --quiet -- -D warnings
# The engine without the MongoDB driver and the S3 client (cargo features
# `mongodb`, `s3`) must build.
cargo clippy -p cairn-engine --no-default-features --quiet -- -D warnings
echo "== build"; cargo build --workspace --all-targets --quiet
export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"
export CAIRN_TOOLS="${CAIRN_TOOLS:-$HOME/.cache/cairn-tools}"
export CAIRN_SECANTUSD="${CAIRN_VENV:-$HOME/.cache/cairn-venv}/bin/secantusd-py"
export CAIRN_REF_PYTHON="${CAIRN_REF_PYTHON:-${CAIRN_VENV:-$HOME/.cache/cairn-venv}/bin/python}"
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --test-threads 2
else
  cargo test --workspace --no-fail-fast -- --test-threads 2
fi
