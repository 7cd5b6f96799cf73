"""Small random Llama GGUFs written with gguf-py's GGUFWriter, for the reference's self-checks
(test_llama_ref.py, test_hf_export.py). Independent of greta-synth, so those checks control every
weight; the tests also run greta-synth's own files when GRETA_BIN_DIR has it.

Weights are numpy arrays in GGUF numpy shape ([rows, row_length] = ggml dims reversed)."""
import os
import subprocess

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def default_hparams(**kw):
    hp = dict(layers=2, dim=64, heads=4, kv_heads=2, ffn=96, vocab=80, context=128,
              rope_theta=10000.0, rms_eps=1e-5, tied=False, rope_freqs=None, head_dim=None)
    hp.update(kw)
    if hp["head_dim"] is None:
        hp["head_dim"] = hp["dim"] // hp["heads"]
    return hp


def random_weights(hp, seed=0):
    rng = np.random.default_rng(seed)
    d, hd, f, v = hp["dim"], hp["head_dim"], hp["ffn"], hp["vocab"]

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w = {"token_embd.weight": (rng.standard_normal((v, d))).astype(np.float32),
         "output_norm.weight": norm(d)}
    if not hp["tied"]:
        w["output.weight"] = mat(v, d)
    if hp["rope_freqs"] is not None:
        w["rope_freqs.weight"] = np.asarray(hp["rope_freqs"], np.float32)
    for i in range(hp["layers"]):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = norm(d)
        w[p + "attn_q.weight"] = mat(hp["heads"] * hd, d)
        w[p + "attn_k.weight"] = mat(hp["kv_heads"] * hd, d)
        w[p + "attn_v.weight"] = mat(hp["kv_heads"] * hd, d)
        w[p + "attn_output.weight"] = mat(d, hp["heads"] * hd)
        w[p + "ffn_norm.weight"] = norm(d)
        w[p + "ffn_gate.weight"] = mat(f, d)
        w[p + "ffn_up.weight"] = mat(f, d)
        w[p + "ffn_down.weight"] = mat(d, f)
    return w


def write_gguf(path, hp, weights, qtype=Q.F32, extra_kv=None):
    """Matrices in qtype (F32, F16, Q8_0, ... what gguf.quants.quantize supports), norms and
    rope_freqs in F32."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(hp["layers"])
    w.add_context_length(hp["context"])
    w.add_embedding_length(hp["dim"])
    w.add_feed_forward_length(hp["ffn"])
    w.add_head_count(hp["heads"])
    w.add_head_count_kv(hp["kv_heads"])
    w.add_rope_freq_base(hp["rope_theta"])
    w.add_layer_norm_rms_eps(hp["rms_eps"])
    w.add_rope_dimension_count(hp["head_dim"])
    w.add_vocab_size(hp["vocab"])
    w.add_file_type(0)
    for key, (value, kind) in (extra_kv or {}).items():
        if kind == "f32":
            w.add_float32(key, value)
        else:
            w.add_uint32(key, value)
    for name, a in weights.items():
        if a.ndim == 2 and qtype != Q.F32:
            if qtype == Q.F16:
                w.add_tensor(name, a.astype(np.float16))
            else:
                w.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(name, a.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def find_synth():
    """greta-synth from GRETA_BIN_DIR (set by ctest), or None."""
    bin_dir = os.environ.get("GRETA_BIN_DIR")
    candidates = [os.path.join(bin_dir, "greta-synth")] if bin_dir else []
    candidates += [os.path.join(REPO, d, "bin", "greta-synth")
                   for d in ("build", "build-ref", "build-synth")]
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    return None


def synth(path, *args):
    exe = find_synth()
    subprocess.run([exe, "-o", path, "--threads", "1", *args], check=True,
                   capture_output=True, text=True)
    return path
