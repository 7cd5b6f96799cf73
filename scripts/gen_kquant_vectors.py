#!/usr/bin/env python3
"""Generates K-quant quantizer reference vectors in test/data/quant/ from ggml's own C code.

gguf-py cannot quantize Q4_K/Q5_K/Q6_K, so these come from ggml's quantize_row_q{4,5,6}_K_ref,
compiled here from a ggml source tree with a C compiler (FMA contraction off, as on x86-64
builds of ggml-base). GRETA's quantizers must reproduce the bytes exactly.

Rerun (from the repository root; needs `cc` and a ggml source tree, e.g. the one vendored in the
ggml-python sdist, or ggml/ of a llama.cpp checkout):
    .venv/bin/pip download --no-deps --no-binary=:all: -d /tmp/ggml ggml-python==0.0.45
    tar -xzf /tmp/ggml/ggml_python-0.0.45.tar.gz -C /tmp/ggml
    .venv/bin/python scripts/gen_kquant_vectors.py \\
        --ggml /tmp/ggml/ggml_python-0.0.45/vendor/ggml --ggml-label "ggml-python 0.0.45"

Writes kquant.quantize.input.f32.bin (one row of float32), <TYPE>.quantize.expected.bin for
each K-quant type, and kquant_index.json (seed, row layout, where the ggml source came from).
The row's super-blocks exercise each branch of the scale searches: Gaussian, positive-only,
sub-blocks of very different magnitude, all-zero and constant sub-blocks, near-constant
sub-blocks, outliers, and values on the quantization grid.
"""
import argparse
import json
import pathlib
import subprocess
import tempfile

import numpy as np

SEED = 20240602
QK_K = 256
SUPER_BLOCKS = 32
ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "test" / "data" / "quant"
TYPES = {"Q4_K": 144, "Q5_K": 176, "Q6_K": 210}

# Reads a float32 row from argv[1]; writes the row quantized by each ref quantizer to argv[2..4].
HARNESS = r"""
#define GGML_COMMON_DECL_C
#include "ggml-common.h"
#include "ggml-quants.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ggml-quants.c references these from ggml.c; the ref quantizers never call them. */
void ggml_abort(const char *file, int line, const char *fmt, ...) { (void)fmt; fprintf(stderr, "ggml_abort %s:%d\n", file, line); abort(); }
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void)type; (void)ne; abort(); }
const char *ggml_type_name(enum ggml_type type) { (void)type; return "?"; }
size_t ggml_type_size(enum ggml_type type) { (void)type; abort(); }

static void write_all(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size) { perror(path); exit(1); }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  const long n = ftell(f) / (long)sizeof(float);
  fseek(f, 0, SEEK_SET);
  float *x = malloc(n * sizeof(float));
  if (fread(x, sizeof(float), n, f) != (size_t)n) return 1;
  fclose(f);
  void *out = malloc(n);
  quantize_row_q4_K_ref(x, out, n); write_all(argv[2], out, n / QK_K * sizeof(block_q4_K));
  quantize_row_q5_K_ref(x, out, n); write_all(argv[3], out, n / QK_K * sizeof(block_q5_K));
  quantize_row_q6_K_ref(x, out, n); write_all(argv[4], out, n / QK_K * sizeof(block_q6_K));
  return 0;
}
"""


def make_row(rng):
    blocks = []
    for b in range(SUPER_BLOCKS):
        kind = b % 8
        x = rng.standard_normal(QK_K)
        if kind == 1:    # positive only: the min is clamped at 0
            x = np.abs(x)
        elif kind == 2:  # sub-blocks of 32 spanning six decades
            x *= np.repeat(10.0 ** rng.uniform(-4, 2, QK_K // 32), 32)
        elif kind == 3:  # all-zero and constant sub-blocks between ordinary ones
            x[0:32] = 0
            x[64:96] = -1.5
            x[160:176] = 0
        elif kind == 4:  # near-constant sub-blocks (tiny range, large offset)
            x = 5.0 + x * 1e-6
            x[128:] = -5.0 + x[128:] * 1e-7
        elif kind == 5:  # a few outliers
            x[rng.integers(0, QK_K, 4)] *= 50
        elif kind == 6:  # values already on a coarse grid
            x = np.round(x * 4) / 4
        elif kind == 7:  # tiny magnitudes (scales in the binary16 subnormal range)
            x *= 1e-6
        blocks.append(x * 10.0 ** rng.uniform(-2, 1))
    return np.concatenate(blocks).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ggml", type=pathlib.Path, required=True,
                        help="ggml source tree (has include/ and src/ggml-quants.c)")
    parser.add_argument("--ggml-label", required=True,
                        help="where the tree came from, recorded in kquant_index.json")
    parser.add_argument("--cc", default="cc")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    row = make_row(np.random.default_rng(SEED))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "harness.c").write_text(HARNESS)
        exe = tmp / "harness"
        subprocess.run([args.cc, "-O2", "-std=c11", "-ffp-contract=off",
                        f"-I{args.ggml / 'include'}", f"-I{args.ggml / 'src'}",
                        str(tmp / "harness.c"), str(args.ggml / "src" / "ggml-quants.c"),
                        "-lm", "-o", str(exe)], check=True)
        (out / "kquant.quantize.input.f32.bin").write_bytes(row.tobytes())
        outputs = [out / f"{name}.quantize.expected.bin" for name in TYPES]
        subprocess.run([str(exe), str(out / "kquant.quantize.input.f32.bin"),
                        *map(str, outputs)], check=True)

    for (name, block_bytes), path in zip(TYPES.items(), outputs):
        assert path.stat().st_size == SUPER_BLOCKS * block_bytes, name
    index = {
        "generator": "scripts/gen_kquant_vectors.py",
        "seed": SEED,
        "ggml_source": args.ggml_label,
        "numpy_version": np.__version__,
        "quantize": [{"type": name, "elements": int(row.size),
                      "input": "kquant.quantize.input.f32.bin",
                      "expected": f"{name}.quantize.expected.bin"} for name in TYPES],
    }
    (out / "kquant_index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {len(TYPES) + 2} files to {out}")


if __name__ == "__main__":
    main()
