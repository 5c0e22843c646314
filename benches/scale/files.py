#!/usr/bin/env python3
"""Many small files: memory and speed at 2 million files (issue 15, part 4).

Run through `scripts/bench-scale.sh files`; by hand:

    files.py --cairn BIN [--files 2000000] [--work DIR] [--tools cairn,restic]
             [--out benches/results]

Builds a tree of FILES small files (1,000 per directory, up to 300
bytes each) in tmpfs, then for each tool: initial backup, unchanged
re-backup (files per second against restic), full restore (on disk, in
the work directory: tmpfs has too few inodes for a second tree), and for
Cairn `verify` of the snapshot. Every step runs under /usr/bin/time for wall
time and peak RSS. Restore and verify stream the snapshot's trees, so
their peak RSS must not grow with the number of files (the issue's
target: a 2-million-file snapshot restores in under 150 MiB).
"""
import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys

PASSWORD = "bench-password-not-a-secret"


def make_tree(root, n):
    """`n` files of up to 300 bytes, 1,000 per directory; deterministic."""
    stamp = os.path.join(root, ".complete")
    if os.path.exists(stamp) and open(stamp).read() == str(n):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for i in range(n):
        d = os.path.join(root, f"d{i // 1000:05}")
        if i % 1000 == 0:
            os.mkdir(d)
        with open(os.path.join(d, f"f{i:07}.txt"), "wb") as f:
            f.write(b"%d\n" % i * (i % 37))
    open(stamp, "w").write(str(n))


def timed(argv, env, cwd=None):
    """(seconds, peak RSS in MiB) of one run; raises if it fails."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], env=env, cwd=cwd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
    if out.returncode != 0:
        sys.exit(f"files.py: {argv[0]} {argv[1:3]} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    secs, kib = last.split()
    return float(secs), int(kib) / 1024


class Tool:
    def __init__(self, name, work, cairn):
        self.name, self.bin = name, cairn if name == "cairn" else name
        self.repo = os.path.join(work, "repos", name)
        pw = os.path.join(work, "password")
        self.env = dict(os.environ)
        if name == "cairn":
            self.env.update(CAIRN_REPOSITORY=self.repo, CAIRN_PASSWORD_FILE=pw,
                            CAIRN_CACHE_DIR=os.path.join(work, "cache"))
        else:
            self.env.update(RESTIC_REPOSITORY=self.repo, RESTIC_PASSWORD_FILE=pw,
                            RESTIC_CACHE_DIR=os.path.join(work, "cache-restic"))

    def init(self):
        shutil.rmtree(self.repo, ignore_errors=True)
        subprocess.run([self.bin, "init"], env=self.env, check=True, capture_output=True)

    def backup(self, src):
        return timed([self.bin, "backup", "-q", src], self.env)

    def restore(self, target):
        shutil.rmtree(target, ignore_errors=True)
        return timed([self.bin, "restore", "latest", "--target", target], self.env)

    def verify(self):
        return timed([self.bin, "verify", "latest"], self.env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--files", type=int, default=2_000_000)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/cairn-bench/scale"))
    ap.add_argument("--tmpfs", default="/dev/shm/cairn-scale")
    ap.add_argument("--tools", default="cairn,restic")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.work, "password"), "w") as f:
        f.write(PASSWORD + "\n")
    src = os.path.join(a.tmpfs, "src")
    print(f"building {a.files} files in {src} ...", flush=True)
    make_tree(src, a.files)
    rows = []
    for name in a.tools.split(","):
        t = Tool(name, a.work, a.cairn)
        t.init()
        r = {"tool": name}
        r["initial"] = t.backup(src)
        print(f"{name}: initial backup {r['initial']}", flush=True)
        r["unchanged"] = t.backup(src)
        print(f"{name}: unchanged re-backup {r['unchanged']}", flush=True)
        # On disk: tmpfs has too few inodes for two trees of this size.
        r["restore"] = t.restore(os.path.join(a.work, "restore"))
        print(f"{name}: restore {r['restore']}", flush=True)
        shutil.rmtree(os.path.join(a.work, "restore"), ignore_errors=True)
        if name == "cairn":
            r["verify"] = t.verify()
            print(f"{name}: verify {r['verify']}", flush=True)
        rows.append(r)
        shutil.rmtree(t.repo, ignore_errors=True)
    n = a.files
    lines = [f"# Many small files, {datetime.date.today()} ({platform.node()})", "",
             f"{n:,} files of up to 300 bytes, 1,000 per directory, in tmpfs; restores to ext4. "
             f"`benches/scale/files.py`; wall seconds, files per second, peak RSS.", "",
             "| tool | initial backup | unchanged re-backup | restore | verify |",
             "|---|---|---|---|---|"]
    for r in rows:
        cell = lambda k: (f"{r[k][0]:.1f} s, {n / r[k][0]:,.0f} files/s, {r[k][1]:.0f} MiB"
                          if k in r else "")
        lines.append(f"| {r['tool']} | {cell('initial')} | {cell('unchanged')} | "
                     f"{cell('restore')} | {cell('verify')} |")
    by = {r["tool"]: r for r in rows}
    if "cairn" in by and "restic" in by:
        ratio = by["restic"]["unchanged"][0] / by["cairn"]["unchanged"][0]
        lines += ["", f"Unchanged re-backup: Cairn {ratio:.2f}x restic's files per second."]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"{datetime.date.today()}-scale-files.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
