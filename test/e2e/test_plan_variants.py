#!/usr/bin/env python3
"""Bundles compiled with different plans give the same logits: the runtime runs the compiler's
launch plans, not a Llama loop of its own.

For two models (GQA q4_k_m, untied; tied-embedding q8_0), each variant bundle is compiled from the
same GGUF and run on the same prompt + 16 decode steps (fed the default bundle's greedy tokens):

  variant                           plan difference checked in manifest.json
  --no-fuse                         more launches; separate rms_norm / rope / kv_append / add /
                                    silu_mul kernels; no fused matmul_gate_up
  --audit none                      no audit points, no audit_stats launches
  --audit all-layers                more audit points than the default two
  --force-route lm_head=gemm        the lm_head launches on the gemm route (default: gemv)
  --force-route matmul=gemv         every prefill matmul on gemv
  --force-route matmul=gemm         every decode matmul on gemm
  --fp16-weights lm_head            the LM head weight stored f16 (layout f16_rows)
  --kv-cache-dtype=f16              binary16 KV caches (kv buffers f16, kernels' kv_dtype)

Tolerances (||variant - default|| / ||default|| per logits row): 1e-5 for every variant but fp16:
the same weights and the same math, only the launch structure differs (measured: bit-identical
on the CPU backend, whose dot products have a fixed accumulation order). --fp16-weights lm_head
rounds the LM head weight (for a tied model, the shared embedding table too) to fp16, a relative
change of <= 2^-11 per weight, ~3e-4 on a logit row: 3e-3 vs the default bundle, and 1e-5 vs the
numpy reference run on the same f16-rounded weights, which pins the remaining difference to the
rounding alone.

The default bundle and the other variants keep f32 KV caches (--kv-cache-dtype=f32; the GPU
default is binary16), so that every other difference is measured at 1e-5. The binary16 cache
rounds each stored key and value (2^-11 relative): 3e-3 vs the default bundle, and 1e-4 vs the
numpy reference with the same rounding of its cache (it rounds float64 values where GRETA
rounds f32 ones, and two values either side of a rounding midpoint land one binary16 step
apart: llama_ref.py's own float32 and float64 runs differ by ~3e-5 with such a cache).

Finally the plan itself is edited: a 3-layer bundle whose manifest loses every launch of its last
layer must give exactly the logits of the 2-layer model with the same first two layers (greta-synth
derives each tensor from the seed and its name, so they are identical) — no layer count, loop or
Llama structure in the runtime overrides the plan.
"""
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

TOLERANCE = 1e-5
FP16_VS_DEFAULT = 3e-3
KV16_VS_REFERENCE = 1e-4
F32_CACHES = "--kv-cache-dtype=f32"
DECODE_STEPS = 16


def kernels_of(m, phase):
    table = {k["name"]: k for k in m["kernels"]}
    return [table[launch["kernel"]] for launch in m["phases"][phase]["launches"]]


def families(m, phase):
    return collections.Counter(k["family"] for k in kernels_of(m, phase))


def routes(m, phase, family):
    return {k.get("route") for k in kernels_of(m, phase) if k["family"] == family}


def lm_head_weight(m):
    launch = next(launch for launch in m["phases"]["decode"]["launches"]
                  if launch["kernel"] in {k["name"] for k in m["kernels"]
                                          if k["family"] == "lm_head"})
    name = launch["args"]["weight"].lstrip("@")
    return next(t for t in m["weights"]["tensors"] if t["name"] == name)


def plan_checks(default):
    """variant flags -> (description, predicate over the variant's manifest)."""
    def n_default(phase):
        return len(default["phases"][phase]["launches"])

    return {
        "--no-fuse": ("more launches, unfused rms_norm/rope/kv_append/add/silu_mul",
                      lambda m: all(len(m["phases"][p]["launches"]) > n_default(p)
                                    and families(m, p)["matmul_gate_up"] == 0
                                    and all(families(m, p)[f] > 0 for f in
                                            ("rope", "kv_append", "add", "silu_mul"))
                                    for p in ("prefill", "decode"))),
        "--audit=none": ("no audits, no audit_stats launches",
                         lambda m: all(not m["phases"][p].get("audits")
                                       and families(m, p)["audit_stats"] == 0
                                       for p in ("prefill", "decode"))),
        "--audit=all-layers": ("more audit points than default",
                               lambda m: all(len(m["phases"][p]["audits"])
                                             > len(default["phases"][p]["audits"])
                                             for p in ("prefill", "decode"))),
        "--force-route=lm_head=gemm": ("lm_head on gemm in both phases (default: gemv)",
                                       lambda m: routes(m, "prefill", "lm_head") == {"gemm"}
                                       and routes(m, "decode", "lm_head") == {"gemm"}
                                       and routes(default, "prefill", "lm_head") == {"gemv"}),
        "--force-route=matmul=gemv": ("prefill matmuls on gemv",
                                      lambda m: routes(m, "prefill", "matmul") == {"gemv"}
                                      and routes(default, "prefill", "matmul") == {"gemm"}),
        "--force-route=matmul=gemm": ("decode matmuls on gemm",
                                      lambda m: routes(m, "decode", "matmul") == {"gemm"}
                                      and routes(default, "decode", "matmul") == {"gemv"}),
        "--fp16-weights=lm_head": ("LM head weight F16 / f16_rows",
                                   lambda m: lm_head_weight(m)["type"] == "F16"
                                   and lm_head_weight(m)["layout"] == "f16_rows"),
        "--kv-cache-dtype=f16": ("kv buffers f16, every cache kernel kv_dtype f16",
                                 lambda m: kv_dtypes(m) == {"f16"}
                                 and kv_dtypes(default) == {"f32"}),
    }


def kv_dtypes(m):
    """The KV buffers' dtypes, each also what the kernels that take them say (absent: f32)."""
    dtypes = {b["dtype"] for b in m["buffers"] if b["kind"] == "kv"}
    dtypes |= {k.get("params", {}).get("kv_dtype", "f32") for k in m["kernels"]
               if k["family"] in ("kv_append", "rope_kv_append", "matmul_qkv", "attention")}
    return dtypes


def f16_reference(gguf_path, bundle, prompt, feed):
    """llama_ref.py with every weight the bundle stores as f16_rows rounded to fp16, and its KV
    cache rounded to fp16 where the bundle's is."""
    kv16 = kv_dtypes(e2e.manifest(bundle)) == {"f16"}
    model = e2e.llama_ref.LlamaRef.load(gguf_path, kv_dtype=np.float16 if kv16 else None)
    for t in e2e.manifest(bundle)["weights"]["tensors"]:
        if t["layout"] == "f16_rows":
            model.w[t["name"]] = model.w[t["name"]].astype(np.float16).astype(np.float64)
    return e2e.llama_ref.run(model, prompt, feed=feed)


# Tests that every plan variant of a model is visibly a different plan, yet runs to the default
# bundle's logits (1e-5; fp16 LM head: 3e-3, and 1e-5 against a reference on the same f16 weights).
def test_model(work, shape, quant, rows):
    gguf_path = e2e.synth_model(work, shape, quant)
    base = e2e.compile_bundle(gguf_path, os.path.join(work, f"{shape}-{quant}-default.greta"),
                              F32_CACHES)
    default_m = e2e.manifest(base)
    want = e2e.greta_logits(base, e2e.PROMPT, DECODE_STEPS)
    feed = want["decode_tokens"]
    for flags, (what, predicate) in plan_checks(default_m).items():
        label = f"{shape}/{quant} {flags}"
        tag = flags.strip("-").replace("=", "-").replace(",", "-")
        cache_flags = [] if "kv-cache-dtype" in flags else [F32_CACHES]
        bundle = e2e.compile_bundle(gguf_path, os.path.join(work, f"{shape}-{quant}-{tag}.greta"),
                                    flags, *cache_flags)
        m = e2e.manifest(bundle)
        e2e.check(predicate(m), f"{label}: the plan differs as asked ({what})")
        got = e2e.greta_logits(bundle, e2e.PROMPT, feed=feed)
        p_err, d_err = e2e.logits_error(got, want)
        err = max(p_err, d_err)
        rounded = "fp16" in flags or "f16" in flags
        tol = FP16_VS_DEFAULT if rounded else TOLERANCE
        e2e.check(err <= tol, f"{label}: logits vs default bundle, max rel err {err:.2e} <= {tol:g}")
        extra = ""
        if rounded:
            ref = f16_reference(gguf_path, bundle, e2e.PROMPT, feed)
            r_err = max(e2e.logits_error(got, ref))
            r_tol = KV16_VS_REFERENCE if "kv-cache" in flags else TOLERANCE
            e2e.check(r_err <= r_tol, f"{label}: vs numpy reference on the same f16-rounded "
                                      f"weights or cache, max rel err {r_err:.2e} <= {r_tol:g}")
            extra = f" (vs f16 reference {r_err:.2e})"
        rows.append((label, err, extra))


# Tests that the runtime follows an edited plan: dropping the last layer's launches from a
# 3-layer bundle's manifest gives exactly the 2-layer model's logits.
def test_edited_plan(work, rows):
    g2 = e2e.synth(os.path.join(work, "cut-l2.gguf"), "--quant", "f32", "--layers", "2",
                   "--seed", "4")
    g3 = e2e.synth(os.path.join(work, "cut-l3.gguf"), "--quant", "f32", "--layers", "3",
                   "--seed", "4")
    b2 = e2e.compile_bundle(g2, os.path.join(work, "cut-l2.greta"), F32_CACHES)
    b3 = e2e.compile_bundle(g3, os.path.join(work, "cut-l3.greta"), F32_CACHES)
    path = os.path.join(b3, "manifest.json")
    m = e2e.manifest(b3)
    removed = 0
    for phase in m["phases"].values():
        launches = phase["launches"]
        layer2 = [i for i, launch in enumerate(launches)
                  if any(str(v).startswith("@blk.2.") for v in launch["args"].values())]
        first, last = layer2[0], layer2[-1]
        del launches[first:last + 1]
        removed += last + 1 - first
        for audit in phase.get("audits", []):  # audits after the cut move up with their launch
            if audit["launch_index"] > last:
                audit["launch_index"] -= last + 1 - first
    with open(path, "w") as f:
        json.dump(m, f, indent=1)
    want = e2e.greta_logits(b2, e2e.PROMPT, DECODE_STEPS)
    got = e2e.greta_logits(b3, e2e.PROMPT, DECODE_STEPS)
    same = (np.array_equal(got["prefill_logits_last"], want["prefill_logits_last"])
            and np.array_equal(got["decode_logits"], want["decode_logits"])
            and got["continuation"] == want["continuation"])
    e2e.check(removed > 0 and same,
              f"3-layer bundle minus its last layer's {removed} launches == the 2-layer model "
              f"(bit-identical prefill + {DECODE_STEPS} decode logits)")
    full = e2e.greta_logits(e2e.compile_bundle(g3, os.path.join(work, "cut-l3-full.greta")),
                            e2e.PROMPT, DECODE_STEPS)
    e2e.check(e2e.rel_l2(full["prefill_logits_last"], want["prefill_logits_last"]) > 1e-2,
              "the unedited 3-layer bundle does differ from the 2-layer model")
    rows.append(("edited plan (3 layers - last) vs 2 layers", 0.0 if same else float("inf"), ""))


def main():
    work = e2e.work_dir()
    rows = []
    test_model(work, "gqa", "q4_k_m", rows)
    test_model(work, "tied", "q8_0", rows)
    test_edited_plan(work, rows)
    print("\nvariant                                         max rel err vs default")
    for label, err, extra in rows:
        print(f"{label:47} {err:.2e}{extra}")
    e2e.finish()


if __name__ == "__main__":
    main()
