#!/usr/bin/env python3
"""Generate a deterministic mixed corpus for scripts/bench.sh.

Mix (by bytes, roughly): 45% incompressible binaries (large files),
35% compressible text/JSON-like files, 20% small files (1-32 KiB) in
nested directories. `churn` mode modifies ~5% of files in place and adds
a few new ones, like a day of changes on a server.
"""
import os, random, sys

WORDS = [b"cairn", b"backup", b"mongodb", b"restore", b"century", b'{"_id":', b"42,",
         b"timestamp", b"error", b"INFO", b"user", b"session", b"\n"]

def text_block(rng, n):
    out = bytearray()
    while len(out) < n:
        out += rng.choice(WORDS) + b" "
    return bytes(out[:n])

def generate(root, total_mb, seed=1):
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    total = total_mb << 20
    big = int(total * 0.45)
    i = 0
    while big > 0:
        n = min(big, rng.randint(20, 120) << 20)
        with open(os.path.join(root, f"blob-{i:03}.bin"), "wb") as f:
            f.write(rng.randbytes(n))
        big -= n; i += 1
    txt = int(total * 0.35)
    i = 0
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    while txt > 0:
        n = min(txt, rng.randint(1, 16) << 20)
        with open(os.path.join(root, "logs", f"app-{i:03}.log"), "wb") as f:
            f.write(text_block(rng, n))
        txt -= n; i += 1
    small = int(total * 0.20)
    i = 0
    while small > 0:
        d = os.path.join(root, "small", f"d{i % 37:02}", f"e{i % 11:02}")
        os.makedirs(d, exist_ok=True)
        n = min(small, rng.randint(1, 32) << 10)
        with open(os.path.join(d, f"f{i:05}"), "wb") as f:
            f.write(rng.randbytes(n) if i % 2 else text_block(rng, n))
        small -= n; i += 1

def churn(root, seed=2):
    rng = random.Random(seed)
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)
    for p in rng.sample(files, max(1, len(files) // 20)):
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            f.seek(rng.randrange(max(1, size)))
            f.write(rng.randbytes(min(4096, max(1, size // 10))))
    for j in range(20):
        with open(os.path.join(root, f"new-{seed}-{j}.dat"), "wb") as f:
            f.write(rng.randbytes(256 << 10))
    # Files added three churns ago go away again (garbage for prune).
    for j in range(20):
        old = os.path.join(root, f"new-{seed - 3}-{j}.dat")
        if os.path.exists(old):
            os.remove(old)

if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "churn":
        churn(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2)
