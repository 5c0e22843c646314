#!/usr/bin/env bash
# How tests/golden/export-v1 was made (2026-12-05): an export volume set
# (format-spec/v1/export.md) of the golden v1 repository, in small volumes
# so that it has several data volumes and a parity volume. Kept for the
# record: like every golden fixture it is NEVER regenerated once committed.
set -euo pipefail
cd "$(dirname "$0")"
B="${CAIRN_BIN:-$HOME/.cache/cairn-target/debug/cairn}"
rm -rf export-v1 /tmp/golden-export-repo /tmp/golden-export-cache
cp -a v1/repo /tmp/golden-export-repo
export CAIRN_PASSWORD_FILE="$PWD/v1/password" CAIRN_CACHE_DIR=/tmp/golden-export-cache
"$B" -r /tmp/golden-export-repo export --to export-v1 --volume-size 350K
rm -rf /tmp/golden-export-repo /tmp/golden-export-cache
