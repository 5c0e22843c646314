#!/usr/bin/env python3
"""An index of 20 million chunk entries (issue 15, part 4).

Run through `scripts/bench-scale.sh index`; by hand:

    index.py --cairn BIN --scale BIN [--entries 2000000,20000000]
             [--backup-mib 1024] [--work DIR] [--out benches/results]

For each entry count in turn, the `scale` program adds index files up to
that many chunk entries (as a repository of that many 1 MiB chunks would
hold; the packs they name do not exist), then:

* the local cache is deleted and rebuilt from the index files (`scale
  lookup`: seconds, peak RSS) and dedup lookups are timed for present and
  absent IDs, then timed again on the warm cache;
* a backup of BACKUP_MIB of new random data runs into the repository
  (seconds, MB/s, peak RSS), which must stay flat as entries grow (the
  issue's target: under 150 MiB at 20 million).

Entry count 0 is measured first, as the baseline.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys

PASSWORD = "bench-password-not-a-secret"


def timed(argv, env):
    """(stdout, seconds, peak RSS MiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"index.py: {' '.join(argv[:2])} failed:\n{out.stderr[-2000:]}")
    secs, kib = out.stderr.strip().splitlines()[-1].split()
    return out.stdout, float(secs), int(kib) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--scale", required=True)
    ap.add_argument("--entries", default="2000000,20000000")
    ap.add_argument("--backup-mib", type=int, default=1024)
    ap.add_argument("--lookups", type=int, default=200_000)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/cairn-bench/scale-index"))
    ap.add_argument("--data", default="/dev/shm/cairn-scale-index")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results"))
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    pw = os.path.join(a.work, "password")
    open(pw, "w").write(PASSWORD + "\n")
    repo, cache = os.path.join(a.work, "repo"), os.path.join(a.work, "cache")
    env = dict(os.environ, CAIRN_REPOSITORY=repo, CAIRN_PASSWORD_FILE=pw, CAIRN_CACHE_DIR=cache)
    subprocess.run([a.cairn, "init", "-q"], env=env, check=True)
    rows, have = [], 0
    for step, target in enumerate([0] + [int(x) for x in a.entries.split(",")]):
        r = {"entries": target}
        if target > have:
            out, secs, _ = timed([a.scale, "fill", repo, pw, str(have), str(target)], env)
            r["fill_s"] = secs
            have = target
        if target > 0:
            shutil.rmtree(cache, ignore_errors=True)
            out, secs, rss = timed([a.scale, "lookup", repo, pw, str(target), str(a.lookups)], env)
            cold = json.loads(out)
            r.update(rebuild_s=cold["sync_seconds"], rebuild_rss=rss)
            out, _, _ = timed([a.scale, "lookup", repo, pw, str(target), str(a.lookups)], env)
            warm = json.loads(out)
            r.update(hits=warm["hit_lookups_per_s"], misses=warm["miss_lookups_per_s"])
        shutil.rmtree(a.data, ignore_errors=True)
        os.makedirs(a.data)
        with open(os.path.join(a.data, "new.bin"), "wb") as f:
            for _ in range(a.backup_mib):
                f.write(os.urandom(1 << 20))
        _, secs, rss = timed([a.cairn, "backup", "-q", a.data], env)
        r.update(backup_s=secs, backup_rss=rss)
        shutil.rmtree(a.data, ignore_errors=True)
        print(json.dumps(r), flush=True)
        rows.append(r)
    mb = a.backup_mib * 1.048576
    lines = [f"# Index scale, {datetime.date.today()} ({platform.node()})", "",
             "`benches/scale/index.py`: synthetic index entries (1 MiB chunks, 16 per pack), "
             f"then a backup of {a.backup_mib} MiB of new random data into the repository.", "",
             "| index entries | cache rebuild | rebuild peak RSS | lookups/s (hit / miss, warm) "
             "| backup | backup peak RSS |", "|---|---|---|---|---|---|"]
    for r in rows:
        rebuild = f"{r['rebuild_s']:.1f} s" if "rebuild_s" in r else ""
        rss = f"{r['rebuild_rss']:.0f} MiB" if "rebuild_rss" in r else ""
        look = f"{r['hits']:,.0f} / {r['misses']:,.0f}" if "hits" in r else ""
        lines.append(f"| {r['entries']:,} | {rebuild} | {rss} | {look} | "
                     f"{r['backup_s']:.1f} s, {mb / r['backup_s']:.0f} MB/s | {r['backup_rss']:.0f} MiB |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"{datetime.date.today()}-scale-index.md")
    open(path, "w").write(text)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
