#!/usr/bin/env python3
"""CPU-backend logits of compiled bundles vs Hugging Face transformers' golden logits.

For each model of test/data/golden/ (tiny-gqa; tiny-llama31-tied: tied embeddings + Llama-3.1
RoPE scaling), the GGUF is regenerated with the recorded `greta-synth` command (its sha256 must
match export_info.json, else the golden data no longer describe it), compiled with greta-compile,
and run on the recorded prompt:

  * prefill-last logits and the 16 decode steps (fed hf's decode_tokens) within 1e-3 relative
    (||greta - hf|| / ||hf||) of hf_logits.json (transformers LlamaForCausalLM, float32 eager on a
    GPU: its own kernels and summation order, hence the looser bound than against numpy);
  * the greedy 32-token continuation identical to hf's (every golden top-1 gap is >= 0.02, far
    above the differences measured);
  * the same run within 1e-4 of numpy_ref.json (llama_ref.py, float64), as a cross-check.

These bundles keep f32 KV caches (--kv-cache-dtype=f32), as transformers' float32 model does; the
default bundle for a GPU (binary16 caches, which round every stored key and value by up to
2^-11) is held to the same 1e-3 of transformers and gives the same greedy continuation.
"""
import hashlib
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

HF_TOLERANCE = 1e-3
NUMPY_TOLERANCE = 1e-4
MODELS = ["tiny-gqa", "tiny-llama31-tied"]


def load(path):
    with open(path) as f:
        return json.load(f)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Tests that a golden model's regenerated, compiled bundle matches transformers' logits within
# 1e-3 (prefill + 16 decode steps) and reproduces its greedy 32-token continuation exactly.
def test_model(work, name):
    d = os.path.join(e2e.TEST_DATA, "golden", name)
    info = load(os.path.join(d, "export_info.json"))
    prompt_info = load(os.path.join(d, "prompt.json"))
    hf = load(os.path.join(d, "hf_logits.json"))
    npref = load(os.path.join(d, "numpy_ref.json"))

    args = shlex.split(info["synth_command"])
    assert args[0] == "greta-synth", info["synth_command"]
    gguf_path = os.path.join(work, info["source_gguf"]["name"])
    e2e.run([e2e.tool("greta-synth"), "-o", gguf_path, *args[1:]])
    if not e2e.check(sha256(gguf_path) == info["source_gguf"]["sha256"],
                     f"{name}: regenerated GGUF has the recorded sha256"):
        return
    bundle = e2e.compile_bundle(gguf_path, os.path.join(work, name + ".greta"),
                                "--kv-cache-dtype=f32")
    prompt = prompt_info["prompt"]
    steps = prompt_info["decode_steps"]
    generate = prompt_info["generate"]
    e2e.check(hf["prompt"] == prompt, f"{name}: hf_logits.json is for prompt.json's prompt")

    fed = e2e.greta_logits(bundle, prompt, feed=hf["decode_tokens"])
    p_err, d_err = e2e.logits_error(fed, hf)
    e2e.check(p_err <= HF_TOLERANCE,
              f"{name}: prefill-last vs transformers rel err {p_err:.2e} <= {HF_TOLERANCE:g}")
    e2e.check(len(fed["decode_logits"]) == steps and d_err <= HF_TOLERANCE,
              f"{name}: {steps} decode steps vs transformers, max rel err {d_err:.2e} <= "
              f"{HF_TOLERANCE:g}")
    np_p, np_d = e2e.logits_error(fed, npref)
    e2e.check(max(np_p, np_d) <= NUMPY_TOLERANCE,
              f"{name}: same run vs numpy_ref.json rel err prefill {np_p:.2e}, decode {np_d:.2e} "
              f"<= {NUMPY_TOLERANCE:g}")

    greedy = e2e.greta_logits(bundle, prompt, decode_steps=steps, generate=generate)
    e2e.check(greedy["continuation"] == hf["continuation"],
              f"{name}: greedy {generate}-token continuation identical to transformers' "
              f"({greedy['continuation'][:8]}...)")

    kv16 = e2e.compile_bundle(gguf_path, os.path.join(work, name + "-kv16.greta"))
    fed16 = e2e.greta_logits(kv16, prompt, feed=hf["decode_tokens"])
    kv_err = max(e2e.logits_error(fed16, hf))
    e2e.check(kv_err <= HF_TOLERANCE,
              f"{name}: default bundle (binary16 KV caches) vs transformers, max rel err "
              f"{kv_err:.2e} <= {HF_TOLERANCE:g}")
    greedy16 = e2e.greta_logits(kv16, prompt, decode_steps=steps, generate=generate)
    e2e.check(greedy16["continuation"] == hf["continuation"],
              f"{name}: binary16 KV caches, greedy continuation identical to transformers'")
    return p_err, d_err, np_p, np_d, kv_err


def main():
    work = e2e.work_dir()
    rows = []
    for name in MODELS:
        r = test_model(work, name)
        if r:
            rows.append((name, *r))
    print("\nmodel              hf-prefill  hf-decode  numpy-prefill  numpy-decode  hf-kv16")
    for name, a, b, c, d, e in rows:
        print(f"{name:18} {a:10.2e} {b:10.2e} {c:14.2e} {d:13.2e} {e:8.2e}")
    e2e.finish()


if __name__ == "__main__":
    main()
