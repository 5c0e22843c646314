#!/usr/bin/env python3
"""Cairn reference restorer: lists, verifies and restores Cairn v1 snapshots.

Written from format-spec/ alone (README.md, v1/*.md), so that a repository
can be restored when Cairn itself no longer builds. Plain on purpose: no
caching, no parallelism. Section references are "file: section".

  cairn_ref.py REPO snapshots
  cairn_ref.py REPO restore SNAPSHOT|latest TARGET
  cairn_ref.py REPO verify SNAPSHOT|latest
  cairn_ref.py selftest [VECTOR_DIR]

REPO is a repository directory or a directory holding the volumes of an
export set (v1/export.md). The password comes from CAIRN_PASSWORD or a
prompt. Exit code 0 on success, 1 on any error.
"""
import getpass, hashlib, json, os, re, stat, sys
import blake3, zstandard
from Crypto.Cipher import ChaCha20_Poly1305
from argon2.low_level import Type, hash_secret_raw

sys.dont_write_bytecode = True  # leave no __pycache__ beside the spec

class Corrupt(Exception):
    """Bytes that violate the spec (README.md: Versioning policy 5)."""

class Unsupported(Exception):
    """A version this reader does not know (README.md: Versioning policy 4)."""

def need(cond, what):
    if not cond:
        raise Corrupt(what)

def warn(msg):
    print("warning: " + msg, file=sys.stderr)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
MiB = 1 << 20

# ---------------------------------------------------------------- CBOR
# trees-and-snapshots.md: "Canonical CBOR" (RFC 8949 §4.2.1). Rules 1-5 are
# checked while decoding; anything else is corruption.

def cbor_decode(b):
    v, i = _cbor_item(b, 0, 0)
    need(i == len(b), "CBOR: bytes after the item")  # rule 5
    return v

def _cbor_arg(b, i, ai):
    if ai < 24:
        return ai, i
    need(24 <= ai <= 27, "CBOR: indefinite length or reserved value")  # rule 3
    n = 1 << (ai - 24)
    need(i + n <= len(b), "CBOR: truncated")
    v = int.from_bytes(b[i:i + n], "big")
    need(v >= (24 if n == 1 else 1 << (4 * n)), "CBOR: integer not in shortest form")  # rule 2
    return v, i + n

def _cbor_item(b, i, depth):
    need(depth <= 32 and i < len(b), "CBOR: truncated or nested too deep")
    mt, ai = b[i] >> 5, b[i] & 31
    i += 1
    if mt == 7:  # rule 1: only false, true, null
        need(ai in (20, 21, 22), "CBOR: float or unknown simple value")
        return {20: False, 21: True, 22: None}[ai], i
    need(mt != 6, "CBOR: tag")
    v, i = _cbor_arg(b, i, ai)
    if mt == 0:
        return v, i
    if mt == 1:
        return -1 - v, i
    if mt in (2, 3):
        need(i + v <= len(b), "CBOR: truncated string")
        s = bytes(b[i:i + v])
        if mt == 3:
            try:
                s = s.decode("utf-8")
            except UnicodeDecodeError:
                raise Corrupt("CBOR: text is not UTF-8")
        return s, i + v
    if mt == 4:
        out = []
        for _ in range(v):
            x, i = _cbor_item(b, i, depth + 1)
            out.append(x)
        return out, i
    out, prev = {}, None
    for _ in range(v):  # mt == 5: a map with text keys in canonical order (rule 4)
        start = i
        k, i = _cbor_item(b, i, depth + 1)
        need(isinstance(k, str), "CBOR: map key is not text")
        enc = bytes(b[start:i])
        need(prev is None or enc > prev, "CBOR: map keys not sorted or duplicated")
        prev = enc
        out[k], i = _cbor_item(b, i, depth + 1)
    return out, i

def field(m, key, kind, optional=False):
    """A map field of the given Python type(s); missing or mistyped is corruption."""
    if key not in m and optional:
        return None
    need(key in m, "missing field %r" % key)
    v = m[key]
    ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    need(ok, "field %r has the wrong type" % key)
    need(kind is not int or v >= 0, "field %r is negative" % key)
    return v

def timestamp(v):  # trees-and-snapshots.md: "Common value types"
    need(isinstance(v, list) and len(v) == 2, "bad timestamp")
    s, ns = v
    need(isinstance(s, int) and not isinstance(s, bool) and -(1 << 63) <= s < (1 << 63), "bad timestamp")
    need(isinstance(ns, int) and not isinstance(ns, bool) and 0 <= ns < 10**9, "bad timestamp")
    return s * 10**9 + ns

# ---------------------------------------------------------------- crypto
# crypto.md: "The sealed-object envelope"; packs-and-index.md: "Compression payload"
ZERO = bytes(32)

def open_compact(key, typ, bind, data):
    need(len(data) >= 40, "envelope too short")
    aad = b"CRNE\x01" + bytes([typ]) + bind
    c = ChaCha20_Poly1305.new(key=key, nonce=bytes(data[:24]))  # 24-byte nonce: XChaCha20
    c.update(aad)
    try:
        return c.decrypt_and_verify(bytes(data[24:-16]), bytes(data[-16:]))
    except ValueError:
        raise Corrupt("authentication tag failed (type %d)" % typ)

def open_full(key, typ, data):
    need(len(data) >= 6 and data[:4] == b"CRNE", "not an envelope")
    if data[4] != 1:
        raise Unsupported("envelope version %d" % data[4])
    need(data[5] == typ, "envelope type %d, expected %d" % (data[5], typ))
    return open_compact(key, typ, ZERO, data[6:])

def decompress(payload, limit):
    """Tag 0: stored; tag 1: one zstd frame, window <= 2^27, output <= limit."""
    need(len(payload) >= 1, "empty compression payload")
    tag, body = payload[0], payload[1:]
    if tag == 0:
        need(len(body) <= limit, "payload larger than its limit")
        return bytes(body)
    need(tag == 1, "unknown compression tag %d" % tag)
    d = zstandard.ZstdDecompressor(max_window_size=1 << 27).decompressobj()
    out, i = [], 0
    try:  # feed small pieces so a hostile frame cannot expand far past the limit
        while i < len(body) and not d.eof:
            out.append(d.decompress(body[i:i + 1024]))
            i += 1024
            need(sum(map(len, out)) <= limit, "payload larger than its limit")
    except zstandard.ZstdError as e:
        raise Corrupt("zstd: %s" % e)
    need(d.eof and not d.unused_data and i >= len(body), "zstd: truncated or bytes after the frame")
    return b"".join(out)

def sealed_object(key, typ, data, limit):
    """A sealed file whose payload decompresses to at most `limit` bytes."""
    need(len(data) <= limit + limit // 128 + 4096, "file too large")  # "File sizes"
    return decompress(open_full(key, typ, data), limit)

def keyed(key, data):
    return blake3.blake3(data, key=key).digest()

# ---------------------------------------------------------------- storage
class Store:
    """Read-only view of a repository, or of the union of an export set's
    volumes (export.md: "The merge property", "Reading an export")."""

    def __init__(self, path):
        if os.path.exists(os.path.join(path, "CAIRN")):
            self.roots, self.sums, self.needs, self.present = [path], {}, {}, set()
        else:
            self.roots = sorted(os.path.join(path, n) for n in os.listdir(path)
                                if os.path.isfile(os.path.join(path, n, "VOLUME")))
            if not self.roots:
                raise Corrupt("%s holds neither CAIRN nor export volumes" % path)
            self.sums, self.needs, self.present = {}, {}, set()
            for r in self.roots:
                self.sums[r] = self._volume(r)

    def _volume(self, root):
        with open(os.path.join(root, "VOLUME"), "rb") as f:
            first, set_line, vol_line = (f.readline().rstrip(b"\n").decode("utf-8", "replace") for _ in range(3))
        need(first.startswith("CAIRN-EXPORT-VOLUME "), "%s: bad VOLUME" % root)
        if first != "CAIRN-EXPORT-VOLUME 1":
            raise Unsupported("export volume " + first)
        self.present.add("%s:%s" % (set_line[4:], vol_line.split(" ")[1]))  # "The label: VOLUME"
        cat = open(os.path.join(root, "CATALOGUE"), "rb").read()  # "The catalogue"
        need(cat.startswith(b"CAIRN-EXPORT-CATALOGUE 1\n"), "%s: bad CATALOGUE" % root)
        body, _, end = cat.rstrip(b"\n").rpartition(b"\n")
        need(end == b"end " + blake3.blake3(body + b"\n").hexdigest().encode(), "%s: CATALOGUE end hash" % root)
        for rec in body.decode().split("\n"):
            if rec.startswith("snapshot "):  # the volumes each snapshot needs
                self.needs[rec.split(" ")[1]] = rec.split(" ")[2:]
        sums = {}
        for line in open(os.path.join(root, "SHA256SUMS"), "rb").read().splitlines():
            digest, _, rel = line.partition(b"  ")
            sums[rel.decode("utf-8", "replace")] = digest.decode()
        return sums

    def _paths(self, rel):
        for r in self.roots:
            p = os.path.join(r, rel)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            # overview.md: "Valid names": never follow a link or open a special file
            if not stat.S_ISREG(st.st_mode):
                raise Corrupt("%s is not a regular file" % p)
            yield r, p, st.st_size

    def size(self, rel):
        for _, _, size in self._paths(rel):
            return size
        raise Corrupt("missing file " + rel)

    def read(self, rel, limit=None):
        """Whole file; in an export, from a copy its volume's manifest confirms."""
        data = None
        for root, p, size in self._paths(rel):
            need(limit is None or size <= limit, "%s is too large" % rel)
            data = open(p, "rb").read()
            want = self.sums.get(root, {}).get(rel)
            if want is None or hashlib.sha256(data).hexdigest() == want:
                return data
        if data is None:
            raise Corrupt("missing file " + rel)
        return data

    def read_at(self, rel, offset, n):
        for _, p, _ in self._paths(rel):
            with open(p, "rb") as f:
                f.seek(offset)
                return f.read(n)
        raise Corrupt("missing file " + rel)

    def list(self, d, pattern=HEX64, required=True, want=stat.S_ISREG):
        """Valid, non-temporary entries of d (overview.md: "Valid names")."""
        names, seen = set(), False
        for r in self.roots:
            full = os.path.join(r, d)
            if not os.path.lexists(full):
                continue
            need(stat.S_ISDIR(os.lstat(full).st_mode), "%s is not a directory" % full)
            seen = True
            for n in os.listdir(full):
                if pattern.match(n):
                    need(want(os.lstat(os.path.join(full, n)).st_mode), "%s/%s: wrong file type" % (full, n))
                    names.add(n)
        if not seen and required:  # overview.md: "Required directories"
            raise Corrupt("repository damaged: %s/ is missing" % d)
        return sorted(names), seen

# ---------------------------------------------------------------- repository
class Repo:
    def __init__(self, path, password):
        self.store = s = Store(path)
        marker = s.read("CAIRN", 64 * 1024).split(b"\n")[0].decode("utf-8")
        need(marker.startswith("CAIRN-REPOSITORY "), "CAIRN marker")  # overview.md: "The CAIRN marker"
        version = marker[len("CAIRN-REPOSITORY "):].strip()
        need(version.isdigit(), "CAIRN marker version")
        if version != "1":
            raise Unsupported("repository format version " + version)
        master = self.unlock(password)
        # crypto.md: "Key hierarchy"
        derive = lambda ctx: blake3.blake3(master, derive_key_context=ctx).digest()
        self.seal = derive("cairn 2026-11-30 v1 seal")
        self.blob_key = derive("cairn 2026-11-30 v1 blob id")
        parse_config(sealed_object(self.seal, 1, s.read("config"), MiB))
        self.locations = None

    def unlock(self, password):
        names, _ = self.store.list("keys")
        for name in names:  # crypto.md: "Key files"; tried in name order
            data = self.store.read("keys/" + name, 64 * 1024)
            need(blake3.blake3(data).hexdigest() == name, "key file %s: name mismatch" % name)
            try:
                return unwrap_key_file(data, password)
            except (Corrupt, Unsupported) as e:  # try the next key file
                if str(e) != "wrong password":
                    warn("key file %s: %s: %s" % (name, type(e).__name__.lower(), e))
        raise Corrupt("wrong password (no key file opens)")

    # --- blob locations: packs-and-index.md "Index files" and "Reading a pack trailer"
    def index(self):
        if self.locations is not None:
            return self.locations
        self.locations, named = {}, set()
        names, present = self.store.list("index", required=False)
        if not present:
            warn("repository damaged: index/ is missing; locating blobs through pack trailers")
        for name in names:
            try:
                data = self.store.read("index/" + name)
                need(blake3.blake3(data).hexdigest() == name, "name mismatch")
                for pack, entries in parse_index(sealed_object(self.seal, 3, data, 1 << 30)):
                    named.add(pack)
                    self._add(pack, entries)
            except (Corrupt, Unsupported) as e:
                warn("index file %s skipped: %s: %s" % (name, type(e).__name__.lower(), e))
        for fan in self.store.list("data", re.compile(r"^[0-9a-f]{2}$"), want=stat.S_ISDIR)[0]:
            for pack in self.store.list("data/" + fan, required=False)[0]:
                if pack.startswith(fan) and pack not in named:
                    try:
                        self._add(pack, self.trailer(pack))
                    except (Corrupt, Unsupported) as e:
                        warn("pack %s: trailer unreadable: %s" % (pack, e))
        return self.locations

    def _add(self, pack, entries):
        for e in entries:
            self.locations.setdefault(e[1], []).append((pack,) + e)

    def trailer(self, pack):
        rel = "data/%s/%s" % (pack[:2], pack)
        size = self.store.size(rel)
        head = self.store.read_at(rel, 0, 8)
        return parse_pack(self.seal, size, head, lambda off, n: self.store.read_at(rel, off, n))

    # --- packs-and-index.md: "Reading a blob"
    def blob(self, blob_id, typ):
        locs = self.index().get(blob_id, [])
        need(locs, "blob %s is not in any index or pack" % blob_id.hex())
        need(any(l[1] == typ for l in locs), "blob %s is indexed as another type" % blob_id.hex())
        err = None
        for pack, t, _, off, sealed_len, plain_len in locs:
            if t != typ:
                continue
            try:
                data = self.store.read_at("data/%s/%s" % (pack[:2], pack), off, sealed_len)
                need(len(data) == sealed_len, "pack too short")
                plain = decompress(open_compact(self.seal, typ, blob_id, data), plain_len)
                need(len(plain) == plain_len, "blob length")
                need(keyed(self.blob_key, plain) == blob_id, "blob ID mismatch")
                return plain
            except Corrupt as e:
                err = e
        raise Corrupt("blob %s: %s" % (blob_id.hex(), err))

    def snapshots(self):
        """(id, map) sorted by time then ID, and whether any was unreadable."""
        out, bad = [], False
        for name in self.store.list("snapshots")[0]:
            try:
                data = self.store.read("snapshots/" + name)
                need(blake3.blake3(data).hexdigest() == name, "name mismatch")
                out.append((name, parse_snapshot(sealed_object(self.seal, 4, data, 64 * MiB))))
            except (Corrupt, Unsupported) as e:
                warn("snapshot %s unreadable: %s: %s" % (name, type(e).__name__.lower(), e))
                bad = True
        out.sort(key=lambda x: (timestamp(x[1]["time"]), x[0]))
        return out, bad

    def find(self, spec):
        snaps, bad = self.snapshots()
        if spec == "latest":  # trees-and-snapshots.md: "Snapshot object"
            need(snaps and not bad, "cannot resolve latest: no snapshot, or one is unreadable")
        hits = [s for s in snaps if s[0].startswith(spec.lower())] if spec != "latest" else snaps[-1:]
        need(len(hits) == 1, "snapshot %r: %d matches" % (spec, len(hits)))
        # export.md: "Reading an export", step 3: ask for missing volumes
        missing = [v for v in self.store.needs.get(hits[0][0], []) if v not in self.store.present]
        need(not missing, "snapshot needs the missing export volumes (set:number) " + " ".join(missing))
        return hits[0]

def unwrap_key_file(data, password):
    """crypto.md: "Key files", "Argon2id", "Master key wrap"."""
    need(data[:4] == b"CRNK" and len(data) >= 5, "not a key file")
    if data[4] != 1:
        raise Unsupported("key file version %d" % data[4])
    m = cbor_decode(data[5:])
    need(field(m, "kdf", str) == "argon2id", "kdf is not argon2id")
    p, t, mk, salt = field(m, "p", int), field(m, "t", int), field(m, "m_kib", int), field(m, "salt", bytes)
    field(m, "label", str, optional=True)
    need(1 <= p <= 64 and 1 <= t <= 64 and 8 * p <= mk <= 4194304, "Argon2id parameters out of bounds")
    need(16 <= len(salt) <= 64, "salt length")
    kek = hash_secret_raw(password, salt, time_cost=t, memory_cost=mk, parallelism=p,
                          hash_len=32, type=Type.ID, version=19)
    try:
        master = open_full(kek, 2, field(m, "wrapped", bytes))
    except Corrupt:
        raise Corrupt("wrong password")
    need(len(master) == 32, "master key is not 32 bytes")
    return master

def parse_entries(b, i, k):
    """k blob entries of 49 bytes (packs-and-index.md: "Blob entry")."""
    out = []
    for _ in range(k):
        e = b[i:i + 49]
        need(len(e) == 49, "truncated entry")
        need(e[0] in (16, 17), "blob entry type %d" % e[0])
        out.append((e[0], bytes(e[1:33]), int.from_bytes(e[33:41], "little"),
                    int.from_bytes(e[41:45], "little"), int.from_bytes(e[45:49], "little")))
        i += 49
    return out, i

def parse_index(plain):
    """packs-and-index.md: "Index files" -> [(pack hex, entries)]."""
    need(len(plain) >= 1, "empty index")
    if plain[0] != 1:
        raise Unsupported("index version %d" % plain[0])
    u32 = lambda i: (need(i + 4 <= len(plain), "truncated index"), int.from_bytes(plain[i:i + 4], "little"))[1]
    s = u32(1)
    need(32 * s <= len(plain) - 5, "supersedes count")
    i = 5 + 32 * s
    packs, n = [], u32(i)
    i += 4
    for _ in range(n):
        need(i + 36 <= len(plain), "truncated index")
        pack, k = plain[i:i + 32].hex(), u32(i + 32)
        need(49 * k <= len(plain) - i - 36, "entry count")
        entries, i = parse_entries(plain, i + 36, k)
        packs.append((pack, entries))
    need(i == len(plain), "bytes after the last pack")
    return packs

def parse_pack(seal, size, head, read_at):
    """packs-and-index.md: "Reading a pack trailer", steps 1-4."""
    need(size >= 56 and size % 4096 == 0 and head[:4] == b"CRNP", "not a pack")
    if head[4] != 1:
        raise Unsupported("pack version %d" % head[4])
    need(head[5:8] == b"\0\0\0", "reserved bytes")
    tail = read_at(size - 48, 48)
    need(tail[44:] == b"CRNP", "pack end magic")
    L = int.from_bytes(open_compact(seal, 7, ZERO, tail[:44]), "little")
    need(L <= size - 56, "trailer length")
    plain = open_full(seal, 6, read_at(size - 48 - L, L))
    need(len(plain) >= 1 and plain[0] == 0, "trailer compression tag")
    entries = parse_trailer(plain[1:])
    end = 8
    for e in entries:
        need(e[2] >= end, "entries overlap or out of order")
        end = e[2] + e[3]
    need(end <= size - 48 - L, "entry beyond the blob area")
    return entries

def parse_trailer(plain):
    """A trailer payload after its compression tag: version, count, entries, zero padding."""
    need(len(plain) >= 5, "trailer too short")
    if plain[0] != 1:
        raise Unsupported("trailer version %d" % plain[0])
    k = int.from_bytes(plain[1:5], "little")
    need(49 * k <= len(plain) - 5, "trailer count")
    entries, i = parse_entries(plain, 5, k)
    need(not any(plain[i:]), "non-zero trailer padding")
    return entries

def parse_config(plain):
    """overview.md: "The config object". A restorer needs only `v` and `features`."""
    m = cbor_decode(plain)
    if field(m, "v", int) != 1:
        raise Unsupported("config version %d" % m["v"])
    for k in ("id", "created", "chunk_avg", "chunk_max", "chunk_min", "pack_size", "zstd_level"):
        need(k in m, "config lacks %s" % k)
    def sizes_ok(lo, avg, hi):  # chunking.md, "Parameters"
        ints = all(isinstance(x, int) for x in (lo, avg, hi))
        return ints and avg >= 256 and avg & (avg - 1) == 0 and 64 <= lo <= avg <= hi <= 1 << 26
    need(sizes_ok(m["chunk_min"], m["chunk_avg"], m["chunk_max"]), "config chunk sizes")
    fine = [k for k in ("fine_min", "fine_avg", "fine_max", "fine_limit") if k in m]
    need(len(fine) in (0, 4), "config: fine_* keys must be all present or all absent")
    if fine:  # chunking.md, "Chunk classes"
        need(sizes_ok(m["fine_min"], m["fine_avg"], m["fine_max"]), "config fine chunk sizes")
        need(isinstance(m["fine_limit"], int) and m["fine_limit"] >= 0, "config fine_limit")
    if "fine_page" in m:  # chunking.md, "Chunk classes": the page class
        page = m["fine_page"]
        need(bool(fine), "config: fine_page without the other fine_* keys")
        need(isinstance(page, int) and 512 <= page <= 65536 and page & (page - 1) == 0,
             "config fine_page")
    features = m.get("features", [])
    need(isinstance(features, list), "config features")
    if features:  # README.md, "Versioning policy": this reader knows no required feature
        raise Unsupported("the repository requires features this reader does not know: %r" % features)
    return m

def parse_snapshot(plain):
    """trees-and-snapshots.md: "Snapshot object"."""
    m = cbor_decode(plain)
    if field(m, "v", int) != 1:
        raise Unsupported("snapshot version %d" % m["v"])
    for k, kind in (("host", str), ("tags", list), ("tree", bytes), ("user", str),
                    ("paths", list), ("stats", dict), ("source", str), ("program", str)):
        field(m, k, kind)
    timestamp(field(m, "time", list))
    need(len(m["tree"]) == 32, "tree ID length")
    need(all(isinstance(t, str) and t for t in m["tags"]), "tags")
    enc = [t.encode() for t in m["tags"]]
    need(enc == sorted(set(enc)), "tags not sorted and unique")
    need(m["source"] in ("files", "stdin", "mongodb"), "unknown source %r" % m["source"])
    for k in ("files", "dirs"):
        field(m["stats"], k, int)
    return m

# ---------------------------------------------------------------- trees
ONLY = {"rdev": (4, 5), "target": (2,), "content": (0,), "subtree": (1,)}

def parse_tree(plain):
    """trees-and-snapshots.md: "Tree object", "Node fields", "Ordering and name safety"."""
    m = cbor_decode(plain)
    if field(m, "v", int) != 1:
        raise Unsupported("tree version %d" % m["v"])
    nodes, prev = field(m, "nodes", list), None
    for n in nodes:
        need(isinstance(n, dict), "node is not a map")
        for k in ("dev", "gid", "uid", "mode", "size", "type", "inode", "nlink"):
            field(n, k, int)
        for k in ("atime", "ctime", "mtime"):
            timestamp(field(n, k, list))
        name, t = field(n, "name", bytes), n["type"]
        need(t <= 6, "node type %d" % t)
        need(n["uid"] < 1 << 32 and n["gid"] < 1 << 32, "uid/gid range")
        need(n["mode"] <= 0o7777, "mode above 0o7777")
        need(name not in (b"", b".", b"..") and b"/" not in name and b"\0" not in name, "unsafe name %r" % name)
        need(prev is None or name > prev, "nodes not sorted or duplicate name")
        prev = name
        for k, types in ONLY.items():
            present = k in n and not (k == "rdev" and n[k] == 0)
            need(not present or t in types, "field %s on node type %d" % (k, t))
        if t in (4, 5):
            field(n, "rdev", int, optional=True)
        if t == 1:
            need(len(field(n, "subtree", bytes)) == 32, "subtree ID length")
        if t == 2:
            field(n, "target", bytes)
        if t == 0:
            total = 0
            for x in field(n, "content", list):
                if isinstance(x, bytes):
                    need(len(x) == 32, "chunk ID length")
                else:
                    need(isinstance(x, int) and not isinstance(x, bool) and x >= 0, "bad extent")
                    total += x
            n["_holes"] = total
        xs = field(n, "xattrs", list, optional=True) or []
        need(all(isinstance(x, list) and len(x) == 2 and all(isinstance(y, bytes) for y in x) for x in xs), "xattrs")
        need([x[0] for x in xs] == sorted({x[0] for x in xs}), "xattrs not sorted by unique name")
    return nodes

class Walk:
    """Walks a snapshot's trees with the bounds of trees-and-snapshots.md
    ("Snapshot object": stats bound, depth 2048, no tree inside itself)."""

    def __init__(self, repo, snap):
        self.repo, self.snap = repo, snap
        self.budget = {0: snap["stats"]["files"], 1: snap["stats"]["dirs"]}
        self.links = {}
        self.mongo = {} if snap["source"] == "mongodb" else None  # path -> BsonStream

    def tree(self, tree_id, stack):
        need(len(stack) <= 2048, "directories nested deeper than 2048")
        need(tree_id not in stack, "a tree contains itself")
        nodes = parse_tree(self.repo.blob(tree_id, 17))
        for n in nodes:
            if n["type"] in self.budget:
                self.budget[n["type"]] -= 1
                need(self.budget[n["type"]] >= 0, "trees hold more nodes than the snapshot stats")
        return nodes

    def content(self, n, rel):
        """Yields bytes for chunks and ints for holes, every chunk verified."""
        self.chunk_sizes(n)
        st = BsonStream()
        if self.mongo is not None:
            self.mongo[rel] = st
        for x in n["content"]:
            x = self.repo.blob(x, 16) if isinstance(x, bytes) else x
            if self.mongo is not None:
                st.update(x if isinstance(x, bytes) else bytes(x))
                st.data += x if rel == b"cairn-mongodb.json" and isinstance(x, bytes) else b""
            yield x

    def chunk_sizes(self, n):
        # A file whose extents do not add up to `size` is refused before any
        # byte is written; chunk lengths come from the index (plain_len).
        loc = self.repo.index()
        total = n["_holes"]
        for x in n["content"]:
            if isinstance(x, bytes):
                l = [e for e in loc.get(x, []) if e[1] == 16]
                need(l, "chunk %s not found (or indexed as a tree)" % x.hex())
                total += l[0][5]
        need(total == n["size"], "extents do not add up to size")

    def verify(self, tree_id, rel=b"", stack=()):
        for n in self.tree(tree_id, stack):
            if n["type"] == 1:
                self.verify(n["subtree"], rel + n["name"] + b"/", stack + (tree_id,))
            elif n["type"] == 0:
                for _ in self.content(n, rel + n["name"]):
                    pass

    # --- restoring: trees-and-snapshots.md "Content extents and sparse
    # files", "Hard links", "The root tree" (TARGET stands for `/`)
    def restore(self, tree_id, path, rel=b"", stack=()):
        for n in self.tree(tree_id, stack):
            p, t = os.path.join(path, n["name"]), n["type"]
            if t == 1:
                os.mkdir(p, 0o700)
                self.restore(n["subtree"], p, rel + n["name"] + b"/", stack + (tree_id,))
            elif t == 0:
                key = (n["dev"], n["inode"])
                if n["nlink"] > 1 and key in self.links:
                    os.link(self.links[key], p)
                    continue
                with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    for x in self.content(n, rel + n["name"]):
                        if isinstance(x, int):
                            f.seek(x, os.SEEK_CUR)  # a hole: skip, do not write
                        else:
                            f.write(x)
                    f.truncate(n["size"])
                if n["nlink"] > 1:
                    self.links[key] = p
            elif t == 2:
                os.symlink(n["target"], p)
            elif t == 3:
                os.mkfifo(p, 0o600)
            elif t in (4, 5):
                try:
                    os.mknod(p, 0o600 | (stat.S_IFCHR if t == 4 else stat.S_IFBLK), n.get("rdev", 0))
                except PermissionError:
                    warn("%s: device node not created (needs privilege)" % p.decode("utf-8", "replace"))
                    continue
            else:
                continue  # sockets are recorded only
            apply_metadata(p, n)

def apply_metadata(p, n):
    """Numeric owner (root only), then xattrs (a failure is a warning), then
    mode (after chown, which clears setuid; never on symlinks), then atime
    and mtime as stored; a directory gets this after its children."""
    link = n["type"] == 2
    if os.geteuid() == 0:
        os.chown(p, n["uid"], n["gid"], follow_symlinks=False)
    for name, value in n.get("xattrs", []):
        try:
            os.setxattr(p, name, value, follow_symlinks=False)
        except OSError as e:
            warn("%s: xattr %s not set: %s" % (p.decode("utf-8", "replace"), name.decode("utf-8", "replace"), e.strerror))
    if not link:
        os.chmod(p, n["mode"])
    os.utime(p, ns=(timestamp(n["atime"]), timestamp(n["mtime"])), follow_symlinks=False)

# ---------------------------------------------------------------- MongoDB
class BsonStream:
    """Count, length and BLAKE3 of a `.bson` stream, fed piece by piece:
    each document starts with its int32 LE length (mongodb.md)."""

    def __init__(self):
        self.hash, self.bytes, self.count, self.skip, self.head = blake3.blake3(), 0, 0, 0, b""
        self.data = b""  # kept for the manifest only

    def update(self, b):
        self.hash.update(b)
        self.bytes += len(b)
        i = 0
        while i < len(b):
            if self.skip:
                k = min(self.skip, len(b) - i)
                self.skip, i = self.skip - k, i + k
                continue
            take = b[i:i + 4 - len(self.head)]
            self.head, i = self.head + take, i + len(take)
            if len(self.head) == 4:
                n = int.from_bytes(self.head, "little")
                need(n >= 5, "broken BSON stream")
                self.skip, self.head, self.count = n - 4, b"", self.count + 1

def check_mongodb(files):
    """mongodb.md: compare the manifest's count, bytes and blake3 with what
    was read back; `files` maps relative paths to their BsonStream."""
    m = json.loads(files[b"cairn-mongodb.json"].data)
    if m.get("format") != "cairn-mongodb/1":
        raise Unsupported("MongoDB manifest format %r" % m.get("format"))
    esc = lambda s: s.replace("%", "%25").replace("/", "%2F")
    for c in m["collections"]:
        st = files.get(("%s/%s.bson" % (esc(c["db"]), esc(c["name"]))).encode(), BsonStream())
        need(not st.skip and not st.head, "%s.%s: truncated BSON stream" % (c["db"], c["name"]))
        need((st.count, st.bytes, st.hash.hexdigest()) == (c["count"], c["bytes"], c["blake3"]),
             "%s.%s does not match the manifest" % (c["db"], c["name"]))
    return len(m["collections"])

# ---------------------------------------------------------------- commands
def password():
    pw = os.environb.get(b"CAIRN_PASSWORD")
    if pw is None:
        pw = getpass.getpass("password: ").encode("utf-8")
    need(pw, "empty password")
    return pw

def run(argv):
    if argv[:1] == ["selftest"]:
        # In the source tree: vectors.py and ../test-vectors/v1/. In a
        # repository's spec/ (overview.md, "The spec/ copy") the same files
        # are flattened: reference-vectors.py, test-vectors-v1-NAME.json.
        import importlib.util
        here = os.path.dirname(os.path.abspath(__file__))
        flat = os.path.basename(__file__).startswith("reference-")
        sys.modules.setdefault("cairn_ref", sys.modules[__name__])
        spec = importlib.util.spec_from_file_location(
            "vectors", os.path.join(here, "reference-vectors.py" if flat else "vectors.py"))
        vectors = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vectors)
        default = here if flat else os.path.join(here, "..", "test-vectors", "v1")
        vdir = argv[1] if len(argv) > 1 else default
        prefix = "test-vectors-v1-" if os.path.exists(os.path.join(vdir, "test-vectors-v1-subkeys.json")) else ""
        return vectors.selftest(vdir, prefix)
    if len(argv) < 2 or argv[1] not in ("snapshots", "restore", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    repo = Repo(argv[0], password())
    if argv[1] == "snapshots":
        snaps, bad = repo.snapshots()
        for sid, s in snaps:
            print("%s  %d  %-8s %-10s %s  %s" % (sid, s["time"][0], s["source"], s["host"],
                                               " ".join(s["paths"]), ",".join(s["tags"])))
        return 1 if bad else 0
    sid, snap = repo.find(argv[2])
    walk = Walk(repo, snap)
    if argv[1] == "verify":
        walk.verify(snap["tree"])
        if walk.mongo is not None:
            print("MongoDB dump: %d collections match the manifest" % check_mongodb(walk.mongo))
        print("snapshot %s: every tree and chunk verified" % sid)
        return 0
    target = os.fsencode(argv[3])
    if os.path.lexists(target):  # never overwrite: restore only into an empty directory
        need(os.path.isdir(target) and not os.listdir(target), "target exists and is not an empty directory")
    else:
        os.makedirs(target, 0o700)
    walk.restore(snap["tree"], target)
    if snap["source"] == "mongodb":
        print("MongoDB dump: %d collections match the manifest" % check_mongodb(walk.mongo))
    print("restored snapshot %s to %s" % (sid, argv[3]))
    return 0

def main():
    try:
        return run(sys.argv[1:])
    except Unsupported as e:
        print("error: unsupported version: %s (a newer reader is needed)" % e, file=sys.stderr)
    except (Corrupt, OSError, KeyError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
    return 1

if __name__ == "__main__":
    sys.exit(main())
