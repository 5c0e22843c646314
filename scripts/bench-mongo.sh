#!/usr/bin/env bash
# MongoDB dump and restore throughput against a local SecantusDB server.
#   scripts/bench-mongo.sh [documents]   (default 200000, ~1 KiB each)
# Reports documents/s and MB/s for `cairn backup mongodb://` and
# `cairn restore --to`; compares with mongodump when it is installed.
set -euo pipefail
export HOME="${HOME:-/root}"
cd "$(dirname "$0")/.."
N="${1:-200000}"
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build -p cairn-cli --quiet
CAIRN="$CARGO_TARGET_DIR/debug/cairn"
VENV="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"
WORK="$(mktemp -d /tmp/cairn-bench-mongo.XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$PORT" --storage-path "$WORK/db" --log-level WARNING >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
URI="mongodb://127.0.0.1:$PORT/"
"$VENV/bin/python" - "$URI" "$N" <<'PY'
import sys, time, random
from pymongo import MongoClient
uri, n = sys.argv[1], int(sys.argv[2])
for _ in range(100):
    try:
        c = MongoClient(uri, serverSelectionTimeoutMS=500); c.admin.command("ping"); break
    except Exception: time.sleep(0.2)
rnd = random.Random(1)
coll = c.bench.orders
batch = []
for i in range(n):
    batch.append({"_id": i, "customer": f"c{i % 977}", "total": i * 0.5, "items": [rnd.randrange(1000) for _ in range(20)],
                  "note": "".join(rnd.choice("abcdefghij ") for _ in range(800))})
    if len(batch) == 5000:
        coll.insert_many(batch); batch = []
if batch: coll.insert_many(batch)
PY
echo pw > "$WORK/pw"
export CAIRN_REPOSITORY="$WORK/repo" CAIRN_PASSWORD_FILE="$WORK/pw" CAIRN_CACHE_DIR="$WORK/cache"
"$CAIRN" -q init
t0=$(date +%s.%N); /usr/bin/time -f "cairn backup CPU: %U s user, %S s sys, peak RSS %M KiB" "$CAIRN" -q backup "$URI" --db bench; t1=$(date +%s.%N)
BYTES=$("$CAIRN" --json verify latest | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
t2=$(date +%s.%N); /usr/bin/time -f "cairn restore CPU: %U s user, %S s sys, peak RSS %M KiB" "$CAIRN" -q restore latest --to "$URI" --rename-db bench=bench_r; t3=$(date +%s.%N)
python3 - "$N" "$BYTES" "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
n, b, t0, t1, t2, t3 = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
d, r = t1 - t0, t3 - t2
print(f"documents: {n}, dump size: {b/1e6:.1f} MB")
print(f"cairn backup mongodb://   {d:7.2f} s  {n/d:9.0f} docs/s  {b/1e6/d:7.1f} MB/s")
print(f"cairn restore --to        {r:7.2f} s  {n/r:9.0f} docs/s  {b/1e6/r:7.1f} MB/s")
PY
if command -v mongodump >/dev/null; then
  t0=$(date +%s.%N); mongodump --uri "$URI" --db bench --out "$WORK/md" --quiet; t1=$(date +%s.%N)
  python3 -c "print(f'mongodump                 {$t1-$t0:7.2f} s')"
else
  echo "mongodump: not installed here (no MongoDB tools package in this machine's registries); figures above stand alone"
fi
