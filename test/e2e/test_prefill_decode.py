#!/usr/bin/env python3
"""Prefill/decode consistency of compiled bundles on the CPU backend.

The decode plan (seq = 1, GEMV routes) and the prefill plan (seq >= 1, GEMM routes) are separate
programs in a bundle. After a prefill of N tokens and k decode steps, the logits of decode step k
(position N+k) must equal the last-position logits of a fresh prefill of the same N+k+1 tokens:
within 1e-5 relative (||decode - prefill|| / ||prefill||). The CPU backend's dot products use a
fixed accumulation order whatever the number of rows (runtime/cpu/weight_dot.h), so the two are
expected to agree to a few f32 ulps; 1e-5 is the issue's bound.

Checked on several shapes and quant mixes, including Llama-3.1 RoPE scaling with a prompt that
runs past the original context (64) so scaled frequencies are exercised at large positions, and
on bundles compiled with --no-fuse (another plan, same property). One case runs every prefill in
chunks of 5 tokens (Session maxBatch), so a prefill is itself several runs over the KV cache.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

TOLERANCE = 1e-5
DECODE_STEPS = 16
LONG_PROMPT = [(17 * i + 3) % 500 + 1 for i in range(60)]

CASES = [
    # (shape, quant, compile flags, prompt, runtime flags)
    ("gqa", "f32", [], e2e.PROMPT, []),
    ("mha", "f16", [], e2e.PROMPT, []),
    ("tied", "q8_0", [], e2e.PROMPT, []),
    ("llama31", "q4_k_m", [], LONG_PROMPT, []),
    ("gqa", "q4_k_m", ["--no-fuse"], e2e.PROMPT, []),
    ("mha", "q4_k_m", [], e2e.PROMPT, ["--max-batch", "5"]),
]


# Tests that decode logits at position N equal the last-position logits of a prefill of the same
# N+1 tokens (1e-5 relative), for 16 consecutive decode steps of a compiled bundle.
def test_case(work, shape, quant, flags, prompt, run_flags, index):
    gguf_path = e2e.synth_model(work, shape, quant)
    bundle = e2e.compile_bundle(gguf_path, os.path.join(work, f"{shape}-{quant}-{index}.greta"),
                                *flags)
    got = e2e.greta_logits(bundle, prompt, DECODE_STEPS, reprefill=True, extra=run_flags)
    err = e2e.rel_l2(got["decode_logits"], got["reprefill_logits"])
    label = " ".join([f"{shape}/{quant}", *flags, *run_flags])
    e2e.check(len(got["reprefill_logits"]) == DECODE_STEPS and err <= TOLERANCE,
              f"{label}: decode at positions {len(prompt)}..{len(prompt) + DECODE_STEPS - 1} "
              f"vs prefill of the same tokens, max rel err {err:.2e} <= {TOLERANCE:g}")
    return label, err


def main():
    work = e2e.work_dir()
    rows = [test_case(work, *case, i) for i, case in enumerate(CASES)]
    print("\ncase                       decode-vs-prefill max rel err")
    for label, err in rows:
        print(f"{label:26} {err:.2e}")
    e2e.finish()


if __name__ == "__main__":
    main()
