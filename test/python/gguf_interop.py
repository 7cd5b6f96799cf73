#!/usr/bin/env python3
"""Checks GRETA's GGUF reader and writer against the independent `gguf` package (gguf-py).

1. gguf.GGUFWriter writes a file with every value type, nested arrays, alignment 64 and several
   tensor types; `greta-inspect --json --full` must report the same header, metadata (keys,
   types, values, order) and tensor table (names, types, shapes, sizes, offsets) as the values
   written and as gguf.GGUFReader sees them.
2. gguf_write_sample (GgufWriter::write) writes the file test/unit/gguf_sample.h describes;
   gguf.GGUFReader must read back the same metadata values and tensor names, types, shapes and
   bytes. SAMPLE_METADATA / SAMPLE_TENSORS below mirror that header: change both together.
3. greta-inspect's default JSON shortens long arrays, and a damaged file exits 1 with the error
   on stderr.

Run by ctest as `gguf_interop` (needs GRETA_BIN_DIR with greta-inspect and gguf_write_sample):
    .venv/bin/python test/python/gguf_interop.py
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

BIN = os.environ.get("GRETA_BIN_DIR", "build/bin")
INSPECT = os.path.join(BIN, "greta-inspect")
WRITE_SAMPLE = os.path.join(BIN, "gguf_write_sample")

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def f32(x):
    return float(np.float32(x))


def inspect_json(path, *flags):
    out = subprocess.run([INSPECT, "--json", *flags, path], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)


def decode(parts, i, vtype):
    """Decodes one value from a gguf.ReaderField's flat parts, nested arrays included (gguf-py's
    own contents() flattens those). Returns (value, next part index)."""
    if vtype == T.STRING:
        return bytes(parts[i + 1]).decode("utf-8"), i + 2
    if vtype == T.ARRAY:
        item_type, count = T(int(parts[i][0])), int(parts[i + 1][0])
        i += 2
        items = []
        for _ in range(count):
            item, i = decode(parts, i, item_type)
            items.append(item)
        return items, i
    return parts[i][0].item(), i + 1


def field_value(field):
    """(type, element type or None, value) of a metadata field; parts 0-2 are key and type."""
    vtype = T(int(field.parts[2][0]))
    element_type = T(int(field.parts[3][0])) if vtype == T.ARRAY else None
    return vtype, element_type, decode(field.parts, 3, vtype)[0]


def metadata_fields(reader):
    return [f for name, f in reader.fields.items() if not name.startswith("GGUF.")]


# --- 1. gguf-py writes, greta-inspect reads --------------------------------------------------

# (key, type, element type, value as written, value as read back)
PY_METADATA = [
    ("py.uint8", T.UINT8, None, 200, 200),
    ("py.int8", T.INT8, None, -100, -100),
    ("py.uint16", T.UINT16, None, 65535, 65535),
    ("py.int16", T.INT16, None, -32768, -32768),
    ("py.uint32", T.UINT32, None, 4000000000, 4000000000),
    ("py.int32", T.INT32, None, -7, -7),
    ("py.uint64", T.UINT64, None, 2**64 - 1, 2**64 - 1),
    ("py.int64", T.INT64, None, -(2**63), -(2**63)),
    ("py.float32", T.FLOAT32, None, 1e-5, f32(1e-5)),
    ("py.float64", T.FLOAT64, None, 2.718281828459045, 2.718281828459045),
    ("py.bool", T.BOOL, None, True, True),
    ("py.string", T.STRING, None, "tab\there \"quoted\" \u00e9\u4e2d\U0001F999\n",
     "tab\there \"quoted\" \u00e9\u4e2d\U0001F999\n"),
    ("py.strings", T.ARRAY, T.STRING, ["<s>", "\u0120the", ""], ["<s>", "\u0120the", ""]),
    ("py.uint16s", T.ARRAY, T.UINT16, [1, 2, 65535], [1, 2, 65535]),
    ("py.float32s", T.ARRAY, T.FLOAT32, [0.1, -2.5], [f32(0.1), -2.5]),
    ("py.int64s", T.ARRAY, T.INT64, [-(2**40), 5], [-(2**40), 5]),
    ("py.bools", T.ARRAY, T.BOOL, [False, True], [False, True]),
    ("py.nested", T.ARRAY, T.ARRAY, [[1, 2, 3], [4]], [[1, 2, 3], [4]]),
    ("py.nested_strings", T.ARRAY, T.ARRAY, [["a"], ["b", "c"]], [["a"], ["b", "c"]]),
    ("py.long", T.ARRAY, T.INT32, list(range(20)), list(range(20))),
]


def py_tensors():
    """(name, array as handed to GGUFWriter, raw ggml type or None, ggml type, ggml dims)."""
    rng = np.random.default_rng(7)
    raw = lambda rows, row_bytes: rng.integers(0, 256, (rows, row_bytes), dtype=np.uint8)
    return [
        ("tok.f32", np.arange(24, dtype=np.float32).reshape(3, 8), None, Q.F32, [8, 3]),
        ("tok.f16", rng.standard_normal((2, 16)).astype(np.float16), None, Q.F16, [16, 2]),
        ("tok.i32", np.arange(5, dtype=np.int32), None, Q.I32, [5]),
        ("blk.0.q8_0", raw(2, 68), Q.Q8_0, Q.Q8_0, [64, 2]),
        ("blk.0.q4_k", raw(3, 144), Q.Q4_K, Q.Q4_K, [256, 3]),
        ("blk.0.q6_k", raw(2, 210), Q.Q6_K, Q.Q6_K, [256, 2]),
        ("blk.0.bf16", raw(2, 16), Q.BF16, Q.BF16, [8, 2]),
        ("blk.0.3d", np.ones((2, 3, 4), dtype=np.float32), None, Q.F32, [4, 3, 2]),
    ]


def write_with_gguf_py(path):
    writer = gguf.GGUFWriter(path, arch="llama")
    for key, vtype, element_type, value, _ in PY_METADATA:
        writer.add_key_value(key, value, vtype, sub_type=element_type
                             if element_type not in (None, T.ARRAY) else None)
    writer.add_custom_alignment(64)
    for name, array, raw_type, _, _ in py_tensors():
        writer.add_tensor(name, array, raw_dtype=raw_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check_inspect_reads_gguf_py(path):
    got = inspect_json(path, "--full")
    reader = gguf.GGUFReader(path)
    check(got["version"] == 3, f"version {got['version']}")
    check(got["alignment"] == 64, f"alignment {got['alignment']}")
    check(got["file_size"] == os.path.getsize(path), "file_size")
    check(got["data_offset"] == reader.data_offset,
          f"data_offset {got['data_offset']} vs gguf-py {reader.data_offset}")

    # Every key in gguf-py's order, with its type; values as written.
    fields = metadata_fields(reader)
    check([m["key"] for m in got["metadata"]] == [f.name for f in fields], "metadata keys/order")
    expected = {key: (vtype, etype, read) for key, vtype, etype, _, read in PY_METADATA}
    expected["general.architecture"] = (T.STRING, None, "llama")
    expected["general.alignment"] = (T.UINT32, None, 64)
    for entry in got["metadata"]:
        vtype, etype, value = expected[entry["key"]]
        check(entry["type"] == vtype.name.lower(), f"{entry['key']}: type {entry['type']}")
        if etype is not None:
            check(entry["element_type"] == etype.name.lower(),
                  f"{entry['key']}: element type {entry['element_type']}")
            check(entry["length"] == len(value) and not entry["truncated"],
                  f"{entry['key']}: length")
        check(entry["value"] == value, f"{entry['key']}: {entry['value']!r} vs {value!r}")
        check(field_value(reader.fields[entry["key"]])[2] == value,
              f"{entry['key']}: gguf-py reads {field_value(reader.fields[entry['key']])[2]!r}")

    # Tensors: as written, and where gguf-py finds them.
    by_name = {t.name: t for t in reader.tensors}
    expected_tensors = py_tensors()
    check([t["name"] for t in got["tensors"]] == [t[0] for t in expected_tensors], "tensor names")
    for entry, (name, array, _, ggml_type, dims) in zip(got["tensors"], expected_tensors):
        theirs = by_name[name]
        check(entry["type"] == ggml_type.name, f"{name}: type {entry['type']}")
        check(entry["shape"] == dims, f"{name}: shape {entry['shape']} vs {dims}")
        check(entry["shape"] == [int(d) for d in theirs.shape], f"{name}: gguf-py shape")
        check(entry["bytes"] == array.nbytes == int(theirs.n_bytes), f"{name}: bytes")
        check(entry["elements"] == int(theirs.n_elements), f"{name}: elements")
        check(entry["offset"] == theirs.data_offset - reader.data_offset, f"{name}: offset")
        check(entry["offset"] % 64 == 0, f"{name}: offset alignment")
    check(got["tensor_bytes"] == sum(t[1].nbytes for t in expected_tensors), "tensor_bytes")

    # Default output keeps the first 8 elements of long arrays and says so.
    short = {m["key"]: m for m in inspect_json(path)["metadata"]}["py.long"]
    check(short["value"] == list(range(8)) and short["length"] == 20 and short["truncated"],
          f"default JSON truncation: {short}")
    human = subprocess.run([INSPECT, path], capture_output=True, text=True)
    check(human.returncode == 0 and "[int32 × 20] [0, 1, 2, 3, 4, 5, ...]" in human.stdout,
          "human output summarises long arrays")


# --- 2. GgufWriter writes, gguf-py reads ------------------------------------------------------

SAMPLE_METADATA = [
    ("general.architecture", T.STRING, None, "llama"),
    ("test.uint8", T.UINT8, None, 255),
    ("test.int8", T.INT8, None, -128),
    ("test.uint16", T.UINT16, None, 65535),
    ("test.int16", T.INT16, None, -32768),
    ("test.uint32", T.UINT32, None, 4294967295),
    ("test.int32", T.INT32, None, -(2**31)),
    ("test.uint64", T.UINT64, None, 2**64 - 1),
    ("test.int64", T.INT64, None, -(2**63)),
    ("test.float32", T.FLOAT32, None, f32(0.1)),
    ("test.float64", T.FLOAT64, None, 3.141592653589793),
    ("test.bool_true", T.BOOL, None, True),
    ("test.bool_false", T.BOOL, None, False),
    ("test.string", T.STRING, None, "h\u00e9llo\n\"w\u00f6rld\" \U0001F999"),
    ("test.empty_string", T.STRING, None, ""),
    ("test.strings", T.ARRAY, T.STRING, ["a", "", "\u00fc", "\u0120 \u0120"]),
    ("test.float32s", T.ARRAY, T.FLOAT32, [1.5, -2.25, f32(1e-5)]),
    ("test.int32s", T.ARRAY, T.INT32, [1, -2, 2147483647]),
    ("test.uint8s", T.ARRAY, T.UINT8, [0, 1, 255]),
    ("test.int64s", T.ARRAY, T.INT64, [-1, 0, 1099511627776]),
    ("test.bools", T.ARRAY, T.BOOL, [True, False]),
    ("test.empty_array", T.ARRAY, T.INT32, []),
    ("test.nested", T.ARRAY, T.ARRAY, [[1, 2], [3], []]),
    ("test.nested_strings", T.ARRAY, T.ARRAY, [["x", "y"], ["z"]]),
    ("test.deep", T.ARRAY, T.ARRAY, [[[0.5]]]),
    ("general.alignment", T.UINT32, None, 64),
]
SAMPLE_TENSORS = [  # name, type, ggml dims
    ("f32.weight", Q.F32, [8, 3]),
    ("f16.weight", Q.F16, [16, 2]),
    ("q8_0.weight", Q.Q8_0, [64, 2]),
    ("blk.0.q4_k.weight", Q.Q4_K, [256, 3]),
]


def sample_bytes(t, count):
    return ((np.arange(count, dtype=np.uint64) * 7 + t * 13 + 1) & 0xFF).astype(np.uint8).tobytes()


def check_gguf_py_reads_greta(path):
    reader = gguf.GGUFReader(path)
    fields = metadata_fields(reader)
    check([f.name for f in fields] == [m[0] for m in SAMPLE_METADATA], "sample keys/order")
    for key, vtype, etype, value in SAMPLE_METADATA:
        got = field_value(reader.fields[key])
        check(got == (vtype, etype, value), f"sample {key}: {got!r} vs {(vtype, etype, value)!r}")
    check(int(reader.alignment) == 64, f"sample alignment {reader.alignment}")
    check(reader.data_offset % 64 == 0, "sample data offset alignment")
    check([t.name for t in reader.tensors] == [t[0] for t in SAMPLE_TENSORS], "sample tensors")
    for t, (tensor, (name, ggml_type, dims)) in enumerate(zip(reader.tensors, SAMPLE_TENSORS)):
        check(tensor.tensor_type == ggml_type, f"{name}: type {tensor.tensor_type}")
        check([int(d) for d in tensor.shape] == dims, f"{name}: shape {tensor.shape}")
        check(tensor.data_offset % 64 == 0, f"{name}: data offset alignment")
        data = tensor.data.tobytes()
        check(len(data) == int(tensor.n_bytes), f"{name}: byte count")
        check(data == sample_bytes(t, len(data)), f"{name}: bytes differ")


def check_damaged_file_is_an_error(source, tmp):
    damaged = os.path.join(tmp, "damaged.gguf")
    with open(source, "rb") as f:
        data = f.read()
    with open(damaged, "wb") as f:
        f.write(data[: len(data) // 3])
    result = subprocess.run([INSPECT, damaged], capture_output=True, text=True)
    check(result.returncode == 1, f"damaged file exit status {result.returncode}")
    check("greta-inspect: error:" in result.stderr and damaged in result.stderr,
          f"damaged file message: {result.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        py_path = os.path.join(tmp, "from_gguf_py.gguf")
        write_with_gguf_py(py_path)
        check_inspect_reads_gguf_py(py_path)

        greta_path = os.path.join(tmp, "from_greta.gguf")
        subprocess.run([WRITE_SAMPLE, greta_path], check=True)
        check_gguf_py_reads_greta(greta_path)
        check(inspect_json(greta_path)["alignment"] == 64, "greta-inspect reads the sample")

        check_damaged_file_is_an_error(py_path, tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("gguf interop: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
