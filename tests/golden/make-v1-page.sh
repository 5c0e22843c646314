#!/usr/bin/env bash
# How tests/golden/v1-page was made (2026-12-05). Kept for the record: a
# golden repository is NEVER regenerated once committed — it proves that a
# repository with the page class (format generation 3,
# format-spec/v1/chunking.md "Chunk classes", step 3) restores forever.
#
# Needs python3 with `blake3` and `sqlite3`. Writes
# v1-page/{repo,password,MANIFEST-1,MANIFEST-2}.
set -euo pipefail
cd "$(dirname "$0")"
G=v1-page; B="${CAIRN_BIN:-$HOME/.cache/cairn-target/debug/cairn}"
SRC=/tmp/cairn-golden-page; WORK=/tmp/cairn-golden-page-work
[ ! -e "$G/repo" ] || { echo "$G/repo exists: golden repositories are never regenerated" >&2; exit 1; }
rm -rf "$SRC" "$WORK"; mkdir -p "$G" "$SRC" "$WORK"

# Day 1: a SQLite database (4 KiB pages, page class), its first 64 KiB
# under a name of the main class, and a sparse WiredTiger-named file whose
# data regions start at 0 and straddle the 1 GiB limit.
python3 - "$SRC" <<'PY'
import hashlib, sqlite3, sys
src = sys.argv[1]
db = sqlite3.connect(f'{src}/app.sqlite')
db.execute('PRAGMA page_size = 4096')
db.execute('CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, note TEXT)')
for i in range(3000):
    note = hashlib.sha256(f'order {i}'.encode()).hexdigest()
    db.execute('INSERT INTO orders VALUES (?, ?, ?)', (i, 'open', note))
db.commit()
db.close()
open(f'{src}/app.bin', 'wb').write(open(f'{src}/app.sqlite', 'rb').read(65536))
chain = lambda seed, n: b''.join(hashlib.sha256(f'{seed} {i}'.encode()).digest() for i in range(n // 32))
with open(f'{src}/big.wt', 'wb') as f:
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
printf 'golden-v1-page-password\n' > "$G/password"
export CAIRN_REPOSITORY="$PWD/$G/repo" CAIRN_PASSWORD_FILE="$PWD/$G/password" CAIRN_CACHE_DIR="$WORK/cache"
"$B" init --kdf-memory-kib 1024 --kdf-iterations 1
"$B" backup "$SRC" --time 2026-12-05T01:00:00Z --host golden --tag golden,day1
manifest > "$G/MANIFEST-1"

# Day 2: five orders updated in place (SQLite rewrites their pages and
# the header page's change counter).
python3 - "$SRC" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f'{sys.argv[1]}/app.sqlite')
for i in (10, 900, 1500, 2200, 2999):
    db.execute("UPDATE orders SET status = 'paid' WHERE id = ?", (i,))
db.commit()
db.close()
PY
"$B" backup "$SRC" --time 2026-12-05T02:00:00Z --host golden --tag golden,day2
manifest > "$G/MANIFEST-2"
"$B" check && "$B" scrub
