#!/usr/bin/env bash
# How tests/golden/v1-features was made (2026-12-05). Kept for the record:
# a golden repository is NEVER regenerated once committed — it proves that
# what format v1 gained after tests/golden/v1 (parity, MongoDB snapshots,
# every kind of file metadata) restores forever.
#
# Needs root (owners, devices), python3 with `blake3`, and the test venv
# (scripts/setup.sh: SecantusDB and pymongo in $HOME/.cache/cairn-venv).
# Writes v1-features/{repo,password,MANIFEST,METADATA,MANIFEST-mongodb}.
set -euo pipefail
cd "$(dirname "$0")"
G=v1-features; B="${CAIRN_BIN:-$HOME/.cache/cairn-target/debug/cairn}"
VENV="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"; PY="${PYTHON_BLAKE3:-python3}"
SRC=/tmp/cairn-golden-meta; WORK=/tmp/cairn-golden-work
[ "$(id -u)" = 0 ] || { echo "run as root (owners, devices)" >&2; exit 1; }
[ ! -e "$G/repo" ] || { echo "$G/repo exists: golden repositories are never regenerated" >&2; exit 1; }
rm -rf "$SRC" "$WORK"; mkdir -p "$G" "$WORK"

# 1. The file tree: every metadata kind a v1 tree node records.
"$PY" - "$SRC" <<'PY'
import os, sys
src = os.fsencode(sys.argv[1])
j = lambda *p: os.path.join(src, *[os.fsencode(x) for x in p])
os.makedirs(j('sticky')); os.makedirs(j('setgid-dir')); os.makedirs(j('empty-dir'))
os.makedirs(j(b'dir-\xff\xfe'))
def put(p, data, mode, uid=0, gid=0):
    with open(p, 'wb') as f: f.write(data)
    os.chown(p, uid, gid); os.chmod(p, mode)   # owner first: chown clears setuid
put(j('hello.txt'), b'hello from the v1-features golden repository\n', 0o644)
put(j('setuid-tool'), b'#!/bin/sh\necho setuid\n', 0o4755, 1234, 5678)
put(j('setgid-dir', 'shared.txt'), b'group file\n', 0o2664, 0, 5678)
put(j('sticky', 'inside.txt'), b'in a sticky directory\n', 0o640, 1001, 1002)
put(j('empty'), b'', 0o600)
import hashlib  # 64 KiB that does not compress: several packs, so parity has a group to protect
put(j('random.bin'), b''.join(hashlib.sha256(str(i).encode()).digest() for i in range(2048)), 0o644)
put(j(b'latin1-\xe9t\xe9.txt'), b'a name that is not UTF-8\n', 0o644)
put(j(b'dir-\xff\xfe', b'inner'), b'inside a non-UTF-8 directory\n', 0o444, 4000, 4000)
put(j('xattr-file'), b'has extended attributes\n', 0o644)
os.setxattr(j('xattr-file'), 'user.cairn.text', b'golden')
os.setxattr(j('xattr-file'), 'user.cairn.binary', b'\x00\x01\xfe\xff')
os.setxattr(j('setgid-dir'), 'user.cairn.dir', b'on a directory')
# Hard links: three names, one inode, one in another directory.
put(j('hardlink-a'), b'one inode, three names\n' * 100, 0o640, 1234, 5678)
os.link(j('hardlink-a'), j('hardlink-b')); os.link(j('hardlink-a'), j('sticky', 'hardlink-c'))
# Holes: data, a 1 MiB hole, data, and a trailing 1 MiB hole.
with open(j('sparse.img'), 'wb') as f:
    f.write(b'head' * 1024); f.seek(1 << 20, 1); f.write(b'middle' * 1000); f.truncate(3 << 20)
os.chmod(j('sparse.img'), 0o600)
os.symlink('hello.txt', j('symlink-rel')); os.symlink('/nonexistent/target', j('symlink-dangling'))
os.symlink(b'dir-\xff\xfe/inner', j('symlink-into-dir'))
os.mkfifo(j('fifo'), 0o600); os.chmod(j('fifo'), 0o620)
os.mknod(j('char-null'), 0o666 | 0o020000, os.makedev(1, 3)); os.chmod(j('char-null'), 0o666)
os.mknod(j('block-loop'), 0o660 | 0o060000, os.makedev(7, 200)); os.chmod(j('block-loop'), 0o660)
os.chown(j('block-loop'), 0, 6)
os.chmod(j('sticky'), 0o1777); os.chown(j('setgid-dir'), 0, 5678); os.chmod(j('setgid-dir'), 0o2775)
os.chmod(j('empty-dir'), 0o700); os.chown(j('empty-dir'), 1234, 5678); os.chmod(j(b'dir-\xff\xfe'), 0o755)
# Nanosecond times, distinct per entry, children before their directories.
base = 1764547200  # 2025-12-01T00:00:00Z
paths = []
for dp, dn, fn in os.walk(src, topdown=False):
    paths += [os.path.join(dp, n) for n in sorted(fn + dn)]
paths.append(src)
for i, p in enumerate(paths):
    t = (base + 3600 * i) * 10**9 + 123456789 + i
    os.utime(p, ns=(t, t), follow_symlinks=False)
PY

# 2. The repository: cheap KDF, small packs, parity 2+1.
printf 'golden-v1-features-password\n' > "$G/password"
export CAIRN_REPOSITORY="$PWD/$G/repo" CAIRN_PASSWORD_FILE="$PWD/$G/password" CAIRN_CACHE_DIR="$WORK/cache"
"$B" init --kdf-memory-kib 1024 --kdf-iterations 1 --parity 2+1 --pack-size 16K
"$B" backup "$SRC" --time 2026-12-05T01:00:00Z --host golden --tag golden,files

# 3. A MongoDB snapshot of a small database made on the test server.
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$PORT" --storage-path "$WORK/mongo" --log-level WARNING >"$WORK/mongo.log" 2>&1 &
MONGO_PID=$!; trap 'kill $MONGO_PID 2>/dev/null || true' EXIT
"$VENV/bin/python" - "$PORT" <<'PY'
import sys, time, datetime
from bson import Binary, Decimal128, ObjectId, Int64, Regex, Timestamp, MinKey, MaxKey
from pymongo import MongoClient, ASCENDING, DESCENDING
c = MongoClient(f'mongodb://127.0.0.1:{sys.argv[1]}/?directConnection=true', serverSelectionTimeoutMS=2000)
for _ in range(300):
    try: c.admin.command('ping'); break
    except Exception: time.sleep(0.2)
shop = c['golden_shop']
shop.items.insert_many([{'_id': i, 'sku': f'sku-{i:04}', 'qty': i % 7, 'price': Decimal128(f'{i}.25'),
    'tags': ['golden', f't{i % 3}'], 'blob': Binary(bytes([i % 256]) * 16),
    'oid': ObjectId(bytes(range(i % 8, i % 8 + 12))), 'big': Int64(2**53 + i),
    'when': datetime.datetime(2026, 12, 5, 1, i % 60, tzinfo=datetime.timezone.utc),
    're': Regex('^g.*n$', 'i'), 'ts': Timestamp(1764892800, i), 'min': MinKey(), 'max': MaxKey(),
    'name': 'ñandú' if i % 2 else 'plain', 'none': None} for i in range(200)])
shop.items.create_index([('sku', ASCENDING)], name='sku_unique', unique=True)
shop.items.create_index([('qty', ASCENDING), ('price', DESCENDING)], name='qty_price')
shop.create_collection('log', capped=True, size=65536, max=100)
shop.log.insert_many([{'_id': i, 'line': f'log {i}'} for i in range(30)])
shop.command('create', 'cheap', viewOn='items', pipeline=[{'$match': {'qty': {'$lt': 2}}}])
c['golden_other'].notes.insert_many([{'_id': f'n{i}', 'text': 'x' * i} for i in range(50)])
PY
"$B" backup "mongodb://127.0.0.1:$PORT/" --time 2026-12-05T02:00:00Z --host golden --tag golden,mongodb

# 4. Expected content, from the sources (not from Cairn), checked against a restore now.
"$PY" - "$SRC" > "$G/MANIFEST" <<'PY'
import blake3, os, sys
lines = []
for dp, _, fn in os.walk(os.fsencode(sys.argv[1])):
    for f in fn:
        p = os.path.join(dp, f)
        if os.path.isfile(p) and not os.path.islink(p):
            rel = ''.join(chr(b) if 0x20 < b < 0x7f and b != 0x5c else f'\\x{b:02x}' for b in os.path.relpath(p, b'/'))
            lines.append(blake3.blake3(open(p, 'rb').read()).hexdigest() + '  ' + rel)
print('\n'.join(sorted(lines)))
PY
"$PY" - "$SRC" > "$G/METADATA" <<'PY'
import blake3, os, stat, sys
root = os.fsencode(sys.argv[1])
esc = lambda bs: ''.join(chr(b) if 0x20 < b < 0x7f and b != 0x5c else f'\\x{b:02x}' for b in bs) or '-'
rows = []
for dp, dn, fn in os.walk(root):
    for n in dn + fn + ([b'.'] if dp == root else []):
        p = os.path.normpath(os.path.join(dp, n)); st = os.lstat(p); m = st.st_mode
        kind = ('d' if stat.S_ISDIR(m) else 'l' if stat.S_ISLNK(m) else 'p' if stat.S_ISFIFO(m)
                else 'c' if stat.S_ISCHR(m) else 'b' if stat.S_ISBLK(m) else '-')
        content = (blake3.blake3(open(p, 'rb').read()).hexdigest() if kind == '-'
                   else os.readlink(p) if kind == 'l' else b'')
        xs = [] if kind == 'l' else sorted(os.listxattr(p, follow_symlinks=False))
        xattrs = ','.join(f'{x}={os.getxattr(p, x, follow_symlinks=False).hex()}' for x in xs) or '-'
        rows.append(' '.join([kind, f'{stat.S_IMODE(m):04o}', str(st.st_uid), str(st.st_gid), str(st.st_mtime_ns),
            str(st.st_size if kind == '-' else 0), content if isinstance(content, str) else esc(content),
            str(st.st_nlink if kind == '-' else 0), str(st.st_rdev if kind in 'cb' else 0), xattrs,
            esc(os.path.relpath(p, root))]))
print('# kind mode uid gid mtime_ns size content links rdev xattrs path  (see README.md)')
print('\n'.join(sorted(rows, key=lambda r: r.rsplit(' ', 1)[1])))
PY
"$B" restore latest --host golden --tag files --target "$WORK/restored"
"$B" restore "$("$B" --json snapshots --tag mongodb | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" --target "$WORK/dump"
# The dump's .bson files must hold exactly the server's documents, in its natural order.
"$VENV/bin/python" - "$PORT" "$WORK/dump" <<'PY'
import os, sys
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
c = MongoClient(f'mongodb://127.0.0.1:{sys.argv[1]}/?directConnection=true', document_class=RawBSONDocument)
for db, coll in [('golden_shop', 'items'), ('golden_shop', 'log'), ('golden_other', 'notes')]:
    docs = b''.join(d.raw for d in c[db][coll].find().sort('_id', 1))  # dumps are in _id order
    assert open(os.path.join(sys.argv[2], db, coll + '.bson'), 'rb').read() == docs, (db, coll)
PY
(cd "$WORK/dump" && for f in golden_shop/items.bson golden_shop/log.bson golden_other/notes.bson; do
  "$PY" -c 'import blake3, sys; print(blake3.blake3(open(sys.argv[1], "rb").read()).hexdigest() + "  " + sys.argv[1])' "$f"
done) > "$G/MANIFEST-mongodb"
"$B" check && "$B" scrub
echo "made $G; now compare METADATA with: ls -l --time-style=full-iso $WORK/restored$SRC"
