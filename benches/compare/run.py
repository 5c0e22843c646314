#!/usr/bin/env python3
"""Cairn, restic and borg side by side on one corpus, in one run.

Run through `scripts/bench.sh` (which installs the tools and builds cairn
and `limits`); by hand:

    run.py --cairn BIN --limits BIN [--rounds 3] [--scale 1] [--work DIR]
           [--tools cairn,restic,borg] [--restore-dir DIR] [--out benches/results]

Each round copies the pristine corpus to the same path, then runs every
step for every tool, the tools' order rotating from round to round and
within a step (interleaved, so drift in the machine hits all alike):

    initial backup, unchanged re-backup, full restore, full data
    verification (cairn scrub, restic check --read-data, borg check
    --verify-data), then one day of churn (corpus.py churn) and the
    next-day backup, whose repository growth is the increment stored.

Every step runs under /usr/bin/time (wall, user, sys, CPU, peak RSS) with
a warm page cache, as a user's nightly run mostly sees it. Medians over
rounds go into a Markdown table, with ratios and how close each Cairn step
comes to this machine's limits (the `limits` program: one core's rate at
each stage, and a naive bound for all cores). The table is printed and
written to OUT/DATE-HOST.md with the machine facts.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = ["initial", "unchanged", "restore", "verify", "nextday"]
TITLES = {
    "initial": "initial backup",
    "unchanged": "unchanged re-backup",
    "restore": "full restore",
    "verify": "full data verification",
    "nextday": "next-day backup",
}
PASSWORD = "bench-password-not-a-secret"


class Tool:
    """How one program runs each step; `env` points it at its own repository."""

    def __init__(self, name, work, cairn=None):
        self.name, self.work, self.cairn = name, work, cairn
        self.repo = os.path.join(work, "repos", name)
        self.env = dict(os.environ)
        pw = os.path.join(work, "password")
        if name == "cairn":
            self.env.update(CAIRN_REPOSITORY=self.repo, CAIRN_PASSWORD_FILE=pw,
                            CAIRN_CACHE_DIR=os.path.join(work, "cache", name))
        elif name == "restic":
            self.env.update(RESTIC_REPOSITORY=self.repo, RESTIC_PASSWORD_FILE=pw,
                            RESTIC_CACHE_DIR=os.path.join(work, "cache", name))
        else:
            self.env.update(BORG_REPO=self.repo, BORG_PASSPHRASE=PASSWORD,
                            BORG_BASE_DIR=os.path.join(work, "cache", name),
                            BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")
        self.archives = 0

    def version(self):
        argv = {"cairn": [self.cairn, "version"], "restic": ["restic", "version"],
                "borg": ["borg", "--version"]}[self.name]
        return subprocess.run(argv, capture_output=True, text=True, env=self.env).stdout.splitlines()[0]

    def init(self):
        shutil.rmtree(self.repo, ignore_errors=True)
        shutil.rmtree(self.env.get("CAIRN_CACHE_DIR") or self.env.get("RESTIC_CACHE_DIR")
                      or self.env["BORG_BASE_DIR"], ignore_errors=True)
        argv = {"cairn": [self.cairn, "-q", "init"], "restic": ["restic", "-q", "init"],
                "borg": ["borg", "init", "--encryption=repokey-blake2"]}[self.name]
        # borg explains its key modes on stderr at every init.
        subprocess.run(argv, check=True, env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def argv(self, step, corpus, target):
        """(argv, cwd) of a step."""
        if step in ("initial", "unchanged", "nextday"):
            if self.name == "borg":
                self.archives += 1
                return ["borg", "create", "--compression", "zstd,3",
                        f"::a{self.archives}", corpus], None
            return {"cairn": [self.cairn, "-q", "backup", corpus],
                    "restic": ["restic", "-q", "backup", corpus]}[self.name], None
        if step == "restore":
            return {"cairn": [self.cairn, "-q", "restore", "latest", "--target", target],
                    "restic": ["restic", "-q", "restore", "latest", "--target", target],
                    "borg": ["borg", "extract", f"::a{self.archives}"]}[self.name], target
        return {"cairn": [self.cairn, "-q", "scrub"],
                "restic": ["restic", "-q", "check", "--read-data"],
                "borg": ["borg", "check", "--verify-data"]}[self.name], None


def du(path):
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
    return total


def timed(argv, env, cwd, log):
    """Run under /usr/bin/time; dict of wall, user, sys, cpu, rss (KiB)."""
    out = log + ".time"
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %P %M", "-o", out] + argv,
                       env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=open(log, "w"))
    if p.returncode != 0:
        sys.exit(f"run.py: {' '.join(argv)} failed ({p.returncode}); see {log}")
    wall, user, sys_, cpu, rss = open(out).read().split()[-5:]
    return {"wall": float(wall), "user": float(user), "sys": float(sys_),
            "cpu": float(cpu.rstrip("%")), "rss": int(rss)}


def warm(path):
    """Read every file once, so the step finds the page cache warm. Through
    a pipe: GNU tar writing to /dev/null itself reads no file contents (it
    only lists them), which left the cache as the previous step had left
    it (`fincore` showed 0 of 50 MB cached after such a "warm")."""
    tar = subprocess.Popen(["tar", "cf", "-", "--sparse", path],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while tar.stdout.read(1 << 20):
        pass
    if tar.wait() != 0:
        sys.exit(f"run.py: reading {path} to warm the page cache failed")


def reclaim(directory, size):
    """Write and delete `size` bytes in `directory` (untimed), so the memory
    a restore into tmpfs needs is reclaimed from the page cache before the
    step, not during the first tool's restore (which took 2-3x longer than
    the same restore later in the round)."""
    path = os.path.join(directory, "cairn-bench-reclaim")
    block = bytes(8 << 20)
    with open(path, "wb") as f:
        for _ in range(0, size, len(block)):
            f.write(block)
    os.remove(path)


def logical_bytes(corpus):
    total = 0
    for dirpath, _, names in os.walk(corpus):
        for n in names:
            total += os.lstat(os.path.join(dirpath, n)).st_size
    return total


def restore_root(chosen, work, size):
    """Restores go to tmpfs when it has room: on an ext4 that has just seen
    tens of thousands of files deleted (the earlier rounds' restores and
    corpus copies), creating files spends most of a restore's time in the
    kernel's inode allocator (perf: recently_deleted() under ext4_create),
    whichever tool restores; tmpfs measures the tools instead."""
    if chosen:
        return chosen
    st = os.statvfs("/dev/shm") if os.path.isdir("/dev/shm") else None
    if st and st.f_bavail * st.f_frsize > 2 * size:
        return "/dev/shm"
    return work


def bounds(limits, parts, cores):
    """Naive bounds, bytes/s on all cores: every byte pays each stage once.

    Backup: read, chunk, hash, seal, and zstd at its class's rate (text-like
    parts at the JSON-lines rate, binaries at the libraries' rate, media and
    gzip files probed only, the near-duplicate tree and the VM image's holes
    not compressed). Restore and verification: open, decompress, hash.
    """
    per = lambda rate: 1.0 / rate if rate else 0.0
    base = per(limits["tree_read"]) + per(limits["fastcdc"]) + per(limits["blake3"]) + per(limits["seal"])
    cost, total = 0.0, 0
    for name, (_, size, data) in parts.items():
        if name in ("media", "man") or name.endswith(".gz"):
            z = 0.0
        elif name in ("libs",):
            z = per(limits["zstd_libs"])
        elif name in ("src-fork",):
            z = 0.0
        else:
            z = per(limits["zstd_jsonl"])
        cost += data * (base + z)
        total += size
    read = per(limits["open"]) + per(limits["unzstd"]) + per(limits["blake3"])
    # Verification reads the stored packs: per stored byte, open, hash the
    # pack and the blob, and decompress (counted per stored byte, so the
    # bound is generous to the tools).
    stored = per(limits["open"]) + per(limits["unzstd"]) + 2 * per(limits["blake3"])
    return {"backup": cores * total / cost, "scan": cores * limits["stat_files"],
            "verify_stored": cores / stored,
            "kdf": limits["kdf_seconds"],
            "restore": cores / (read + per(limits["tree_read"]))}


def parts_of(corpus):
    out = subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), "describe", corpus],
                         capture_output=True, text=True, check=True).stdout
    parts = {}
    for line in out.splitlines():
        name, files, size = line.split("\t")
        data = du(os.path.join(corpus, name)) if name == "vm.img" else int(size)
        parts[name] = (int(files), int(size), min(int(size), data))
    return parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--limits", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/cairn-bench/compare"))
    ap.add_argument("--tools", default="cairn,restic,borg")
    ap.add_argument("--restore-dir", default=None,
                    help="where restores go (default: /dev/shm when it has room, else the work directory)")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "results"))
    a = ap.parse_args()

    work = a.work
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    with open(os.path.join(work, "password"), "w") as f:
        f.write(PASSWORD + "\n")
    base, corpus = (os.path.join(work, d) for d in ("base", "corpus"))
    sys.path.insert(0, HERE)
    import corpus as corpus_py
    stamp = os.path.join(work, f"base-v{corpus_py.VERSION}-scale-{a.scale}")
    if not os.path.exists(stamp):
        shutil.rmtree(base, ignore_errors=True)
        for old in os.listdir(work):
            if old.startswith("base-v"):
                os.remove(os.path.join(work, old))
        print(f"bench: generating the corpus (scale {a.scale}) in {base}", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), "generate", base,
                        "--scale", str(a.scale)], check=True)
        open(stamp, "w").close()
    parts = parts_of(base)
    size = logical_bytes(base)
    files = sum(p[0] for p in parts.values())
    warm(base)
    limits = json.loads(subprocess.run([a.limits, base], capture_output=True, text=True,
                                       check=True).stdout)
    cores = os.cpu_count() or 1
    bound = bounds(limits, parts, cores)
    target = os.path.join(restore_root(a.restore_dir, work, size), "cairn-bench-restore")
    a.restore_into = os.path.dirname(target)

    tools = [Tool(n, work, a.cairn) for n in a.tools.split(",")]
    results = {t.name: {s: [] for s in STEPS + ["increment", "stored"]} for t in tools}
    for r in range(a.rounds):
        print(f"bench: round {r + 1} of {a.rounds}", flush=True)
        shutil.rmtree(corpus, ignore_errors=True)
        subprocess.run(["cp", "-a", "--sparse=always", base, corpus], check=True)
        # The copy's 1.4 GB of dirty pages are written back now, not by the
        # kernel's flusher threads during the first tool's initial backup
        # (on both cores, and on the disk its packs go to).
        os.sync()
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for t in order:
            t.init()
        for i, step in enumerate(STEPS):
            if step == "nextday":
                subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), "churn", corpus,
                                "--day", str(r + 1)], check=True)
                os.sync()
            if step == "restore":
                reclaim(os.path.dirname(target), size)
            for t in order[i % len(order):] + order[:i % len(order)]:
                before = du(t.repo)
                shutil.rmtree(target, ignore_errors=True)
                os.makedirs(target)
                argv, cwd = t.argv(step, corpus, target)
                if step in ("initial", "nextday"):
                    # Before each tool, not once per step: borg drops the
                    # files it reads from the page cache (fadvise
                    # DONTNEED), so whichever tool ran after it read the
                    # corpus from disk (27 of 1,800 MB still cached).
                    warm(corpus)
                # What the previous tool left to write back is written now,
                # not while this one is timed.
                os.sync()
                if step in ("restore", "verify"):
                    # The repository warm too, whatever the tool that wrote
                    # it left in the cache: restic and borg write through
                    # it, Cairn writes packs around it (so a nightly backup
                    # does not push the server's working set out).
                    warm(t.repo)
                m = timed(argv, t.env, cwd, os.path.join(work, "logs", f"{t.name}-{step}-{r}"))
                results[t.name][step].append(m)
                if step == "nextday":
                    results[t.name]["increment"].append(du(t.repo) - before)
                if step == "verify":
                    results[t.name]["stored"].append(before)
                print(f"  {t.name:6} {step:9} {m['wall']:7.2f} s  {m['cpu']:4.0f}% CPU  "
                      f"{m['rss'] // 1024} MiB", flush=True)
        shutil.rmtree(target, ignore_errors=True)

    report = render(a, tools, results, limits, bound, parts, size, files, cores)
    print(report)
    os.makedirs(a.out, exist_ok=True)
    name = f"{datetime.date.today()}-{platform.node().split('.')[0]}.md"
    with open(os.path.join(a.out, name), "w") as f:
        f.write(report)
    print(f"bench: wrote {os.path.join(a.out, name)}")


def med(values, key=None):
    return statistics.median(v[key] if key else v for v in values)


def render(a, tools, results, limits, bound, parts, size, files, cores):
    from render import table  # benches/compare/render.py
    return table(a, tools, results, limits, bound, parts, size, files, cores, med, TITLES)


if __name__ == "__main__":
    main()
