"""Checks the test vectors of format-spec/test-vectors/v1 with the code of
cairn_ref.py (run it as `cairn_ref.py selftest [VECTOR_DIR]`)."""
import hashlib, json, os, re
import blake3
from argon2.low_level import Type, hash_secret_raw
from cairn_ref import (Corrupt, MiB, Unsupported, cbor_decode, decompress, keyed, need, open_compact,
                       open_full, parse_config, parse_index, parse_pack, parse_snapshot, parse_trailer,
                       parse_tree, sealed_object, unwrap_key_file)

def selftest(vdir, prefix=""):
    """Checks every file of test-vectors/v1 this reader has code for (named
    PREFIX + NAME: a repository's spec/ copy flattens test-vectors/v1/NAME
    to test-vectors-v1-NAME)."""
    V = lambda name: json.load(open(os.path.join(vdir, prefix + name)))
    H, ok = bytes.fromhex, []

    def check(name, cond):
        need(cond, "vector %s failed" % name)
        ok.append(name)

    k = V("subkeys.json")
    derive = lambda ctx: blake3.blake3(H(k["master_key"]), derive_key_context=ctx).digest()
    seal, blob_key = derive("cairn 2026-11-30 v1 seal"), derive("cairn 2026-11-30 v1 blob id")
    gear = derive("cairn 2026-11-30 v1 chunker gear")
    x = blake3.blake3(b"", key=gear).digest(length=2048)  # chunking.md: "Gear table"
    check("subkeys", (seal.hex(), blob_key.hex(), gear.hex()) == (k["seal_key"], k["blob_id_key"], k["gear_key"]))
    first = ["%016x" % int.from_bytes(x[8 * i:8 * i + 8], "little") for i in range(4)]
    check("gear table", first == k["gear_table_first_4"] and blake3.blake3(x).hexdigest() == k["gear_table_blake3"])
    c = V("chunking.json")["small"]  # blob IDs of the given cuts (the restorer does not chunk)
    data, ids, at = blake3.blake3(c["seed"].encode()).digest(length=c["length"]), [], 0
    for n in c["cuts"][:8]:
        ids.append(keyed(blob_key, data[at:at + n]).hex())
        at += n
    check("chunking blob IDs", sum(c["cuts"]) == c["length"] and ids == c["first_8_blob_ids"])
    e = V("envelope.json")
    check("compact envelope", open_compact(seal, e["compact"]["type"], H(e["compact"]["bind"]),
                                           H(e["compact"]["sealed"])) == e["compact"]["plaintext_utf8"].encode())
    check("full envelope", open_full(seal, e["full"]["type"], H(e["full"]["sealed"])) == e["full"]["plaintext_utf8"].encode())
    kf = V("kdf-and-key-file.json")
    kek = hash_secret_raw(kf["password_utf8"].encode(), H(kf["salt"]), time_cost=kf["t"], memory_cost=kf["m_kib"],
                          parallelism=kf["p"], hash_len=32, type=Type.ID, version=19)
    check("argon2id", kek.hex() == kf["kek"])
    for f in (kf, kf["labelled_key_file"]):
        data = H(f["key_file"])
        check("key file", unwrap_key_file(data, kf["password_utf8"].encode()).hex() == kf["master_key"]
              and blake3.blake3(data).hexdigest() == f["key_file_id"])
    pk = V("pack.json")
    pack = H(pk["pack"])
    entries = parse_pack(seal, len(pack), pack[:8], lambda o, n: pack[o:o + n])
    want = [(16, H(x["id"]), x["offset"], x["sealed_len"], x["plain_len"]) for x in pk["entries"]]
    check("pack trailer", entries == want and blake3.blake3(pack).hexdigest() == pk["pack_id"])
    for (t, bid, off, sl, pl), b in zip(entries, pk["blobs"]):
        plain = decompress(open_compact(seal, t, bid, pack[off:off + sl]), pl)
        check("pack blob", plain == b["plaintext_utf8"].encode() and keyed(blob_key, plain) == bid)
    ix = V("index.json")
    plain = sealed_object(seal, 3, H(ix["file"]), 1 << 30)
    check("index file", plain == H(ix["plaintext"]) and parse_index(plain) == [(pk["pack_id"], want)]
          and blake3.blake3(H(ix["file"])).hexdigest() == ix["index_id"])
    ts = V("tree-and-snapshot.json")
    parse_tree(H(ts["tree_cbor"]))
    check("tree", keyed(blob_key, H(ts["tree_cbor"])).hex() == ts["tree_id"])
    plain = sealed_object(seal, 4, H(ts["snapshot_file"]), 64 * MiB)
    check("snapshot", plain == H(ts["snapshot_cbor"]) and parse_snapshot(plain)["tree"].hex() == ts["tree_id"]
          and blake3.blake3(H(ts["snapshot_file"])).hexdigest() == ts["snapshot_id"])
    gc = V("gc-plan.json")
    plain = sealed_object(seal, 9, H(gc["plan_file"]), 64 * MiB)
    check("gc plan", plain == H(gc["plan_cbor"]) and isinstance(cbor_decode(plain), dict))
    ex = V("export.json")
    body, _, end = ex["catalogue"].rstrip("\n").rpartition("\n")
    check("export catalogue", end == "end " + blake3.blake3((body + "\n").encode()).hexdigest())
    files = [("CATALOGUE", ex["catalogue"].encode()), ("VOLUME", ex["label"].encode())]
    check("export manifests", ex["b3sums"] == "".join("%s  %s\n" % (blake3.blake3(d).hexdigest(), n) for n, d in files)
          and ex["sha256sums"] == "".join("%s  %s\n" % (hashlib.sha256(d).hexdigest(), n) for n, d in files))
    p = V("paper-key.json")  # crypto.md: "Paper key"
    alphabet, payload = "0123456789ABCDEFGHJKMNPQRSTVWXYZ", b""
    for line in p["text"].splitlines():
        m = re.match(r"^\s*([1-7])\s*:(.*)$", line)
        if m:
            syms = [alphabet.index(ch) for ch in re.sub(r"[\s-]", "", m.group(2)).upper()]
            r = int(m.group(1))
            for v in syms[:8]:
                r = (32 * r + v) % 1021
            need(syms[8:] == [r // 32, r % 32], "paper key line %s check" % m.group(1))
            payload += sum(v << (35 - 5 * i) for i, v in enumerate(syms[:8])).to_bytes(5, "big")
    check("paper key", payload.hex() == p["payload"] and blake3.blake3(payload[:32]).digest()[:3] == payload[32:])
    z = V("zstd.json")  # packs-and-index.md: "Compression payloads"
    payload = open_compact(seal, 16, H(z["blob_id"]), H(z["sealed"]))
    text = decompress(payload, MiB)
    check("zstd", payload == H(z["payload"]) and text == z["plaintext_utf8"].encode()
          and len(text) == z["plain_len"] and keyed(blob_key, text).hex() == z["blob_id"])
    cf = V("config.json")
    check("config", sealed_object(seal, 1, H(cf["file"]), MiB) == H(cf["config_cbor"])
          and parse_config(H(cf["config_cbor"]))["v"] == 1)
    for lk in V("lock.json")["locks"]:
        check("lock " + lk["kind"], sealed_object(seal, 5, H(lk["file"]), MiB) == H(lk["lock_cbor"])
              and isinstance(cbor_decode(H(lk["lock_cbor"])), dict))
    sr = V("scrub-record.json")
    check("scrub record", sealed_object(seal, 8, H(sr["file"]), 256 * MiB) == H(sr["record_cbor"]))
    t = V("directory-tree.json")  # a whole snapshot: packs, index files, trees, chunks
    for ix in t["index_files"]:
        f = H(ix["file"])
        plain = sealed_object(seal, 3, f, 1 << 30)
        check("index file", plain == H(ix["plaintext"]) and blake3.blake3(f).hexdigest() == ix["index_id"]
              and len(parse_index(plain)) == 1)
    for name in ("chunk_pack", "tree_pack"):
        pk = t[name]
        f = H(pk["file"])
        got = parse_pack(seal, len(f), f[:8], lambda o, n: f[o:o + n])
        want = [(e["type"], H(e["id"]), e["offset"], e["sealed_len"], e["plain_len"]) for e in pk["entries"]]
        check(name, got == want and blake3.blake3(f).hexdigest() == pk["pack_id"])
        for typ, bid, off, slen, plen in got:
            data = decompress(open_compact(seal, typ, bid, f[off:off + slen]), plen)
            need(len(data) == plen and keyed(blob_key, data) == bid, "blob in " + name)
            if name == "chunk_pack":
                check("chunk", data.decode() in t["chunks_utf8"])
    for tree in ("root_tree", "docs_tree"):
        cb = H(t[tree + "_cbor"])
        parse_tree(cb)
        check(tree, keyed(blob_key, cb).hex() == t[tree + "_id"])
    snap_file = H(t["snapshot_file"])
    check("directory snapshot", sealed_object(seal, 4, snap_file, 64 * MiB) == H(t["snapshot_cbor"])
          and parse_snapshot(H(t["snapshot_cbor"]))["tree"].hex() == t["root_tree_id"]
          and blake3.blake3(snap_file).hexdigest() == t["snapshot_id"])
    readers = {"tree_cbor": parse_tree, "payload": lambda b: decompress(b, MiB),
               "snapshot_cbor": parse_snapshot, "config_cbor": parse_config, "trailer_payload": parse_trailer}
    for v in V("negative.json")["vectors"]:  # each MUST be refused, as the kind it names
        want = Unsupported if v["expect"] == "unsupported_version" else Corrupt
        try:
            readers[v["object"]](H(v["bytes"]))
            refused = None
        except (Corrupt, Unsupported) as e:
            refused = type(e)
        check("negative " + v["name"], refused is want)
    check("parity", parity_vector(V("parity.json")))
    known = {"parity", "subkeys", "chunking", "envelope", "kdf-and-key-file", "pack", "index", "tree-and-snapshot",
             "gc-plan", "export", "paper-key", "zstd", "config", "lock", "scrub-record", "directory-tree",
             "negative"}
    for name in sorted(n[len(prefix):] for n in os.listdir(vdir) if n.startswith(prefix)):
        if name.endswith(".json") and name[:-5] not in known:
            print("not checked: %s (nothing in a restore uses it)" % name)
    print("selftest: %d vector checks passed" % len(ok))
    return 0


def parity_vector(v):
    """parity.md, "Groups and shards": rebuild the packs from the description
    and recompute both parity files with the systematic Reed-Solomon code
    (GF(2^8) with x^8+x^4+x^3+x^2+1, encoding matrix V * T^-1). The restorer
    never repairs; this proves the spec pins the code byte for byte."""
    exp, log = [0] * 512, [0] * 256
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x = (x << 1) ^ (0x11D if x & 0x80 else 0)
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    mul = lambda a, b: exp[log[a] + log[b]] if a and b else 0
    inv = lambda a: exp[255 - log[a]]
    power = lambda r, c: 1 if c == 0 else (0 if r == 0 else exp[(log[r] * c) % 255])
    packs = [blake3.blake3(("cairn parity vector %d" % i).encode()).digest(length=n)
             for i, n in enumerate((4096, 8192, 4096))]
    packs.sort(key=lambda p: blake3.blake3(p).digest())  # members in pack-ID order
    need([blake3.blake3(p).hexdigest() for p in packs] == [m["pack_id"] for m in v["members"]], "parity members")
    k, m, L = len(packs), len(v["parity_files"]), max(map(len, packs))
    V = [[power(r, c) for c in range(k)] for r in range(k + m)]
    T = [row[:] + [int(i == j) for j in range(k)] for i, row in enumerate(V[:k])]  # [T | I]
    for c in range(k):  # Gauss-Jordan over GF(2^8): T^-1
        p = next(r for r in range(c, k) if T[r][c])
        T[c], T[p] = T[p], T[c]
        f = inv(T[c][c])
        T[c] = [mul(f, a) for a in T[c]]
        for r in range(k):
            if r != c and T[r][c]:
                g = T[r][c]
                T[r] = [a ^ mul(g, b) for a, b in zip(T[r], T[c])]
    Tinv = [row[k:] for row in T]
    shards = [p + bytes(L - len(p)) for p in packs]
    for j in range(m):
        row = [0] * k  # row k+j of V * T^-1
        for c in range(k):
            for t in range(k):
                row[c] ^= mul(V[k + j][t], Tinv[t][c])
        parity = bytearray(L)
        for c in range(k):
            if row[c]:
                tab = bytes(mul(row[c], b) for b in range(256))
                parity = bytearray(a ^ b for a, b in zip(parity, shards[c].translate(tab)))
        f = bytes.fromhex(v["parity_files"][j])
        need(f[48 + 40 * k:48 + 40 * k + L] == parity, "parity shard %d" % j)
    return True
