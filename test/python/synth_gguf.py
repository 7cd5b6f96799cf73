#!/usr/bin/env python3
"""Checks greta-synth's files with the independent `gguf` package (gguf-py) and numpy.

1. Tiny models in every quant mix load with gguf.GGUFReader, with llama.cpp's metadata keys and
   value types, the tensor names, ggml shapes and the quant mix's type for each tensor.
2. Every tensor dequantizes with gguf.quants.dequantize (including the directly synthesized Q4_K
   and Q6_K blocks) to the planned statistics: matrices mean 0 and deviation 1/sqrt(row length),
   norms around 1; f16 and q8_0 hold the f32 file's weights (same seed) within their rounding.
3. --rope-scaling llama3 writes rope_freqs.weight equal to the Llama-3.1 formula as llama.cpp's
   converter computes it (numpy, float32 frequencies).
4. --threads does not change a byte (sha256).

Run by ctest as `synth_gguf` (needs GRETA_BIN_DIR with greta-synth):
    .venv/bin/python test/python/synth_gguf.py
"""
import hashlib
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader, GGUFValueType as T
from gguf.quants import dequantize

BIN = os.environ.get("GRETA_BIN_DIR", "build/bin")
SYNTH = os.path.join(BIN, "greta-synth")
# llama.cpp's LLAMA_FTYPE per --quant.
FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7, "q4_k_m": 15}

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def synth(path, *args):
    subprocess.run([SYNTH, "-o", path, "--preset", "tiny", *args], check=True,
                   capture_output=True, text=True)
    return path


def scalar(reader, key):
    field = reader.fields[key]
    if field.types[0] == T.STRING:
        return bytes(field.parts[field.data[0]]).decode()
    return field.parts[field.data[0]][0].item()


def tensors(reader):
    """name -> (type, ggml dims, dequantized values as float64 [rows, row length])."""
    return {t.name: (t.tensor_type, [int(d) for d in t.shape],
                     dequantize(t.data, t.tensor_type).astype(np.float64)) for t in reader.tensors}


def expected_type(quant, name):
    if name.endswith("_norm.weight"):
        return Q.F32
    if quant != "q4_k_m":
        return {"f32": Q.F32, "f16": Q.F16, "q8_0": Q.Q8_0}[quant]
    if name == "output.weight":
        return Q.Q6_K
    # 2 layers: llama-quantize's use_more_bits picks layer 1 (i >= 7n/8).
    if name in ("blk.1.attn_v.weight", "blk.1.ffn_down.weight"):
        return Q.Q6_K
    return Q.Q4_K


def check_metadata_and_layout(reader, quant):
    u32_keys = {"llama.block_count": 2, "llama.context_length": 2048,
                "llama.embedding_length": 256, "llama.feed_forward_length": 512,
                "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2,
                "llama.rope.dimension_count": 64, "general.file_type": FILE_TYPES[quant],
                "general.quantization_version": 2}
    check(scalar(reader, "general.architecture") == "llama", f"{quant}: architecture")
    for key, value in u32_keys.items():
        check(reader.fields[key].types == [T.UINT32], f"{quant}: {key} is uint32")
        check(scalar(reader, key) == value, f"{quant}: {key} = {scalar(reader, key)}")
    check(reader.fields["llama.rope.freq_base"].types == [T.FLOAT32], f"{quant}: freq_base f32")
    check(scalar(reader, "llama.rope.freq_base") == 500000.0, f"{quant}: freq_base value")
    check(math.isclose(scalar(reader, "llama.attention.layer_norm_rms_epsilon"), 1e-5,
                       rel_tol=1e-6), f"{quant}: rms epsilon")
    check(scalar(reader, "tokenizer.ggml.model") == "gpt2", f"{quant}: tokenizer model")
    check(scalar(reader, "tokenizer.ggml.pre") == "llama-bpe", f"{quant}: tokenizer pre")
    vocab = scalar(reader, "llama.vocab_size")
    check(len(reader.fields["tokenizer.ggml.tokens"].data) == vocab, f"{quant}: token count")

    names = [t.name for t in reader.tensors]
    expected_names = ["token_embd.weight"]
    for i in range(2):
        expected_names += [f"blk.{i}.{k}.weight" for k in
                           ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                            "ffn_gate", "ffn_up", "ffn_down")]
    expected_names += ["output_norm.weight", "output.weight"]
    check(names == expected_names, f"{quant}: tensor names {names}")
    shapes = {"token_embd.weight": [256, vocab], "output.weight": [256, vocab],
              "blk.0.attn_k.weight": [256, 128], "blk.0.ffn_down.weight": [512, 256],
              "blk.0.ffn_up.weight": [256, 512], "output_norm.weight": [256]}
    for t in reader.tensors:
        check(t.tensor_type == expected_type(quant, t.name),
              f"{quant}: {t.name} type {t.tensor_type.name}")
        if t.name in shapes:
            check([int(d) for d in t.shape] == shapes[t.name], f"{quant}: {t.name} shape")


def check_statistics(weights, quant):
    for name, (qtype, dims, values) in weights.items():
        if len(dims) == 1:
            check(abs(values.mean() - 1) < 0.02 and abs(values.std() - 0.05) < 0.01,
                  f"{quant}: {name} norm mean {values.mean():.4f} std {values.std():.4f}")
            continue
        target = 1 / math.sqrt(dims[0])
        check(abs(values.std() / target - 1) < 0.04,
              f"{quant}: {name} ({qtype.name}) std {values.std():.5f} vs {target:.5f}")
        check(abs(values.mean()) < 0.03 * target,
              f"{quant}: {name} ({qtype.name}) mean {values.mean():.2e}")
        # Quantized codes do include zero (Q8_0's 0, Q6_K's 32), but only a few percent.
        check(np.count_nonzero(values) > 0.9 * values.size, f"{quant}: {name} mostly nonzero")


def check_same_weights(reference, other, quant, tolerance):
    """f16/q8_0 files of one seed hold the f32 file's weights, within `tolerance` of the
    tensor's deviation (f16: 2^-11 relative; q8_0: half a step of max/127)."""
    for name, (_, dims, values) in reference.items():
        _, _, quantized = other[name]
        scale = values.std()
        error = np.abs(quantized - values).max() / scale
        check(error < tolerance, f"{quant}: {name} max error {error:.3g} std vs f32")


def check_rope_freqs(path):
    reader = GGUFReader(path)
    rope = [t for t in reader.tensors if t.name == "rope_freqs.weight"]
    check(len(rope) == 1 and rope[0].tensor_type == Q.F32, "rope_freqs.weight present, F32")
    if not rope:
        return
    factors = np.array(rope[0].data, dtype=np.float64)
    # The Llama-3.1 rule, as llama.cpp's convert_hf_to_gguf.py evaluates it.
    head_dim, base, factor, low, high, old_context = 64, 500000.0, 32.0, 1.0, 4.0, 8192
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    expected = []
    for freq in freqs:
        wavelen = 2 * math.pi / float(freq)
        if wavelen < old_context / high:
            expected.append(1.0)
        elif wavelen > old_context / low:
            expected.append(factor)
        else:
            smooth = (old_context / wavelen - low) / (high - low)
            expected.append(1 / ((1 - smooth) / factor + smooth))
    expected = np.array(expected, dtype=np.float32).astype(np.float64)
    worst = np.max(np.abs(factors - expected) / expected)
    check(factors.shape == (32,) and worst < 1e-5, f"rope_freqs vs formula: rel {worst:.3g}")
    check(scalar(reader, "llama.rope.scaling.original_context_length") == 8192,
          "rope scaling original context")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        weights = {}
        for quant in ("f32", "f16", "q8_0", "q4_k_m"):
            path = synth(os.path.join(tmp, f"{quant}.gguf"), "--quant", quant, "--seed", "3")
            reader = GGUFReader(path)
            check_metadata_and_layout(reader, quant)
            weights[quant] = tensors(reader)
            check_statistics(weights[quant], quant)
        check_same_weights(weights["f32"], weights["f16"], "f16", 2e-3)
        check_same_weights(weights["f32"], weights["q8_0"], "q8_0", 0.05)

        check_rope_freqs(synth(os.path.join(tmp, "rope.gguf"), "--quant", "q4_k_m",
                               "--rope-scaling", "llama3", "--rope-scaling-factor", "32"))

        one = synth(os.path.join(tmp, "t1.gguf"), "--quant", "q4_k_m", "--threads", "1",
                    "--vocab-size", "3000")
        two = synth(os.path.join(tmp, "t2.gguf"), "--quant", "q4_k_m", "--threads", "2",
                    "--vocab-size", "3000")
        check(sha256(one) == sha256(two), "--threads 1 and 2 give identical files")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("synth gguf: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
