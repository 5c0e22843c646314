#!/usr/bin/env bash
# Benchmark of cold-media exports: `cairn export` (directories and tar),
# `cairn export verify` and a restore from the export, against the manual
# procedure Cairn replaces (tar of the repository + sha256sum), on one
# corpus. Reports MB/s of repository data, peak RSS and the size overhead
# of the default export parity (16+1).
#
#   scripts/bench-export.sh [corpus-MiB] [volume-size]   (default 1024 100M)
#
# Results go to stdout as a Markdown table (and bench-export-results.md in $WORK).
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
SIZE_MB="${1:-1024}"
VOL="${2:-100M}"
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli --quiet
CAIRN="$CARGO_TARGET_DIR/debug/cairn"
WORK="${BENCH_DIR:-$HOME/.cache/cairn-bench}"
B="$WORK/export"
rm -rf "$B" && mkdir -p "$B"
CORPUS="$WORK/corpus"
if [ ! -d "$CORPUS" ] || [ "$(du -sm "$CORPUS" | cut -f1)" -lt $((SIZE_MB * 9 / 10)) ]; then
  rm -rf "$CORPUS"; python3 scripts/gen-corpus.py generate "$CORPUS" "$SIZE_MB"
fi
echo "bench-password" > "$B/pw"
export CAIRN_PASSWORD_FILE="$B/pw" CAIRN_CACHE_DIR="$B/cache"
"$CAIRN" -r "$B/repo" init -q
"$CAIRN" -r "$B/repo" backup -q "$CORPUS"
BYTES=$(du -sb "$B/repo/data" | cut -f1)

measure() { # NAME CMD... -> "secs rss_kib"
  local log="$B/time-$1.log"; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>"$B/stderr.log" || { cat "$B/stderr.log" >&2; return 1; }
  cat "$log"
}
row() { # what secs rss
  local mbps; mbps=$(python3 -c "print(f'{$BYTES/1e6/max($2,1e-9):.1f}')")
  printf '| %-34s | %8.2f | %8s | %8d |\n' "$1" "$2" "$mbps" "$(( $3 / 1024 ))"
}
results=()
read -r s r < <(measure export "$CAIRN" -r "$B/repo" export --to "$B/dirs" --volume-size "$VOL")
results+=("$(row "cairn export (directories, $VOL)" "$s" "$r")")
read -r s r < <(measure export-tar "$CAIRN" -r "$B/repo" export --to "$B/tars" --volume-size "$VOL" --tar)
results+=("$(row "cairn export --tar" "$s" "$r")")
read -r s r < <(measure verify "$CAIRN" export verify "$B/dirs")
results+=("$(row "cairn export verify" "$s" "$r")")
read -r s r < <(measure restore "$CAIRN" -r "export:$B/tars" restore latest --target "$B/restore")
results+=("$(row "cairn restore -r export: (tar)" "$s" "$r")")
read -r s r < <(measure manual bash -c "tar -cf '$B/manual.tar' -C '$B' repo && sha256sum '$B/manual.tar'")
results+=("$(row "manual: tar of the repo + sha256sum" "$s" "$r")")
PACKS=$(du -sb "$B"/dirs/*/data | awk '{s+=$1} END {print s}')
PARITY=$(du -sb "$B"/dirs/*/parity 2>/dev/null | awk '{s+=$1} END {print s+0}')
TOTAL=$(du -sb "$B/dirs" | cut -f1)
{
  echo "Corpus ${SIZE_MB} MiB, repository data $((BYTES / 1048576)) MiB, volumes of $VOL, $(nproc) cores"
  echo
  echo "| step | seconds | MB/s | peak RSS MiB |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${results[@]}"
  echo
  python3 -c "print(f'volumes: $(ls "$B/dirs" | wc -l); parity {$PARITY/1048576:.1f} MiB = {100*$PARITY/$PACKS:.1f}% of the packs; everything else (copies of keys, index, snapshots, spec, manifests) {($TOTAL-$PACKS-$PARITY)/1048576:.1f} MiB')"
} | tee "$WORK/bench-export-results.md"
