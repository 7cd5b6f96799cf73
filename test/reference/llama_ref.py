#!/usr/bin/env python3
"""An independent numpy Llama forward pass over a GGUF file: GRETA's reference for logits.

It shares no code with GRETA: the file is read with gguf-py's GGUFReader and every weight is
dequantized with gguf.quants.dequantize (F32, F16, Q8_0, Q4_K, Q6_K, ... whatever gguf-py knows),
then the model runs in float64 (or float32 with --dtype float32):

    x = token_embd[tokens]
    per block:  h = x + attn_output · attention(rope(q), rope(k), v)   (q, k, v of rms_norm(x))
                x = h + ffn_down · (silu(ffn_gate · rms_norm(h)) * ffn_up · rms_norm(h))
    logits = output · rms_norm(x)          (output = token_embd when the model has no output.weight)

Conventions are llama.cpp's for a GGUF "llama" model:
  * RoPE rotates adjacent pairs (2i, 2i+1) of each head (the GGUF converter has already permuted
    the q/k rows into that order) by angle  pos · theta^(-2i/n_rot) / rope_freqs[i]; rope_freqs
    (Llama-3.1 scaling) divides the frequency when the tensor is present.
  * Attention is causal with a KV cache; query head h reads KV head h // (heads / kv_heads);
    scores are scaled by 1/sqrt(head_dim); softmax in the compute dtype (float64 by default).
  * RMSNorm: x / sqrt(mean(x^2) + eps) * w.
  * The KV cache holds keys and values in the compute dtype, or with --kv-dtype float16 each
    stored value rounded once to binary16 (llama.cpp's default cache type; GRETA's GPU bundles'):
    the rest of the forward pass still computes in the compute dtype.

API
    model = LlamaRef.load("tiny.gguf")                   # dtype=np.float64 by default
    cache = model.new_cache()
    logits = model.forward([1, 2, 3], cache)            # [3, vocab]; cache now holds 3 positions
    logits = model.forward([4], cache)                  # [1, vocab] at position 3 (a decode step)
    result = run(model, prompt, decode_steps=16, generate=32)   # the dict the CLI writes

CLI
    llama_ref.py MODEL.gguf --tokens 1,2,3 [--decode-steps 16] [--generate 32]
                 [--feed 5,6,7] [--all-positions] [--dtype float64|float32]
                 [--kv-dtype float16] --out logits.npz|.json

Output (same keys in .npz and .json; logits in the compute dtype in the .npz, 9 significant
digits in the .json, which also carries "format", "producer" and "model"):
    prompt               int   [N]      the prompt tokens
    prefill_logits_last  float [V]      logits at the last prompt position (position N-1)
    prefill_logits_all   float [N, V]   every prompt position (only with --all-positions)
    decode_tokens        int   [D]      token fed at decode step k (it sits at position N+k)
    decode_logits        float [D, V]   logits of decode step k (predicting position N+k+1)
    continuation         int   [G]      greedy continuation: continuation[0] = argmax(prefill),
                                        continuation[k+1] = argmax of decode step k
                                        (absent with --feed, which feeds the given tokens instead)
    top1_gap_prefill     float          top-1 minus top-2 logit (small gaps mean near-ties)
    top1_gap_decode      float [D]
    top1_gap_continuation float [G]    the gap behind each continuation token (without --feed)
Without --feed the decode steps feed the greedy tokens, so decode_tokens = continuation[:D].
"""
import argparse
import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import gguf
from gguf.quants import dequantize

FORMAT = "greta-golden-logits"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Hyper-parameters and weights
# ---------------------------------------------------------------------------------------------

@dataclass
class HParams:
    layers: int
    dim: int
    heads: int
    kv_heads: int
    head_dim: int
    n_rot: int          # rotated dims per head (rope.dimension_count); head_dim for Llama
    ffn: int
    vocab: int
    context: int
    rope_theta: float
    rms_eps: float
    tied_embeddings: bool
    has_rope_freqs: bool
    rope_scaling: dict = field(default_factory=dict)   # llama.rope.scaling.* keys, as read

    def as_dict(self):
        return dict(self.__dict__)


def _field_value(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    value = f.contents()
    return value


def read_hparams(reader, tensor_shapes):
    arch = _field_value(reader, "general.architecture", "llama")
    if arch != "llama":
        raise ValueError(f"general.architecture is {arch!r}; llama_ref.py reads 'llama' models")

    def key(name, default=None):
        return _field_value(reader, f"{arch}.{name}", default)

    dim = int(key("embedding_length"))
    heads = int(key("attention.head_count"))
    kv_heads = int(key("attention.head_count_kv", heads))
    head_dim = int(key("attention.key_length", dim // heads))
    vocab_from_table = tensor_shapes["token_embd.weight"][0]
    scaling = {}
    for f in reader.fields:
        prefix = f"{arch}.rope.scaling."
        if f.startswith(prefix):
            scaling[f[len(prefix):]] = _field_value(reader, f)
    return HParams(
        layers=int(key("block_count")),
        dim=dim,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        n_rot=int(key("rope.dimension_count", head_dim)),
        ffn=int(key("feed_forward_length")),
        vocab=int(key("vocab_size", vocab_from_table)),
        context=int(key("context_length", 2048)),
        rope_theta=float(key("rope.freq_base", 10000.0)),
        rms_eps=float(key("attention.layer_norm_rms_epsilon", 1e-5)),
        tied_embeddings="output.weight" not in tensor_shapes,
        has_rope_freqs="rope_freqs.weight" in tensor_shapes,
        rope_scaling=scaling,
    )


def load_weights(reader, dtype):
    """Every tensor dequantized by gguf-py, as numpy [rows, row_length] (ggml dims reversed)."""
    weights = {}
    for t in reader.tensors:
        w = dequantize(t.data, t.tensor_type)
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        weights[t.name] = np.asarray(w, dtype=np.float32).reshape(shape).astype(dtype)
    return weights


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Ops (one function per op; x is [S, ...] in the compute dtype)
# ---------------------------------------------------------------------------------------------

def embedding(table, tokens):
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= table.shape[0]):
        raise ValueError(f"token id out of range [0, {table.shape[0]}): {tokens.tolist()}")
    return table[tokens]


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def linear(x, weight):
    """y = x · Wᵀ for W stored [out, in] (a GGUF weight with ggml dims [in, out])."""
    return x @ weight.T


def rope_angles(positions, n_rot, theta, freq_factors=None, dtype=np.float64):
    """[S, n_rot/2] angles pos · theta^(-2i/n_rot) / freq_factors[i]."""
    i = np.arange(n_rot // 2, dtype=np.float64)
    freqs = theta ** (-2.0 * i / n_rot)
    if freq_factors is not None:
        freqs = freqs / np.asarray(freq_factors, dtype=np.float64)
    return (np.asarray(positions, dtype=np.float64)[:, None] * freqs[None, :]).astype(dtype)


def rope(x, angles, n_heads, head_dim, n_rot):
    """Rotates adjacent pairs (2i, 2i+1) of the first n_rot dims of each head (GGUF Llama order).

    x: [S, n_heads * head_dim]; angles: [S, n_rot / 2]."""
    s = x.shape[0]
    xh = x.reshape(s, n_heads, head_dim).copy()
    x0 = xh[:, :, 0:n_rot:2]
    x1 = xh[:, :, 1:n_rot:2]
    cos = np.cos(angles)[:, None, :]
    sin = np.sin(angles)[:, None, :]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    xh[:, :, 0:n_rot:2] = r0
    xh[:, :, 1:n_rot:2] = r1
    return xh.reshape(s, n_heads * head_dim)


def softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(q, k_cache, v_cache, positions, n_heads, n_kv_heads, head_dim):
    """Causal GQA attention over the cache.

    q: [S, H*hd]; k_cache, v_cache: [T, Hkv, hd] (rows 0..max(positions) filled);
    query s attends to cache rows 0..positions[s]. Returns [S, H*hd]."""
    s = q.shape[0]
    group = n_heads // n_kv_heads
    t = int(np.max(positions)) + 1
    qh = q.reshape(s, n_heads, head_dim).transpose(1, 0, 2)                     # [H, S, hd]
    kv_of_head = np.arange(n_heads) // group
    k = k_cache[:t].transpose(1, 0, 2)[kv_of_head]                              # [H, T, hd]
    v = v_cache[:t].transpose(1, 0, 2)[kv_of_head]
    scores = qh @ k.transpose(0, 2, 1) / math.sqrt(head_dim)                    # [H, S, T]
    causal = np.arange(t)[None, :] <= np.asarray(positions)[:, None]           # [S, T]
    scores = np.where(causal[None], scores, -np.inf)
    out = softmax(scores, axis=-1) @ v                                          # [H, S, hd]
    return out.transpose(1, 0, 2).reshape(s, n_heads * head_dim)


def silu(x):
    return x / (1.0 + np.exp(-x))


def swiglu_ffn(x, w_gate, w_up, w_down):
    return linear(silu(linear(x, w_gate)) * linear(x, w_up), w_down)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

class KVCache:
    def __init__(self, hp, dtype, capacity=None):
        cap = capacity or hp.context
        self.k = [np.zeros((cap, hp.kv_heads, hp.head_dim), dtype) for _ in range(hp.layers)]
        self.v = [np.zeros((cap, hp.kv_heads, hp.head_dim), dtype) for _ in range(hp.layers)]
        self.length = 0           # positions filled
        self.capacity = cap


class LlamaRef:
    def __init__(self, hp, weights, dtype=np.float64, source=None, kv_dtype=None):
        self.hp = hp
        self.w = weights
        self.dtype = dtype
        self.kv_dtype = kv_dtype  # None: the cache stores the compute dtype
        self.source = source or {}
        self.freq_factors = weights.get("rope_freqs.weight")
        if self.freq_factors is not None and self.freq_factors.shape != (hp.n_rot // 2,):
            raise ValueError(f"rope_freqs.weight has shape {self.freq_factors.shape}, "
                             f"expected ({hp.n_rot // 2},)")
        if hp.heads % hp.kv_heads:
            raise ValueError(f"heads {hp.heads} is not a multiple of kv_heads {hp.kv_heads}")

    @classmethod
    def load(cls, path, dtype=np.float64, kv_dtype=None):
        reader = gguf.GGUFReader(path)
        shapes = {t.name: tuple(int(d) for d in reversed(t.shape.tolist())) for t in reader.tensors}
        hp = read_hparams(reader, shapes)
        weights = load_weights(reader, dtype)
        source = {"path": os.path.basename(path), "sha256": file_sha256(path),
                  "tensor_types": sorted({t.tensor_type.name for t in reader.tensors})}
        return cls(hp, weights, dtype, source, kv_dtype)

    def lm_head_weight(self):
        return self.w.get("output.weight", self.w["token_embd.weight"])

    def new_cache(self, capacity=None):
        return KVCache(self.hp, self.dtype, capacity)

    def block(self, i, x, positions, angles, cache):
        hp, w = self.hp, self.w
        p = f"blk.{i}."
        xn = rms_norm(x, w[p + "attn_norm.weight"], hp.rms_eps)
        q = rope(linear(xn, w[p + "attn_q.weight"]), angles, hp.heads, hp.head_dim, hp.n_rot)
        k = rope(linear(xn, w[p + "attn_k.weight"]), angles, hp.kv_heads, hp.head_dim, hp.n_rot)
        v = linear(xn, w[p + "attn_v.weight"])
        cache.k[i][positions] = self.stored(k).reshape(-1, hp.kv_heads, hp.head_dim)
        cache.v[i][positions] = self.stored(v).reshape(-1, hp.kv_heads, hp.head_dim)
        a = attention(q, cache.k[i], cache.v[i], positions, hp.heads, hp.kv_heads, hp.head_dim)
        h = x + linear(a, w[p + "attn_output.weight"])
        hn = rms_norm(h, w[p + "ffn_norm.weight"], hp.rms_eps)
        return h + swiglu_ffn(hn, w[p + "ffn_gate.weight"], w[p + "ffn_up.weight"],
                              w[p + "ffn_down.weight"])

    def stored(self, x):
        """x as the KV cache holds it: rounded to kv_dtype (round to nearest even), if any."""
        return x if self.kv_dtype is None else x.astype(self.kv_dtype).astype(self.dtype)

    def hidden(self, tokens, cache):
        """Runs tokens at positions cache.length.. and appends them to the cache.

        Returns the final-norm input [S, D] (the last block's output)."""
        hp = self.hp
        tokens = list(tokens)
        start = cache.length
        if start + len(tokens) > cache.capacity:
            raise ValueError(f"{start} + {len(tokens)} tokens exceed the cache ({cache.capacity})")
        positions = np.arange(start, start + len(tokens))
        angles = rope_angles(positions, hp.n_rot, hp.rope_theta, self.freq_factors, self.dtype)
        x = embedding(self.w["token_embd.weight"], tokens)
        for i in range(hp.layers):
            x = self.block(i, x, positions, angles, cache)
        cache.length = start + len(tokens)
        return x

    def forward(self, tokens, cache, last_only=False):
        """Logits [S, V] (or [1, V] with last_only) of tokens appended at cache.length."""
        x = self.hidden(tokens, cache)
        if last_only:
            x = x[-1:]
        xn = rms_norm(x, self.w["output_norm.weight"], self.hp.rms_eps)
        return linear(xn, self.lm_head_weight())


# ---------------------------------------------------------------------------------------------
# Prefill + decode driver
# ---------------------------------------------------------------------------------------------

def top1_gap(logits):
    top2 = np.sort(np.asarray(logits, dtype=np.float64))[-2:]
    return float(top2[1] - top2[0])


def run(model, prompt, decode_steps=16, generate=None, feed=None, all_positions=False):
    """Prefill of `prompt`, then decode steps one token at a time (see the module docstring).

    feed: tokens to feed at the decode steps instead of the greedy ones (decode_steps = len)."""
    prompt = [int(t) for t in prompt]
    if not prompt:
        raise ValueError("empty prompt")
    if feed is not None:
        feed = [int(t) for t in feed]
        decode_steps = len(feed)
        generate = 0
    elif generate is None:
        generate = decode_steps + 1
    if feed is None and generate < decode_steps + 1:
        raise ValueError(f"--generate {generate} must be at least --decode-steps + 1 "
                         f"({decode_steps + 1}): decode step k feeds continuation[k]")
    steps = max(decode_steps, generate - 1)
    cache = model.new_cache(capacity=len(prompt) + steps)
    prefill = model.forward(prompt, cache, last_only=not all_positions)
    last = prefill[-1]
    out = {"prompt": np.array(prompt, np.int64),
           "prefill_logits_last": last}
    if all_positions:
        out["prefill_logits_all"] = prefill

    continuation = [int(np.argmax(last))] if feed is None else []
    continuation_gaps = [top1_gap(last)] if feed is None else []
    decode_tokens, decode_logits = [], []
    logits = last
    for k in range(steps):
        token = feed[k] if feed is not None else continuation[k]
        logits = model.forward([token], cache)[0]
        if k < decode_steps:
            decode_tokens.append(token)
            decode_logits.append(logits)
        if feed is None and len(continuation) < generate:
            continuation.append(int(np.argmax(logits)))
            continuation_gaps.append(top1_gap(logits))
    out["decode_tokens"] = np.array(decode_tokens, np.int64)
    out["decode_logits"] = (np.stack(decode_logits) if decode_logits
                            else np.zeros((0, model.hp.vocab), model.dtype))
    if feed is None:
        out["continuation"] = np.array(continuation[:generate], np.int64)
    out["top1_gap_prefill"] = np.float64(top1_gap(last))
    out["top1_gap_decode"] = np.array([top1_gap(l) for l in decode_logits], np.float64)
    if feed is None:
        out["top1_gap_continuation"] = np.array(continuation_gaps[:generate], np.float64)
    return out


def _json_floats(a):
    """Nested lists of floats rounded to 9 significant digits (float32 round-trips)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return float(f"{float(a):.9g}")
    return [_json_floats(x) for x in a]


def to_json(result, model_info, producer):
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "producer": producer,
           "model": model_info}
    for key, value in result.items():
        value = np.asarray(value)
        if value.dtype.kind in "iu":
            doc[key] = value.tolist()
        else:
            doc[key] = _json_floats(value)
    return doc


def write_result(path, result, model_info, producer):
    if path.endswith(".json"):
        with open(path, "w") as f:
            json.dump(to_json(result, model_info, producer), f, separators=(",", ":"))
            f.write("\n")
    else:
        np.savez(path, **result, producer=np.array(producer),
                 model=np.array(json.dumps(model_info)))


def parse_tokens(text):
    return [int(t) for t in text.replace(" ", "").split(",") if t != ""]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="GGUF file (general.architecture = llama)")
    ap.add_argument("--tokens", required=True, help="prompt token ids, comma separated")
    ap.add_argument("--decode-steps", type=int, default=16,
                    help="decode steps whose logits are written (default 16)")
    ap.add_argument("--generate", type=int, default=None,
                    help="greedy continuation length (default decode-steps + 1)")
    ap.add_argument("--feed", default=None,
                    help="tokens to feed at the decode steps instead of the greedy ones")
    ap.add_argument("--all-positions", action="store_true",
                    help="also write the prefill logits of every prompt position")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--kv-dtype", choices=["float16"], default=None,
                    help="store the KV cache rounded to this type (default: the compute dtype)")
    ap.add_argument("--out", required=True, help="output .npz or .json")
    args = ap.parse_args(argv)

    dtype = np.float64 if args.dtype == "float64" else np.float32
    model = LlamaRef.load(args.model, dtype, np.float16 if args.kv_dtype else None)
    feed = parse_tokens(args.feed) if args.feed is not None else None
    result = run(model, parse_tokens(args.tokens), args.decode_steps, args.generate, feed,
                 args.all_positions)
    info = dict(model.hp.as_dict(), source=model.source)
    write_result(args.out, result, info, f"test/reference/llama_ref.py numpy {args.dtype}")
    cont = result.get("continuation")
    print(f"llama_ref: prefill top1 {int(np.argmax(result['prefill_logits_last']))}, "
          f"{len(result['decode_tokens'])} decode steps"
          + (f", continuation {cont.tolist()}" if cont is not None else "")
          + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
