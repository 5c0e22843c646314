#!/usr/bin/env bash
# End-to-end benchmark: Cairn and restic side by side on the same corpus,
# same machine, same run. Reports MB/s for initial, unchanged and
# after-churn backups and for restore, peak RSS, and repository size.
#
#   scripts/bench.sh [corpus-MiB]        (default 1024)
#   CAIRN_BENCH_BIN=path/to/cairn scripts/bench.sh   (another build of
#   cairn, e.g. a release build, instead of the dev-profile one)
#
# Results go to stdout as a Markdown table (and bench-results.md in $WORK).
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
SIZE_MB="${1:-1024}"
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
if [ -n "${CAIRN_BENCH_BIN:-}" ]; then
  CAIRN="$CAIRN_BENCH_BIN"
else
  cargo build -p cairn-cli --quiet
  CAIRN="$CARGO_TARGET_DIR/debug/cairn"
fi
WORK="${BENCH_DIR:-$HOME/.cache/cairn-bench}"
rm -rf "$WORK/repos" "$WORK/restore" "$WORK/corpus"
mkdir -p "$WORK/repos" "$WORK/restore"
CORPUS="$WORK/corpus"
python3 scripts/gen-corpus.py generate "$CORPUS" "$SIZE_MB"
BYTES=$(du -sb "$CORPUS" | cut -f1)
echo "bench-password" > "$WORK/pw"

export CAIRN_PASSWORD_FILE="$WORK/pw" CAIRN_CACHE_DIR="$WORK/cairn-cache"
export RESTIC_PASSWORD_FILE="$WORK/pw" RESTIC_CACHE_DIR="$WORK/restic-cache"
rm -rf "$CAIRN_CACHE_DIR" "$RESTIC_CACHE_DIR"

# measure NAME CMD...: runs CMD under /usr/bin/time, prints "secs rss_kib".
measure() {
  local log="$WORK/time-$1.log"; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>"$WORK/stderr.log" || { cat "$WORK/stderr.log" >&2; return 1; }
  cat "$log"
}

row() { # tool step secs rss
  local mbps; mbps=$(python3 -c "print(f'{$BYTES/1e6/max($3,1e-9):.1f}')")
  printf '| %-6s | %-22s | %8.2f | %8s | %8d |\n' "$1" "$2" "$3" "$mbps" "$(( $4 / 1024 ))"
}

results=()
run_tool() {
  local tool=$1
  if [ "$tool" = cairn ]; then
    export CAIRN_REPOSITORY="$WORK/repos/cairn"
    "$CAIRN" init -q
    B=("$CAIRN" -q backup "$CORPUS")
    R=("$CAIRN" -q restore latest --target "$WORK/restore/cairn")
  else
    export RESTIC_REPOSITORY="$WORK/repos/restic"
    restic init -q
    B=(restic -q backup "$CORPUS")
    R=(restic -q restore latest --target "$WORK/restore/restic")
  fi
  read -r s m < <(measure "$tool-initial" "${B[@]}"); results+=("$(row "$tool" "initial backup" "$s" "$m")")
  read -r s m < <(measure "$tool-unchanged" "${B[@]}"); results+=("$(row "$tool" "unchanged re-backup" "$s" "$m")")
  read -r s m < <(measure "$tool-restore" "${R[@]}"); results+=("$(row "$tool" "restore" "$s" "$m")")
  local size; size=$(du -sb "$WORK/repos/$tool" | cut -f1)
  results+=("| $tool | repository size | | | $(( size / 1048576 )) MiB |")
}

run_tool cairn
run_tool restic
python3 scripts/gen-corpus.py churn "$CORPUS"
for tool in cairn restic; do
  if [ "$tool" = cairn ]; then B=("$CAIRN" -q backup "$CORPUS"); else B=(restic -q backup "$CORPUS"); fi
  read -r s m < <(measure "$tool-churn" "${B[@]}"); results+=("$(row "$tool" "after-churn backup" "$s" "$m")")
done

{
  echo "Corpus: $((BYTES / 1048576)) MiB, $(find "$CORPUS" -type f | wc -l) files; $(nproc) cores; restic $(restic version | cut -d' ' -f2)"
  echo
  echo "| tool   | step                   | seconds  | MB/s     | peak RSS MiB |"
  echo "|--------|------------------------|----------|----------|----------|"
  printf '%s\n' "${results[@]}"
} | tee "$WORK/bench-results.md"
