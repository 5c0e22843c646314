#!/usr/bin/env bash
# How tests/golden/v1 was made (2026-11-30). Kept for the record: a golden
# repository is NEVER regenerated once committed — it proves that data
# written by format v1 restores forever. Needs python3 with `blake3`.
set -euo pipefail
cd "$(dirname "$0")"
G=v1; B="${CAIRN_BIN:-$HOME/.cache/cairn-target/debug/cairn}"
SRC=/tmp/cairn-golden-src
rm -rf "$G/repo" "$SRC" /tmp/golden-cache
mkdir -p "$G" "$SRC/data"
printf 'hello, future reader\n' > "$SRC/hello.txt"
python3 - "$SRC" <<'PY'
import hashlib, sys
src = sys.argv[1]
out = b''.join(hashlib.sha256(str(i).encode()).digest() for i in range(6250))
open(f'{src}/data/random.bin', 'wb').write(out[:200000])
open(f'{src}/data/zeros', 'wb').write(bytes(65536))
open(f'{src}/unicode-ñame.txt', 'w').write('ñ ü ø — unicode name\n')
PY
: > "$SRC/empty"
ln -s hello.txt "$SRC/link-to-hello"
printf 'golden-v1-password\n' > "$G/password"
export CAIRN_REPOSITORY="$PWD/$G/repo" CAIRN_PASSWORD_FILE="$PWD/$G/password" CAIRN_CACHE_DIR=/tmp/golden-cache
"$B" init --kdf-memory-kib 1024 --kdf-iterations 1
printf 'golden stdin stream, format v1\n' | "$B" backup --stdin --stdin-name notes.txt --time 2026-11-30T00:00:00Z --host golden --tag golden
"$B" backup "$SRC" --time 2026-11-30T01:00:00Z --host golden --tag golden
python3 - "$SRC" > "$G/MANIFEST" <<'PY'
import blake3, os, sys
lines = []
for dp, _, fn in os.walk(sys.argv[1]):
    for f in fn:
        p = os.path.join(dp, f)
        if not os.path.islink(p):
            lines.append(blake3.blake3(open(p, 'rb').read()).hexdigest() + '  ' + os.path.relpath(p, '/'))
print('\n'.join(sorted(lines)))
PY
