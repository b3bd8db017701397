"""numpy as the oracle of shared/npy-numpy.test.ts: reads one JSON request on stdin, answers on stdout.

Request: {"encode": [{"descr", "fortranOrder", "shape", "version"}],   header bytes numpy writes (hex)
          "save": [{"descr", "shape"}],                               np.save of a zero array (hex header)
          "parse": [{"version", "text"}],                             numpy's header reader on that text
          "load": ["<hex of a whole .npy file>"]}                       np.load of those bytes
Uses numpy's own (private) header writer and reader, which is what np.save / np.load call.
"""
import io
import json
import struct
import sys
import warnings

import numpy as np

impl = getattr(np.lib, "_format_impl", None) or np.lib.format  # numpy 2 moved it


def version_tuple(text):
    return None if text is None else tuple(int(p) for p in text.split("."))


def encode(item):
    buf = io.BytesIO()
    d = {"descr": item["descr"], "fortran_order": item["fortranOrder"], "shape": tuple(item["shape"])}
    impl._write_array_header(buf, d, version_tuple(item["version"]))
    return buf.getvalue().hex()


def save(item):
    buf = io.BytesIO()
    np.save(buf, np.zeros(item["shape"], dtype=item["descr"]))
    data = buf.getvalue()
    return data[: len(data) - int(np.prod(item["shape"])) * np.dtype(item["descr"]).itemsize].hex()


def parse(item):
    version = version_tuple(item["version"])
    body = item["text"].encode("utf8" if version == (3, 0) else "latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    try:
        shape, fortran, dtype = impl._read_array_header(
            io.BytesIO(struct.pack(fmt, len(body)) + body), version, max_header_size=10**9
        )
    except Exception as e:  # ValueError, SyntaxError, TokenError...: all are refusals
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:200]}
    return {
        "ok": True,
        "descr": dtype.str,
        "fortranOrder": fortran,
        "shape": [int(x) for x in shape],
        "shapeHasBool": any(isinstance(x, bool) for x in shape),
    }


def load(hex_text):
    array = np.load(io.BytesIO(bytes.fromhex(hex_text)))
    return {
        "descr": array.dtype.str,
        "shape": list(array.shape),
        "fortranOrder": bool(array.flags.f_contiguous and not array.flags.c_contiguous),
        "cOrderHex": np.ascontiguousarray(array).tobytes().hex(),
    }


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    request = json.load(sys.stdin)
    json.dump(
        {
            "numpy": np.__version__,
            "encode": [encode(i) for i in request.get("encode", [])],
            "save": [save(i) for i in request.get("save", [])],
            "parse": [parse(i) for i in request.get("parse", [])],
            "load": [load(h) for h in request.get("load", [])],
        },
        sys.stdout,
    )
