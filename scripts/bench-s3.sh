#!/usr/bin/env bash
# Benchmark on S3: backup and restore MB/s and peak RSS into a local
# directory, s3s-fs and a 3-node Garage cluster on loopback, Cairn and
# restic side by side in one run; and `cairn copy` throughput from the
# local repository into each store.
#
#   scripts/bench-s3.sh [corpus-MiB]        (default 512)
#
# Results go to stdout as a Markdown table (and bench-s3-results.md in $WORK).
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
SIZE_MB="${1:-512}"
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli -p cairn-tests --bins --quiet
CAIRN="$CARGO_TARGET_DIR/debug/cairn"
WORK="${BENCH_DIR:-$HOME/.cache/cairn-bench}"
rm -rf "$WORK/s3" && mkdir -p "$WORK/s3/restore"
CORPUS="$WORK/corpus"
if [ ! -d "$CORPUS" ] || [ "$(du -sm "$CORPUS" | cut -f1)" -lt $((SIZE_MB * 9 / 10)) ]; then
  rm -rf "$CORPUS"; python3 scripts/gen-corpus.py generate "$CORPUS" "$SIZE_MB"
fi
BYTES=$(du -sb "$CORPUS" | cut -f1)
echo "bench-password" > "$WORK/pw"
export CAIRN_PASSWORD_FILE="$WORK/pw" RESTIC_PASSWORD_FILE="$WORK/pw"

# The stores live as long as this fifo stays open.
mkfifo "$WORK/s3/keep"
"$CARGO_TARGET_DIR/debug/test-stores" < "$WORK/s3/keep" > "$WORK/s3/stores.txt" 2>"$WORK/s3/stores.log" &
STORES=$!
exec 9>"$WORK/s3/keep"
trap 'exec 9>&-; wait $STORES 2>/dev/null || true' EXIT
while [ "$(wc -l < "$WORK/s3/stores.txt")" -lt 4 ]; do sleep 0.2; done
read -r _ ACCESS SECRET < <(grep '^keys' "$WORK/s3/stores.txt")
BUCKET=$(awk '/^bucket/ {print $2}' "$WORK/s3/stores.txt")
export AWS_ACCESS_KEY_ID="$ACCESS" AWS_SECRET_ACCESS_KEY="$SECRET"

measure() { # NAME CMD... -> "secs rss_kib"
  local log="$WORK/s3/time-$1.log"; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>"$WORK/s3/stderr.log" || { cat "$WORK/s3/stderr.log" >&2; return 1; }
  cat "$log"
}
row() { # tool store step secs rss
  local mbps; mbps=$(python3 -c "print(f'{$BYTES/1e6/max($4,1e-9):.1f}')")
  printf '| %-6s | %-7s | %-14s | %8.2f | %8s | %8d |\n' "$1" "$2" "$3" "$4" "$mbps" "$(( $5 / 1024 ))"
}

results=()
for store in local s3s-fs garage; do
  if [ "$store" = local ]; then
    CREPO="$WORK/s3/cairn-local"; RREPO="$WORK/s3/restic-local"; unset AWS_ENDPOINT_URL AWS_DEFAULT_REGION AWS_REGION
  else
    read -r _ EP REGION < <(grep "^$store " "$WORK/s3/stores.txt")
    export AWS_ENDPOINT_URL="$EP" AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
    CREPO="s3://$BUCKET/cairn-bench"; RREPO="s3:$EP/$BUCKET/restic-bench"
  fi
  for tool in cairn restic; do
    if [ "$tool" = cairn ]; then
      "$CAIRN" -r "$CREPO" --cache-dir "$WORK/s3/cache-$store" init -q
      B=("$CAIRN" -r "$CREPO" --cache-dir "$WORK/s3/cache-$store" -q backup "$CORPUS")
      R=("$CAIRN" -r "$CREPO" --cache-dir "$WORK/s3/cache-$store" -q restore latest --target "$WORK/s3/restore/$tool-$store")
    else
      restic -r "$RREPO" --cache-dir "$WORK/s3/rcache-$store" init -q
      B=(restic -r "$RREPO" --cache-dir "$WORK/s3/rcache-$store" -q backup "$CORPUS")
      R=(restic -r "$RREPO" --cache-dir "$WORK/s3/rcache-$store" -q restore latest --target "$WORK/s3/restore/$tool-$store")
    fi
    read -r s m < <(measure "$tool-$store-backup" "${B[@]}"); results+=("$(row "$tool" "$store" "initial backup" "$s" "$m")")
    read -r s m < <(measure "$tool-$store-again" "${B[@]}"); results+=("$(row "$tool" "$store" "unchanged" "$s" "$m")")
    read -r s m < <(measure "$tool-$store-restore" "${R[@]}"); results+=("$(row "$tool" "$store" "restore" "$s" "$m")")
    rm -rf "$WORK/s3/restore/$tool-$store"
  done
  if [ "$store" != local ]; then
    "$CAIRN" -r "s3://$BUCKET/cairn-copy" --cache-dir "$WORK/s3/cache-copy-$store" init -q
    read -r s m < <(measure "copy-$store" "$CAIRN" -r "$WORK/s3/cairn-local" --cache-dir "$WORK/s3/cache-local" -q \
      copy latest --to "s3://$BUCKET/cairn-copy" --to-password-file "$WORK/pw")
    results+=("$(row cairn "$store" "copy from local" "$s" "$m")")
  fi
done

{
  echo "Corpus: $((BYTES / 1048576)) MiB, $(find "$CORPUS" -type f | wc -l) files; $(nproc) cores; restic $(restic version | cut -d' ' -f2); stores on loopback"
  echo
  echo "| tool   | store   | step           | seconds  | MB/s     | peak RSS MiB |"
  echo "|--------|---------|----------------|----------|----------|----------|"
  printf '%s\n' "${results[@]}"
} | tee "$WORK/s3/bench-s3-results.md"
