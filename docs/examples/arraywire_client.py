#!/usr/bin/env python3
"""arraywire client in pure Python 3.11 (standard library only).

Written from docs/PROTOCOL.md alone. It lists what a server publishes and stats one name
(§18: ``--list``, ``--stat``, JSON over HTTP), follows a live array (§17: ``--subscribe``), and
fetches one named array over either transport:

* ``http``: one ``GET <path>?name=...``; the body is ARRAY_HEADER, the raw range bytes (read with
  ``readinto`` into a preallocated buffer at a running offset), then the END trailer (§2.3). A
  refusal is an ERROR body with its own code (§2.4, §9.2).
* ``ws``: a WebSocket over a raw socket (RFC 6455 client: handshake, masked frames, 16/64-bit
  lengths, fragmentation, ping/pong/close); REQUEST, ARRAY_HEADER, DATA + payload pairs whose
  payload frames are ``recv_into``'d straight into the preallocated buffer at their byteOffset,
  CREDIT grants as the window is consumed (§8), END / ERROR. A refused upgrade is followed by a
  probe (a GET without ``name``) that tells the refusal's code (§2.4). A DATA that fails its checks
  still has its payload skipped (§5.8).

Usage::

    python3 arraywire_client.py URL NAME [--transport http|ws] [--params JSON]
        [--checksum xxh32|crc32c|none] [--sha256] [--range START:END] [--header 'K: V']...
        [--timeout SECONDS] [--stats]
    python3 arraywire_client.py URL --list
    python3 arraywire_client.py URL NAME --stat [--params JSON]
    python3 arraywire_client.py URL NAME --subscribe [--updates N] [--range START:END]

``--list`` prints the server's {"arrays": [...]}, ``--stat`` one ArrayInfo (§18). ``--subscribe``
receives what the live array holds, then every append (GROW, §17) into a growing buffer, until the
server's END (the array closed) or N updates (then CANCEL); it prints the fetch summary plus
"updates" (the element count after each update) and "ended" ("END" or "cancelled").

It prints one JSON line: {"dtype", "shape", "byteLength", "sha256" (with --sha256), "first" (the
first up to 10 values), "last" (the last value, or null for an empty range)}. On a failed stream
it prints {"error": code, "message": ...} and exits with status 1 (2 for bad command-line usage).
A connection that stays silent for --timeout seconds (default 30) fails with E_TIMEOUT (§2.1).

XXH32 and CRC-32C are implemented in pure Python (about 21 and 14 MB/s here): use ``--checksum none``
for big arrays, and ``--sha256`` (hashlib, native speed) to compare the bytes another way.
``python3 arraywire_client.py --self-test`` checks the codecs against the doc's check values and
the worked example of §13.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import math
import os
import socket
import ssl
import struct
import sys
import time
import urllib.parse
from typing import Any

# ---------------------------------------------------------------------------------------------
# Protocol constants (§5, §11)

MAGIC = 0x52575241
VERSION = 1
REQUEST, CREDIT, CANCEL, PUT = 0x01, 0x02, 0x03, 0x04
ARRAY_HEADER, DATA, END, ERROR, DATA_ENCODED, GROW, ACCEPT = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16
KNOWN_TYPES = {REQUEST, CREDIT, CANCEL, PUT, ARRAY_HEADER, DATA, END, ERROR, DATA_ENCODED, GROW, ACCEPT}
REQUEST_CODEC_ZSTD = 0x01  # REQUEST byte 15 (§5.3, §5.11)
MAX_ZSTD_WINDOW_BYTES = 8 * 1024 * 1024
REQUEST_FLAG_RANGE, REQUEST_FLAG_GENERATION = 0x0001, 0x0002
REQUEST_FLAG_HEADER_ONLY, REQUEST_FLAG_SUBSCRIBE = 0x0008, 0x0010  # §18.3, §17
CHECKSUM_NONE, CHECKSUM_CRC32C, CHECKSUM_XXH32 = 0, 1, 2
CHECKSUM_CODES = {"none": CHECKSUM_NONE, "crc32c": CHECKSUM_CRC32C, "xxh32": CHECKSUM_XXH32}
CHECKSUM_NAMES = {v: k for k, v in CHECKSUM_CODES.items()}
MAX_SAFE = 2**53 - 1
MAX_NDIM = 32
MAX_NAME_BYTES = 1024
MAX_ERROR_CODE_BYTES = 64
MAX_ERROR_MESSAGE_BYTES = 4096
MAX_JSON_DEPTH = 32
DEFAULT_MAX_CONTROL_BYTES = 65536
DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
HTTP_CONTENT_TYPE = "application/vnd.arraywire"
HEADER_FIXED = 56
END_BYTE_LENGTH = 32
DEFAULT_ENDPOINT_PATH = "/arraywire"
DEFAULT_IDLE_TIMEOUT = 30.0  # seconds without a byte before a stream fails with E_TIMEOUT (§2.1)
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR = 1000, 4002  # §2.1, §9.4: browsers cannot send 1002 / 1003

# code: (name, itemsize, struct format char) (§6). Elements are little-endian on the wire.
DTYPES: dict[int, tuple[str, int, str]] = {
    1: ("int8", 1, "b"),
    2: ("uint8", 1, "B"),
    3: ("uint8clamped", 1, "B"),
    4: ("int16", 2, "h"),
    5: ("uint16", 2, "H"),
    6: ("int32", 4, "i"),
    7: ("uint32", 4, "I"),
    8: ("float16", 2, "e"),
    9: ("float32", 4, "f"),
    10: ("float64", 8, "d"),
    11: ("bigint64", 8, "q"),
    12: ("biguint64", 8, "Q"),
}


class StreamError(Exception):
    """A failed stream, with a stable code (§9)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProtocolError(StreamError):
    """A message that breaks the protocol (the §9.1 codes)."""


# ---------------------------------------------------------------------------------------------
# Checksums (§7)

_M32 = 0xFFFFFFFF
_P1, _P2, _P3, _P4, _P5 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1


class Xxh32:
    """Incremental XXH32 (§7.2): four 32-bit lanes, the total length, and < 16 pending bytes."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed & _M32
        self.v1 = (seed + _P1 + _P2) & _M32
        self.v2 = (seed + _P2) & _M32
        self.v3 = seed & _M32
        self.v4 = (seed - _P1) & _M32
        self.total = 0
        self.pending = b""

    def update(self, data: Any) -> None:
        mv = memoryview(data).cast("B")
        n = len(mv)
        if n == 0:
            return
        self.total += n
        start = 0
        if self.pending:
            take = min(16 - len(self.pending), n)
            self.pending += bytes(mv[:take])
            start = take
            if len(self.pending) < 16:
                return
            self._stripes(self.pending)
            self.pending = b""
        whole = (n - start) // 16 * 16
        if whole:
            self._stripes(mv[start : start + whole])
        self.pending = bytes(mv[start + whole :])

    def _stripes(self, block: Any) -> None:
        v1, v2, v3, v4 = self.v1, self.v2, self.v3, self.v4
        P1, P2, M = _P1, _P2, _M32
        for w1, w2, w3, w4 in struct.iter_unpack("<4I", block):
            x = (v1 + w1 * P2) & M
            v1 = (((x << 13) | (x >> 19)) & M) * P1 & M
            x = (v2 + w2 * P2) & M
            v2 = (((x << 13) | (x >> 19)) & M) * P1 & M
            x = (v3 + w3 * P2) & M
            v3 = (((x << 13) | (x >> 19)) & M) * P1 & M
            x = (v4 + w4 * P2) & M
            v4 = (((x << 13) | (x >> 19)) & M) * P1 & M
        self.v1, self.v2, self.v3, self.v4 = v1, v2, v3, v4

    def intdigest(self) -> int:
        M = _M32

        def rotl(x: int, r: int) -> int:
            return ((x << r) | (x >> (32 - r))) & M

        if self.total >= 16:
            h = (rotl(self.v1, 1) + rotl(self.v2, 7) + rotl(self.v3, 12) + rotl(self.v4, 18)) & M
        else:
            h = (self.seed + _P5) & M
        h = (h + (self.total & M)) & M
        rest, i = self.pending, 0
        while i + 4 <= len(rest):
            h = rotl((h + int.from_bytes(rest[i : i + 4], "little") * _P3) & M, 17) * _P4 & M
            i += 4
        while i < len(rest):
            h = rotl((h + rest[i] * _P5) & M, 11) * _P1 & M
            i += 1
        h ^= h >> 15
        h = h * _P2 & M
        h ^= h >> 13
        h = h * _P3 & M
        h ^= h >> 16
        return h


def xxh32(data: Any, seed: int = 0) -> int:
    x = Xxh32(seed)
    x.update(data)
    return x.intdigest()


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: Any, crc: int = 0) -> int:
    """CRC-32C (Castagnoli, reflected 0x82F63B78), continuable from a previous result (§7.3)."""
    table = _CRC32C_TABLE
    c = crc ^ _M32
    for b in memoryview(data).cast("B"):
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ _M32


class Crc32c:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: Any) -> None:
        self.value = crc32c(data, self.value)

    def intdigest(self) -> int:
        return self.value


def new_checksum(algorithm: int) -> Xxh32 | Crc32c | None:
    if algorithm == CHECKSUM_XXH32:
        return Xxh32(0)
    if algorithm == CHECKSUM_CRC32C:
        return Crc32c()
    return None


# ---------------------------------------------------------------------------------------------
# Encoding rules (§4)


def _u64(msg: Any, offset: int, code: str, field: str) -> int:
    v = struct.unpack_from("<Q", msg, offset)[0]
    if v > MAX_SAFE:
        raise ProtocolError(code, f"{field} {v} is above 2^53 - 1")
    return v


def _utf8(raw: Any, field: str) -> str:
    try:
        return bytes(raw).decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ProtocolError("E_BAD_TEXT", f"{field} is not valid UTF-8: {e}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_part(raw: Any, field: str) -> Any:
    """A JSON part (§4): object at the top, no duplicate / forbidden keys, depth <= 32."""
    if len(raw) == 0:
        return None
    text = _utf8(raw, field)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"duplicate key {k!r}")
            if k in ("__proto__", "constructor", "prototype"):
                raise ValueError(f"forbidden key {k!r}")
            out[k] = v
        return out

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ProtocolError("E_BAD_JSON", f"{field}: {e}") from None
    if not isinstance(value, dict):
        raise ProtocolError("E_BAD_JSON", f"{field}: the top-level value is not an object")

    def depth(v: Any) -> int:
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        return 0

    if depth(value) > MAX_JSON_DEPTH:
        raise ProtocolError("E_BAD_JSON", f"{field}: nested deeper than {MAX_JSON_DEPTH}")
    return value


def _js_numbers(value: Any) -> Any:
    """JSON.stringify writes 1000.0 as 1000: integral floats become ints (JS has one number type)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def compact_json(value: Any) -> bytes:
    """JavaScript's JSON.stringify output: no whitespace, keys in insertion order, raw UTF-8."""
    return json.dumps(_js_numbers(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# ---------------------------------------------------------------------------------------------
# Messages (§5)


def encode_request(
    stream_id: int,
    name: str,
    params: Any = None,
    *,
    checksum: int = CHECKSUM_XXH32,
    chunk: int = 0,
    credit: int = 0,
    element_range: tuple[int, int] | None = None,
    resume: int = 0,
    generation: int | None = None,
    codecs: int = 0,
    header_only: bool = False,
    subscribe: bool = False,
) -> bytes:
    n = name.encode("utf-8")
    if not 1 <= len(n) <= MAX_NAME_BYTES:
        raise StreamError("E_BAD_REQUEST", "the name must have 1..1024 UTF-8 bytes")
    p = compact_json(params) if params is not None else b""
    flags = (
        (REQUEST_FLAG_RANGE if element_range else 0)
        | (REQUEST_FLAG_GENERATION if generation is not None else 0)
        | (REQUEST_FLAG_HEADER_ONLY if header_only else 0)
        | (REQUEST_FLAG_SUBSCRIBE if subscribe else 0)
    )
    start, end = element_range or (0, 0)
    fixed = struct.pack(
        "<IBBHIHBBIIQQQQII",
        MAGIC, VERSION, REQUEST, flags, stream_id,
        len(n), checksum, codecs, len(p), chunk,
        start, end, resume, credit, generation or 0, 0,
    )  # fmt: skip
    return fixed + n + p


def encode_credit(stream_id: int, grant: int) -> bytes:
    return struct.pack("<IBBHIIQ", MAGIC, VERSION, CREDIT, 0, stream_id, 0, grant)


def encode_cancel(stream_id: int) -> bytes:
    return struct.pack("<IBBHII", MAGIC, VERSION, CANCEL, 0, stream_id, 0)


def check_prefix(msg: Any, cap: int = DEFAULT_MAX_CONTROL_BYTES) -> tuple[int, int, int, int]:
    """P1..P5; returns (type, byte 6, byte 7, streamId)."""
    n = len(msg)
    if n > cap:
        raise ProtocolError("E_HEADER_TOO_LARGE", f"control message of {n} bytes > {cap}")
    if n < 12:
        raise ProtocolError("E_SHORT_MESSAGE", f"control message of {n} bytes < 12")
    magic, version, mtype, b6, b7, sid = struct.unpack_from("<IBBBBI", msg, 0)
    if magic != MAGIC:
        raise ProtocolError("E_BAD_MAGIC", f"magic 0x{magic:08x}")
    if version != VERSION:
        raise ProtocolError("E_BAD_VERSION", f"version {version}")
    if mtype not in KNOWN_TYPES:
        raise ProtocolError("E_UNKNOWN_TYPE", f"type 0x{mtype:02x}")
    return mtype, b6, b7, sid


def _exact(n: int, want: int, what: str) -> None:
    if n < want:
        raise ProtocolError("E_SHORT_MESSAGE", f"{what}: {n} bytes < {want}")
    if n > want:
        raise ProtocolError("E_BAD_LENGTH", f"{what}: {n} bytes > {want}")


def header_byte_length(prefix56: Any) -> int:
    ndim = prefix56[7]
    name_len, _alg, _res, meta_len = struct.unpack_from("<HBBI", prefix56, 12)
    return HEADER_FIXED + 8 * ndim + name_len + meta_len


def decode_array_header(msg: Any, max_total: int = DEFAULT_MAX_TOTAL_BYTES) -> dict[str, Any]:
    """ARRAY_HEADER, checks H1..H15 in the doc's order (after P1..P5)."""
    mtype, dtype, ndim, sid = check_prefix(msg)
    if mtype != ARRAY_HEADER:
        raise ProtocolError("E_UNEXPECTED_MESSAGE", f"expected ARRAY_HEADER, got type 0x{mtype:02x}")
    n = len(msg)
    if n < HEADER_FIXED:  # H1
        raise ProtocolError("E_SHORT_MESSAGE", f"ARRAY_HEADER of {n} bytes < 56")
    if dtype not in DTYPES:  # H2
        raise ProtocolError("E_UNKNOWN_DTYPE", f"dtype code {dtype}")
    if ndim > MAX_NDIM:  # H3
        raise ProtocolError("E_BAD_SHAPE", f"ndim {ndim} > 32")
    name_len, alg, reserved, meta_len, generation = struct.unpack_from("<HBBII", msg, 12)
    if reserved != 0:  # H4
        raise ProtocolError("E_RESERVED", "reserved byte 15 is not 0")
    if alg not in CHECKSUM_NAMES:  # H5
        raise ProtocolError("E_RESERVED", f"checksumAlgorithm {alg}")
    if name_len == 0 or name_len > MAX_NAME_BYTES:  # H6
        raise ProtocolError("E_BAD_LENGTH", f"nameByteLength {name_len}")
    _exact(n, HEADER_FIXED + 8 * ndim + name_len + meta_len, "ARRAY_HEADER")  # H7
    itemsize = DTYPES[dtype][1]
    shape = []
    product = 1
    for i in range(ndim):  # H8
        d = struct.unpack_from("<Q", msg, HEADER_FIXED + 8 * i)[0]
        if d > MAX_SAFE:
            raise ProtocolError("E_BAD_SHAPE", f"dimension {i} = {d} > 2^53 - 1")
        shape.append(d)
        product *= d
    if product * itemsize > MAX_SAFE:
        raise ProtocolError("E_BAD_SHAPE", "product(shape) x itemsize > 2^53 - 1")
    total = _u64(msg, 24, "E_TOO_LARGE", "totalByteLength")  # H9
    if total != product * itemsize:  # H10
        raise ProtocolError("E_SIZE_MISMATCH", f"totalByteLength {total} != {product * itemsize}")
    start = _u64(msg, 32, "E_BAD_RANGE", "rangeByteStart")  # H11
    end = _u64(msg, 40, "E_BAD_RANGE", "rangeByteEnd")
    first = _u64(msg, 48, "E_BAD_RANGE", "firstByteOffset")
    if not (start <= first <= end <= total and start % itemsize == 0 and end % itemsize == 0):  # H12
        raise ProtocolError("E_BAD_RANGE", f"range [{start}, {end}) first {first} total {total}")
    if end - start > max_total:  # H13
        raise ProtocolError("E_TOO_LARGE", f"range of {end - start} bytes > cap {max_total}")
    off = HEADER_FIXED + 8 * ndim
    name = _utf8(msg[off : off + name_len], "name")  # H14
    meta = _json_part(msg[off + name_len : off + name_len + meta_len], "meta")  # H15
    return {
        "streamId": sid,
        "dtype": dtype,
        "ndim": ndim,
        "shape": shape,
        "checksumAlgorithm": alg,
        "generation": generation,
        "totalByteLength": total,
        "rangeByteStart": start,
        "rangeByteEnd": end,
        "firstByteOffset": first,
        "name": name,
        "meta": meta,
    }


def decode_data(msg: Any, chunk_cap: int = DEFAULT_MAX_CHUNK_BYTES) -> tuple[int, int, int]:
    """DATA, D1..D5; returns (streamId, payloadByteLength, byteOffset)."""
    _mtype, b6, b7, sid = check_prefix(msg)
    _exact(len(msg), 24, "DATA")  # D1
    if b6 or b7:  # D2
        raise ProtocolError("E_RESERVED", "DATA reserved u16 at 6 is not 0")
    length = struct.unpack_from("<I", msg, 12)[0]
    if length == 0:  # D3
        raise ProtocolError("E_BAD_LENGTH", "payloadByteLength 0")
    if length > chunk_cap:  # D4
        raise ProtocolError("E_TOO_LARGE", f"payloadByteLength {length} > chunk cap {chunk_cap}")
    offset = _u64(msg, 16, "E_BAD_RANGE", "byteOffset")  # D5
    return sid, length, offset


def decode_data_encoded(msg: Any, chunk_cap: int = DEFAULT_MAX_CHUNK_BYTES) -> tuple[int, int, int, int, int]:
    """DATA_ENCODED, Z1..Z6; returns (streamId, payloadByteLength, byteOffset, rawByteLength, filter)."""
    _mtype, b6, b7, sid = check_prefix(msg)
    _exact(len(msg), 32, "DATA_ENCODED")  # Z1
    if b6 or b7 or struct.unpack_from("<H", msg, 30)[0]:  # Z2
        raise ProtocolError("E_RESERVED", "DATA_ENCODED reserved bytes are not 0")
    length, _lo, _hi, raw, codec, filt = struct.unpack_from("<IIIIBB", msg, 12)
    if codec != 1 or filt not in (0, 1):  # Z3
        raise ProtocolError("E_RESERVED", f"DATA_ENCODED codec {codec} / filter {filt}")
    if length == 0 or length > raw:  # Z4
        raise ProtocolError("E_BAD_LENGTH", f"payloadByteLength {length} for rawByteLength {raw}")
    if raw > chunk_cap:  # Z5
        raise ProtocolError("E_TOO_LARGE", f"rawByteLength {raw} > chunk cap {chunk_cap}")
    offset = _u64(msg, 16, "E_BAD_RANGE", "byteOffset")  # Z6
    return sid, length, offset, raw, filt


def zstd_frame_content(payload: bytes) -> tuple[int | None, int]:
    """(content size or None, window size) from a zstd frame header (Z7, Z8), before decoding."""
    if len(payload) < 6 or struct.unpack_from("<I", payload, 0)[0] != 0xFD2FB528:
        raise ProtocolError("E_BAD_ENCODING", "not a zstd frame")
    fhd = payload[4]
    if fhd & 0x08:
        raise ProtocolError("E_BAD_ENCODING", "zstd reserved bit set")
    single = bool(fhd & 0x20)
    dict_bytes = (0, 1, 2, 4)[fhd & 3]
    fcs_bytes = (1 if single else 0, 2, 4, 8)[fhd >> 6]
    at, window = 5, 0
    if not single:
        wd = payload[at]
        at += 1
        base = 1 << (10 + (wd >> 3))
        window = base + (base // 8) * (wd & 7)
    if len(payload) < at + dict_bytes + fcs_bytes:
        raise ProtocolError("E_BAD_ENCODING", "zstd frame header cut short")
    if dict_bytes and int.from_bytes(payload[at : at + dict_bytes], "little"):
        raise ProtocolError("E_BAD_ENCODING", "zstd dictionary")
    at += dict_bytes
    size = int.from_bytes(payload[at : at + fcs_bytes], "little") + (256 if fcs_bytes == 2 else 0) if fcs_bytes else None
    return size, size if single else window


def decode_end(msg: Any) -> tuple[int, int, int, int]:
    """END, E1..E5; returns (streamId, checksumAlgorithm, byteLength, checksum)."""
    _mtype, alg, b7, sid = check_prefix(msg)
    _exact(len(msg), END_BYTE_LENGTH, "END")  # E1
    if b7 != 0 or struct.unpack_from("<I", msg, 12)[0] != 0:  # E2
        raise ProtocolError("E_RESERVED", "END reserved field is not 0")
    if alg not in CHECKSUM_NAMES:  # E3
        raise ProtocolError("E_RESERVED", f"END checksumAlgorithm {alg}")
    byte_length = _u64(msg, 16, "E_BAD_RANGE", "byteLength")  # E4
    checksum = _u64(msg, 24, "E_RESERVED", "checksum")  # E5
    if (alg != CHECKSUM_NONE and checksum > _M32) or (alg == CHECKSUM_NONE and checksum != 0):
        raise ProtocolError("E_RESERVED", f"END checksum 0x{checksum:x} for algorithm {alg}")
    return sid, alg, byte_length, checksum


def decode_grow(msg: Any) -> tuple[int, int, int]:
    """GROW, G1..G4 (§5.12); returns (streamId, totalByteLength, maxTotalByteLength)."""
    _mtype, b6, b7, sid = check_prefix(msg)
    _exact(len(msg), 32, "GROW")  # G1
    if b6 or b7 or struct.unpack_from("<I", msg, 12)[0]:  # G2
        raise ProtocolError("E_RESERVED", "GROW reserved field is not 0")
    total = _u64(msg, 16, "E_BAD_RANGE", "totalByteLength")  # G3
    most = _u64(msg, 24, "E_TOO_LARGE", "maxTotalByteLength")
    if total > most:  # G4
        raise ProtocolError("E_BAD_RANGE", f"GROW totalByteLength {total} > maxTotalByteLength {most}")
    return sid, total, most


def decode_error(msg: Any) -> tuple[int, str, str]:
    """ERROR, F1..F6; returns (streamId, code, message)."""
    _mtype, code_len, b7, sid = check_prefix(msg)
    n = len(msg)
    if n < 16:  # F1
        raise ProtocolError("E_SHORT_MESSAGE", f"ERROR of {n} bytes < 16")
    if b7 != 0:  # F2
        raise ProtocolError("E_RESERVED", "ERROR reserved byte 7 is not 0")
    msg_len = struct.unpack_from("<I", msg, 12)[0]
    if code_len == 0 or code_len > MAX_ERROR_CODE_BYTES or msg_len > MAX_ERROR_MESSAGE_BYTES:  # F3
        raise ProtocolError("E_BAD_LENGTH", f"codeByteLength {code_len} messageByteLength {msg_len}")
    _exact(n, 16 + code_len + msg_len, "ERROR")  # F4
    code = _utf8(msg[16 : 16 + code_len], "error code")  # F5
    if not all(c.isascii() and (c.isupper() or c.isdigit() or c == "_") for c in code):
        raise ProtocolError("E_BAD_TEXT", f"error code {code!r} is not [A-Z0-9_]+")
    text = _utf8(msg[16 + code_len :], "error message")  # F6
    return sid, code, text


def check_element_range(element_range: tuple[int, int] | None) -> None:
    """What can be checked before asking (§10.1): non-negative integers of at most 2^53 - 1.
    start <= end and end <= the array's length are left to the server, which answers E_BAD_RANGE."""
    if element_range is None:
        return
    for v in element_range:
        if not isinstance(v, int) or v < 0 or v > MAX_SAFE:
            raise StreamError("E_BAD_RANGE", f"element range {element_range}: expected integers in 0..2^53 - 1")


# ---------------------------------------------------------------------------------------------
# The result


class Result:
    def __init__(self, header: dict[str, Any], buf: bytearray) -> None:
        self.header = header
        self.buffer = buf
        h = header
        whole = h["rangeByteStart"] == 0 and h["rangeByteEnd"] == h["totalByteLength"]
        itemsize = DTYPES[h["dtype"]][1]
        self.shape = list(h["shape"]) if whole else [len(buf) // itemsize]
        self.dtype = DTYPES[h["dtype"]][0]

    def values(self, start: int, count: int) -> list[Any]:
        _name, itemsize, fmt = DTYPES[self.header["dtype"]]
        n = len(self.buffer) // itemsize
        start = max(0, min(start, n))
        count = max(0, min(count, n - start))
        return list(struct.unpack_from(f"<{count}{fmt}", self.buffer, start * itemsize))


def _as_stream_error(e: StreamError) -> StreamError:
    """§9.1: a ProtocolError in a server message fails the stream with E_PROTOCOL, or with
    E_TOO_LARGE for the two size codes; the original code stays in the message."""
    if e.code in ("E_TOO_LARGE", "E_HEADER_TOO_LARGE"):
        return StreamError("E_TOO_LARGE", e.message)
    if isinstance(e, ProtocolError):
        return StreamError("E_PROTOCOL", str(e))
    return e


def _check_opened(h: dict[str, Any], name: str, element_range: tuple[int, int] | None) -> None:
    """Checks of the ARRAY_HEADER against our REQUEST (no resume in this client)."""
    if h["name"] != name:
        raise ProtocolError("E_PROTOCOL", f"ARRAY_HEADER names {h['name']!r}, asked for {name!r}")
    itemsize = DTYPES[h["dtype"]][1]
    want = (
        (element_range[0] * itemsize, element_range[1] * itemsize)
        if element_range
        else (0, h["totalByteLength"])
    )
    if (h["rangeByteStart"], h["rangeByteEnd"]) != want or h["firstByteOffset"] != want[0]:
        raise ProtocolError(
            "E_BAD_RANGE",
            f"ARRAY_HEADER range [{h['rangeByteStart']}, {h['rangeByteEnd']}) first "
            f"{h['firstByteOffset']}, expected [{want[0]}, {want[1]}) first {want[0]}",
        )


def _allocate(h: dict[str, Any], max_bytes: int) -> bytearray:
    size = h["rangeByteEnd"] - h["rangeByteStart"]
    if size > max_bytes:
        raise StreamError("E_TOO_LARGE", f"the range has {size} bytes, more than maxBytes {max_bytes}")
    return bytearray(size)  # the one allocation: everything is written into it in place


def _verify_end(
    h: dict[str, Any], received_to: int, end_alg: int, byte_length: int, checksum: int, hasher: Any
) -> None:
    if received_to != h["rangeByteEnd"] or byte_length != h["rangeByteEnd"] - h["firstByteOffset"]:
        raise StreamError(
            "E_INCOMPLETE",
            f"END after {received_to - h['firstByteOffset']} bytes; END says {byte_length}, "
            f"the range needs {h['rangeByteEnd'] - h['firstByteOffset']}",
        )
    if hasher is not None:
        if end_alg != h["checksumAlgorithm"]:
            raise StreamError("E_CHECKSUM", f"END names algorithm {end_alg}, ARRAY_HEADER {h['checksumAlgorithm']}")
        mine = hasher.intdigest()
        if mine != checksum:
            raise StreamError(
                "E_CHECKSUM",
                f"{CHECKSUM_NAMES[end_alg]} mismatch: computed 0x{mine:08x}, END says 0x{checksum:08x}",
            )


# ---------------------------------------------------------------------------------------------
# URL helpers


def _split_url(url: str, want: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) for transport `want` ("http" or "ws"), converting ws <-> http."""
    u = urllib.parse.urlsplit(url)
    secure = u.scheme in ("https", "wss")
    if u.scheme not in ("http", "https", "ws", "wss"):
        raise StreamError("E_BAD_REQUEST", f"unsupported URL scheme {u.scheme!r}")
    scheme = ("https" if secure else "http") if want == "http" else ("wss" if secure else "ws")
    host = u.hostname or "127.0.0.1"
    port = u.port or (443 if secure else 80)
    path = u.path or DEFAULT_ENDPOINT_PATH
    return scheme, host, port, path


def _host_header(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ---------------------------------------------------------------------------------------------
# HTTP transport (§2.3, §2.4)


def _read_exact(resp: http.client.HTTPResponse, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        part = resp.read(n - len(out))
        if not part:
            raise StreamError("E_INCOMPLETE", f"the body ended {n - len(out)} bytes early")
        out += part
    return bytes(out)


def _refusal(resp: http.client.HTTPResponse) -> StreamError:
    """The StreamError a non-200 arraywire response stands for: its ERROR body's code (§2.3)."""
    body = resp.read(DEFAULT_MAX_CONTROL_BYTES + 1)
    try:
        _sid, code, text = decode_error(body)
    except ProtocolError as e:
        return StreamError("E_HTTP_STATUS", f"HTTP {resp.status} without an ERROR body ({e})")
    return StreamError(code, text)


def probe(url: str, *, headers: dict[str, str] | None = None, timeout: float = DEFAULT_IDLE_TIMEOUT) -> StreamError:
    """Why a WebSocket upgrade was refused (§2.4): a GET on the same path without ``name`` runs the
    same access checks. Returns the typed refusal, or E_HTTP_STATUS when access is fine (the server
    then answers 400 E_BAD_REQUEST) or the answer is not arraywire."""
    scheme, host, port, path = _split_url(url, "http")
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": HTTP_CONTENT_TYPE, **(headers or {})})
        resp = conn.getresponse()
        ctype = resp.getheader("Content-Type") or ""
        if not ctype.startswith(HTTP_CONTENT_TYPE):
            return StreamError("E_HTTP_STATUS", f"probe: HTTP {resp.status} with Content-Type {ctype!r}")
        refusal = _refusal(resp)
        if refusal.code == "E_BAD_REQUEST":  # access is fine: the upgrade failed for another reason
            return StreamError("E_HTTP_STATUS", f"the upgrade was refused, but the probe passed ({refusal.message})")
        return refusal
    except (OSError, http.client.HTTPException) as e:
        return StreamError("E_HTTP_STATUS", f"probe failed: {e}")
    finally:
        conn.close()


def _get_json(url: str, query: list[tuple[str, str]], headers: dict[str, str] | None, timeout: float) -> Any:
    """GET <path>?<query> and parse its JSON body (§18), or raise the ERROR body's code."""
    scheme, host, port, path = _split_url(url, "http")
    target = path + "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=timeout)
    try:
        try:
            conn.request("GET", target, headers={"Accept": "application/json", **(headers or {})})
            resp = conn.getresponse()
        except TimeoutError:
            raise StreamError("E_TIMEOUT", f"no response within {timeout} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise StreamError("E_CONNECTION_CLOSED", f"HTTP request failed: {e}") from None
        ctype = resp.getheader("Content-Type") or ""
        if ctype.startswith(HTTP_CONTENT_TYPE):
            raise _refusal(resp)  # 403 E_LISTING_DISABLED, 404 E_UNKNOWN_NAME, 400 E_BAD_REQUEST...
        if resp.status != 200 or not ctype.startswith("application/json"):
            raise StreamError("E_HTTP_STATUS", f"HTTP {resp.status} with Content-Type {ctype!r}")
        body = resp.read(16 * 1024 * 1024 + 1)
        if len(body) > 16 * 1024 * 1024:
            raise StreamError("E_TOO_LARGE", "a discovery answer over 16 MiB")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise StreamError("E_PROTOCOL", f"invalid JSON: {e}") from None
    finally:
        conn.close()


def _check_info(value: Any) -> dict[str, Any]:
    """An ArrayInfo (§18.1): the keys we know are checked, others ignored."""
    ok = (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and value.get("kind") in ("array", "source", "live")
        and isinstance(value.get("live"), bool)
        and isinstance(value.get("generation"), int)
        and ("shape" not in value or (isinstance(value["shape"], list)
                                      and all(isinstance(d, int) for d in value["shape"])))
    )
    if not ok:
        raise StreamError("E_PROTOCOL", f"not an ArrayInfo: {value!r}"[:200])
    return value


def list_arrays(
    url: str, *, headers: dict[str, str] | None = None, timeout: float = DEFAULT_IDLE_TIMEOUT
) -> list[dict[str, Any]]:
    """What the server publishes: GET <path>?list (§18.1)."""
    body = _get_json(url, [("list", "")], headers, timeout)
    if not isinstance(body, dict) or not isinstance(body.get("arrays"), list):
        raise StreamError("E_PROTOCOL", 'expected {"arrays": [...]}')
    return [_check_info(a) for a in body["arrays"]]


def stat_array(
    url: str, name: str, *, params: Any = None, headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> dict[str, Any]:  # fmt: skip
    """One name, without transferring it: GET <path>?stat=<name>[&params=<json>] (§18.2)."""
    query = [("stat", name)]
    if params is not None:
        query.append(("params", compact_json(params).decode()))
    return _check_info(_get_json(url, query, headers, timeout))


def fetch_http(
    url: str,
    name: str,
    *,
    params: Any = None,
    checksum: int = CHECKSUM_XXH32,
    element_range: tuple[int, int] | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    timeout: float = DEFAULT_IDLE_TIMEOUT,
    read_step: int = 8 * 1024 * 1024,
    stats: dict[str, Any] | None = None,
) -> Result:
    check_element_range(element_range)
    scheme, host, port, path = _split_url(url, "http")
    query: list[tuple[str, str]] = [("name", name)]
    if params is not None:
        query.append(("params", compact_json(params).decode()))
    if element_range is not None:
        query += [("start", str(element_range[0])), ("end", str(element_range[1]))]
    query.append(("checksum", CHECKSUM_NAMES[checksum]))
    target = path + "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=timeout)
    t0 = time.perf_counter()
    try:
        try:
            conn.request("GET", target, headers={"Accept": HTTP_CONTENT_TYPE, **(headers or {})})
            resp = conn.getresponse()
        except TimeoutError:
            raise StreamError("E_TIMEOUT", f"no response within {timeout} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise StreamError("E_CONNECTION_CLOSED", f"HTTP request failed: {e}") from None
        ctype = resp.getheader("Content-Type") or ""
        if not ctype.startswith(HTTP_CONTENT_TYPE):  # a proxy's page, a 405...: not arraywire
            raise StreamError("E_HTTP_STATUS", f"HTTP {resp.status} with Content-Type {ctype!r}")
        if resp.status != 200:
            raise _refusal(resp)  # 400 E_BAD_RANGE, 401 E_UNAUTHORIZED, 503 E_BUSY...
        try:
            head = _read_exact(resp, HEADER_FIXED)
            mtype, _b6, _b7, _sid = check_prefix(head)
            if mtype != ARRAY_HEADER:
                raise ProtocolError("E_UNEXPECTED_MESSAGE", f"body starts with type 0x{mtype:02x}")
            hlen = header_byte_length(head)
            if hlen > DEFAULT_MAX_CONTROL_BYTES:
                raise ProtocolError("E_HEADER_TOO_LARGE", f"ARRAY_HEADER of {hlen} bytes")
            h = decode_array_header(head + _read_exact(resp, hlen - HEADER_FIXED), max_bytes)
        except ProtocolError as e:
            raise _as_stream_error(e) from e
        _check_opened(h, name, element_range)
        start, end, first = h["rangeByteStart"], h["rangeByteEnd"], h["firstByteOffset"]
        content_length = resp.getheader("Content-Length")
        want_length = hlen + (end - first) + END_BYTE_LENGTH
        if content_length is not None and int(content_length) != want_length:
            raise StreamError("E_PROTOCOL", f"Content-Length {content_length}, the body needs {want_length}")
        buf = _allocate(h, max_bytes)
        mv = memoryview(buf)
        hasher = new_checksum(h["checksumAlgorithm"])
        pos = first - start  # the running offset
        t1 = time.perf_counter()
        try:
            while pos < len(buf):
                window = mv[pos : min(len(buf), pos + read_step)]
                n = resp.readinto(window)  # straight into the target: no per-chunk bytes object
                if not n:
                    raise StreamError("E_INCOMPLETE", f"the body ended after {pos} of {len(buf)} bytes")
                if hasher is not None:
                    hasher.update(mv[pos : pos + n])
                pos += n
            t2 = time.perf_counter()
            trailer = _read_exact(resp, END_BYTE_LENGTH)
        except TimeoutError:
            raise StreamError("E_TIMEOUT", f"nothing arrived for {timeout} s, after {pos} bytes") from None
        except (OSError, http.client.HTTPException) as e:
            raise StreamError("E_CONNECTION_CLOSED", f"the body was cut: {e}") from None
        try:
            mtype, _b6, _b7, _sid = check_prefix(trailer)
            if mtype != END:
                raise ProtocolError("E_UNEXPECTED_MESSAGE", f"trailer has type 0x{mtype:02x}")
            _sid, end_alg, byte_length, sum_ = decode_end(trailer)
        except ProtocolError as e:
            raise StreamError("E_PROTOCOL", str(e)) from e
        if resp.read(1):
            raise StreamError("E_PROTOCOL", "E_BAD_LENGTH: bytes after the END trailer")
        _verify_end(h, start + pos, end_alg, byte_length, sum_, hasher)
        if stats is not None:
            stats.update(transport="http", bytes=end - first, totalSeconds=time.perf_counter() - t0,
                         bodySeconds=t2 - t1)  # fmt: skip
        return Result(h, buf)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# WebSocket over a raw socket (RFC 6455, client side)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class ConnectionClosed(StreamError):
    def __init__(self, message: str, close_code: int | None = None) -> None:
        super().__init__("E_CONNECTION_CLOSED", message)
        self.close_code = close_code


class UpgradeRefused(StreamError):
    """The server answered the upgrade with another status than 101 (a bare status: §2.4)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__("E_HTTP_STATUS", f"WebSocket upgrade refused: HTTP {status} {reason}".strip())
        self.status = status


def _silent(timeout: float | None) -> StreamError:
    return StreamError("E_TIMEOUT", f"nothing arrived for {timeout} s")


class WebSocket:
    """Just enough of an RFC 6455 client for arraywire: binary messages, masked client frames."""

    RECV_BUFFER = 256 * 1024  # holds frame headers and control messages; payloads bypass it

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_IDLE_TIMEOUT,
        protocols: tuple[str, ...] = ("arraywire",),
        headers: dict[str, str] | None = None,
    ) -> None:
        scheme, host, port, path = _split_url(url, "ws")
        self.timeout = timeout
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise _silent(timeout) from None
        except OSError as e:
            raise ConnectionClosed(f"cannot connect to {host}:{port}: {e}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "wss":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.buf = bytearray(self.RECV_BUFFER)
        self.bmv = memoryview(self.buf)
        self.lo = 0  # buffered, unread bytes are buf[lo:hi]
        self.hi = 0
        self.closed = False
        self.protocol: str | None = None
        self._handshake(host, port, path, protocols, headers or {})

    # -- handshake --------------------------------------------------------------------------

    def _handshake(
        self, host: str, port: int, path: str, protocols: tuple[str, ...], headers: dict[str, str]
    ) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        extra = {k: v for k, v in headers.items() if k.lower() != "host"}
        host_value = next((v for k, v in headers.items() if k.lower() == "host"), _host_header(host, port))
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host_value}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in extra.items()),
        ]
        # No Sec-WebSocket-Extensions: permessage-deflate costs CPU and does not shrink numbers (§2.1).
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        # read up to the blank line; anything after it is already frame data (keep it buffered)
        while True:
            end = self.buf.find(b"\r\n\r\n", 0, self.hi)
            if end >= 0:
                break
            if self.hi >= 16384:
                raise ConnectionClosed("handshake response headers too large")
            self._recv_some()
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        self.lo = end + 4
        status = head[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if len(status) < 2 or status[1] != "101":
            raise UpgradeRefused(status[1] if len(status) > 1 else "?", " ".join(status[2:]))
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
            raise ConnectionClosed("bad upgrade response (Upgrade / Connection headers)")
        if headers.get("sec-websocket-accept") != accept:
            raise ConnectionClosed("bad Sec-WebSocket-Accept")
        if headers.get("sec-websocket-extensions"):
            raise ConnectionClosed("the server selected an extension we did not offer")
        proto = headers.get("sec-websocket-protocol")
        if proto is not None and proto not in protocols:
            raise ConnectionClosed(f"the server selected subprotocol {proto!r} we did not offer")
        self.protocol = proto

    # -- low-level reads --------------------------------------------------------------------

    def _recv_some(self) -> None:
        if self.lo == self.hi:
            self.lo = self.hi = 0
        elif self.hi == len(self.buf):  # compact
            n = self.hi - self.lo
            self.buf[:n] = self.buf[self.lo : self.hi]
            self.lo, self.hi = 0, n
        try:
            got = self.sock.recv_into(self.bmv[self.hi :])
        except TimeoutError:
            raise _silent(self.timeout) from None
        except OSError as e:
            raise ConnectionClosed(f"socket error: {e}") from None
        if got == 0:
            raise ConnectionClosed("the server closed the TCP connection (no close frame)", 1006)
        self.hi += got

    def _need(self, n: int) -> memoryview:
        """n (<= buffer size) buffered bytes, consumed."""
        while self.hi - self.lo < n:
            if len(self.buf) - self.lo < n:  # not enough room after lo: compact
                m = self.hi - self.lo
                self.buf[:m] = self.buf[self.lo : self.hi]
                self.lo, self.hi = 0, m
            self._recv_some()
        v = self.bmv[self.lo : self.lo + n]
        self.lo += n
        return v

    def _read_into(self, target: memoryview) -> None:
        """Fill target exactly: buffered bytes first, then recv_into straight into it."""
        n = len(target)
        have = min(n, self.hi - self.lo)
        if have:
            target[:have] = self.bmv[self.lo : self.lo + have]
            self.lo += have
        pos = have
        sock = self.sock
        while pos < n:
            try:
                got = sock.recv_into(target[pos:], n - pos)
            except TimeoutError:
                raise _silent(self.timeout) from None
            except OSError as e:
                raise ConnectionClosed(f"socket error: {e}") from None
            if got == 0:
                raise ConnectionClosed("the server closed the TCP connection mid-frame", 1006)
            pos += got

    def _read_bytes(self, n: int) -> bytes:
        if n <= len(self.buf):
            return bytes(self._need(n))
        out = bytearray(n)
        self._read_into(memoryview(out))
        return bytes(out)

    def _skip(self, n: int) -> None:
        while n > 0:
            step = min(n, len(self.buf))
            self._need(step)
            n -= step

    def _frame_header(self) -> tuple[bool, int, int]:
        b0, b1 = self._need(2)
        fin, rsv, opcode = bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F
        masked, length = bool(b1 & 0x80), b1 & 0x7F
        if rsv:
            self._fail_connection(1002, "reserved bits set (no extension was negotiated)")
        if masked:
            self._fail_connection(1002, "a server frame is masked")
        if length == 126:
            length = struct.unpack("!H", self._need(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._need(8))[0]
            if length >> 63:
                self._fail_connection(1002, "64-bit length with the top bit set")
        if opcode >= 0x8:
            if not fin or length > 125:
                self._fail_connection(1002, "fragmented or long control frame")
            if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
                self._fail_connection(1002, f"unknown control opcode {opcode}")
        elif opcode not in (OP_CONT, OP_TEXT, OP_BINARY):
            self._fail_connection(1002, f"unknown data opcode {opcode}")
        return fin, opcode, length

    def _control_frame(self, opcode: int, length: int) -> None:
        payload = self._read_bytes(length)
        if opcode == OP_PING:
            self._send_frame(OP_PONG, payload)  # heartbeat (§2.1)
        elif opcode == OP_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            reason = payload[2:].decode("utf-8", "replace")
            if not self.closed:
                try:
                    self._send_frame(OP_CLOSE, payload[:2])
                except OSError:
                    pass
                self.closed = True
            raise ConnectionClosed(f"the server closed the WebSocket: {code} {reason}".strip(), code)
        # OP_PONG: ignored

    def receive(self, into: memoryview | None = None, cap: int = DEFAULT_MAX_CONTROL_BYTES) -> tuple[int, Any]:
        """Read one complete message, answering control frames met on the way.

        Without `into`: returns (opcode, bytes); a message over `cap` closes with 1009.
        With `into` (a payload whose length DATA announced): a binary message is written straight
        into `into` fragment by fragment; returns (opcode, byte length). A longer message is read
        to its end (framing kept), only its first len(into) bytes are stored; the caller compares
        the returned length.
        """
        msg_op: int | None = None
        parts: list[bytes] = []
        total = 0
        while True:
            fin, opcode, length = self._frame_header()
            if opcode >= 0x8:
                self._control_frame(opcode, length)
                continue
            if opcode == OP_CONT:
                if msg_op is None:
                    self._fail_connection(1002, "continuation frame without a message")
            elif msg_op is not None:
                self._fail_connection(1002, "new message inside a fragmented message")
            else:
                msg_op = opcode
            if into is not None and msg_op == OP_BINARY:
                fits = max(0, min(length, len(into) - total))
                if fits:
                    self._read_into(into[total : total + fits])
                self._skip(length - fits)
            else:
                if total + length > cap:
                    self._fail_connection(1009, f"message over {cap} bytes")
                parts.append(self._read_bytes(length))
            total += length
            if fin:
                break
        assert msg_op is not None
        if into is not None and msg_op == OP_BINARY:
            return msg_op, total
        return msg_op, b"".join(parts)

    # -- writes -----------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        key = os.urandom(4)
        if n:
            k = (key * (n // 4 + 1))[:n]
            masked = (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")
        else:
            masked = b""
        self.sock.sendall(head + key + masked)

    def send(self, message: bytes) -> None:
        try:
            self._send_frame(OP_BINARY, message)
        except OSError as e:
            raise ConnectionClosed(f"socket error while sending: {e}") from None

    def _fail_connection(self, code: int, reason: str) -> None:
        self.close(code, reason)
        raise ConnectionClosed(f"WebSocket protocol violation: {reason}", code)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            try:
                self._send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])
                # wait briefly for the server's close frame (or EOF), dropping anything else
                self.sock.settimeout(1.0)
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    _fin, opcode, length = self._frame_header()
                    if opcode == OP_CLOSE:
                        break
                    self._skip(length)
            except (OSError, StreamError):
                pass
        try:
            self.sock.close()
        except OSError:
            pass


def fetch_ws(
    url: str,
    name: str,
    *,
    params: Any = None,
    checksum: int = CHECKSUM_XXH32,
    element_range: tuple[int, int] | None = None,
    chunk: int = 4 * 1024 * 1024,
    credit: int | None = None,
    max_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    chunk_cap: int = DEFAULT_MAX_CHUNK_BYTES,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_IDLE_TIMEOUT,
    stats: dict[str, Any] | None = None,
    compress: bool = False,
) -> Result:
    """One stream (id 1) on a new connection; the framing rules of §3 are kept for any stream id.

    With `compress`, offers zstd (§5.11) and decodes DATA_ENCODED chunks with python3-zstandard
    (`import zstandard`; Debian: apt install python3-zstandard), unshuffling with extended slice
    assignment straight into the target; without it (the default) nothing is offered.
    """
    zstd_decoder = None
    if compress:
        import zstandard  # optional: only --compress needs it

        zstd_decoder = zstandard.ZstdDecompressor()
    window = max(16 * 1024 * 1024, 2 * chunk) if credit is None else credit  # §8 reference policy
    if window and window < chunk:
        raise StreamError("E_BAD_REQUEST", "the credit window must be 0 or at least the chunk size")
    check_element_range(element_range)
    t0 = time.perf_counter()
    try:
        ws = WebSocket(url, timeout=timeout, headers=headers)
    except UpgradeRefused as refused:
        # A bare status says nothing typed; the probe runs the same checks and answers with a code.
        typed = probe(url, headers=headers, timeout=timeout)
        raise (refused if typed.code == "E_HTTP_STATUS" else typed) from None
    sid = 1
    close_code = CLOSE_NORMAL
    open_ = True  # our stream is still known to us
    h: dict[str, Any] | None = None
    buf: bytearray | None = None
    mv: memoryview | None = None
    hasher = None
    next_off = 0
    consumed = 0
    t_header = t0
    scratch = memoryview(bytearray(0))
    encoded_chunks = 0

    def fail(code: str, message: str, cancel: bool = True) -> None:
        nonlocal close_code
        if code == "E_PROTOCOL":
            close_code = CLOSE_PROTOCOL_ERROR  # the server broke the protocol: say so (§9.4)
        if cancel:
            try:
                ws.send(encode_cancel(sid))
            except StreamError:
                pass
        raise StreamError(code, message)

    def skip_payload() -> None:
        """Reads the message a DATA announced and drops it: the framing stays right (§3.4, §5.8)."""
        op, _length = ws.receive(into=scratch)
        if op != OP_BINARY:
            fail("E_PROTOCOL", "E_TEXT_FRAME: a text message where a payload was due")

    try:
        ws.send(
            encode_request(sid, name, params, checksum=checksum, chunk=chunk, credit=window,
                           element_range=element_range,
                           codecs=REQUEST_CODEC_ZSTD if zstd_decoder else 0)  # fmt: skip
        )
        while open_:
            op, msg = ws.receive()
            if op == OP_TEXT:
                fail("E_PROTOCOL", "E_TEXT_FRAME: the server sent a text message")
            try:
                mtype, b6, b7, msid = check_prefix(msg)
            except ProtocolError as e:
                # Cannot attribute it reliably; fail our stream if it names it (bytes 8..11).
                if len(msg) >= 12 and struct.unpack_from("<I", msg, 8)[0] == sid:
                    fail("E_PROTOCOL", str(e))
                print(f"arraywire: ignoring a bad control message: {e}", file=sys.stderr)
                continue

            if mtype == DATA:
                # The next message is this DATA's payload whatever is wrong with the DATA (§5.8):
                # every branch below either reads it into the target or skips it.
                try:
                    dsid, length, offset = decode_data(msg, chunk_cap)
                except ProtocolError as e:
                    skip_payload()
                    if msid == sid:
                        se = _as_stream_error(e)
                        fail(se.code, se.message)
                    continue
                if dsid != sid or h is None or buf is None or mv is None:
                    skip_payload()  # payload of an unknown stream: keep the framing, drop it
                    if dsid == sid:
                        fail("E_PROTOCOL", "E_UNEXPECTED_MESSAGE: DATA before ARRAY_HEADER")
                    continue
                if offset != next_off or offset + length > h["rangeByteEnd"]:
                    skip_payload()
                    fail("E_PROTOCOL", f"E_BAD_RANGE: DATA at {offset}+{length}, expected {next_off}")
                pos = offset - h["rangeByteStart"]
                op, got = ws.receive(into=mv[pos : pos + length])  # recv_into at the running offset
                if op != OP_BINARY:
                    fail("E_PROTOCOL", "E_TEXT_FRAME: a text message where a payload was due")
                if got != length:
                    fail("E_PROTOCOL", f"E_BAD_LENGTH: payload of {got} bytes, DATA announced {length}")
                if hasher is not None:
                    hasher.update(mv[pos : pos + length])
                next_off += length
                consumed += length
                if window and consumed >= window // 4 and next_off < h["rangeByteEnd"]:
                    ws.send(encode_credit(sid, consumed))  # give back exactly what was copied
                    consumed = 0

            elif mtype == DATA_ENCODED:
                # Announces a payload, like DATA, whatever is wrong with it (§5.11).
                try:
                    dsid, length, offset, raw, filt = decode_data_encoded(msg, chunk_cap)
                except ProtocolError as e:
                    skip_payload()
                    if msid == sid:
                        se = _as_stream_error(e)
                        fail(se.code, se.message)
                    continue
                if dsid != sid or h is None or mv is None or zstd_decoder is None:
                    skip_payload()
                    if dsid == sid:
                        fail("E_PROTOCOL", "E_UNEXPECTED_MESSAGE: DATA_ENCODED before ARRAY_HEADER or not offered")
                    continue
                if offset != next_off or offset + raw > h["rangeByteEnd"]:
                    skip_payload()
                    fail("E_PROTOCOL", f"E_BAD_RANGE: DATA_ENCODED at {offset}+{raw}, expected {next_off}")
                payload = bytearray(length)
                op, got = ws.receive(into=memoryview(payload))  # a longer message is read to its end
                if op != OP_BINARY:
                    fail("E_PROTOCOL", "E_TEXT_FRAME: a text message where a payload was due")
                if got != length:
                    fail("E_PROTOCOL", f"E_BAD_LENGTH: encoded payload of {got} bytes, announced {length}")
                try:
                    size, win = zstd_frame_content(payload)  # Z7, Z8: before decoding
                    if size != raw:  # Z9
                        raise ProtocolError("E_BAD_LENGTH", f"zstd content size {size}, rawByteLength {raw}")
                    if win > MAX_ZSTD_WINDOW_BYTES:  # Z10
                        raise ProtocolError("E_TOO_LARGE", f"zstd window {win}")
                    try:
                        decoded = zstd_decoder.decompress(payload, max_output_size=raw)
                    except Exception as e:  # zstandard.ZstdError
                        raise ProtocolError("E_BAD_ENCODING", f"zstd: {e}") from None
                    if len(decoded) != raw:  # Z11
                        raise ProtocolError("E_BAD_ENCODING", f"decoded {len(decoded)} bytes, expected {raw}")
                except ProtocolError as e:
                    se = _as_stream_error(e)
                    fail(se.code, se.message)
                pos = offset - h["rangeByteStart"]
                if filt == 1:  # byte-shuffle: byte b of element i was at b * n + i
                    k = DTYPES[h["dtype"]][1]
                    n = raw // k
                    for b in range(k):
                        mv[pos + b : pos + n * k : k] = decoded[b * n : (b + 1) * n]
                    mv[pos + n * k : pos + raw] = decoded[n * k :]
                else:
                    mv[pos : pos + raw] = decoded
                if hasher is not None:
                    hasher.update(mv[pos : pos + raw])
                next_off += raw
                encoded_chunks += 1
                consumed += length  # credit counts bytes on the wire (§8)
                if window and consumed >= window // 4 and next_off < h["rangeByteEnd"]:
                    ws.send(encode_credit(sid, consumed))
                    consumed = 0

            elif mtype == ARRAY_HEADER:
                if msid != sid:
                    continue  # a stream we do not know
                if h is not None:
                    fail("E_PROTOCOL", "E_UNEXPECTED_MESSAGE: a second ARRAY_HEADER")
                try:
                    h = decode_array_header(msg, max_bytes)
                    _check_opened(h, name, element_range)
                    buf = _allocate(h, max_bytes)
                except StreamError as e:
                    se = _as_stream_error(e)
                    fail(se.code, se.message)
                assert h is not None and buf is not None
                if h["checksumAlgorithm"] != checksum:
                    print(
                        f"arraywire: asked for {CHECKSUM_NAMES[checksum]}, the server announces "
                        f"{CHECKSUM_NAMES[h['checksumAlgorithm']]}",
                        file=sys.stderr,
                    )
                mv = memoryview(buf)
                hasher = new_checksum(h["checksumAlgorithm"])  # None for "none": no hashing at all
                next_off = h["firstByteOffset"]
                t_header = time.perf_counter()

            elif mtype == END:
                if msid != sid:
                    continue
                if h is None:
                    fail("E_PROTOCOL", "E_UNEXPECTED_MESSAGE: END before ARRAY_HEADER")
                assert h is not None and buf is not None
                try:
                    _s, end_alg, byte_length, sum_ = decode_end(msg)
                except ProtocolError as e:
                    fail("E_PROTOCOL", str(e))
                    raise  # unreachable
                open_ = False
                _verify_end(h, next_off, end_alg, byte_length, sum_, hasher)
                t_end = time.perf_counter()
                if stats is not None:
                    stats.update(transport="ws", bytes=h["rangeByteEnd"] - h["firstByteOffset"],
                                 totalSeconds=t_end - t0, bodySeconds=t_end - t_header,
                                 encodedChunks=encoded_chunks)  # fmt: skip
                return Result(h, buf)

            elif mtype == ERROR:
                try:
                    esid, code, text = decode_error(msg)
                except ProtocolError as e:
                    if msid == sid:
                        fail("E_PROTOCOL", str(e))
                    continue
                if esid == 0:
                    print(f"arraywire: connection-level ERROR {code}: {text}", file=sys.stderr)
                elif esid == sid:
                    open_ = False
                    raise StreamError(code, text)  # ends the stream on both sides: no CANCEL

            else:  # REQUEST, CREDIT, CANCEL, PUT from the server
                if msid == sid:
                    fail("E_PROTOCOL", f"E_UNEXPECTED_MESSAGE: type 0x{mtype:02x} from the server")
        raise AssertionError("unreachable")
    finally:
        ws.close(close_code)


def subscribe_ws(
    url: str,
    name: str,
    *,
    checksum: int = CHECKSUM_XXH32,
    element_range: tuple[int, int] | None = None,
    chunk: int = 4 * 1024 * 1024,
    max_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_IDLE_TIMEOUT,
    max_updates: int | None = None,
) -> tuple[Result, list[int], str]:
    """Follows a live array (§17) on a new connection: SUBSCRIBE, ARRAY_HEADER, GROW (the first one
    states the capacity), DATA for what exists, then a GROW before each growth, until END (the array
    closed, or the range's end) or `max_updates` updates (then CANCEL). Returns the result (the
    range received so far), the element count after each update, and "END" or "cancelled"."""
    window = max(16 * 1024 * 1024, 2 * chunk)
    check_element_range(element_range)
    ws = WebSocket(url, timeout=timeout, headers=headers)
    sid = 1
    h: dict[str, Any] | None = None
    buf = bytearray()
    hasher = None
    row = 0  # bytes of one row: growth comes in whole rows
    total = 0  # the whole array's byte length, as last announced
    most = -1  # its capacity (the first GROW's maxTotalByteLength)
    limit = 0  # where the subscription ends at the latest
    announced = 0  # end of the range announced so far
    next_off = 0
    consumed = 0
    reported = 0
    updates: list[int] = []

    def fail(code: str, message: str) -> None:
        try:
            ws.send(encode_cancel(sid))
        except StreamError:
            pass
        raise StreamError(code, message)

    try:
        ws.send(encode_request(sid, name, None, checksum=checksum, chunk=chunk, credit=window,
                               element_range=element_range, subscribe=True))  # fmt: skip
        while True:
            op, msg = ws.receive()
            if op == OP_TEXT:
                fail("E_PROTOCOL", "E_TEXT_FRAME: the server sent a text message")
            try:
                mtype, _b6, _b7, msid = check_prefix(msg)
                if msid != sid and mtype != ERROR:
                    if mtype == DATA:
                        ws.receive(into=memoryview(bytearray(0)))  # keep the framing (§3.4)
                    continue
                if mtype == ARRAY_HEADER:
                    if h is not None:
                        raise ProtocolError("E_UNEXPECTED_MESSAGE", "a second ARRAY_HEADER")
                    h = decode_array_header(msg, max_total=MAX_SAFE)
                    itemsize = DTYPES[h["dtype"]][1]
                    start = element_range[0] * itemsize if element_range else 0
                    if h["name"] != name or h["rangeByteStart"] != start or h["firstByteOffset"] != start:
                        raise ProtocolError("E_BAD_RANGE", "the header is not the subscription asked for")
                    row = itemsize * math.prod(h["shape"][1:]) if h["ndim"] else 0
                    limit = element_range[1] * itemsize if element_range else MAX_SAFE
                    total, announced, next_off = h["totalByteLength"], h["rangeByteEnd"], start
                    hasher = new_checksum(h["checksumAlgorithm"])
                elif mtype == GROW:
                    _s, grown_total, grown_most = decode_grow(msg)
                    grown = grown_total - total
                    if h is None or grown < 0 or (grown % row if row else grown) or (most >= 0 and grown_most != most):
                        raise ProtocolError("E_BAD_RANGE", f"GROW to {grown_total} (max {grown_most}) after {total}")
                    most, total = grown_most, grown_total
                    announced = min(limit, total)
                    if announced - h["rangeByteStart"] > max_bytes:
                        fail("E_TOO_LARGE", f"the subscription grew past {max_bytes} bytes")
                    buf.extend(bytes(announced - h["rangeByteStart"] - len(buf)))  # grow in place
                elif mtype == DATA:
                    dsid, length, offset = decode_data(msg)
                    if h is None or most < 0 or offset != next_off or offset + length > announced:
                        raise ProtocolError("E_BAD_RANGE", f"DATA {offset}+{length}, expected {next_off}..{announced}")
                    pos = offset - h["rangeByteStart"]
                    mv = memoryview(buf)
                    try:
                        op, got = ws.receive(into=mv[pos : pos + length])  # recv_into at the running offset
                        if op != OP_BINARY or got != length:
                            raise ProtocolError("E_BAD_LENGTH", f"payload of {got} bytes, DATA announced {length}")
                        if hasher is not None:
                            hasher.update(mv[pos : pos + length])
                    finally:
                        mv.release()  # a bytearray cannot grow while a view of it exists
                    next_off += length
                    consumed += length
                    if consumed >= window // 4:
                        ws.send(encode_credit(sid, consumed))
                        consumed = 0
                elif mtype == END:
                    _s, end_alg, byte_length, sum_ = decode_end(msg)
                    if h is None:
                        raise ProtocolError("E_UNEXPECTED_MESSAGE", "END before ARRAY_HEADER")
                    h = {**h, "rangeByteEnd": announced, "totalByteLength": total,
                         "shape": [total // row, *h["shape"][1:]] if row else h["shape"]}  # fmt: skip
                    _verify_end(h, next_off, end_alg, byte_length, sum_, hasher)
                    return Result(h, buf), updates, "END"
                elif mtype == ERROR:
                    esid, code, text = decode_error(msg)
                    if esid == sid:
                        raise StreamError(code, text)
                    continue
                else:
                    raise ProtocolError("E_UNEXPECTED_MESSAGE", f"type 0x{mtype:02x} on a subscription")
            except ProtocolError as e:
                se = _as_stream_error(e)
                fail(se.code, se.message)
            if h is not None and next_off == announced and next_off - h["rangeByteStart"] > reported:
                reported = next_off - h["rangeByteStart"]
                updates.append(reported // DTYPES[h["dtype"]][1])
                if max_updates is not None and len(updates) >= max_updates:
                    ws.send(encode_cancel(sid))
                    h = {**h, "rangeByteEnd": announced, "totalByteLength": total,
                         "shape": [total // row, *h["shape"][1:]] if row else h["shape"]}  # fmt: skip
                    return Result(h, buf), updates, "cancelled"
    finally:
        ws.close(CLOSE_NORMAL)


# ---------------------------------------------------------------------------------------------
# Self-test against the doc (§7 check values, §13 worked example)

_DOC_REQUEST = """41 52 57 52 01 01 00 00 01 00 00 00 06 00 02 00 0c 00 00 00 10 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
00 00 00 00 00 00 00 00 61 72 61 6e 67 65 7b 22 6c 65 6e 67 74 68 22 3a 34 7d"""
_DOC_HEADER = """41 52 57 52 01 10 0a 01 01 00 00 00 06 00 02 00 26 00 00 00 01 00 00 00
20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
04 00 00 00 00 00 00 00 61 72 61 6e 67 65 7b 22 73 6f 75 72 63 65 22 3a 22 61 72 61 6e 67
65 22 2c 22 73 74 61 72 74 22 3a 30 2c 22 73 74 65 70 22 3a 31 7d"""
_DOC_END = """41 52 57 52 01 12 02 00 01 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00
28 d8 94 40 00 00 00 00"""
_DOC_CREDIT = "41 52 57 52 01 02 00 00 01 00 00 00 00 00 00 00 00 00 40 00 00 00 00 00"
_DOC_CANCEL = "41 52 57 52 01 03 00 00 01 00 00 00 00 00 00 00"
_DOC_REQUEST_SUBSCRIBE = """41 52 57 52 01 01 10 00 01 00 00 00 06 00 02 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
00 00 00 00 00 00 00 00 73 69 67 6e 61 6c"""
_DOC_GROW = """41 52 57 52 01 15 00 00 01 00 00 00 00 00 00 00 00 60 00 00 00 00 00 00
00 00 d4 30 00 00 00 00"""
_DOC_REQUEST_STAT = """41 52 57 52 01 01 08 00 02 00 00 00 06 00 00 00 0c 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 61 72 61 6e 67 65 7b 22 6c 65 6e 67 74 68 22 3a 34 7d"""
_DOC_REQUEST_RESUME = """41 52 57 52 01 01 03 00 03 00 00 00 06 00 01 00 0f 00 00 00 00 00 00 00
0a 00 00 00 00 00 00 00 14 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
01 00 00 00 00 00 00 00 61 72 61 6e 67 65 7b 22 6c 65 6e 67 74 68 22 3a 31 30 30 30 7d"""


def self_test() -> None:
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"abc") == 0x32D153FF
    assert xxh32(b"123456789") == 0x937BAD67
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"56789", crc32c(b"1234")) == 0xE3069283
    data = bytes(range(256)) * 7
    for split in (0, 1, 5, 15, 16, 17, 100, len(data)):
        x = Xxh32()
        x.update(data[:split])
        x.update(data[split:])
        assert x.intdigest() == xxh32(data), split
    payload = struct.pack("<4d", 0, 1, 2, 3)
    assert xxh32(payload) == 0x4094D828
    assert crc32c(payload) == 0xBF60274E
    req = encode_request(1, "arange", {"length": 4}, checksum=CHECKSUM_XXH32, chunk=16, credit=16 * 1024 * 1024)
    assert req == bytes.fromhex(_DOC_REQUEST), req.hex(" ")
    req = encode_request(3, "arange", {"length": 1000}, checksum=CHECKSUM_CRC32C, element_range=(10, 20),
                         resume=16, generation=1)  # fmt: skip
    assert req == bytes.fromhex(_DOC_REQUEST_RESUME), req.hex(" ")
    assert encode_credit(1, 4 * 1024 * 1024) == bytes.fromhex(_DOC_CREDIT)
    req = encode_request(1, "signal", None, checksum=CHECKSUM_XXH32, credit=16 * 1024 * 1024, subscribe=True)
    assert req == bytes.fromhex(_DOC_REQUEST_SUBSCRIBE), req.hex(" ")  # §17.5
    req = encode_request(2, "arange", {"length": 4}, checksum=CHECKSUM_NONE, header_only=True)
    assert req == bytes.fromhex(_DOC_REQUEST_STAT), req.hex(" ")  # §18.3
    assert decode_grow(bytes.fromhex(_DOC_GROW)) == (1, 24576, 819200000)  # §17.5
    _expect_protocol_error(lambda: decode_grow(struct.pack("<IBBHIIQQ", MAGIC, VERSION, GROW, 0, 1, 0, 9, 8)),
                           "E_BAD_RANGE")  # fmt: skip
    assert encode_cancel(1) == bytes.fromhex(_DOC_CANCEL)
    h = decode_array_header(bytes.fromhex(_DOC_HEADER))
    assert h["shape"] == [4] and h["dtype"] == 10 and h["generation"] == 1, h
    assert h["meta"] == {"source": "arange", "start": 0, "step": 1}, h
    assert decode_end(bytes.fromhex(_DOC_END)) == (1, 2, 32, 0x4094D828)
    err = struct.pack("<IBBBBII", MAGIC, VERSION, ERROR, 14, 0, 2, 38) + b"E_UNKNOWN_NAME"
    err += b'Unknown array: "nope" is not published'
    assert len(err) == 68 and decode_error(err) == (2, "E_UNKNOWN_NAME", 'Unknown array: "nope" is not published')
    # No checksum asked for or announced: no hasher at all, and END must carry 0 (§7.1, E5).
    assert new_checksum(CHECKSUM_NONE) is None
    assert decode_end(struct.pack("<IBBBBIIQQ", MAGIC, VERSION, END, 0, 0, 1, 0, 32, 0)) == (1, 0, 32, 0)
    _expect_protocol_error(lambda: decode_end(struct.pack("<IBBBBIIQQ", MAGIC, VERSION, END, 0, 0, 1, 0, 32, 7)),
                           "E_RESERVED")  # fmt: skip
    # A DATA with a byteOffset past 2^53 - 1 is E_BAD_RANGE (D5); its payload is skipped by fetch_ws.
    bad_data = struct.pack("<IBBHIIQ", MAGIC, VERSION, DATA, 0, 1, 16, 2**53)
    _expect_protocol_error(lambda: decode_data(bad_data), "E_BAD_RANGE")
    assert decode_data(struct.pack("<IBBHIIQ", MAGIC, VERSION, DATA, 0, 1, 16, 2**53 - 1)) == (1, 16, 2**53 - 1)
    # A refusal body over HTTP is an ERROR with streamId 1 (§2.3, §2.4).
    refusal = struct.pack("<IBBBBII", MAGIC, VERSION, ERROR, 14, 0, 1, 0) + b"E_UNAUTHORIZED"
    assert decode_error(refusal) == (1, "E_UNAUTHORIZED", "")
    # Element ranges: integers in 0..2^53 - 1 pass the local check; the server checks the rest (§10.1).
    check_element_range((0, 2**53 - 1))
    for bad in ((-1, 3), (0, 2**53), (1.5, 3)):
        try:
            check_element_range(bad)  # type: ignore[arg-type]
        except StreamError as e:
            assert e.code == "E_BAD_RANGE", e
        else:
            raise AssertionError(f"{bad} passed the range check")
    print(json.dumps({"selfTest": "ok"}))


def _expect_protocol_error(fn: Any, code: str) -> None:
    try:
        fn()
    except ProtocolError as e:
        assert e.code == code, (e.code, code)
    else:
        raise AssertionError(f"expected ProtocolError {code}")


# ---------------------------------------------------------------------------------------------
# CLI


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--self-test"]:
        self_test()
        return 0
    ap = argparse.ArgumentParser(description="Fetch one arraywire array and print a JSON summary.")
    ap.add_argument("url", help="endpoint, e.g. ws://127.0.0.1:8080/arraywire (http:// works too)")
    ap.add_argument("name", nargs="?", help="the published array's name (not with --list)")
    ap.add_argument("--list", action="store_true", help="print what the server publishes (§18.1)")
    ap.add_argument("--stat", action="store_true", help="print NAME's ArrayInfo without fetching it (§18.2)")
    ap.add_argument("--subscribe", action="store_true", help="follow the live array NAME (§17), over ws")
    ap.add_argument("--updates", type=int, default=None, help="with --subscribe: stop (CANCEL) after N updates")
    ap.add_argument("--transport", choices=("http", "ws"), default="http")
    ap.add_argument("--params", help="JSON object for generated sources, e.g. '{\"length\":10}'")
    ap.add_argument("--checksum", choices=("xxh32", "crc32c", "none"), default="xxh32")
    ap.add_argument("--sha256", action="store_true", help="print the SHA-256 of the received bytes")
    ap.add_argument("--range", help="START:END element range [START, END) of the flattened array")
    ap.add_argument("--chunk-bytes", type=int, default=4 * 1024 * 1024, help="chunk size asked of the server (ws)")
    ap.add_argument("--credit-bytes", type=int, default=None, help="credit window (ws); 0 = off")
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_TOTAL_BYTES)
    ap.add_argument(
        "--timeout", type=float, default=DEFAULT_IDLE_TIMEOUT, help="seconds without a byte before E_TIMEOUT"
    )
    ap.add_argument(
        "--header", action="append", default=[], help="an HTTP header for the GET and the upgrade, 'Name: value'"
    )
    ap.add_argument("--stats", action="store_true", help="print transfer timing as JSON on stderr")
    ap.add_argument(
        "--compress", action="store_true", help="offer zstd (ws; needs python3-zstandard) and decode compressed chunks"
    )
    args = ap.parse_args(argv)

    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as e:
            ap.error(f"--params is not JSON: {e}")
        if not isinstance(params, dict):
            ap.error("--params must be a JSON object")
    element_range = None
    if args.range is not None:
        try:
            a, b = (int(x) for x in args.range.split(":"))
        except ValueError:
            ap.error("--range must be START:END")
        element_range = (a, b)
    headers: dict[str, str] = {}
    for header in args.header:
        key, sep, value = header.partition(":")
        if not sep or not key.strip():
            ap.error(f"--header must be 'Name: value', got {header!r}")
        headers[key.strip()] = value.strip()
    checksum = CHECKSUM_CODES[args.checksum]
    stats: dict[str, Any] = {}
    if args.name is None and not args.list:
        ap.error("NAME is required (only --list goes without it)")
    extra: dict[str, Any] = {}
    try:
        if args.list:
            print(json.dumps({"arrays": list_arrays(args.url, headers=headers, timeout=args.timeout)}))
            return 0
        if args.stat:
            print(json.dumps(stat_array(args.url, args.name, params=params, headers=headers, timeout=args.timeout)))
            return 0
        if args.subscribe:
            result, updates, ended = subscribe_ws(args.url, args.name, checksum=checksum, element_range=element_range,
                                                  chunk=args.chunk_bytes, max_bytes=args.max_bytes, headers=headers,
                                                  timeout=args.timeout, max_updates=args.updates)  # fmt: skip
            extra = {"updates": updates, "ended": ended}
        elif args.transport == "http":
            result = fetch_http(args.url, args.name, params=params, checksum=checksum, element_range=element_range,
                                headers=headers, max_bytes=args.max_bytes, timeout=args.timeout,
                                stats=stats)  # fmt: skip
        else:
            result = fetch_ws(args.url, args.name, params=params, checksum=checksum, element_range=element_range,
                              chunk=args.chunk_bytes, credit=args.credit_bytes, max_bytes=args.max_bytes,
                              headers=headers, timeout=args.timeout, stats=stats,
                              compress=args.compress)  # fmt: skip
    except StreamError as e:
        print(json.dumps({"error": e.code, "message": e.message}))
        return 1
    except TimeoutError as e:
        print(json.dumps({"error": "E_TIMEOUT", "message": str(e) or f"nothing arrived for {args.timeout} s"}))
        return 1
    except OSError as e:
        print(json.dumps({"error": "E_CONNECTION_CLOSED", "message": str(e)}))
        return 1

    n = len(result.buffer) // DTYPES[result.header["dtype"]][1]
    summary: dict[str, Any] = {
        "dtype": result.dtype,
        "shape": result.shape,
        "byteLength": len(result.buffer),
    }
    if args.sha256:
        t = time.perf_counter()
        summary["sha256"] = hashlib.sha256(result.buffer).hexdigest()
        stats["sha256Seconds"] = time.perf_counter() - t
    summary["first"] = [_jsonable(v) for v in result.values(0, 10)]
    summary["last"] = _jsonable(result.values(n - 1, 1)[0]) if n else None
    summary.update(extra)
    print(json.dumps(summary, allow_nan=False))
    if args.stats:
        b = stats.get("bytes", 0)
        stats["MBps"] = round(b / 1e6 / stats["bodySeconds"], 1) if stats.get("bodySeconds") else None
        print(json.dumps({"stats": stats}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
