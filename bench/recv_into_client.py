#!/usr/bin/env python3
"""The bench's Python recv_into client: one arraywire HTTP GET over a raw socket, the body read with
sock.recv_into(memoryview(arr)[offset:]) straight into the target (the seed's loop), written from
docs/PROTOCOL.md section 12.7. Stdlib + numpy (optional). It asks for checksum=none: the stdlib has
no XXH32 or CRC-32C, so with hash "crc32" it computes zlib.crc32 (CRC-32/IEEE, C speed) of each
piece while it is hot, as the cost of a C-speed hash, compared with nothing; every element is
checked after the clock stops. Without numpy the target is a bytearray (no madvise huge pages).

Usage: recv_into_client.py '<NodeClientArgs JSON>'; prints one "BENCH_REPORT {json}" line.
"""

import json, resource, socket, struct, sys, time, zlib  # fmt: skip

try:
    import numpy as np
except ImportError:
    np = None

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


def fetch(port, name, into, hashed):
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(f"GET /arraywire?name={name}&checksum=none HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
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
    offset, crc = len(early), zlib.crc32(early) if hashed else 0
    while offset < byte_length:
        n = sock.recv_into(mv[offset:])  # the kernel writes straight into the target
        if n == 0:
            raise EOFError(f"the body ended after {offset} of {byte_length} bytes")
        if hashed:
            crc = zlib.crc32(mv[offset : offset + n], crc)
        offset += n
    trailer = read_more(sock, held[header_length + len(early) :], END_BYTE_LENGTH)
    magic, _version, mtype = struct.unpack_from("<IBB", trailer, 0)
    if magic != MAGIC or mtype != END or struct.unpack_from("<Q", trailer, 16)[0] != byte_length:
        raise RuntimeError("END: expected the trailer of this range")
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
    n, port, hashed = args["elementCount"], args["httpPort"], args.get("hash") == "crc32"
    name = args.get("name") or f"f64-{n}"
    into = None
    if args["target"] == "reused":  # a repeat transfer into a touched target
        into = new_target(n * 8)
        reset(into)
        fetch(port, name, into, hashed)
        reset(into)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    arr = fetch(port, name, into, hashed)
    ms = (time.perf_counter() - started) * 1000
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    peak = status_kb("VmHWM")
    detail = {"python": sys.version.split()[0], "hash": "zlib.crc32" if hashed else "none",
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
