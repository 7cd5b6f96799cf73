#!/usr/bin/env python3
"""Generates the quant-block reference vectors in test/data/quant/ from the `gguf` package.

Rerun (from the repository root, after scripts/setup.sh made .venv):
    .venv/bin/python scripts/gen_quant_vectors.py            # rewrites test/data/quant/
    .venv/bin/python scripts/gen_quant_vectors.py --out DIR  # somewhere else

Output is deterministic for a given seed, gguf and numpy version (all recorded in index.json).

For each type GRETA computes with, `<TYPE>.blocks.bin` holds packed blocks and
`<TYPE>.expected.f32.bin` what gguf.quants.dequantize makes of them (little-endian float32).
Packed bytes are random, except that binary16 scale fields get finite values of sensible
magnitude (random bytes would make many NaN/Inf scales and test nothing useful), and the first
blocks are hand-picked edges: zero, negative, subnormal and largest scales, all-min and all-max
codes. The float types get their interesting bit patterns (every binary16 subnormal and NaN,
infinities, signed zeros).

For the types gguf.quants can quantize bit-exactly like ggml (F16, BF16, Q8_0, Q4_0),
`<TYPE>.quantize.input.f32.bin` is a row of floats and `<TYPE>.quantize.expected.bin` the
bytes gguf.quants.quantize produces: Gaussian blocks over many magnitudes plus rounding ties,
zeros, tiny and huge blocks (and for the float types NaN, Inf, overflow and subnormals).
"""
import argparse
import json
import pathlib
import warnings
from importlib.metadata import version

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

SEED = 20240601
ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "test" / "data" / "quant"

# Blocks per type: enough random blocks to hit every code in every position.
BLOCK_COUNTS = {T.Q8_0: 256, T.Q4_0: 256, T.Q4_K: 48, T.Q5_K: 48, T.Q6_K: 48}
FLOAT_VALUES = 4096
QUANTIZE_ELEMENTS = 4096

# Byte offsets of binary16 scale fields inside one block, per type.
SCALE_FIELDS = {
    T.Q8_0: [0],
    T.Q4_0: [0],
    T.Q4_K: [0, 2],  # d, dmin
    T.Q5_K: [0, 2],
    T.Q6_K: [208],   # d after ql[128], qh[64], scales[16]
}

F16_MAX = 0x7BFF
F16_MIN_SUBNORMAL = 0x0001
F16_MAX_SUBNORMAL = 0x03FF


def sensible_halves(rng, count):
    """Finite binary16 bit patterns, log-uniform magnitude in [1e-5, 1), random sign."""
    magnitude = 10.0 ** rng.uniform(-5, 0, count)
    sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    return (sign * magnitude).astype(np.float16).view(np.uint16)


def edge_halves():
    """Scale values every decoder must get right (each used for one edge block)."""
    return np.array([0x0000, 0x8000, F16_MAX, 0x8000 | F16_MAX, F16_MIN_SUBNORMAL,
                     F16_MAX_SUBNORMAL, 0x3C00, 0xBC00], dtype=np.uint16)


def block_vectors(rng, qtype):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    count = BLOCK_COUNTS[qtype]
    blocks = rng.integers(0, 256, size=(count, type_size), dtype=np.uint8)
    fields = SCALE_FIELDS[qtype]
    for offset in fields:
        blocks[:, offset:offset + 2] = sensible_halves(rng, count).view(np.uint8).reshape(count, 2)
    # Edge scales: block k gets edge value k in every scale field.
    edges = edge_halves()
    for k, bits in enumerate(edges):
        for offset in fields:
            blocks[k, offset:offset + 2] = np.array([bits], dtype=np.uint16).view(np.uint8)
    # Edge codes with a unit scale: every packed byte 0x00, then every packed byte 0xFF (the
    # smallest and largest codes, and all-zero / all-63 sub-block scales and mins).
    one = np.array([0x3C00], dtype=np.uint16).view(np.uint8)
    for k, fill in ((len(edges), 0x00), (len(edges) + 1, 0xFF)):
        blocks[k, :] = fill
        for offset in fields:
            blocks[k, offset:offset + 2] = one
    if qtype == T.Q6_K:  # sub-block scales at both ends of int8
        blocks[len(edges) + 2, 192:208] = np.array([-128, 127] * 8, dtype=np.int8).view(np.uint8)
    expected = dequantize(blocks, qtype).astype(np.float32)
    assert expected.shape == (count, block_size)
    assert np.isfinite(expected).all(), qtype.name
    return blocks.tobytes(), expected.tobytes(), count, count * block_size


def float_vectors(rng, qtype):
    if qtype == T.F32:
        specials = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000,
                             0x7F800001, 0xFFFFFFFF, 0x00000001, 0x007FFFFF, 0x7F7FFFFF,
                             0x3F800000], dtype=np.uint32)
        rest = rng.standard_normal(FLOAT_VALUES - len(specials)).astype(np.float32).view(np.uint32)
        values = np.concatenate([specials, rest])
        return values.tobytes(), values.view(np.float32).tobytes(), len(values), len(values)
    if qtype == T.F16:
        # Every subnormal (and +0), every Inf/NaN pattern, then random patterns.
        subnormals = np.arange(0x0000, 0x0400, dtype=np.uint16)
        non_finite = np.arange(0x7C00, 0x8000, dtype=np.uint16)
        specials = np.array([0x8000, 0x8001, 0x83FF, 0xFC00, 0xFE00, 0x0400, F16_MAX,
                             0x8000 | F16_MAX, 0x3C00], dtype=np.uint16)
        rest = rng.integers(0, 1 << 16, FLOAT_VALUES - 2048 - len(specials), dtype=np.uint16)
        values = np.concatenate([subnormals, non_finite, specials, rest])
    else:  # BF16: any pattern widens exactly
        specials = np.array([0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x0001, 0x007F,
                             0x7F7F, 0x3F80], dtype=np.uint16)
        rest = rng.integers(0, 1 << 16, FLOAT_VALUES - len(specials), dtype=np.uint16)
        values = np.concatenate([specials, rest])
    expected = dequantize(values.view(np.uint8), qtype).astype(np.float32)
    return values.tobytes(), expected.tobytes(), len(values), len(values)


def gaussian_blocks(rng, elements, block_size):
    """Gaussian values whose scale varies per block over 1e-4 .. 1e2."""
    scales = 10.0 ** rng.uniform(-4, 2, elements // block_size)
    data = rng.standard_normal((elements // block_size, block_size)) * scales[:, None]
    return data.astype(np.float32).reshape(-1)


def legacy_quantize_input(rng, qtype):
    row = gaussian_blocks(rng, QUANTIZE_ELEMENTS, 32).reshape(-1, 32)
    # Rounding ties: Q8_0 with max 127 has scale 1, so k + 0.5 lands exactly on a tie; Q4_0 with
    # max -8 has scale 1, so x + 8.5 is exactly an integer for integer x.
    ties = np.array([127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5] * 4, dtype=np.float32)
    q4_ties = np.array([-8, 0.5, -0.5, 1, -1, 7, 7.5, -7.5] * 4, dtype=np.float32)
    row[0] = ties if qtype == T.Q8_0 else q4_ties
    row[1] = 0                                                     # all zero: scale 0
    row[2] = 0
    row[2][5] = -3.25                                              # one negative value
    row[3] = np.abs(row[3]) + 1                                    # all positive
    row[4] = -np.abs(row[4]) - 1                                   # all negative
    row[5] = rng.standard_normal(32) * 1e-6                        # scale below binary16 range
    row[6] = rng.standard_normal(32) * 1e9                         # scale past 65504: Inf
    row[7] = rng.standard_normal(32) * 6e5                         # scale near 65504
    row[8] = np.float32(1.0)                                       # constant block
    row[8][0] = -1.0                                               # first of equal magnitudes
    return row.reshape(-1).astype(np.float32)


def float_quantize_input(rng, qtype):
    if qtype == T.F16:
        specials = np.array([
            0.0, -0.0, np.inf, -np.inf, 65504.0, -65504.0, 65519.996, 65520.0, 70000.0,
            1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -20,      # ties, tie+
            2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -25 + 2.0 ** -40,        # subnormal ties
            2.0 ** -14, 2.0 ** -14 - 2.0 ** -25, 6.1e-5, 1e-8, -1e-8, 1e-30,
        ], dtype=np.float32)
        nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0x7F802000, 0xFFFFFFFF],
                        dtype=np.uint32).view(np.float32)
        magnitudes = 10.0 ** rng.uniform(-9, 6, QUANTIZE_ELEMENTS)
    else:  # BF16
        specials = np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235e38, -3.4028235e38, 1e-40,
                             1.0], dtype=np.float32)
        # Ties to even in both directions, and just above a tie.
        ties = np.array([0x3F808000, 0x3F818000, 0x3F808001, 0x7F7F8000, 0x00008000],
                        dtype=np.uint32).view(np.float32)
        nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0xFFFFFFFF],
                        dtype=np.uint32).view(np.float32)
        specials = np.concatenate([specials, ties])
        magnitudes = 10.0 ** rng.uniform(-38, 38, QUANTIZE_ELEMENTS)
    signs = np.where(rng.random(QUANTIZE_ELEMENTS) < 0.5, -1.0, 1.0)
    row = (signs * magnitudes * rng.random(QUANTIZE_ELEMENTS)).astype(np.float32)
    head = np.concatenate([specials, nans])
    row[:len(head)] = head
    return row


def write(out, name, data):
    (out / name).write_bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    # Overflow to Inf and NaN casts are intended inputs.
    warnings.simplefilter("ignore", RuntimeWarning)

    index = {
        "generator": "scripts/gen_quant_vectors.py",
        "seed": SEED,
        "gguf_version": version("gguf"),
        "numpy_version": np.__version__,
        "dequantize": [],
        "quantize": [],
    }
    for qtype in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_K, T.Q5_K, T.Q6_K):
        if qtype in BLOCK_COUNTS:
            blocks, expected, count, elements = block_vectors(rng, qtype)
        else:
            blocks, expected, count, elements = float_vectors(rng, qtype)
        write(out, f"{qtype.name}.blocks.bin", blocks)
        write(out, f"{qtype.name}.expected.f32.bin", expected)
        index["dequantize"].append({
            "type": qtype.name, "blocks": count, "elements": elements,
            "input": f"{qtype.name}.blocks.bin", "expected": f"{qtype.name}.expected.f32.bin"})

    for qtype in (T.F16, T.BF16, T.Q8_0, T.Q4_0):
        row = (float_quantize_input(rng, qtype) if qtype in (T.F16, T.BF16)
               else legacy_quantize_input(rng, qtype))
        packed = np.ascontiguousarray(quantize(row, qtype)).view(np.uint8)
        write(out, f"{qtype.name}.quantize.input.f32.bin", row.tobytes())
        write(out, f"{qtype.name}.quantize.expected.bin", packed.tobytes())
        index["quantize"].append({
            "type": qtype.name, "elements": int(row.size),
            "input": f"{qtype.name}.quantize.input.f32.bin",
            "expected": f"{qtype.name}.quantize.expected.bin"})

    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(list(out.iterdir()))} files, {total} bytes, to {out}")


if __name__ == "__main__":
    main()
