#!/usr/bin/env python3
"""The benchmark corpus: a server's worth of real and generated files.

    corpus.py generate ROOT [--scale S]   build ROOT (about 1.7 GB at S=1)
    corpus.py churn ROOT [--day N]        one day of changes (about 2%)
    corpus.py describe ROOT               one line per part: files, bytes

The shape is the one issue 15 measured (1.6 GB in about 39,000 files;
this one is 1.7 GB, 1.5 GB of it data, in about 43,000):

    docs/       text documentation, many of it gzip (/usr/share/doc)
    man/        gzip manual pages (/usr/share/man)
    src/        a source tree (/usr/include) ...
    src-fork/   ... and a near-duplicate of it (1 in 50 files edited)
    python/     another source tree (/usr/lib/python3*)
    libs/       shared libraries (/usr/lib/<triplet>)
    html/       generated HTML pages
    media/      incompressible files (random bytes, like video)
    export.jsonl   a 200 MB JSON-lines export (mongoexport-like documents)
    app.sqlite     an SQLite database (about 100 MB)
    app.log        a 100 MB append-only log
    bundle.tar     a tar of other files (/usr/share/locale)
    vm.img         a sparse VM image: 256 MiB long, about 64 MiB written
    small/         11,000 small files (0.2 to 8 KiB)

Real files are taken in sorted order up to a byte budget, so one machine
always builds the same corpus; generated data comes from seeded
generators. The next day (`churn`): 1% of the JSON-lines rows rewritten,
3,000 SQLite rows updated, 2 MB appended to the log, 1% of the small files
and of the source files edited, 20 new small files, one media file
replaced.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import sys
import tarfile

MIB = 1 << 20
SEED = 15
# Bump when the corpus changes, so run.py builds it again.
VERSION = 2


def copy_tree(src_roots, dst, budget, keep=lambda p: True):
    """Copy regular files from src_roots (sorted walk) until budget bytes."""
    used = 0
    for root in src_roots:
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                if os.path.islink(p) or not os.path.isfile(p) or not keep(p):
                    continue
                try:
                    size = os.path.getsize(p)
                    if used + size > budget:
                        continue
                    rel = os.path.relpath(p, "/")
                    out = os.path.join(dst, rel)
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copyfile(p, out)
                except OSError:
                    continue
                used += size
                if used >= budget * 0.999:
                    return used
    return used


def words(rng, n):
    vocab = ["the", "backup", "restore", "server", "data", "index", "query", "error",
             "user", "session", "replica", "shard", "oplog", "archive", "cold", "tier"]
    return " ".join(rng.choice(vocab) for _ in range(n))


def jsonl_row(rng, i, day=0):
    doc = {
        "_id": {"$oid": f"{i:024x}"},
        "user": f"user{rng.randrange(100000)}",
        "email": f"u{rng.randrange(10**6)}@example.org",
        "created": {"$date": f"2026-0{1 + i % 9}-{1 + i % 28:02}T{i % 24:02}:00:00Z"},
        "score": rng.random() * 1000,
        "tags": [rng.choice(["a", "b", "c", "gold", "trial"]) for _ in range(rng.randrange(1, 5))],
        "bio": words(rng, rng.randrange(8, 40)),
        "rev": day,
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def gen_jsonl(path, size, rng):
    n = 0
    with open(path, "w") as f:
        written = 0
        while written < size:
            line = jsonl_row(rng, n)
            f.write(line)
            written += len(line)
            n += 1


def gen_sqlite(path, size, rng):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL, status TEXT, note TEXT)")
    row = 0
    while True:
        rows = [(row + k, f"c{rng.randrange(50000)}", rng.random() * 500,
                 rng.choice(["new", "paid", "shipped"]), words(rng, rng.randrange(5, 30)))
                for k in range(5000)]
        db.executemany("INSERT INTO orders VALUES (?,?,?,?,?)", rows)
        db.commit()
        row += len(rows)
        if os.path.getsize(path) >= size:
            break
    db.close()


def gen_log(path, size, rng, mode="w"):
    levels = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"]
    with open(path, mode) as f:
        written = 0
        t = rng.randrange(10**9)
        while written < size:
            t += rng.randrange(1, 2000)
            line = f"{t} {rng.choice(levels)} req={rng.randrange(10**8):08x} {words(rng, rng.randrange(4, 16))}\n"
            f.write(line)
            written += len(line)


def gen_html(root, count, rng):
    os.makedirs(root, exist_ok=True)
    for i in range(count):
        body = "".join(f"<p class=\"c{rng.randrange(9)}\">{words(rng, rng.randrange(10, 80))}</p>\n"
                       for _ in range(rng.randrange(10, 120)))
        with open(os.path.join(root, f"page{i:04}.html"), "w") as f:
            f.write(f"<!doctype html><html><head><title>Page {i}</title></head><body>\n{body}</body></html>\n")


def gen_media(root, total, rng, day=0):
    os.makedirs(root, exist_ok=True)
    i = 0
    while total > 0:
        n = min(total, 31 * MIB + rng.randrange(MIB))
        with open(os.path.join(root, f"clip{i:02}.mp4"), "wb") as f:
            f.write(rng.randbytes(n))
        total -= n
        i += 1


def gen_vm(path, rng, length, data):
    with open(path, "wb") as f:
        f.truncate(length)
        written = 0
        while written < data:
            f.seek(rng.randrange(length // MIB - 1) * MIB)
            block = rng.randbytes(256 << 10) + bytes(words(rng, 40000), "ascii")[: 768 << 10]
            f.write(block[:MIB])
            written += MIB


def gen_small(root, count, rng, start=0):
    for i in range(start, start + count):
        d = os.path.join(root, f"d{i % 41:02}", f"e{i % 13:02}")
        os.makedirs(d, exist_ok=True)
        n = rng.randrange(200, 8 << 10)
        data = rng.randbytes(n) if i % 3 == 0 else words(rng, n // 6).encode()[:n]
        with open(os.path.join(d, f"f{i:05}.dat"), "wb") as f:
            f.write(data)


def generate(root, scale):
    if os.path.exists(root):
        sys.exit(f"corpus.py: {root} exists; remove it first")
    rng = random.Random(SEED)
    b = lambda mib: int(mib * scale * MIB)
    os.makedirs(root)
    lib = next((d for d in ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64"]
                if os.path.isdir(d)), "/usr/lib")
    copy_tree(["/usr/share/doc"], os.path.join(root, "docs"), b(120))
    copy_tree(["/usr/share/man"], os.path.join(root, "man"), b(14))
    copy_tree(["/usr/include"], os.path.join(root, "src"), b(125))
    shutil.copytree(os.path.join(root, "src"), os.path.join(root, "src-fork"))
    edit_tree(os.path.join(root, "src-fork"), random.Random(SEED + 1), 50)
    pys = sorted(d for d in os.listdir("/usr/lib") if d.startswith("python3"))
    copy_tree([os.path.join("/usr/lib", d) for d in pys[:1]], os.path.join(root, "python"), b(55))
    copy_tree([lib], os.path.join(root, "libs"), b(200), keep=lambda p: ".so" in os.path.basename(p))
    gen_html(os.path.join(root, "html"), int(600 * scale), rng)
    gen_media(os.path.join(root, "media"), b(250), rng)
    gen_jsonl(os.path.join(root, "export.jsonl"), b(200), rng)
    gen_sqlite(os.path.join(root, "app.sqlite"), b(100), rng)
    gen_log(os.path.join(root, "app.log"), b(100), rng)
    with tarfile.open(os.path.join(root, "bundle.tar"), "w") as tar:
        staged = os.path.join(root, ".bundle")
        copy_tree(["/usr/share/locale"], staged, b(80))
        tar.add(staged, arcname="locale")
        shutil.rmtree(staged)
    gen_vm(os.path.join(root, "vm.img"), rng, int(256 * MIB * scale), b(64))
    gen_small(os.path.join(root, "small"), int(11000 * scale), rng)


def edit_tree(root, rng, one_in):
    """Append a line to one file in `one_in` (a near-duplicate or a day's edits)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if rng.randrange(one_in) == 0:
                with open(os.path.join(dirpath, name), "ab") as f:
                    f.write(f"\n/* edited {rng.randrange(10**9)} */\n".encode())


def churn(root, day):
    rng = random.Random(SEED * 100 + day)
    # 1% of the export's rows rewritten in place: a nightly dump of a
    # collection where 1% of the documents changed.
    path = os.path.join(root, "export.jsonl")
    with open(path) as f:
        lines = f.readlines()
    for i in rng.sample(range(len(lines)), len(lines) // 100):
        lines[i] = jsonl_row(rng, i, day)
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(path + ".tmp", path)
    db = sqlite3.connect(os.path.join(root, "app.sqlite"))
    (rows,) = db.execute("SELECT count(*) FROM orders").fetchone()
    for i in rng.sample(range(rows), 3000):
        db.execute("UPDATE orders SET status = ?, amount = ? WHERE id = ?",
                   (rng.choice(["refunded", "paid", "lost"]), rng.random() * 500, i))
    db.commit()
    db.close()
    gen_log(os.path.join(root, "app.log"), 2 * MIB, rng, mode="a")
    edit_tree(os.path.join(root, "small"), rng, 100)
    edit_tree(os.path.join(root, "src"), rng, 100)
    gen_small(os.path.join(root, "small"), 20, rng, start=100000 + day * 100)
    media = sorted(os.listdir(os.path.join(root, "media")))
    with open(os.path.join(root, "media", media[day % len(media)]), "wb") as f:
        f.write(rng.randbytes(16 * MIB))


def describe(root):
    for part in sorted(os.listdir(root)):
        p = os.path.join(root, part)
        files, size = 0, 0
        for dirpath, _, filenames in os.walk(p) if os.path.isdir(p) else [(root, [], [part])]:
            for name in filenames:
                files += 1
                size += os.path.getsize(os.path.join(dirpath, name))
        print(f"{part}\t{files}\t{size}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("root")
    g.add_argument("--scale", type=float, default=1.0)
    c = sub.add_parser("churn")
    c.add_argument("root")
    c.add_argument("--day", type=int, default=1)
    d = sub.add_parser("describe")
    d.add_argument("root")
    a = ap.parse_args()
    if a.cmd == "generate":
        generate(a.root, a.scale)
    elif a.cmd == "churn":
        churn(a.root, a.day)
    else:
        describe(a.root)


if __name__ == "__main__":
    main()
