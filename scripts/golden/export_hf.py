#!/usr/bin/env python3
"""Exports a Llama GGUF (F32 or F16 weights) as a Hugging Face LlamaForCausalLM checkpoint.

    export_hf.py MODEL.gguf OUT_DIR [--synth-command "greta-synth ..."]

writes OUT_DIR/config.json, OUT_DIR/model.safetensors and OUT_DIR/export_info.json. It needs only
numpy and gguf (the safetensors file is written by the small writer below, following the format:
8-byte little-endian header length, a JSON header, then the raw little-endian tensor bytes), so
the export runs on a machine without torch and the directory is carried to one that has
transformers (scripts/golden/run_hf_golden.py).

Weight mapping (GGUF numpy shape [rows, row_length] = HF nn.Linear [out_features, in_features]):
    token_embd.weight              model.embed_tokens.weight
    blk.N.attn_norm.weight         model.layers.N.input_layernorm.weight
    blk.N.attn_q.weight            model.layers.N.self_attn.q_proj.weight   (rope order inverted)
    blk.N.attn_k.weight            model.layers.N.self_attn.k_proj.weight   (rope order inverted)
    blk.N.attn_v.weight            model.layers.N.self_attn.v_proj.weight
    blk.N.attn_output.weight       model.layers.N.self_attn.o_proj.weight
    blk.N.ffn_norm.weight          model.layers.N.post_attention_layernorm.weight
    blk.N.ffn_gate/up/down.weight  model.layers.N.mlp.gate_proj/up_proj/down_proj.weight
    output_norm.weight             model.norm.weight
    output.weight                  lm_head.weight  (absent: tie_word_embeddings = true)
    rope_freqs.weight              not a weight in HF: rope_scaling {"rope_type": "llama3", ...}

RoPE order: llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of
each q/k head from HF's halves layout (rotate_half pairs dim i with i + hd/2) to adjacent pairs
(2i, 2i+1):  gguf = hf.reshape(heads, 2, hd/2, K).swapaxes(1, 2).reshape(...)
(k uses kv_heads). unpermute() below is its inverse.

Llama-3.1 scaling: the factors in rope_freqs.weight must equal the ones HF derives from
rope_scaling (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings), read
from llama.rope.scaling.* (factor | llama3_factor, llama3_low_freq_factor,
llama3_high_freq_factor, original_context_length; Llama-3.1's values where a key is absent).
The export recomputes the factors from those values and refuses the model if they differ.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import gguf
from gguf.quants import dequantize

LLAMA3_DEFAULTS = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192}


# ---------------------------------------------------------------------------------------------
# safetensors writer (numpy only)
# ---------------------------------------------------------------------------------------------

_ST_DTYPES = {"f4": "F32", "f2": "F16", "f8": "F64", "i8": "I64", "i4": "I32"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: np.ndarray}; written in name order, contiguous, little-endian.

    Header: {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
    offsets relative to the first byte after the header; the header is padded with spaces to a
    multiple of 8 bytes (as the safetensors library writes it)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        code = f"{a.dtype.kind}{a.dtype.itemsize}"
        if code not in _ST_DTYPES:
            raise ValueError(f"{name}: dtype {a.dtype} not supported")
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes(order="C")
        header[name] = {"dtype": _ST_DTYPES[code],
                        "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# GGUF → HF
# ---------------------------------------------------------------------------------------------

def unpermute(w, n_head):
    """Inverse of llama.cpp's permute(): GGUF adjacent-pair rows → HF rotate_half rows."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, hd // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute(w, n_head):
    """llama.cpp's permute() (HF → GGUF), for tests."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_factors(head_dim, theta, factor, low_freq_factor, high_freq_factor, original_context):
    """The divisors of each frequency, as HF's _compute_llama3_parameters implies them."""
    low_freq_wavelen = original_context / low_freq_factor
    high_freq_wavelen = original_context / high_freq_factor
    out = []
    for i in range(head_dim // 2):
        inv_freq = 1.0 / theta ** (2.0 * i / head_dim)
        wavelen = 2.0 * math.pi / inv_freq
        if wavelen < high_freq_wavelen:
            out.append(1.0)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor -
                                                                        low_freq_factor)
            out.append(1.0 / ((1.0 - smooth) / factor + smooth))
    return np.array(out)


def _value(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_gguf(path):
    reader = gguf.GGUFReader(path)
    arch = _value(reader, "general.architecture")
    if arch != "llama":
        raise SystemExit(f"{path}: general.architecture is {arch!r}, expected 'llama'")
    weights = {}
    for t in reader.tensors:
        if t.tensor_type not in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            raise SystemExit(f"{path}: {t.name} is {t.tensor_type.name}; export an F32 (or F16) "
                             "model so the checkpoint holds exactly the GGUF's values")
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        weights[t.name] = np.asarray(dequantize(t.data, t.tensor_type),
                                     dtype=np.float32).reshape(shape)
    return reader, weights


def build_config(reader, weights):
    def key(name, default=None):
        return _value(reader, f"llama.{name}", default)

    dim = int(key("embedding_length"))
    heads = int(key("attention.head_count"))
    kv_heads = int(key("attention.head_count_kv", heads))
    head_dim = int(key("attention.key_length", dim // heads))
    n_rot = int(key("rope.dimension_count", head_dim))
    if n_rot != head_dim:
        raise SystemExit(f"rope.dimension_count {n_rot} != head_dim {head_dim}: HF Llama rotates "
                         "whole heads")
    theta = float(key("rope.freq_base", 10000.0))
    vocab = weights["token_embd.weight"].shape[0]
    tied = "output.weight" not in weights
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": dim,
        "intermediate_size": int(key("feed_forward_length")),
        "num_hidden_layers": int(key("block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": int(key("context_length", 2048)),
        "rms_norm_eps": float(np.float32(key("attention.layer_norm_rms_epsilon", 1e-5))),
        "rope_theta": theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "initializer_range": 0.02,
        "tie_word_embeddings": tied,
        "vocab_size": vocab,
        "use_cache": True,
        "torch_dtype": "float32",
    }
    for name, hf in (("tokenizer.ggml.bos_token_id", "bos_token_id"),
                     ("tokenizer.ggml.eos_token_id", "eos_token_id")):
        v = _value(reader, name)
        if v is not None:
            cfg[hf] = int(v)

    # Reported separately: what GGUF's rope_freqs says, and the HF frequencies it must give.
    inv_freq = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if "rope_freqs.weight" in weights:
        def scaling(*names, default):
            for n in names:
                v = key(f"rope.scaling.{n}")
                if v is not None:
                    return float(v)
            return float(default)
        params = {
            "factor": scaling("llama3_factor", "factor", default=LLAMA3_DEFAULTS["factor"]),
            "low_freq_factor": scaling("llama3_low_freq_factor",
                                       default=LLAMA3_DEFAULTS["low_freq_factor"]),
            "high_freq_factor": scaling("llama3_high_freq_factor",
                                        default=LLAMA3_DEFAULTS["high_freq_factor"]),
            "original_max_position_embeddings": int(scaling(
                "original_context_length",
                default=LLAMA3_DEFAULTS["original_max_position_embeddings"])),
        }
        expected = llama3_factors(head_dim, theta, params["factor"], params["low_freq_factor"],
                                  params["high_freq_factor"],
                                  params["original_max_position_embeddings"])
        stored = weights["rope_freqs.weight"].astype(np.float64)
        if stored.shape != expected.shape or not np.allclose(stored, expected, rtol=1e-5):
            raise SystemExit("rope_freqs.weight is not the llama3 scaling of the parameters in "
                             f"llama.rope.scaling.* ({params}): stored {stored.tolist()}, "
                             f"expected {expected.tolist()}")
        cfg["rope_scaling"] = dict(params, rope_type="llama3")
        inv_freq = inv_freq / stored
    return cfg, inv_freq


def hf_tensors(weights, cfg):
    heads, kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    out = {"model.embed_tokens.weight": weights["token_embd.weight"],
           "model.norm.weight": weights["output_norm.weight"]}
    if not cfg["tie_word_embeddings"]:
        out["lm_head.weight"] = weights["output.weight"]
    for i in range(cfg["num_hidden_layers"]):
        g, h = f"blk.{i}.", f"model.layers.{i}."
        out[h + "input_layernorm.weight"] = weights[g + "attn_norm.weight"]
        out[h + "self_attn.q_proj.weight"] = unpermute(weights[g + "attn_q.weight"], heads)
        out[h + "self_attn.k_proj.weight"] = unpermute(weights[g + "attn_k.weight"], kv_heads)
        out[h + "self_attn.v_proj.weight"] = weights[g + "attn_v.weight"]
        out[h + "self_attn.o_proj.weight"] = weights[g + "attn_output.weight"]
        out[h + "post_attention_layernorm.weight"] = weights[g + "ffn_norm.weight"]
        out[h + "mlp.gate_proj.weight"] = weights[g + "ffn_gate.weight"]
        out[h + "mlp.up_proj.weight"] = weights[g + "ffn_up.weight"]
        out[h + "mlp.down_proj.weight"] = weights[g + "ffn_down.weight"]
    used = {"token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight"}
    used |= {f"blk.{i}.{n}.weight" for i in range(cfg["num_hidden_layers"])
             for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                       "ffn_gate", "ffn_up", "ffn_down")}
    unused = sorted(set(weights) - used)
    if unused:
        raise SystemExit(f"GGUF tensors with no HF Llama counterpart: {unused}")
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def export(gguf_path, out_dir, synth_command=None):
    reader, weights = read_gguf(gguf_path)
    cfg, inv_freq = build_config(reader, weights)
    tensors = hf_tensors(weights, cfg)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors,
                      {"format": "pt", "source": "scripts/golden/export_hf.py"})
    info = {
        "source_gguf": {"name": os.path.basename(gguf_path), "sha256": sha256(gguf_path),
                        "size": os.path.getsize(gguf_path)},
        "synth_command": synth_command,
        "exported_by": "scripts/golden/export_hf.py",
        # HF's rotary frequencies must equal these (theta^(-2i/hd) / rope_freqs[i]);
        # run_hf_golden.py checks the loaded model's inv_freq against them.
        "expected_inv_freq": [float(x) for x in inv_freq],
        "safetensors_sha256": sha256(os.path.join(out_dir, "model.safetensors")),
    }
    with open(os.path.join(out_dir, "export_info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    return cfg, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gguf", help="F32/F16 Llama GGUF (e.g. from greta-synth --quant f32)")
    ap.add_argument("out_dir")
    ap.add_argument("--synth-command", default=None,
                    help="the command that made the GGUF, recorded in export_info.json")
    args = ap.parse_args(argv)
    cfg, _ = export(args.gguf, args.out_dir, args.synth_command)
    size = os.path.getsize(os.path.join(args.out_dir, "model.safetensors"))
    print(f"export_hf: {args.gguf} -> {args.out_dir} ({cfg['num_hidden_layers']} layers, dim "
          f"{cfg['hidden_size']}, heads {cfg['num_attention_heads']}/"
          f"{cfg['num_key_value_heads']}, vocab {cfg['vocab_size']}, tied "
          f"{cfg['tie_word_embeddings']}, rope_scaling {cfg['rope_scaling'] is not None}; "
          f"model.safetensors {size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
