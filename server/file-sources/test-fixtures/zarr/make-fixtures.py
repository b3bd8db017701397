"""Writes the Zarr fixtures of server/file-sources/zarr-source.test.ts, and manifest.json.

Run from this directory with Debian's python3 (apt-get install python3-zarr python3-numcodecs
python3-zstandard): /usr/bin/python3 make-fixtures.py. Zarr v2 arrays are written by zarr-python
itself (2.13); Zarr v3 arrays (which zarr 2.13 cannot write) are written here by hand, following
the v3 core spec and the sharding_indexed codec spec: zarr.json, chunk keys "c/i/j", codecs
bytes (little or big endian), gzip, zstd, blosc, and shards whose index (offset, nbytes per
inner chunk, u64 little-endian, 2^64-1 twice for an empty chunk) ends the shard file, followed by
its CRC-32C. manifest.json records, per array, what must be served: dtype, shape, and the
logical array in little-endian C order as hex (fill values included).
"""
import gzip
import json
import os
import shutil
import struct

import numcodecs
import numpy as np
import zarr
import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
entries = []


def values(dtype, shape, seed):
    count = int(np.prod(shape))
    k = np.arange(count, dtype=np.int64)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        out = (k - count // 3) * 0.37 + seed
    elif dt.kind == "b":
        out = (k * seed) % 3 == 0
    else:
        info = np.iinfo(dt)
        span = int(info.max) - int(info.min) + 1
        out = ((k * 2654435761 + seed * 97) % span) + int(info.min)
    return np.asarray(out).astype(dt).reshape(shape)


def record(name, array, dtype_name, error=None):
    entry = {"path": name, "dtype": dtype_name, "shape": list(array.shape)}
    if error:
        entry["code"] = error
    else:
        entry["cHex"] = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes().hex()
    entries.append(entry)


def fresh(name):
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


# ---- v2, written by zarr-python --------------------------------------------------------------
def v2(name, dtype, shape, chunks, dtype_name, seed, **kwargs):
    data = values(dtype, shape, seed)
    fill = kwargs.pop("write", None)
    z = zarr.open_array(fresh(name), mode="w", shape=shape, chunks=chunks, dtype=dtype, **kwargs)
    if fill is None:
        z[...] = data
        expected = data
    else:
        expected = np.full(shape, kwargs["fill_value"], dtype=dtype)
        region = fill
        z[region] = data[region]
        expected[region] = data[region]
    record(name, expected, dtype_name)


v2("v2-blosc-f8", "<f8", (17, 13), (5, 4), "float64", 1.5)
v2("v2-gzip-i4", "<i4", (1000,), (64,), "int32", 3, compressor=numcodecs.GZip(level=5))
v2("v2-zstd-u2", "<u2", (9, 7, 5), (4, 3, 2), "uint16", 5, compressor=numcodecs.Zstd(level=3))
v2("v2-raw-be-f4", ">f4", (50,), (16,), "float32", 7, compressor=None)
v2("v2-forder-i8", "<i8", (11, 7), (4, 3), "bigint64", 9, order="F", compressor=numcodecs.Zlib(level=1))
v2("v2-missing-f8", "<f8", (20, 10), (6, 4), "float64", 11, fill_value=42.5, write=(slice(0, 6), slice(0, 10)))
v2("v2-nested-b1", "|b1", (12, 8), (5, 3), "uint8", 13, dimension_separator="/")
z = zarr.open_array(fresh("v2-str-U4"), mode="w", shape=(4,), chunks=(2,), dtype="<U4")
z[...] = np.array(["a", "bb", "ccc", "dddd"])
entries.append({"path": "v2-str-U4", "code": "E_UNSUPPORTED"})


# ---- v3, by hand -------------------------------------------------------------------------------
def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def encode(codecs, chunk):
    """Encodes one chunk (an ndarray of the chunk shape) with bytes + bytes-to-bytes codecs."""
    out = None
    for codec in codecs:
        name, config = codec["name"], codec.get("configuration", {})
        if name == "bytes":
            order = ">" if config.get("endian") == "big" else "<"
            out = np.ascontiguousarray(chunk).astype(chunk.dtype.newbyteorder(order)).tobytes()
        elif name == "gzip":
            out = gzip.compress(out, compresslevel=config["level"], mtime=0)
        elif name == "zstd":
            out = zstandard.ZstdCompressor(level=config["level"]).compress(out)
        elif name == "blosc":
            shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[config["shuffle"]]
            out = numcodecs.Blosc(cname=config["cname"], clevel=config["clevel"], shuffle=shuffle).encode(
                np.frombuffer(out, dtype=chunk.dtype)
            )
        else:
            raise ValueError(name)
    return out


def chunk_of(data, coords, chunk_shape, fill):
    """The chunk at `coords`, padded to the full chunk shape with the fill value (as zarr stores edges)."""
    region = tuple(slice(c * s, min((c + 1) * s, n)) for c, s, n in zip(coords, chunk_shape, data.shape))
    out = np.full(chunk_shape, fill, dtype=data.dtype)
    out[tuple(slice(0, r.stop - r.start) for r in region)] = data[region]
    return out


def grid(shape, chunk_shape):
    return list(np.ndindex(*[-(-n // c) for n, c in zip(shape, chunk_shape)]))


def v3(name, dtype, shape, chunks, codecs, dtype_name, seed, fill=0, skip=()):
    """A regular-chunked v3 array; chunks in `skip` are not written (read as the fill value)."""
    path = fresh(name)
    os.makedirs(path)
    data = values(dtype, shape, seed)
    expected = data.copy()
    meta = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": {"<f8": "float64", "<f4": "float32", "<i2": "int16", "<u8": "uint64", "<i4": "int32"}[dtype],
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs,
        "attributes": {"fixture": name},
    }
    with open(os.path.join(path, "zarr.json"), "w") as f:
        json.dump(meta, f, indent=2)
    for coords in grid(shape, chunks):
        region = tuple(slice(c * s, min((c + 1) * s, n)) for c, s, n in zip(coords, chunks, shape))
        if coords in skip:
            expected[region] = fill
            continue
        key = os.path.join(path, "c", *map(str, coords))
        os.makedirs(os.path.dirname(key), exist_ok=True)
        with open(key, "wb") as f:
            f.write(encode(codecs, chunk_of(data, coords, chunks, fill)))
    record(name, expected, dtype_name)


def v3_sharded(name, dtype, shape, shard, inner, inner_codecs, dtype_name, seed, fill=0, empty_inner=(), empty_shards=()):
    path = fresh(name)
    os.makedirs(path)
    data = values(dtype, shape, seed)
    expected = data.copy()
    meta = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": {"<f4": "float32", "<u8": "uint64", "<f8": "float64"}[dtype],
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shard)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": [
            {
                "name": "sharding_indexed",
                "configuration": {
                    "chunk_shape": list(inner),
                    "codecs": inner_codecs,
                    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
                    "index_location": "end",
                },
            }
        ],
        "attributes": {},
    }
    with open(os.path.join(path, "zarr.json"), "w") as f:
        json.dump(meta, f, indent=2)
    per_shard = [s // i for s, i in zip(shard, inner)]
    for scoords in grid(shape, shard):
        sregion = tuple(slice(c * s, min((c + 1) * s, n)) for c, s, n in zip(scoords, shard, shape))
        if scoords in empty_shards:
            expected[sregion] = fill
            continue
        shard_data = chunk_of(expected, scoords, shard, fill)
        body = b""
        index = []
        for icoords in np.ndindex(*per_shard):
            global_inner = tuple(s * p + i for s, p, i in zip(scoords, per_shard, icoords))
            region = tuple(slice(c * s, (c + 1) * s) for c, s in zip(icoords, inner))
            out_region = tuple(
                slice(g * s, min((g + 1) * s, n)) for g, s, n in zip(global_inner, inner, shape)
            )
            if global_inner in empty_inner:
                index.append((2**64 - 1, 2**64 - 1))
                if all(r.start < r.stop for r in out_region):
                    expected[out_region] = fill
                continue
            encoded = encode(inner_codecs, shard_data[region])
            index.append((len(body), len(encoded)))
            body += encoded
        index_bytes = b"".join(struct.pack("<QQ", o, n) for o, n in index)
        key = os.path.join(path, "c", *map(str, scoords))
        os.makedirs(os.path.dirname(key), exist_ok=True)
        with open(key, "wb") as f:
            f.write(body + index_bytes + struct.pack("<I", crc32c(index_bytes)))
    record(name, expected, dtype_name)


BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
v3("v3-gzip-f8", "<f8", (40, 30), (8, 7), [BYTES_LE, {"name": "gzip", "configuration": {"level": 5}}], "float64", 0.25, fill=-1.0, skip={(2, 3)})
v3(
    "v3-zstd-be-i2",
    "<i2",
    (100,),
    (33,),
    [{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "zstd", "configuration": {"level": 3, "checksum": False}}],
    "int16",
    17,
)
v3(
    "v3-blosc-i4",
    "<i4",
    (30, 20),
    (16, 16),
    [BYTES_LE, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}],
    "int32",
    19,
)
v3_sharded(
    "v3-sharded-f4",
    "<f4",
    (40, 30),
    (16, 12),
    (4, 6),
    [BYTES_LE, {"name": "gzip", "configuration": {"level": 1}}],
    "float32",
    2.5,
    fill=7.0,
    empty_inner={(1, 1), (5, 3), (9, 4)},
    empty_shards={(1, 2)},
)
v3_sharded("v3-sharded-u8", "<u8", (1000,), (256,), (32,), [BYTES_LE], "biguint64", 23)

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump({"zarr": zarr.__version__, "numpy": np.__version__, "arrays": entries}, f, indent=1)
    f.write("\n")
