#!/usr/bin/env python3
"""External-weights bundles (greta-compile --weights external) on the CPU backend.

  * The bundle holds no weights.bin; its weight table points into the source GGUF.
  * Its logits (prefill + 16 decode steps) are bit-identical to the embedded-weights bundle's, for
    a q4_k_m and a tied f16 model; and the bundle directory itself can be moved.
  * A moved GGUF is a clear error naming the missing file (greta-run exits 1, prints no text);
    `--weights NEW_PATH` runs it again, with identical output.
  * A different file at the recorded path is refused: another header (metadata changed) names both
    header hashes; a truncated file names the tensor that runs past its end; same header with
    other tensor data is caught by --verify, naming the weight and both checksums.
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

DECODE_STEPS = 16


def greta_run(bundle, *args):
    return e2e.run([e2e.tool("greta-run"), bundle, "-p", "Hello", "-n", "8", "--temp", "0",
                    "--json", *args], check_rc=False)


def identical(a, b):
    return (np.array_equal(a["prefill_logits_last"], b["prefill_logits_last"])
            and np.array_equal(a["decode_logits"], b["decode_logits"])
            and a["continuation"] == b["continuation"])


# Tests that an external-weights bundle has no weights of its own and gives bit-identical logits
# to the embedded bundle of the same GGUF, also after the bundle directory is moved.
def test_identical(work, shape, quant):
    gguf_path = e2e.synth_model(work, shape, quant)
    embed = e2e.compile_bundle(gguf_path, os.path.join(work, f"{shape}-{quant}-embed.greta"))
    ext = e2e.compile_bundle(gguf_path, os.path.join(work, f"{shape}-{quant}-ext.greta"),
                             "--weights=external")
    m = e2e.manifest(ext)
    e2e.check(m["weights"]["mode"] == "external"
              and os.path.samefile(m["weights"]["file"], gguf_path)
              and not os.path.exists(os.path.join(ext, "weights.bin")),
              f"{shape}/{quant}: external bundle points at the GGUF and holds no weights.bin")
    want = e2e.greta_logits(embed, e2e.PROMPT, DECODE_STEPS)
    got = e2e.greta_logits(ext, e2e.PROMPT, DECODE_STEPS)
    e2e.check(identical(got, want), f"{shape}/{quant}: external == embed, bit-identical prefill + "
                                    f"{DECODE_STEPS} decode logits and greedy tokens")
    moved = os.path.join(work, "elsewhere", os.path.basename(ext))
    os.makedirs(os.path.dirname(moved), exist_ok=True)
    shutil.move(ext, moved)
    e2e.check(identical(e2e.greta_logits(moved, e2e.PROMPT, DECODE_STEPS), want),
              f"{shape}/{quant}: the moved bundle directory still runs, same logits")


# Tests that a moved or altered source GGUF gives a clear error, and --weights finds a moved one.
def test_moved_and_altered(work):
    src = os.path.join(work, "src.gguf")
    e2e.synth(src, "--quant", "q4_k_m", "--seed", "1")
    ext = e2e.compile_bundle(src, os.path.join(work, "src-ext.greta"), "--weights=external")
    ok = greta_run(ext)
    e2e.check(ok.returncode == 0, "greta-run runs the external bundle")

    moved = os.path.join(work, "moved.gguf")
    os.rename(src, moved)
    p = greta_run(ext)
    e2e.check(p.returncode == 1 and src in p.stderr and p.stdout == "",
              f"GGUF moved away: exit 1 naming {os.path.basename(src)}, no output "
              f"({p.stderr.strip()!r})")
    p = greta_run(ext, "--weights", moved)
    e2e.check(p.returncode == 0 and json.loads(p.stdout)["generated_ids"]
              == json.loads(ok.stdout)["generated_ids"],
              "--weights MOVED.gguf runs it, same generated ids")

    # Another header at the recorded path (only general.name differs).
    e2e.synth(src, "--quant", "q4_k_m", "--seed", "1", "--name", "another-model")
    p = greta_run(ext)
    e2e.check(p.returncode == 1 and "header hash" in p.stderr and src in p.stderr,
              f"different header: refused, naming both hashes ({p.stderr.strip()!r})")

    # Truncated copy of the right file.
    with open(moved, "rb") as f:
        data = f.read()
    with open(src, "wb") as f:
        f.write(data[:len(data) * 2 // 3])
    p = greta_run(ext)
    e2e.check(p.returncode == 1 and "end of file" in p.stderr,
              f"truncated GGUF: refused ({p.stderr.strip()!r})")

    # Same shapes and metadata, other weights (another seed): the header hash is the same, so the
    # quick load check cannot see it; --verify (weight checksums) must.
    e2e.synth(src, "--quant", "q4_k_m", "--seed", "2")
    p = greta_run(ext, "--verify")
    e2e.check(p.returncode == 1 and "checksum" in p.stderr and "modified" in p.stderr,
              f"other tensor data: --verify refuses it ({p.stderr.strip()!r})")
    q = greta_run(ext)
    print(f"note: without --verify the same-header file {'loads' if q.returncode == 0 else 'fails'}"
          " (by design the load check hashes only header + tensor table; see source_identity.h)")


def main():
    work = e2e.work_dir()
    test_identical(work, "gqa", "q4_k_m")
    test_identical(work, "tied", "f16")
    test_moved_and_altered(work)
    e2e.finish()


if __name__ == "__main__":
    main()
