#!/usr/bin/env bash
# How tests/golden/v1-fine was made (2026-12-05). Kept for the record: a
# golden repository is NEVER regenerated once committed — it proves that a
# repository with the fine chunk class (format generation 2,
# format-spec/v1/chunking.md "Chunk classes") restores forever.
#
# Needs python3 with `blake3`. Writes v1-fine/{repo,password,MANIFEST-1,MANIFEST-2}.
set -euo pipefail
cd "$(dirname "$0")"
G=v1-fine; B="${CAIRN_BIN:-$HOME/.cache/cairn-target/debug/cairn}"
SRC=/tmp/cairn-golden-fine; WORK=/tmp/cairn-golden-fine-work
[ ! -e "$G/repo" ] || { echo "$G/repo exists: golden repositories are never regenerated" >&2; exit 1; }
rm -rf "$SRC" "$WORK"; mkdir -p "$G" "$SRC" "$WORK"

# Day 1: a JSON-lines export (fine class), a copy of its first 64 KiB
# under a name of the main class, and a sparse SQLite-named file whose
# data regions start at 0 and straddle the 1 GiB fine limit.
python3 - "$SRC" <<'PY'
import hashlib, sys
src = sys.argv[1]
def row(i, rev):
    h = hashlib.sha256(f'row {i} rev {rev}'.encode()).hexdigest()
    return f'{{"_id":{i},"rev":{rev},"payload":"{h}{h}"}}\n'
rows = ''.join(row(i, 0) for i in range(1500))
open(f'{src}/export.jsonl', 'w').write(rows)
open(f'{src}/export.bin', 'w').write(rows[:65536])
chain = lambda seed, n: b''.join(hashlib.sha256(f'{seed} {i}'.encode()).digest() for i in range(n // 32))
with open(f'{src}/big.db', 'wb') as f:
    f.write(chain('head', 16384))
    f.seek((1 << 30) - 32768); f.write(chain('limit', 65536))
    f.truncate((1 << 30) + (1 << 20))
PY
manifest() {
    python3 - "$SRC" <<'PY'
import blake3, os, sys
lines = []
for dp, _, fn in os.walk(sys.argv[1]):
    for f in fn:
        p = os.path.join(dp, f)
        h = blake3.blake3()
        with open(p, 'rb') as fh:
            for block in iter(lambda: fh.read(1 << 20), b''):
                h.update(block)
        lines.append(h.hexdigest() + '  ' + os.path.relpath(p, '/'))
print('\n'.join(sorted(lines)))
PY
}
printf 'golden-v1-fine-password\n' > "$G/password"
export CAIRN_REPOSITORY="$PWD/$G/repo" CAIRN_PASSWORD_FILE="$PWD/$G/password" CAIRN_CACHE_DIR="$WORK/cache"
"$B" init --kdf-memory-kib 1024 --kdf-iterations 1
"$B" backup "$SRC" --time 2026-12-05T01:00:00Z --host golden --tag golden,day1
manifest > "$G/MANIFEST-1"

# Day 2: three rows of the export rewritten in place (same length).
python3 - "$SRC" 1 <<'PY'
import hashlib, sys
src = sys.argv[1]
def row(i, rev):
    h = hashlib.sha256(f'row {i} rev {rev}'.encode()).hexdigest()
    return f'{{"_id":{i},"rev":{rev},"payload":"{h}{h}"}}\n'
rows = [row(i, 1 if i in {100, 400, 700} else 0) for i in range(1500)]
open(f'{src}/export.jsonl', 'w').write(''.join(rows))
PY
"$B" backup "$SRC" --time 2026-12-05T02:00:00Z --host golden --tag golden,day2
manifest > "$G/MANIFEST-2"
"$B" check && "$B" scrub
