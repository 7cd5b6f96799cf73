"""Shared helpers of the end-to-end tests (test/e2e/test_*.py).

Each test makes tiny models with greta-synth, compiles them with greta-compile into real bundles,
runs them on the runtime's CPU backend and compares logits. The runtime side goes through
greta-e2e-logits (test/e2e/greta_e2e_logits.cpp: engine::Session, what greta-run runs) or
greta-run itself; the reference side is test/reference/llama_ref.py (numpy, float64), imported.

Environment (ctest sets both): GRETA_BIN_DIR, the tools' directory; GRETA_E2E_WORK, a scratch
directory (default: a fresh temporary one). Comparisons use the relative L2 error of a logits
row, ||a - b|| / ||b||, and report the largest over the rows compared.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "reference"))

import llama_ref  # noqa: E402

TEST_DATA = os.environ.get("GRETA_TEST_DATA", os.path.join(REPO, "test", "data"))

# Tiny model shapes: every row length (dim, ffn) a multiple of 256, the K-quant super-block, so
# each shape is valid in every quant mix. Prompts avoid nothing: ids are plain vocabulary ids.
SHAPES = {
    # multi-head attention: as many KV heads as query heads
    "mha": ["--layers", "2", "--dim", "256", "--heads", "4", "--kv-heads", "4", "--ffn", "512",
            "--seed", "3"],
    # grouped-query attention (2 query heads per KV head), untied output
    "gqa": ["--layers", "2", "--dim", "256", "--heads", "4", "--kv-heads", "2", "--ffn", "512",
            "--seed", "5"],
    # tied embeddings (no output.weight), head_dim 128, 2 query heads per KV head
    "tied": ["--layers", "2", "--dim", "256", "--heads", "2", "--kv-heads", "1", "--ffn", "768",
             "--tied-embeddings", "--seed", "7"],
    # Llama-3.1 RoPE scaling with an original context of 64, so the scaled band matters; 4 query
    # heads per KV head, 3 layers
    "llama31": ["--layers", "3", "--dim", "256", "--heads", "4", "--kv-heads", "1", "--ffn", "512",
                "--rope-scaling", "llama3", "--rope-original-context", "64", "--seed", "9"],
}
QUANTS = ["f32", "f16", "q8_0", "q4_k_m"]
# A 12-token prompt of plain vocabulary ids (BOS-free: the runtime takes ids as given).
PROMPT = [538, 40, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114]

_failures = []


def check(condition, what):
    print(f"{'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        _failures.append(what)
    return condition


def finish():
    if _failures:
        print(f"\n{len(_failures)} check(s) failed:")
        for f in _failures:
            print(f"  {f}")
        sys.exit(1)
    print("\nall checks passed")
    sys.exit(0)


def tool(name):
    """Path of a GRETA executable: GRETA_BIN_DIR, else the usual build directories."""
    dirs = [os.environ["GRETA_BIN_DIR"]] if os.environ.get("GRETA_BIN_DIR") else []
    dirs += [os.path.join(REPO, d, "bin") for d in ("build", "build-e2e")]
    for d in dirs:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    raise SystemExit(f"e2e: {name} not found (set GRETA_BIN_DIR to the build's bin/)")


def work_dir():
    """A clean scratch directory for this test run."""
    d = os.environ.get("GRETA_E2E_WORK")
    if d:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d
    return tempfile.mkdtemp(prefix="greta-e2e-")


def run(cmd, check_rc=True, **kw):
    """Runs a command, returning CompletedProcess (text); raises with its stderr on failure."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}\n"
                           f"{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return p


def synth(path, *args):
    run([tool("greta-synth"), "-o", path, "--threads", "1", "--preset", "tiny", *args])
    return path


def synth_model(work, shape, quant):
    path = os.path.join(work, f"{shape}-{quant}.gguf")
    if not os.path.exists(path):
        synth(path, "--quant", quant, *SHAPES[shape])
    return path


def compile_bundle(gguf_path, out, *args):
    run([tool("greta-compile"), gguf_path, "-o", out, *args])
    return out


def manifest(bundle):
    with open(os.path.join(bundle, "manifest.json")) as f:
        return json.load(f)


def greta_logits(bundle, prompt, decode_steps=16, generate=None, feed=None, reprefill=False,
                 extra=()):
    """Runs greta-e2e-logits; returns its JSON with logits as float64 arrays."""
    fd, out = tempfile.mkstemp(suffix=".logits.json",
                               dir=os.path.dirname(os.path.abspath(bundle.rstrip("/"))))
    os.close(fd)
    cmd = [tool("greta-e2e-logits"), bundle, "--tokens", ",".join(map(str, prompt)), "--out", out]
    if feed is not None:
        cmd += ["--feed", ",".join(map(str, feed))]
    else:
        cmd += ["--decode-steps", str(decode_steps)]
        if generate is not None:
            cmd += ["--generate", str(generate)]
    if reprefill:
        cmd.append("--reprefill")
    cmd += list(extra)
    run(cmd)
    with open(out) as f:
        doc = json.load(f)
    os.remove(out)
    for key in ("prefill_logits_last", "decode_logits", "reprefill_logits"):
        if key in doc:
            doc[key] = np.asarray(doc[key], np.float64)
    return doc


def reference(gguf_path, prompt, decode_steps=16, generate=None, feed=None, kv_dtype=None):
    """test/reference/llama_ref.py's result (float64) for the GGUF; kv_dtype (np.float16) rounds
    what its KV cache stores."""
    model = llama_ref.LlamaRef.load(gguf_path, kv_dtype=kv_dtype)
    return llama_ref.run(model, prompt, decode_steps=decode_steps, generate=generate, feed=feed)


def rel_l2(a, b):
    """Largest ||a - b|| / ||b|| over the rows of a and b (1-D: one row)."""
    a = np.atleast_2d(np.asarray(a, np.float64))
    b = np.atleast_2d(np.asarray(b, np.float64))
    if a.shape != b.shape:
        return float("inf")
    num = np.linalg.norm(a - b, axis=-1)
    den = np.maximum(np.linalg.norm(b, axis=-1), 1e-30)
    return float(np.max(num / den)) if a.size else 0.0


def logits_error(got, want):
    """(prefill error, decode error) between two llama_ref-schema results."""
    return (rel_l2(got["prefill_logits_last"], want["prefill_logits_last"]),
            rel_l2(got["decode_logits"], want["decode_logits"]))


def greedy_agreement(got_rows, want_rows, margin):
    """(all agree where the reference's top-1 gap exceeds margin, rows compared, rows skipped)."""
    got_rows = np.atleast_2d(got_rows)
    want_rows = np.atleast_2d(want_rows)
    ok, compared, skipped = True, 0, 0
    for g, w in zip(got_rows, want_rows):
        top2 = np.sort(w)[-2:]
        if top2[1] - top2[0] <= margin:
            skipped += 1
            continue
        compared += 1
        ok = ok and int(np.argmax(g)) == int(np.argmax(w))
    return ok, compared, skipped
