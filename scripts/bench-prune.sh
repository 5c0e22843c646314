#!/usr/bin/env bash
# Prune benchmark: Cairn and restic side by side on the same history of
# many snapshots (same machine, same run). Each round churns the corpus
# (5% of files modified, 5 MiB added, the files added three rounds earlier
# deleted) and backs up with both tools; then both forget all but the last
# 10 snapshots and prune with their defaults (max 5% unused). Reports prune
# time, peak RSS and repository size before and after.
#
#   scripts/bench-prune.sh [corpus-MiB] [snapshots]     (default 256 110)
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
SIZE_MB="${1:-256}"
SNAPS="${2:-110}"
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli --quiet
CAIRN="$CARGO_TARGET_DIR/debug/cairn"
WORK="${BENCH_DIR:-$HOME/.cache/cairn-bench-prune}"
rm -rf "$WORK"
mkdir -p "$WORK"
CORPUS="$WORK/corpus"
python3 scripts/gen-corpus.py generate "$CORPUS" "$SIZE_MB"
echo "bench-password" > "$WORK/pw"
export CAIRN_PASSWORD_FILE="$WORK/pw" CAIRN_CACHE_DIR="$WORK/cairn-cache"
export RESTIC_PASSWORD_FILE="$WORK/pw" RESTIC_CACHE_DIR="$WORK/restic-cache"
export CAIRN_REPOSITORY="$WORK/cairn" RESTIC_REPOSITORY="$WORK/restic"
"$CAIRN" init -q
restic init -q

for i in $(seq 1 "$SNAPS"); do
  python3 scripts/gen-corpus.py churn "$CORPUS" $((i + 10))
  "$CAIRN" -q backup "$CORPUS"
  restic -q backup "$CORPUS" >/dev/null
done

size() { du -sb "$1" | cut -f1; }
measure() { # log CMD...: prints "secs rss_kib"
  local log="$WORK/time-$1.log"; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$log" "$@" >"$WORK/out-$(basename "$log")" 2>&1 \
    || { cat "$WORK/out-$(basename "$log")" >&2; return 1; }
  cat "$log"
}

c_before=$(size "$WORK/cairn"); r_before=$(size "$WORK/restic")
"$CAIRN" -q forget --keep-last 10
restic -q forget --keep-last 10 >/dev/null
read -r cs cm < <(measure cairn-prune "$CAIRN" prune)
read -r rs rm < <(measure restic-prune restic prune)
c_after=$(size "$WORK/cairn"); r_after=$(size "$WORK/restic")
"$CAIRN" -q check
restic -q check >/dev/null

mib() { echo $(( $1 / 1048576 )); }
{
  echo "History: $SNAPS snapshots of a $SIZE_MB MiB corpus; forget --keep-last 10, then prune; $(nproc) cores; restic $(restic version | cut -d' ' -f2)"
  echo
  echo "| tool   | repo before MiB | repo after MiB | prune seconds | prune peak RSS MiB |"
  echo "|--------|-----------------|----------------|---------------|--------------------|"
  printf '| cairn  | %15s | %14s | %13s | %18s |\n' "$(mib "$c_before")" "$(mib "$c_after")" "$cs" "$(( cm / 1024 ))"
  printf '| restic | %15s | %14s | %13s | %18s |\n' "$(mib "$r_before")" "$(mib "$r_after")" "$rs" "$(( rm / 1024 ))"
} | tee "$WORK/bench-prune-results.md"
