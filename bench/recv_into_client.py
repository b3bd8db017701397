#!/usr/bin/env python3
"""The bench's Python recv_into client: one arraywire HTTP GET over a raw socket, the body read with
sock.recv_into(memoryview(arr)[offset:]) straight into the target (the seed's loop), written from
docs/PROTOCOL.md section 12.7. Stdlib + numpy (optional) + xxhash (optional, the C XXH32).

hash "xxh32": asks for checksum=xxh32 and verifies end to end as arraywire does: the C XXH32
(python-xxhash) of each piece right after recv_into put it in the target (while it is in cache),
checked against the END trailer. Without the xxhash module it falls back to zlib.crc32 of each
piece (C speed, the same cost class, but nothing to compare it with) and says so in its report.
hash "none": checksum=none, nothing hashed: an upper bound that verifies nothing.
hash "crc32": zlib.crc32 of each piece (checksum=none), as the fallback does.
Every element is checked after the clock stops. Without numpy the target is a bytearray (no
madvise huge pages).

Usage: recv_into_client.py '<NodeClientArgs JSON>'; prints one "BENCH_REPORT {json}" line.
"""

import json, resource, socket, struct, sys, time, zlib  # fmt: skip

try:
    import numpy as np
except ImportError:
    np = None

try:
    import xxhash
except ImportError:
    xxhash = None

MAGIC, ARRAY_HEADER, END, HEADER_FIXED, END_BYTE_LENGTH = 0x52575241, 0x10, 0x12, 56, 32


def status_kb(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


def read_more(sock, held, n):
    """`held` plus reads until it has at least n bytes (small reads: the head and the trailer)."""
    while len(held) < n:
        part = sock.recv(max(n - len(held), 4096))
        if not part:
            raise EOFError(f"the body ended: expected {n} bytes, got {len(held)}")
        held += part
    return held


def new_target(byte_length):
    return np.empty(byte_length // 8, dtype=np.float64) if np is not None else bytearray(byte_length)


def reset(arr):
    """Touches every page and writes -1.0 (numpy) or 0xff bytes, so that no old value passes the check."""
    if np is not None:
        arr.fill(-1)
        return
    mv, step = memoryview(arr), 1 << 20
    for i in range(0, len(mv), step):
        mv[i : i + step] = b"\xff" * len(mv[i : i + step])


class Crc32:
    """zlib.crc32 behind xxhash's update/intdigest."""

    def __init__(self):
        self.crc = 0

    def update(self, data):
        self.crc = zlib.crc32(data, self.crc)

    def intdigest(self):
        return self.crc


def hasher(hash_name):
    """(hash object or None, checksum to ask the server for, what the report calls it)."""
    if hash_name == "xxh32" and xxhash is not None:
        return xxhash.xxh32(), "xxh32", "xxh32 (C, python-xxhash), checked against END"
    if hash_name in ("xxh32", "crc32"):
        what = "zlib.crc32 (xxhash module missing: nothing checked)" if hash_name == "xxh32" else "zlib.crc32"
        return Crc32(), "none", what
    return None, "none", "none"


def fetch(port, name, into, hash_name):
    h, checksum, _ = hasher(hash_name)
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(f"GET /arraywire?name={name}&checksum={checksum} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Accept: application/vnd.arraywire\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
    held = b""
    while b"\r\n\r\n" not in held:
        held = read_more(sock, held, len(held) + 1)
    head, held = held.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200") or b"application/vnd.arraywire" not in head.lower():
        raise RuntimeError(f"HTTP: expected 200 application/vnd.arraywire, got {head[:200]!r}")
    held = read_more(sock, held, HEADER_FIXED)
    magic, _version, mtype, _dtype, ndim = struct.unpack_from("<IBBBB", held, 0)
    if magic != MAGIC or mtype != ARRAY_HEADER:
        raise RuntimeError(f"ARRAY_HEADER: expected magic 0x{MAGIC:08x} type 0x10, got 0x{magic:08x} 0x{mtype:02x}")
    name_length, _alg, _reserved, meta_length = struct.unpack_from("<HBBI", held, 12)
    header_length = HEADER_FIXED + 8 * ndim + name_length + meta_length
    held = read_more(sock, held, header_length)
    _total, _start, range_end, first = struct.unpack_from("<QQQQ", held, 24)
    byte_length = range_end - first
    arr = into if into is not None else new_target(byte_length)
    mv = memoryview(arr).cast("B")[:byte_length]
    early = held[header_length : header_length + byte_length]  # body bytes read with the head (< 4 KiB)
    mv[: len(early)] = early
    offset = len(early)
    if h is not None:
        h.update(early)
    while offset < byte_length:
        n = sock.recv_into(mv[offset:])  # the kernel writes straight into the target
        if n == 0:
            raise EOFError(f"the body ended after {offset} of {byte_length} bytes")
        if h is not None:
            h.update(mv[offset : offset + n])  # right after it landed: still in cache
        offset += n
    trailer = read_more(sock, held[header_length + len(early) :], END_BYTE_LENGTH)
    magic, _version, mtype = struct.unpack_from("<IBB", trailer, 0)
    if magic != MAGIC or mtype != END or struct.unpack_from("<Q", trailer, 16)[0] != byte_length:
        raise RuntimeError("END: expected the trailer of this range")
    if checksum == "xxh32":
        sent = struct.unpack_from("<Q", trailer, 24)[0]  # the 32-bit XXH32 in the low half
        if trailer[6] != 2 or sent != h.intdigest():  # 2 = xxh32
            raise RuntimeError(f"END: checksum mismatch: computed xxh32 0x{h.intdigest():08x}, trailer says {trailer[6]} 0x{sent:08x}")
    sock.close()
    return arr


def verify(arr, n):
    if np is None:
        values = memoryview(arr).cast("d")
        return len(values) == n and all(values[i] == i for i in range(n))
    step = 1 << 20
    return len(arr) == n and all(np.array_equal(arr[i : i + step], np.arange(i, min(i + step, n), dtype=np.float64))
                                 for i in range(0, n, step))  # fmt: skip


def main(args):
    baseline = status_kb("VmRSS")
    n, port, hash_name = args["elementCount"], args["httpPort"], args.get("hash") or "none"
    name = args.get("name") or f"f64-{n}"
    into = None
    if args["target"] == "reused":  # a repeat transfer into a touched target
        into = new_target(n * 8)
        reset(into)
        fetch(port, name, into, hash_name)
        reset(into)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    arr = fetch(port, name, into, hash_name)
    ms = (time.perf_counter() - started) * 1000
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    peak = status_kb("VmHWM")
    detail = {"python": sys.version.split()[0], "hash": hasher(hash_name)[2],
              "numpy": np.__version__ if np is not None else "absent"}  # fmt: skip
    if np is not None:
        core = getattr(np, "_core", None) or getattr(np, "core")
        detail["madviseHugepage"] = bool(core.multiarray._get_madvise_hugepage())
    return {"ok": True, "run": args["run"], "byteLength": n * 8, "ms": ms, "verified": verify(arr, n),
            "rssBaselineBytes": baseline, "rssPeakBytes": peak, "minorFaults": faults, "detail": detail}  # fmt: skip


if __name__ == "__main__":
    a = json.loads(sys.argv[1])
    try:
        report = main(a)
    except Exception as e:  # the orchestrator records the failure; the process just reports it
        report = {"ok": False, "run": a.get("run", 0), "byteLength": 0, "ms": 0, "verified": False, "error": repr(e)}
    print("BENCH_REPORT " + json.dumps(report), flush=True)
    sys.exit(0 if report["ok"] else 1)
