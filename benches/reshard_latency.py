#!/usr/bin/env python3
"""Helper of benches/reshard-compare.sh (not meant to be run by hand).

  plan   PORT TARGET_ID SLOTS KEYS DIR
      Reads CLUSTER NODES from the node on PORT, works out which slots
      `reshard --from all --to TARGET_ID --slots SLOTS` moves (redis-cli's
      clusterManagerComputeReshardTable, which ferrodis-trib copies:
      sources by slot count, largest first, each giving its share of SLOTS,
      the first rounded up and the others down, lowest slots first), picks
      one hash tag per moved slot (crc16, as Redis) and writes:
        DIR/tags          one tag per line; key i is "{tags[i % len]}:i"
        DIR/load-PORT.resp  SET commands (16-byte values) for the source on PORT
      and prints "PORT count" for each source, one a line.

  client PORT TAGS KEYS READY OUT
      A cluster client (redis.cluster.RedisCluster, one connection per
      node, one thread) doing GET and SET in turn on random loaded keys.
      After a warm-up it clears its counters and creates READY; from then
      until SIGTERM or SIGINT it times every operation with
      time.perf_counter and counts errors (exceptions, redis-py's own
      included, or a reply other than the key's value / OK; their kinds go
      to stderr, with the five slowest operations over 100 ms). Then
      writes to OUT one line:
        ops errors p50_ms p99_ms max_ms seconds
"""
import math
import os
import random
import signal
import struct
import sys
import time

CLUSTER_SLOTS = 16384


def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
        table.append(crc)
    return table


_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def value_of(i: int) -> bytes:
    return b"%016d" % i


def parse_nodes(text):
    """CLUSTER NODES -> list of (id, addr, is_master, [slots])."""
    nodes = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        flags = f[2].split(",")
        slots = []
        for r in f[8:]:
            if r.startswith("["):
                continue  # importing/migrating markers
            if "-" in r:
                a, b = r.split("-")
                slots.extend(range(int(a), int(b) + 1))
            else:
                slots.append(int(r))
        nodes.append((f[0], f[1].split("@")[0], "master" in flags and f[3] == "-", sorted(slots)))
    return nodes


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def reshard_table(nodes, target, numslots):
    """[(addr, slot)] as clusterManagerComputeReshardTable for --from all."""
    sources = [n for n in nodes if n[2] and n[0] != target]
    total = sum(len(n[3]) for n in sources)
    # redis-cli uses qsort (unstable) and ferrodis-trib a stable sort; they
    # agree whenever the largest source is unique (true after `create`).
    sources.sort(key=lambda n: -len(n[3]))
    moved = []
    for i, n in enumerate(sources):
        # redis-cli computes the share in single precision floats.
        share = f32(f32(numslots / max(total, 1)) * len(n[3]))
        limit = int(math.ceil(share) if i == 0 else math.floor(share))
        for count, slot in enumerate(n[3]):
            if count >= limit or len(moved) >= numslots:
                break
            moved.append((n[1], slot))
    return moved


def tags_for(slots):
    """One short hash tag per slot in `slots` (same order)."""
    want = set(slots)
    found = {}
    i = 0
    while len(found) < len(want):
        tag = b"%x" % i
        s = crc16(tag) % CLUSTER_SLOTS
        if s in want and s not in found:
            found[s] = tag
        i += 1
    return [found[s] for s in slots]


def cmd_plan(port, target, nslots, nkeys, out_dir):
    import redis

    r = redis.Redis(host="127.0.0.1", port=int(port))
    text = r.execute_command("CLUSTER", "NODES")
    if isinstance(text, bytes):
        text = text.decode()
    nodes = parse_nodes(text)
    table = reshard_table(nodes, target, int(nslots))
    if len(table) != int(nslots):
        sys.exit("plan: the sources give %d slots, not %s" % (len(table), nslots))
    slots = [s for _, s in table]
    owners = [a for a, _ in table]
    tags = tags_for(slots)
    with open(os.path.join(out_dir, "tags"), "wb") as f:
        f.write(b"\n".join(tags) + b"\n")
    bufs = {a: [] for a in set(owners)}
    counts = {a: 0 for a in bufs}
    n = len(tags)
    for i in range(int(nkeys)):
        j = i % n
        k = b"{%s}:%d" % (tags[j], i)
        bufs[owners[j]].append(
            b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, value_of(i))
        )
        counts[owners[j]] += 1
    for addr, chunks in bufs.items():
        p = addr.rsplit(":", 1)[1]
        with open(os.path.join(out_dir, "load-%s.resp" % p), "wb") as f:
            f.write(b"".join(chunks))
        print(p, counts[addr])


def cmd_client(port, tags_file, nkeys, ready, out):
    from redis.cluster import RedisCluster

    with open(tags_file, "rb") as f:
        tags = f.read().split()
    nkeys = int(nkeys)
    stop = False

    def on_signal(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = RedisCluster(host="127.0.0.1", port=int(port), socket_timeout=30)
    rng = random.Random(1)

    def key(i):
        return b"{%s}:%d" % (tags[i % len(tags)], i)

    last = [b""]

    def one(n):
        i = rng.randrange(nkeys)
        last[0] = key(i)
        if n & 1:
            return rc.set(key(i), value_of(i)) is True
        return rc.get(key(i)) == value_of(i)

    for n in range(200):  # warm-up: connections and slot map
        one(n)
    lat = []
    errors = 0
    kinds = {}
    slow = []
    n = 0
    open(ready, "w").close()
    t0 = time.perf_counter()
    clock = time.perf_counter
    while not stop:
        a = clock()
        try:
            ok = one(n)
        except Exception as e:  # noqa: BLE001 - every failure counts
            ok = False
            kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
            if errors < 5:
                print("client error: %r" % (e,), file=sys.stderr)
        else:
            if not ok:
                kinds["wrong reply"] = kinds.get("wrong reply", 0) + 1
        b = clock()
        lat.append(b - a)
        if b - a > 0.1:  # the stalls, to tell them apart from noise
            slow.append((b - a, a - t0, "SET" if n & 1 else "GET", last[0]))
        if not ok:
            errors += 1
        n += 1
    secs = time.perf_counter() - t0
    for d, at, cmd, k in sorted(slow, reverse=True)[:5]:
        print("slow op: %s %s (slot %d) at %.2fs took %.0f ms" % (
            cmd, k.decode(), crc16(k[1:k.index(b"}")]) % CLUSTER_SLOTS, at, d * 1000),
            file=sys.stderr)
    if kinds:
        print("client errors by kind: " + ", ".join(
            "%s %d" % kv for kv in sorted(kinds.items())), file=sys.stderr)
    lat.sort()

    def pct(p):
        if not lat:
            return 0.0
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    with open(out, "w") as f:
        f.write("%d %d %.3f %.3f %.3f %.3f\n" % (
            len(lat), errors, pct(0.50), pct(0.99), (lat[-1] * 1000 if lat else 0.0), secs))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "plan":
        cmd_plan(*args)
    elif cmd == "client":
        cmd_client(*args)
    else:
        sys.exit("unknown command " + cmd)
