"""Writes the .npy fixtures of shared/npy.test.ts with numpy itself, and manifest.json describing them.

Run from this directory: python3 make-fixtures.py (numpy >= 1.24, which pads headers for growth),
then `npx biome format --write manifest.json`. Made with numpy 2.4.6; Debian's 1.24.2 writes the
same header bytes (shared/npy-numpy.test.ts checks both where installed).
Each array is small and its values show byte order (multi-byte, negative where signed). manifest.json
records, per file, what numpy reads back: dtype.str, shape, fortran_order, format version, header
length, and the data in little-endian C order as hex (what arraywire must serve), or the error
numpy's own reader would not raise but arraywire must (unsupported dtypes, Fortran order).
"""
import io
import json
import os
import warnings

import numpy as np
from numpy.lib import format as npformat

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORTED = ["f8", "f4", "f2", "i8", "u8", "i4", "u4", "i2", "u2", "i1", "u1", "b1"]


def values(kind_size, shape):
    count = int(np.prod(shape))
    k = np.arange(count, dtype=np.int64)
    kind = kind_size[0]
    size = int(kind_size[1:])
    if kind == "b":
        return (k % 3 == 0).reshape(shape)
    if kind == "f":
        return ((k - 2) * 1.25 + 0.5).astype(f"<f{size}").reshape(shape)
    bits = 8 * size
    base = np.int64(0x0102030405060708 >> (64 - bits)) if bits < 64 else np.int64(0x0102030405060708)
    out = (k * 3 + 1) * (base // 7 + 1)
    if kind == "i":
        out = out * np.where(k % 2 == 1, -1, 1)
    return out.astype(f"<{kind}{size}").reshape(shape)


def save(name, array, version=None, header=None):
    path = os.path.join(HERE, name)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if header is not None:  # a hand-built dict through numpy's own header writer
            npformat.write_array_header_1_0(buf, header)
            buf.write(np.asarray(array).tobytes(order="F" if header["fortran_order"] else "C"))
        elif version is None:
            np.save(buf, array, allow_pickle=True)
        else:
            npformat.write_array(buf, array, version=version, allow_pickle=True)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    major = data[6]
    header_length = int.from_bytes(data[8:10] if major == 1 else data[8:12], "little")
    prefix = 10 if major == 1 else 12
    entry = {
        "file": name,
        "version": f"{major}.{data[7]}",
        "dataByteOffset": prefix + header_length,
        "fileByteLength": len(data),
    }
    return entry


manifest = {"numpy": np.__version__, "files": []}
add = manifest["files"].append


def supported(name, array, **kw):
    entry = save(name, array, **kw)
    dt = array.dtype
    c = np.ascontiguousarray(array).astype(dt.newbyteorder("<"))
    entry.update(
        descr=dt.str,
        shape=list(array.shape),
        fortranOrder=kw.get("header", {}).get("fortran_order", False),
        littleEndianHex=c.tobytes(order="C").hex(),
        values=[str(v) for v in c.reshape(-1).tolist()] if dt.kind != "f" else [float(v) for v in c.reshape(-1)],
    )
    add(entry)


for ks in SUPPORTED:
    supported(f"le-{ks}.npy", values(ks, (2, 3)))
for ks in SUPPORTED:
    if ks[1:] != "1":
        supported(f"be-{ks}.npy", values(ks, (2, 3)).astype(f">{ks}"))
supported("scalar-f8.npy", np.array(2.5))
supported("empty-f8.npy", np.zeros((0,), "<f8"))
supported("empty-0x3-i4.npy", np.zeros((0, 3), "<i4"))
supported("1d-u2.npy", values("u2", (5,)))
supported("3d-i2.npy", values("i2", (2, 3, 4)))
supported("v2-f8.npy", values("f8", (2, 3)), version=(2, 0))
supported("v3-f8.npy", values("f8", (2, 3)), version=(3, 0))
supported("v2-be-i4.npy", values("i4", (3,)).astype(">i4"), version=(2, 0))
# Fortran order that is the same bytes as C order (one dimension above 1): numpy's writer marks it
# only when asked, so the dict is built by hand and written with numpy's header writer.
supported("fortran-1x5-f4.npy", values("f4", (1, 5)),
          header={"descr": "<f4", "fortran_order": True, "shape": (1, 5)})

def refused(name, array, code, **kw):
    entry = save(name, array, **kw)
    entry.update(code=code, descr=array.dtype.str, headerDescr=repr(npformat.dtype_to_descr(array.dtype)))
    add(entry)

refused("fortran-2x3-f8.npy", np.asfortranarray(values("f8", (2, 3))), "E_NPY_FORTRAN_ORDER")
refused("complex-c16.npy", np.arange(3) + 1j, "E_NPY_UNSUPPORTED_DTYPE")
refused("unicode-U3.npy", np.array(["ab", "c"]), "E_NPY_UNSUPPORTED_DTYPE")
refused("bytes-S2.npy", np.array([b"ab", b"c"]), "E_NPY_UNSUPPORTED_DTYPE")
refused("datetime-M8.npy", np.array(["2024-01-01"], "datetime64[ns]"), "E_NPY_UNSUPPORTED_DTYPE")
refused("object-O.npy", np.array([1, "a"], dtype=object), "E_NPY_UNSUPPORTED_DTYPE")
refused("float128-f16.npy", np.zeros(2, np.longdouble), "E_NPY_UNSUPPORTED_DTYPE")
refused("structured-f8-i4.npy", np.zeros(2, "<f8,<i4"), "E_NPY_UNSUPPORTED_DTYPE")
# Format 3.0 as numpy picks it: a field name latin-1 cannot encode.
refused("v3-structured-utf8.npy", np.zeros(2, [("\u20ac\u00e9", "<f8")]), "E_NPY_UNSUPPORTED_DTYPE")

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wrote {len(manifest['files'])} fixtures with numpy {np.__version__}")
