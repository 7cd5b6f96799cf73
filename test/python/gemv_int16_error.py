#!/usr/bin/env python3
"""Bounds the error of the decode GEMVs' int16 input form against exact dot products.

The Q4_K and Q6_K gemv decoders (codegen/templates/quant_gemv/) take the input row quantised
to int16 per 32 values (x ~ scale * q, scale = max |x| / 32767 of the group) and multiply it
with the weights' integers by dp2a: Q4_K as 16 (q - 8) with the block offset taken from exact
f32 sums of x, Q6_K as 4 (q - 32). kernel_gpu_test holds those kernels (manifest dtype_a
"i16") to kI16Tolerance = 1e-3 of (|y| + rms(y)). This test recomputes the kernels' arithmetic
in numpy, on weights dequantised by the independent `gguf` package, and checks:

1. with the input unquantised, the decoders' algebra (scale/min unpacking, centring, offset
   from the sums) reproduces the exact dot product of gguf's weights;
2. with the int16 input, every output stays within a third of the tolerance, for Gaussian,
   heavy-tailed (Student t, 2 degrees of freedom) and one-outlier-per-group inputs (the worst
   case: a group's largest value is sqrt(32) times its rms), so the tolerance has margin;
It also prints what an 8-bit input form (llama.cpp's mmvq) would give: 2-40 times the
tolerance on these inputs, which is why the kernels stage 16 bits.

Run by ctest as `gemv_int16_error`:  .venv/bin/python test/python/gemv_int16_error.py
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import quants

TOLERANCE = 1e-3  # kI16Tolerance in test/unit/hip/kernel_gpu_test.cpp
GROUP = 32        # values per int16 scale (kInt16Group in matmul_gemv.hip)
KS = (256, 4096)  # the kernel tests' tiny models; Llama-3-8B's hidden size
ROWS = 512
QK_K = 256


def quantise_input(x, bits):
    """The staged input form: per 32 values, round(x / scale) with scale = max |x| / (2^(bits-1) - 1)."""
    top = 2 ** (bits - 1) - 1
    groups = x.reshape(-1, GROUP)
    largest = np.abs(groups).max(axis=1, keepdims=True)
    scale = np.where(largest > 0, largest / top, 0.0)
    q = np.rint(np.divide(groups, scale, out=np.zeros_like(groups), where=scale > 0))
    return (q * scale).reshape(x.shape)


def random_blocks(rng, k, block_bytes, f16_fields):
    """ROWS rows of random blocks with finite, positive f16 fields at the given byte offsets."""
    raw = rng.integers(0, 256, size=(ROWS, k // QK_K, block_bytes), dtype=np.uint8)
    for offset in f16_fields:
        d = (rng.uniform(0.5, 2.0, size=raw.shape[:2]) * 1e-3).astype(np.float16)
        raw[:, :, offset:offset + 2] = d.view(np.uint8).reshape(raw.shape[:2] + (2,))
    return raw


def zero_mean_q4_k(rng, k):
    """Q4_K rows whose sub-blocks' mins cancel the mean of d scale q (d scale 7.5), as in
    quantised weights: random offsets would make y large and the relative error look small."""
    raw = random_blocks(rng, k, 144, f16_fields=(0,))
    d = raw[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float64)
    dmin = (d * 8).astype(np.float16)
    raw[:, :, 2:4] = dmin.view(np.uint8).reshape(raw.shape[:2] + (2,))
    scale = rng.integers(1, 64, size=raw.shape[:2] + (8,))
    ratio = d[..., None] / dmin.astype(np.float64)[..., None]
    minimum = np.clip(np.rint(7.5 * scale * ratio), 0, 63).astype(np.int64)
    packed = np.zeros(raw.shape[:2] + (12,), dtype=np.int64)
    for j in range(4):  # ggml's 6-bit packing, as get_scale_min_k4 reads it
        packed[..., j] = scale[..., j] | ((scale[..., j + 4] >> 4) << 6)
        packed[..., j + 4] = minimum[..., j] | ((minimum[..., j + 4] >> 4) << 6)
        packed[..., j + 8] = (scale[..., j + 4] & 15) | ((minimum[..., j + 4] & 15) << 4)
    raw[:, :, 4:16] = packed.astype(np.uint8)
    return raw


def q4_k_parts(raw):
    """Per Q4_K sub-block: d * scale (the factor of q) and d * scale * 8 - dmin * min (the
    offset once q is centred), and the nibbles q, as quant_gemv/q4_k.hip reads them."""
    d = raw[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float64)
    dmin = raw[:, :, 2:4].copy().view(np.float16)[..., 0].astype(np.float64)
    s = raw[:, :, 4:16].astype(np.int64)
    scale = np.empty(s.shape[:2] + (8,))
    minimum = np.empty_like(scale)
    for j in range(8):
        if j < 4:
            scale[..., j], minimum[..., j] = s[..., j] & 63, s[..., j + 4] & 63
        else:
            scale[..., j] = (s[..., j + 4] & 15) | ((s[..., j - 4] >> 6) << 4)
            minimum[..., j] = (s[..., j + 4] >> 4) | ((s[..., j] >> 6) << 4)
    qs = raw[:, :, 16:].astype(np.int64).reshape(raw.shape[:2] + (4, 32))
    q = np.stack([qs & 15, qs >> 4], axis=3).reshape(raw.shape[:2] + (8, 32))
    unit = d[..., None] * scale
    return unit, 8 * unit - dmin[..., None] * minimum, q


def q4_k_kernel(raw, x, xq):
    """The decoder's sum: Σ unit (q - 8) x~ + offset Σ x per sub-block (x~ the staged input)."""
    unit, offset, q = q4_k_parts(raw)
    xs = x.reshape(-1, 8, 32)
    xqs = xq.reshape(-1, 8, 32)
    centred = ((q - 8) * xqs).sum(axis=-1)
    return (unit * centred + offset * xs.sum(axis=-1)).sum(axis=(1, 2))


def q6_k_kernel(weights, xq):
    """Q6_K's decoder multiplies d scale (q - 32) = the weight itself by the staged input."""
    return weights @ xq


def inputs(rng, k):
    gaussian = rng.standard_normal(k)
    heavy = rng.standard_t(2, size=k)
    outliers = rng.standard_normal(k) * 0.01
    outliers[::GROUP] = 1.0  # each group's largest is sqrt(32) x its rms, nearly
    return {"gaussian": gaussian, "student-t(2)": heavy, "outlier per group": outliers}


def worst_ratio(got, want):
    """max |got - want| / (TOLERANCE (|want| + rms(want))): kernel_gpu_test's bound at 1."""
    rms = np.sqrt(np.mean(want ** 2))
    return float(np.max(np.abs(got - want) / (TOLERANCE * (np.abs(want) + rms))))


def main():
    rng = np.random.default_rng(20261128)
    failures = []
    for k in KS:
        q4 = zero_mean_q4_k(rng, k)
        q6 = random_blocks(rng, k, 210, f16_fields=(208,))
        w4 = quants.dequantize(q4.reshape(ROWS, -1), Q.Q4_K).astype(np.float64)
        w6 = quants.dequantize(q6.reshape(ROWS, -1), Q.Q6_K).astype(np.float64)
        for name, x in inputs(rng, k).items():
            exact4, exact6 = w4 @ x, w6 @ x
            algebra = q4_k_kernel(q4, x, x)
            if not np.allclose(algebra, exact4, rtol=1e-9, atol=1e-12 * np.abs(exact4).max()):
                failures.append(f"K {k} {name}: the Q4_K decoder's algebra differs from gguf's")
            for label, got, want in (
                    ("Q4_K", q4_k_kernel(q4, x, quantise_input(x, 16)), exact4),
                    ("Q6_K", q6_k_kernel(w6, quantise_input(x, 16)), exact6)):
                ratio = worst_ratio(got, want)
                print(f"K {k:4} {label} {name:18} int16: worst error {ratio:.3f} of the tolerance")
                if ratio > 1 / 3:
                    failures.append(f"K {k} {label} {name}: int16 error {ratio:.3f} of the "
                                    "tolerance (> 1/3)")
            ratio8 = worst_ratio(q4_k_kernel(q4, x, quantise_input(x, 8)), exact4)
            print(f"K {k:4} Q4_K {name:18} int8:  worst error {ratio8:.3f} of the tolerance "
                  "(for comparison)")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
