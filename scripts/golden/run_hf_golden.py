#!/usr/bin/env python3
"""Golden logits from Hugging Face transformers for a checkpoint written by export_hf.py.

Runs on a machine with torch + transformers + numpy (GPU or CPU; no network, no gguf needed):

    python3 scripts/golden/run_hf_golden.py test/data/golden/NAME [--device auto|cpu|cuda]

Loads NAME/ with LlamaForCausalLM in float32 (attn_implementation="eager", TF32 off), runs the
prompt of NAME/prompt.json ({"prompt": [...], "decode_steps": 16, "generate": 32}; --tokens,
--decode-steps, --generate override it) as one prefill, then one token at a time through the KV
cache feeding the greedy tokens, and writes NAME/hf_logits.json:

    prompt               [N]       prompt tokens
    prefill_logits_last  [V]       logits at the last prompt position
    prefill_logits_all   [N, V]    every prompt position
    decode_tokens        [D]       token fed at decode step k (position N+k) = continuation[k]
    decode_logits        [D, V]    logits of decode step k
    continuation         [G]       greedy continuation (continuation[0] = argmax of prefill)
    top1_gap_prefill, top1_gap_decode [D], top1_gap_continuation [G]
                                   top-1 minus top-2 logit (near-ties if small)
    checks               what was verified (below), with the numbers

(the same keys test/reference/llama_ref.py writes). It checks the following first; on a failure
it writes NAME/hf_logits.failed.json instead (for inspection), names the failure and exits 1:
  * every weight loaded (no missing / unexpected / mismatched keys), all parameters float32;
  * the rotary inv_freq of the loaded model equals export_info.json's expected_inv_freq (so this
    transformers version read rope_theta / rope_scaling as intended);
  * a full-sequence forward without cache gives the same logits as prefill + cached decode;
  * if NAME/numpy_ref.json exists (llama_ref.py on the source GGUF): logits within --tolerance
    (max |hf - ref| / max |ref| per logits row, default 1e-3) and the same continuation.
"""
import argparse
import json
import os
import sys

import numpy as np

FORMAT = "greta-golden-logits"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Framework-free parts (exercised by test/python/test_hf_export.py with a numpy model)
# ---------------------------------------------------------------------------------------------

def top1_gap(logits):
    top2 = np.sort(np.asarray(logits, dtype=np.float64))[-2:]
    return float(top2[1] - top2[0])


def golden_run(step, prompt, decode_steps=16, generate=32):
    """step(tokens, state) -> (logits [len(tokens), V] numpy, state); state None at the start.

    Prefill of prompt, then generate-1 decode steps feeding the greedy tokens; the logits of the
    first decode_steps decode steps are kept."""
    if generate < decode_steps + 1:
        raise ValueError(f"generate ({generate}) must be >= decode_steps + 1 ({decode_steps + 1})")
    prompt = [int(t) for t in prompt]
    logits, state = step(prompt, None)
    logits = np.asarray(logits, dtype=np.float32)
    out = {"prompt": prompt, "prefill_logits_all": logits, "prefill_logits_last": logits[-1]}
    continuation = [int(np.argmax(logits[-1]))]
    gaps = [top1_gap(logits[-1])]
    decode_tokens, decode_logits = [], []
    for k in range(generate - 1):
        token = continuation[k]
        step_logits, state = step([token], state)
        step_logits = np.asarray(step_logits, dtype=np.float32)[-1]
        if k < decode_steps:
            decode_tokens.append(token)
            decode_logits.append(step_logits)
        continuation.append(int(np.argmax(step_logits)))
        gaps.append(top1_gap(step_logits))
    out["decode_tokens"] = decode_tokens
    out["decode_logits"] = np.stack(decode_logits) if decode_logits else np.zeros((0, 0))
    out["continuation"] = continuation
    out["top1_gap_prefill"] = top1_gap(out["prefill_logits_last"])
    out["top1_gap_decode"] = [top1_gap(x) for x in decode_logits]
    out["top1_gap_continuation"] = gaps
    return out


def rel_diff(a, b):
    """max |a - b| / max |b| over the last axis, maximised over rows."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    num = np.max(np.abs(a - b), axis=-1)
    den = np.maximum(np.max(np.abs(b), axis=-1), 1e-30)
    return float(np.max(num / den))


def check_full_sequence(result, full_logits):
    """full_logits: [N + D, V] of one cacheless forward over prompt + decode_tokens."""
    n = len(result["prompt"])
    d = len(result["decode_tokens"])
    cached = np.concatenate([result["prefill_logits_all"],
                             np.asarray(result["decode_logits"]).reshape(d, -1)], axis=0)
    return rel_diff(cached, np.asarray(full_logits)[: n + d])


def compare_with_reference(result, ref):
    """Compares with a llama_ref.py JSON of the same prompt. Returns a dict of numbers."""
    out = {"reference_producer": ref.get("producer")}
    out["prompt_equal"] = list(ref["prompt"]) == list(result["prompt"])
    out["prefill_last_rel"] = rel_diff(result["prefill_logits_last"], ref["prefill_logits_last"])
    if "prefill_logits_all" in ref:
        out["prefill_all_rel"] = rel_diff(result["prefill_logits_all"], ref["prefill_logits_all"])
    # Decode logits are comparable while both fed the same tokens.
    same = 0
    for a, b in zip(result["decode_tokens"], ref["decode_tokens"]):
        if a != b:
            break
        same += 1
    out["decode_steps_compared"] = same
    out["decode_rel"] = rel_diff(np.asarray(result["decode_logits"])[:same],
                                 np.asarray(ref["decode_logits"])[:same]) if same else 0.0
    ref_cont = list(ref.get("continuation", []))
    cont = list(result["continuation"])
    out["continuation_equal"] = ref_cont == cont[: len(ref_cont)] and len(ref_cont) == len(cont)
    first = next((i for i, (a, b) in enumerate(zip(cont, ref_cont)) if a != b), None)
    out["continuation_first_difference"] = first
    return out


def _json_floats(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return float(f"{float(a):.9g}")
    return [_json_floats(x) for x in a]


def to_json(result, producer, model_info, checks):
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "producer": producer,
           "model": model_info}
    for key in ("prompt", "prefill_logits_last", "prefill_logits_all", "decode_tokens",
                "decode_logits", "continuation", "top1_gap_prefill", "top1_gap_decode",
                "top1_gap_continuation"):
        value = result[key]
        if key in ("prompt", "decode_tokens", "continuation"):
            doc[key] = [int(t) for t in value]
        else:
            doc[key] = _json_floats(value)
    doc["checks"] = checks
    return doc


# ---------------------------------------------------------------------------------------------
# transformers
# ---------------------------------------------------------------------------------------------

def load_hf(model_dir, device):
    import torch
    import transformers
    from transformers import LlamaForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    model, info = LlamaForCausalLM.from_pretrained(
        model_dir, torch_dtype=torch.float32, attn_implementation="eager",
        output_loading_info=True)
    model = model.to(device=device, dtype=torch.float32).eval()
    problems = []
    tied = bool(model.config.tie_word_embeddings)
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        items = [k for k in (info.get(kind) or [])
                 if not (kind == "missing_keys" and tied and "lm_head" in str(k))]
        if items:
            problems.append(f"{kind}: {items}")
    dtypes = {str(p.dtype) for p in model.parameters()}
    if dtypes != {"torch.float32"}:
        problems.append(f"parameter dtypes {dtypes}")
    if tied and model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        if not torch.equal(model.lm_head.weight, model.model.embed_tokens.weight):
            problems.append("tie_word_embeddings but lm_head differs from embed_tokens")
    attn = getattr(model.config, "_attn_implementation", None)
    if attn is not None and attn != "eager":
        problems.append(f"attention implementation {attn}, not eager")
    versions = f"transformers {transformers.__version__}, torch {torch.__version__}"
    return model, problems, versions


def model_inv_freq(model):
    """The loaded model's rotary inv_freq buffer (model.model.rotary_emb or per layer)."""
    for name, buf in model.named_buffers():
        if name.endswith("inv_freq"):
            return name, buf.detach().double().cpu().numpy()
    return None, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="directory written by export_hf.py")
    ap.add_argument("--tokens", default=None, help="prompt ids, comma separated "
                    "(default: MODEL_DIR/prompt.json)")
    ap.add_argument("--decode-steps", type=int, default=None)
    ap.add_argument("--generate", type=int, default=None)
    ap.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, ...")
    ap.add_argument("--out", default=None, help="default MODEL_DIR/hf_logits.json")
    ap.add_argument("--reference", default=None,
                    help="llama_ref.py JSON to compare with (default MODEL_DIR/numpy_ref.json "
                    "if present)")
    ap.add_argument("--tolerance", type=float, default=1e-3)
    args = ap.parse_args(argv)

    spec = {"decode_steps": 16, "generate": 32}
    spec_path = os.path.join(args.model_dir, "prompt.json")
    if os.path.exists(spec_path):
        with open(spec_path) as f:
            spec.update(json.load(f))
    if args.tokens is not None:
        spec["prompt"] = [int(t) for t in args.tokens.split(",") if t.strip()]
    if args.decode_steps is not None:
        spec["decode_steps"] = args.decode_steps
    if args.generate is not None:
        spec["generate"] = args.generate
    if "prompt" not in spec:
        ap.error(f"no --tokens and no {spec_path}")

    import torch
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, problems, versions = load_hf(args.model_dir, device)
    producer = f"scripts/golden/run_hf_golden.py: {versions}, float32 eager on {device}"
    if device.startswith("cuda"):
        producer += f" ({torch.cuda.get_device_name(torch.device(device))})"
    print(producer, file=sys.stderr)
    checks = {"load_problems": problems}

    info_path = os.path.join(args.model_dir, "export_info.json")
    export_info = {}
    if os.path.exists(info_path):
        with open(info_path) as f:
            export_info = json.load(f)
    name, inv_freq = model_inv_freq(model)
    expected = export_info.get("expected_inv_freq")
    if expected is not None:
        if inv_freq is None:
            problems.append("no inv_freq buffer found in the model to check rope settings")
        else:
            rel = rel_diff(inv_freq, expected)
            checks["inv_freq_rel"] = rel
            checks["inv_freq_buffer"] = name
            if rel > 1e-5:
                problems.append(f"rotary {name} differs from expected_inv_freq (rel {rel:.3g}):"
                                f" {inv_freq.tolist()} vs {expected}")

    def step(tokens, past):
        ids = torch.tensor([tokens], dtype=torch.long, device=device)
        with torch.no_grad():
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
        return out.logits[0].float().cpu().numpy(), out.past_key_values

    result = golden_run(step, spec["prompt"], spec["decode_steps"], spec["generate"])

    full_ids = list(result["prompt"]) + list(result["decode_tokens"])
    with torch.no_grad():
        full = model(input_ids=torch.tensor([full_ids], dtype=torch.long, device=device),
                     use_cache=False).logits[0].float().cpu().numpy()
    checks["cache_vs_full_sequence_rel"] = check_full_sequence(result, full)
    if checks["cache_vs_full_sequence_rel"] > 1e-4:
        problems.append(f"cached decode differs from a full-sequence forward "
                        f"(rel {checks['cache_vs_full_sequence_rel']:.3g})")

    ref_path = args.reference or os.path.join(args.model_dir, "numpy_ref.json")
    if os.path.exists(ref_path):
        with open(ref_path) as f:
            cmp = compare_with_reference(result, json.load(f))
        checks["vs_numpy_reference"] = cmp
        worst = max(cmp["prefill_last_rel"], cmp.get("prefill_all_rel", 0.0), cmp["decode_rel"])
        if not cmp["prompt_equal"] or worst > args.tolerance or not cmp["continuation_equal"]:
            problems.append(f"differs from {ref_path}: {cmp}")
    elif args.reference:
        problems.append(f"reference {ref_path} not found")

    model_info = {"dir": os.path.basename(os.path.normpath(args.model_dir)),
                  "source_gguf": export_info.get("source_gguf"),
                  "safetensors_sha256": export_info.get("safetensors_sha256")}
    out_path = args.out or os.path.join(args.model_dir, "hf_logits.json")
    if problems:
        out_path = out_path[:-len(".json")] + ".failed.json" if out_path.endswith(".json") \
            else out_path + ".failed"
    with open(out_path, "w") as f:
        json.dump(to_json(result, producer, model_info, checks), f, separators=(",", ":"))
        f.write("\n")
    print(f"run_hf_golden: prefill top1 {int(np.argmax(result['prefill_logits_last']))}, "
          f"continuation {result['continuation']}", file=sys.stderr)
    print(f"run_hf_golden: checks {json.dumps(checks)}", file=sys.stderr)
    if problems:
        for p in problems:
            print(f"run_hf_golden: FAIL: {p}", file=sys.stderr)
        print(f"run_hf_golden: wrote {out_path} for inspection (not a golden file)",
              file=sys.stderr)
        return 1
    print(f"run_hf_golden: OK -> {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
