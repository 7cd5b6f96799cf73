#!/usr/bin/env python3
"""Checks scripts/golden/export_hf.py without torch: the exported Hugging Face checkpoint, run by a
small numpy model written the way transformers' LlamaForCausalLM computes (rotate_half RoPE on the
un-permuted q/k weights, inv_freq from config.json's rope_theta / rope_scaling, repeat_kv GQA,
eager causal attention), gives the logits test/reference/llama_ref.py computes on the GGUF
(adjacent-pair RoPE on GGUF's permuted rows, rope_freqs.weight). Agreement proves the q/k
permutation inversion, the config (heads, kv heads, eps, theta, llama3 scaling, tied embeddings)
and the safetensors file; negative controls show the comparison would catch a wrong inversion or
a missing rope_scaling.

Also: the safetensors file follows the format strictly (parsed here by its own reader);
run_hf_golden.py's framework-free driver (golden_run, compare_with_reference, to_json) run with
the numpy HF model gives llama_ref.py's results; and each committed test/data/golden/<name>/ is
self-consistent (its GGUF regenerates from export_info.json's synth_command with the same sha256
when greta-synth is available; the checkpoint reproduces numpy_ref.json; hf_logits.json, once the
GPU run has added it, agrees with numpy_ref.json within 1e-3 and has the same continuation).

Run by ctest as `hf_export`:  .venv/bin/python test/python/test_hf_export.py
"""
import glob
import json
import math
import os
import shlex
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "reference"))
sys.path.insert(0, os.path.join(REPO, "scripts", "golden"))
sys.path.insert(0, HERE)

import export_hf  # noqa: E402
import llama_ref  # noqa: E402
import llama_test_models as tm  # noqa: E402
import run_hf_golden  # noqa: E402

GOLDEN_DIR = os.environ.get("GRETA_TEST_DATA", os.path.join(REPO, "test", "data"))
GOLDEN_DIR = os.path.join(GOLDEN_DIR, "golden")

failures = []


def check(condition, what):
    print(f"{'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        failures.append(what)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


# ---------------------------------------------------------------------------------------------
# safetensors reader (strict, from the format description)
# ---------------------------------------------------------------------------------------------

def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    dtypes = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}
    tensors, spans = {}, []
    for name, h in header.items():
        begin, end = h["data_offsets"]
        dt = dtypes[h["dtype"]]
        count = int(np.prod(h["shape"])) if h["shape"] else 1
        assert end - begin == count * dt.itemsize, f"{name}: size mismatch"
        tensors[name] = np.frombuffer(body[begin:end], dt).reshape(h["shape"])
        spans.append((begin, end))
    spans.sort()
    contiguous = spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    layout = {"header_len": n, "aligned": n % 8 == 0, "contiguous": contiguous,
              "covers_file": spans[-1][1] == len(body), "metadata": meta}
    return tensors, layout


# ---------------------------------------------------------------------------------------------
# numpy model with transformers' LlamaForCausalLM conventions (full sequence, no cache)
# ---------------------------------------------------------------------------------------------

def hf_inv_freq(cfg):
    """LlamaRotaryEmbedding: default rope, or _compute_llama3_parameters for rope_type llama3."""
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg["rope_theta"]
    inv_freq = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))
    rs = cfg.get("rope_scaling")
    if rs:
        assert rs.get("rope_type", rs.get("type")) == "llama3", rs
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = np.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
        is_medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv_freq = np.where(is_medium, smoothed, inv_freq_llama)
    return inv_freq


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def hf_rms_norm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def hf_forward(cfg, W, ids):
    """Logits [S, V] of LlamaForCausalLM on ids (positions 0..S-1)."""
    ids = np.asarray(ids)
    S = len(ids)
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // H
    eps = cfg["rms_norm_eps"]
    W = {k: v.astype(np.float64) for k, v in W.items()}
    freqs = np.arange(S, dtype=np.float64)[:, None] * hf_inv_freq(cfg)[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)                       # [S, hd]
    cos, sin = np.cos(emb)[None], np.sin(emb)[None]
    mask = np.triu(np.full((S, S), -np.inf), k=1)
    x = W["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = hf_rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(S, H, hd).transpose(1, 0, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(S, Hkv, hd).transpose(1, 0, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(S, Hkv, hd).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, H // Hkv, axis=0)                                # repeat_kv
        v = np.repeat(v, H // Hkv, axis=0)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        a = (probs @ v).transpose(1, 0, 2).reshape(S, H * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = hf_rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ W[p + "mlp.up_proj.weight"].T)) @ \
            W[p + "mlp.down_proj.weight"].T
    x = hf_rms_norm(x, W["model.norm.weight"], eps)
    lm = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ lm.T


def load_hf_dir(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    tensors, layout = read_safetensors(os.path.join(d, "model.safetensors"))
    return cfg, tensors, layout


# ---------------------------------------------------------------------------------------------

def compare_export(gguf_path, out_dir, label, prompt, steps=6):
    cfg, _ = export_hf.export(gguf_path, out_dir)
    cfg2, W, layout = load_hf_dir(out_dir)
    check(cfg == json.loads(json.dumps(cfg2)), f"{label}: config.json round trip")
    check(layout["aligned"] and layout["contiguous"] and layout["covers_file"] and
          layout["metadata"].get("format") == "pt",
          f"{label}: safetensors layout (8-byte header, contiguous, metadata format pt)")
    check(all(v.dtype == np.dtype("<f4") for v in W.values()), f"{label}: all tensors F32")
    expected_names = {"model.embed_tokens.weight", "model.norm.weight"} | {
        f"model.layers.{i}.{n}.weight" for i in range(cfg["num_hidden_layers"]) for n in (
            "input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
            "mlp.down_proj")}
    if not cfg["tie_word_embeddings"]:
        expected_names.add("lm_head.weight")
    check(set(W) == expected_names, f"{label}: tensor names are LlamaForCausalLM's")

    m = llama_ref.LlamaRef.load(gguf_path)
    r = llama_ref.run(m, prompt, decode_steps=steps, generate=steps + 1, all_positions=True)
    seq = list(prompt) + r["decode_tokens"].tolist()
    hf = hf_forward(cfg2, W, seq)
    ours = np.concatenate([r["prefill_logits_all"], r["decode_logits"]])
    d = rel(hf, ours)
    check(d < 1e-6, f"{label}: HF-convention numpy on the export == llama_ref on the GGUF "
          f"(prefill + {steps} decode steps, rel {d:.2g})")
    with open(os.path.join(out_dir, "export_info.json")) as f:
        info = json.load(f)
    d = rel(hf_inv_freq(cfg2), info["expected_inv_freq"])
    check(d < 1e-6, f"{label}: expected_inv_freq == HF's inv_freq from config (rel {d:.2g}; "
          "rope_freqs.weight is float32)")
    return cfg2, W, seq, ours


def test_exports(tmp):
    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    # GQA, untied, no scaling.
    hp = tm.default_hparams(layers=2, dim=64, heads=4, kv_heads=2, ffn=96, vocab=80)
    p = tm.write_gguf(os.path.join(tmp, "gqa.gguf"), hp, tm.random_weights(hp, 21))
    cfg, W, seq, ours = compare_export(p, os.path.join(tmp, "gqa"), "GQA", prompt)
    # Negative control 1: q/k left in GGUF order.
    W_bad = dict(W)
    for i in range(cfg["num_hidden_layers"]):
        for n, heads in (("q_proj", cfg["num_attention_heads"]),
                         ("k_proj", cfg["num_key_value_heads"])):
            key = f"model.layers.{i}.self_attn.{n}.weight"
            W_bad[key] = export_hf.permute(W[key], heads)
    check(rel(hf_forward(cfg, W_bad, seq), ours) > 1e-3,
          "negative control: without the inverse permutation the logits differ")
    # Permutation helpers are inverses, and permute() is llama.cpp's (halves -> pairs).
    a = np.arange(2 * 8 * 3).reshape(16, 3)
    check(np.array_equal(export_hf.unpermute(export_hf.permute(a, 2), 2), a),
          "unpermute(permute(w)) == w")
    check(export_hf.permute(a, 2)[:4, 0].tolist() == [0, 12, 3, 15],
          "permute interleaves the halves of each head: rows 0, hd/2, 1, hd/2+1, ...")

    # MHA, tied.
    hp = tm.default_hparams(layers=1, dim=48, heads=3, kv_heads=3, ffn=64, vocab=50, tied=True)
    p = tm.write_gguf(os.path.join(tmp, "mha.gguf"), hp, tm.random_weights(hp, 22))
    cfg, _, _, _ = compare_export(p, os.path.join(tmp, "mha"), "MHA tied", prompt)
    check(cfg["tie_word_embeddings"] and cfg["num_key_value_heads"] == 3, "MHA tied config")

    # Llama-3.1 scaling with explicit llama.rope.scaling.* keys (non-default values) whose
    # factors span all three regimes at head_dim 16, theta 10000.
    params = dict(factor=16.0, low=1.0, high=4.0, ctx=64)
    factors = export_hf.llama3_factors(16, 10000.0, params["factor"], params["low"],
                                       params["high"], params["ctx"])
    check(len(set(np.round(factors, 6))) > 2,
          f"llama3 factors cover the regimes: {np.round(factors, 4).tolist()}")
    hp = tm.default_hparams(layers=2, dim=64, heads=4, kv_heads=1, ffn=96, vocab=80, tied=True,
                            rope_freqs=factors)
    kv = {"llama.rope.scaling.llama3_factor": (params["factor"], "f32"),
          "llama.rope.scaling.llama3_low_freq_factor": (params["low"], "f32"),
          "llama.rope.scaling.llama3_high_freq_factor": (params["high"], "f32"),
          "llama.rope.scaling.original_context_length": (params["ctx"], "u32")}
    p = tm.write_gguf(os.path.join(tmp, "l31.gguf"), hp, tm.random_weights(hp, 23), extra_kv=kv)
    long_prompt = list(range(1, 41))
    cfg, W, seq, ours = compare_export(p, os.path.join(tmp, "l31"), "llama3 rope scaling, MQA",
                                       long_prompt)
    check(cfg["rope_scaling"] == {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 64},
          f"rope_scaling from llama.rope.scaling.*: {cfg['rope_scaling']}")
    check(rel(hf_forward(dict(cfg, rope_scaling=None), W, seq), ours) > 1e-3,
          "negative control: without rope_scaling the logits differ")

    # Defaults (Llama-3.1's 8 / 1 / 4 / 8192) when the keys are absent.
    f = export_hf.llama3_factors(16, 500000.0, 8.0, 1.0, 4.0, 8192)
    hp = tm.default_hparams(rope_theta=500000.0, rope_freqs=f)
    p = tm.write_gguf(os.path.join(tmp, "l31d.gguf"), hp, tm.random_weights(hp, 24))
    cfg, _, _, _ = compare_export(p, os.path.join(tmp, "l31d"), "llama3 defaults", prompt)
    check(cfg["rope_scaling"]["factor"] == 8.0 and
          cfg["rope_scaling"]["original_max_position_embeddings"] == 8192, "llama3 defaults")

    # rope_freqs that no llama3 parameters explain is refused.
    hp = tm.default_hparams(rope_freqs=np.linspace(1, 3, 8))
    p = tm.write_gguf(os.path.join(tmp, "odd.gguf"), hp, tm.random_weights(hp, 25))
    try:
        export_hf.export(p, os.path.join(tmp, "odd"))
        refused = False
    except SystemExit as e:
        refused = "rope_freqs" in str(e)
    check(refused, "export refuses rope_freqs that rope_scaling cannot express")

    # A quantized GGUF is refused (the checkpoint must hold exactly the GGUF's values).
    from gguf import GGMLQuantizationType as Q
    hp = tm.default_hparams()
    p = tm.write_gguf(os.path.join(tmp, "q8.gguf"), hp, tm.random_weights(hp, 26), qtype=Q.Q8_0)
    try:
        export_hf.export(p, os.path.join(tmp, "q8"))
        refused = False
    except SystemExit as e:
        refused = "Q8_0" in str(e)
    check(refused, "export refuses quantized tensors")


def test_golden_driver(tmp):
    """run_hf_golden.py's torch-free driver, with the numpy HF model as the 'framework'."""
    hp = tm.default_hparams()
    p = tm.write_gguf(os.path.join(tmp, "drv.gguf"), hp, tm.random_weights(hp, 31))
    d = os.path.join(tmp, "drv")
    export_hf.export(p, d)
    cfg, W, _ = load_hf_dir(d)

    def step(tokens, state):       # state: the tokens so far (a "cache")
        seq = (state or []) + list(tokens)
        return hf_forward(cfg, W, seq)[-len(tokens):], seq

    prompt = [7, 7, 1, 30, 2]
    res = run_hf_golden.golden_run(step, prompt, decode_steps=5, generate=9)
    m = llama_ref.LlamaRef.load(p)
    r = llama_ref.run(m, prompt, decode_steps=5, generate=9, all_positions=True)
    ref_doc = llama_ref.to_json(r, {}, "llama_ref")
    cmp = run_hf_golden.compare_with_reference(res, ref_doc)
    check(cmp["prompt_equal"] and cmp["continuation_equal"] and cmp["decode_steps_compared"] == 5
          and max(cmp["prefill_last_rel"], cmp["prefill_all_rel"], cmp["decode_rel"]) < 1e-6,
          f"golden_run + compare_with_reference agree with llama_ref: {cmp}")
    full = hf_forward(cfg, W, prompt + res["decode_tokens"])
    check(run_hf_golden.check_full_sequence(res, full) < 1e-6, "check_full_sequence")
    doc = run_hf_golden.to_json(res, "numpy-hf", {}, {})
    back = json.loads(json.dumps(doc))
    check(set(back) >= {"prompt", "prefill_logits_last", "prefill_logits_all", "decode_tokens",
                        "decode_logits", "continuation", "top1_gap_prefill", "top1_gap_decode",
                        "format", "checks"} and
          np.asarray(back["decode_logits"]).shape == (5, hp["vocab"]) and
          len(back["continuation"]) == 9, "hf_logits.json schema and shapes")
    ref_keys = {k for k in ref_doc if k not in ("model", "producer")}
    check(ref_keys <= set(back) | {"format_version"}, "llama_ref JSON keys ⊆ hf_logits.json keys")
    # A diverging continuation is reported, and only the common decode steps are compared.
    cont = list(ref_doc["continuation"])
    cont[3] = (cont[3] + 1) % hp["vocab"]
    fed = list(ref_doc["decode_tokens"])
    fed[3] = cont[3]
    cmp = run_hf_golden.compare_with_reference(res, dict(ref_doc, continuation=cont,
                                                         decode_tokens=fed))
    check(not cmp["continuation_equal"] and cmp["decode_steps_compared"] == 3 and
          cmp["continuation_first_difference"] == 3, f"divergence reported: {cmp}")


class _FakeTensor:
    """Just enough of a torch.Tensor for run_hf_golden.main()."""

    def __init__(self, a, dtype="torch.float32"):
        self.a = np.asarray(a)
        self.dtype = dtype

    def __getitem__(self, i):
        return _FakeTensor(self.a[i], self.dtype)

    def float(self):
        return self

    def double(self):
        return self

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a

    def data_ptr(self):
        return id(self.a)


def fake_torch_modules(model_dir_cfg, W, calls):
    """Stand-ins for torch and transformers whose LlamaForCausalLM is hf_forward()."""
    import types

    torch = types.ModuleType("torch")
    torch.__version__ = "fake"
    torch.long = "torch.long"
    torch.float32 = "torch.float32"
    torch.backends = types.SimpleNamespace(cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(
        allow_tf32=True)), cudnn=types.SimpleNamespace(allow_tf32=True))
    torch.set_float32_matmul_precision = lambda p: calls.append(("precision", p))
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    torch.tensor = lambda data, dtype=None, device=None: _FakeTensor(data, dtype)
    torch.equal = lambda a, b: np.array_equal(a.a, b.a)

    class NoGrad:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    torch.no_grad = NoGrad
    torch.device = lambda d: d

    class FakeModel:
        def __init__(self, cfg):
            self.config = types.SimpleNamespace(tie_word_embeddings=cfg["tie_word_embeddings"],
                                                _attn_implementation="eager")
            emb = _FakeTensor(W["model.embed_tokens.weight"])
            self.model = types.SimpleNamespace(embed_tokens=types.SimpleNamespace(weight=emb))
            self.lm_head = types.SimpleNamespace(weight=emb if cfg["tie_word_embeddings"]
                                                 else _FakeTensor(W["lm_head.weight"]))
            self.cfg = cfg

        def to(self, device=None, dtype=None):
            calls.append(("to", device, dtype))
            return self

        def eval(self):
            return self

        def parameters(self):
            return [_FakeTensor(v) for v in W.values()]

        def named_buffers(self):
            inv = hf_inv_freq(self.cfg).astype(np.float32)
            return [("model.rotary_emb.inv_freq", _FakeTensor(inv))]

        def __call__(self, input_ids, past_key_values=None, use_cache=True):
            ids = input_ids.a[0].tolist()
            seq = (past_key_values or []) + ids
            logits = hf_forward(self.cfg, W, seq)[-len(ids):].astype(np.float32)
            calls.append(("forward", len(ids), use_cache))
            return types.SimpleNamespace(logits=_FakeTensor(logits[None]),
                                         past_key_values=seq if use_cache else None)

    class LlamaForCausalLM:
        @staticmethod
        def from_pretrained(path, torch_dtype=None, attn_implementation=None,
                            output_loading_info=False):
            calls.append(("from_pretrained", path, torch_dtype, attn_implementation))
            info = {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [],
                    "error_msgs": []}
            return FakeModel(model_dir_cfg), info

    transformers = types.ModuleType("transformers")
    transformers.__version__ = "fake"
    transformers.LlamaForCausalLM = LlamaForCausalLM
    return {"torch": torch, "transformers": transformers}


def test_run_hf_golden_main(tmp):
    """run_hf_golden.main() end to end on a copy of each committed directory, with torch and
    transformers replaced by the numpy HF model: the checks pass and hf_logits.json matches."""
    import shutil
    dirs = sorted(d for d in glob.glob(os.path.join(GOLDEN_DIR, "*"))
                  if os.path.exists(os.path.join(d, "config.json")))
    if not dirs:
        print("skip run_hf_golden.main with stand-ins: no committed golden directories")
        return
    for src in dirs:
        name = os.path.basename(src)
        d = os.path.join(tmp, "main-" + name)
        shutil.copytree(src, d, ignore=shutil.ignore_patterns("hf_logits*.json"))
        cfg, W, _ = load_hf_dir(d)
        calls = []
        saved = {k: sys.modules.get(k) for k in ("torch", "transformers")}
        sys.modules.update(fake_torch_modules(cfg, W, calls))
        try:
            rc = run_hf_golden.main([d])
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        ok = rc == 0 and os.path.exists(os.path.join(d, "hf_logits.json"))
        check(ok, f"{name}: run_hf_golden.main with numpy stand-ins exits 0 and writes "
              "hf_logits.json")
        if not ok:
            continue
        check(("from_pretrained", d, "torch.float32", "eager") in calls,
              f"{name}: loads float32 with eager attention")
        forwards = [c for c in calls if c[0] == "forward"]
        with open(os.path.join(d, "prompt.json")) as f:
            spec = json.load(f)
        n = len(spec["prompt"])
        check(forwards[0] == ("forward", n, True) and
              all(c == ("forward", 1, True) for c in forwards[1:spec["generate"]]) and
              forwards[spec["generate"]] == ("forward", n + spec["decode_steps"], False),
              f"{name}: one prefill, {spec['generate'] - 1} cached decode steps, one "
              "full-sequence check")
        with open(os.path.join(d, "hf_logits.json")) as f:
            hf = json.load(f)
        with open(os.path.join(d, "numpy_ref.json")) as f:
            ref = json.load(f)
        if cfg.get("rope_scaling"):
            # Negative control: a transformers that ignored rope_scaling is caught.
            calls2 = []
            d2 = d + "-noscale"
            shutil.copytree(d, d2, ignore=shutil.ignore_patterns("hf_logits*.json"))
            sys.modules.update(fake_torch_modules(dict(cfg, rope_scaling=None), W, calls2))
            try:
                rc2 = run_hf_golden.main([d2])
            finally:
                for k, v in saved.items():
                    if v is None:
                        sys.modules.pop(k, None)
                    else:
                        sys.modules[k] = v
            check(rc2 == 1 and os.path.exists(os.path.join(d2, "hf_logits.failed.json")) and
                  not os.path.exists(os.path.join(d2, "hf_logits.json")),
                  f"{name}: negative control: rope_scaling ignored -> exit 1, "
                  "hf_logits.failed.json only")
        cmp = hf["checks"]["vs_numpy_reference"]
        check(hf["checks"]["load_problems"] == [] and cmp["continuation_equal"] and
              hf["continuation"] == ref["continuation"] and
              rel(hf["decode_logits"], ref["decode_logits"]) < 1e-6 and
              hf["model"]["safetensors_sha256"] == ref_sha(d),
              f"{name}: written hf_logits.json agrees with numpy_ref.json ({cmp})")


def ref_sha(d):
    with open(os.path.join(d, "export_info.json")) as f:
        return json.load(f)["safetensors_sha256"]


def test_committed_golden(tmp):
    dirs = sorted(d for d in glob.glob(os.path.join(GOLDEN_DIR, "*"))
                  if os.path.exists(os.path.join(d, "config.json")))
    if not dirs:
        print(f"skip committed golden checks: none under {GOLDEN_DIR}")
        return
    synth = tm.find_synth()
    for d in dirs:
        name = os.path.basename(d)
        cfg, W, layout = load_hf_dir(d)
        with open(os.path.join(d, "export_info.json")) as f:
            info = json.load(f)
        with open(os.path.join(d, "numpy_ref.json")) as f:
            ref = json.load(f)
        check(os.path.getsize(os.path.join(d, "model.safetensors")) <= 2_000_000,
              f"{name}: model.safetensors <= 2 MB")
        check(export_hf.sha256(os.path.join(d, "model.safetensors")) ==
              info["safetensors_sha256"], f"{name}: safetensors sha256 as exported")
        seq = ref["prompt"] + ref["decode_tokens"]
        ours = np.concatenate([np.asarray(ref["prefill_logits_all"]),
                               np.asarray(ref["decode_logits"])])
        dd = rel(hf_forward(cfg, W, seq), ours)
        check(dd < 1e-6, f"{name}: checkpoint reproduces numpy_ref.json (rel {dd:.2g})")
        if synth and info.get("synth_command"):
            argv = shlex.split(info["synth_command"])
            g = tm.synth(os.path.join(tmp, f"{name}.gguf"), *argv[1:])
            check(export_hf.sha256(g) == info["source_gguf"]["sha256"],
                  f"{name}: '{info['synth_command']}' regenerates the source GGUF (sha256)")
        hf_path = os.path.join(d, "hf_logits.json")
        if os.path.exists(hf_path):
            with open(hf_path) as f:
                hf = json.load(f)
            check(hf.get("model", {}).get("safetensors_sha256") == info["safetensors_sha256"],
                  f"{name}: hf_logits.json was made from this model.safetensors")
            check(hf.get("checks", {}).get("load_problems") == [],
                  f"{name}: hf_logits.json recorded no load problems")
            cmp = run_hf_golden.compare_with_reference(hf, ref)
            worst = max(cmp["prefill_last_rel"], cmp.get("prefill_all_rel", 0.0),
                        cmp["decode_rel"])
            check(cmp["prompt_equal"] and cmp["continuation_equal"] and worst < 1e-3,
                  f"{name}: hf_logits.json ({hf.get('producer')}) agrees with numpy_ref.json "
                  f"(rel {worst:.2g}, continuation equal {cmp['continuation_equal']})")
        else:
            print(f"note {name}: no hf_logits.json yet (made on the GPU machine)")


def test_synth_export(tmp):
    if tm.find_synth() is None:
        if os.environ.get("GRETA_BIN_DIR"):
            check(False, "greta-synth not found in GRETA_BIN_DIR")
        else:
            print("skip greta-synth exports (no greta-synth)")
        return
    for label, args in (
            ("greta-synth GQA", ["--layers", "2", "--dim", "128", "--heads", "4", "--kv-heads",
                                 "2", "--ffn", "256", "--seed", "5"]),
            ("greta-synth llama3 tied", ["--layers", "2", "--dim", "128", "--heads", "2",
                                         "--kv-heads", "1", "--ffn", "384", "--tied-embeddings",
                                         "--rope-scaling", "llama3", "--rope-original-context",
                                         "32", "--rope-scaling-factor", "4", "--seed", "6"])):
        g = tm.synth(os.path.join(tmp, "s.gguf"), "--preset", "tiny", "--quant", "f32", *args)
        compare_export(g, os.path.join(tmp, label.replace(" ", "_")), label,
                       [538, 100, 200, 300, 400, 12, 13, 14, 15, 16, 17, 18], steps=8)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_exports(tmp)
        test_golden_driver(tmp)
        test_synth_export(tmp)
        test_committed_golden(tmp)
        test_run_hf_golden_main(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
