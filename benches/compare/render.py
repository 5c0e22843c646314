"""The Markdown report of benches/compare/run.py: machine facts, the
side-by-side table (medians, ratios, Cairn against this machine's limits)
and the one-core limits themselves."""
import datetime
import os
import platform
import subprocess

MB = 1e6
MIB = 1 << 20


def sh(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine(work):
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    fs = sh("df", "--output=fstype", work).splitlines()[-1:] or ["?"]
    os_name = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release")
                    if l.startswith("PRETTY_NAME=")), platform.system())
    return (f"{cpu}, {os.cpu_count()} cores, {mem / (1 << 20):.0f} GiB RAM; "
            f"{os_name}, Linux {platform.release()}; work directory on {fs[0]}")


def cell(ms, med, size, detailed, rate=True):
    wall = med(ms, "wall")
    text = f"{wall:.2f} s"
    if rate:
        text += f", {size / MB / wall:.0f} MB/s"
    if detailed:
        text += (f", {med(ms, 'cpu'):.0f}% CPU (user {med(ms, 'user'):.1f} s, "
                 f"sys {med(ms, 'sys'):.1f} s)")
    return text


def table(a, tools, results, limits, bound, parts, size, files, cores, med, titles):
    names = [t.name for t in tools]
    head = ["step"] + names
    others = [n for n in names if n != "cairn"]
    head += [f"cairn / {n}" for n in others] + ["cairn against this machine's limit"]
    rows = []
    for step in ["initial", "unchanged", "nextday", "restore", "verify"]:
        rate = step not in ("unchanged", "nextday")
        row = [titles[step]]
        for n in names:
            row.append(cell(results[n][step], med, size, n == "cairn", rate))
        cw = med(results["cairn"][step], "wall") if "cairn" in names else None
        for n in others:
            row.append(f"{med(results[n][step], 'wall') / cw:.2f}x faster" if cw else "")
        stored = med(results["cairn"]["stored"]) if "cairn" in names else 0
        row.append(limit_note(step, cw, size, files, bound, stored) if cw else "")
        rows.append(row)
    inc = ["next-day increment stored"]
    for n in names:
        inc.append(f"{med(results[n]['increment']) / MB:.1f} MB")
    for n in others:
        c, o = med(results["cairn"]["increment"]), med(results[n]["increment"])
        inc.append(f"{c / o:.2f}x the size" if o else "")
    rows.append(inc + [""])
    rss = ["peak RSS (highest step, median)"]
    for n in names:
        per_step = [med(results[n][s], "rss") for s in titles]
        rss.append(f"{max(per_step) / 1024:.0f} MiB")
    rows.append(rss + [""] * (len(head) - len(rss)))

    def md(rows):
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    versions = "; ".join(t.version() for t in tools)
    build = next((" ".join(l.split()) for l in sh(a.cairn, "version").splitlines()
                  if l.startswith("build")), "")
    corpus = ", ".join(f"{k} {v[1] / MB:.0f} MB" for k, v in sorted(parts.items(), key=lambda kv: -kv[1][1]))
    lim = limits
    data = sum(p[2] for p in parts.values())
    return f"""# Cairn, restic and borg side by side, {datetime.date.today()}

- **Machine:** {machine(a.work)}.
- **Programs:** {versions}; cairn {build.strip()}.
  borg runs with `--compression zstd,3` (Cairn's and restic's level), the
  others with their defaults.
- **Corpus:** {size / MB:.0f} MB in {files} files (scale {a.scale}; {data / MB:.0f} MB
  of it data, the rest the VM image's holes); rates are over the {size / MB:.0f} MB: {corpus}.
- **Method:** rounds: {a.rounds}, medians; page cache warm and clean for
  every tool and step (`sync`, then the corpus read before each backup and
  the tool's repository before each restore and verification); tools
  interleaved
  (order rotating per round and per step); restores into {a.restore_into}
  (see `restore_root` in run.py for why tmpfs); `scripts/bench.sh`.

{md(rows)}

"x faster" is the other tool's time over Cairn's. The limit column: a
backup's naive bound is every byte read, chunked, hashed, compressed at its
class's measured rate and sealed once, on {cores} cores
({bound['backup'] / MB:.0f} MB/s for this corpus); an unchanged re-backup's
floor is one Argon2id derivation ({lim['kdf_seconds']:.2f} s) and one
`lstat` per file on {cores} cores; restore and verification
are bounded by opening, decompressing and hashing every byte
({bound['restore'] / MB:.0f} MB/s of restored data; verification per stored
byte, {bound['verify_stored'] / MB:.0f} MB/s).

One core of this machine, measured on this corpus by `limits`:

| stage | rate |
|---|---|
| read the tree (page cache) | {lim['tree_read'] / MB:.0f} MB/s, {lim['tree_files']:.0f} files/s |
| `lstat` walk | {lim['stat_files']:.0f} files/s |
| keyed FastCDC | {lim['fastcdc'] / MB:.0f} MB/s |
| keyed BLAKE3 | {lim['blake3'] / MB:.0f} MB/s |
| zstd-3 on the JSON-lines export | {lim['zstd_jsonl'] / MB:.0f} MB/s |
| zstd-3 on shared libraries | {lim['zstd_libs'] / MB:.0f} MB/s |
| zstd decompression (JSON lines) | {lim['unzstd'] / MB:.0f} MB/s |
| XChaCha20-Poly1305 seal / open | {lim['seal'] / MB:.0f} / {lim['open'] / MB:.0f} MB/s |
"""


def limit_note(step, wall, size, files, bound, stored):
    if step == "unchanged":
        floor = bound["kdf"] + files / bound["scan"]
        return f"{floor:.2f} s floor: Argon2id once, one `lstat` per file ({floor / wall:.0%} of the time)"
    if step == "verify":
        floor = stored / bound["verify_stored"]
        return (f"{stored / MB:.0f} MB of packs: {floor:.2f} s floor "
                f"({floor / wall:.0%} of the time)")
    key = {"initial": "backup", "nextday": "backup", "restore": "restore"}[step]
    if step == "nextday":
        return "mostly unchanged files: see the unchanged floor"
    return f"{size / wall / bound[key]:.0%} of {bound[key] / MB:.0f} MB/s"
