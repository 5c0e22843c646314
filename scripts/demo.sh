#!/usr/bin/env bash
# Quick start: build cairn, create a local repository, back up a sample
# directory twice (the second run reads nothing), restore it, and prove the
# restore is byte-identical. No server needed: local files + RocksDB cache.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
./scripts/setup.sh --build-only
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli --quiet
CAIRN="$CARGO_TARGET_DIR/debug/cairn"
DEMO="$(mktemp -d /tmp/cairn-demo.XXXXXX)"
trap 'rm -rf "$DEMO"' EXIT
mkdir -p "$DEMO/data/docs"
cp -r format-spec "$DEMO/data/docs/"
head -c 20000000 /dev/urandom > "$DEMO/data/random.bin"
printf 'demo password\n' > "$DEMO/password"
chmod 600 "$DEMO/password"
export CAIRN_REPOSITORY="$DEMO/repo" CAIRN_PASSWORD_FILE="$DEMO/password" CAIRN_CACHE_DIR="$DEMO/cache"

set -x
"$CAIRN" init
"$CAIRN" backup "$DEMO/data" --tag demo
"$CAIRN" backup "$DEMO/data" --tag demo
"$CAIRN" snapshots
"$CAIRN" ls latest "$DEMO/data/docs" | head -5
"$CAIRN" restore latest --target "$DEMO/restored"
diff -r "$DEMO/data" "$DEMO/restored$DEMO/data"
set +x
echo "demo OK: restored tree is identical to the source"
