#!/usr/bin/env python3
"""Ahead-of-time code objects: greta-compile --target sm_90 (docs/bundle-format.md).

  * Every kernel with a HIP source gets kernels/<name>.sm_90.co, a CUBIN (ELF), recorded in
    manifest.kernels[].code_objects with its size, FNV-1a 64 checksum and key; nothing else is
    left in kernels/.
  * --code-objects=false writes none; the bundle otherwise carries the same kernels.
  * The bundle still runs on the CPU backend (which ignores code objects), and a code object
    missing from the bundle is refused at load, naming the file.
  * A target whose compiler library is missing fails clearly (naming the target and the paths
    tried), exit status 1, and leaves no bundle.
Exits 77 (skipped) where NVRTC is not installed, or greta-compile was built without HIP.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

SKIPPED = 77


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"fnv1a64:{h:016x}"


def greta_run(bundle, *args):
    return e2e.run([e2e.tool("greta-run"), bundle, "-p", "Hello", "-n", "4", "--temp", "0",
                    "--json", "--device", "cpu", *args], check_rc=False)


def main():
    work = e2e.work_dir()
    gguf = e2e.synth_model(work, "gqa", "q8_0")
    bundle = os.path.join(work, "aot.greta")
    p = e2e.run([e2e.tool("greta-compile"), gguf, "-o", bundle, "--target", "cpu,sm_90"],
                check_rc=False)
    if p.returncode != 0 and "compiler is not available" in p.stderr:
        print(f"skipped: NVRTC is not installed here ({p.stderr.strip()})")
        sys.exit(SKIPPED)
    if p.returncode != 0 and "built without (GRETA_BUILD_HIP=OFF)" in p.stderr:
        print(f"skipped: greta-compile was built without the HIP backend ({p.stderr.strip()})")
        sys.exit(SKIPPED)
    if not e2e.check(p.returncode == 0, f"--target cpu,sm_90 compiles ({p.stderr.strip()[-500:]})"):
        e2e.finish()

    m = e2e.manifest(bundle)
    kernels = [k for k in m["kernels"] if k.get("source")]
    entries = [(k, c) for k in kernels for c in k.get("code_objects", [])]
    e2e.check(len(kernels) > 10 and len(entries) == len(kernels)
              and all(c["target"] == "sm_90" for _, c in entries),
              f"one sm_90 code object per kernel ({len(entries)} for {len(kernels)} kernels)")
    good = 0
    for k, c in entries:
        path = os.path.join(bundle, c["file"])
        with open(path, "rb") as f:
            data = f.read()
        good += (c["file"] == f"kernels/{k['name']}.sm_90.co" and len(data) == c["bytes"]
                 and data[:4] == b"\x7fELF" and fnv1a64(data) == c["checksum"]
                 and c["key"].startswith("fnv1a64:"))
    e2e.check(good == len(entries),
              f"each is a CUBIN named after its kernel, with the recorded size and checksum "
              f"({good}/{len(entries)})")
    files = sorted(os.listdir(os.path.join(bundle, "kernels")))
    want = sorted([f"{k['name']}.hip" for k in kernels] + [f"{k['name']}.sm_90.co" for k in kernels])
    e2e.check(files == want, "kernels/ holds the sources and the code objects, nothing else")

    plain = os.path.join(work, "plain.greta")
    e2e.run([e2e.tool("greta-compile"), gguf, "-o", plain, "--target", "cpu,sm_90",
             "--code-objects=false"])
    pm = e2e.manifest(plain)
    e2e.check(not any(k.get("code_objects") for k in pm["kernels"])
              and not any(f.endswith(".co") for f in os.listdir(os.path.join(plain, "kernels")))
              and [k["name"] for k in pm["kernels"]] == [k["name"] for k in m["kernels"]],
              "--code-objects=false: the same kernels, no code objects")

    with_co, without = greta_run(bundle), greta_run(plain)
    ids = [json.loads(p.stdout)["generated_ids"] if p.returncode == 0 else None
           for p in (with_co, without)]
    e2e.check(ids[0] is not None and ids[0] == ids[1],
              f"the CPU backend runs the bundle as it runs one without code objects ({ids})")

    damaged = os.path.join(work, "damaged.greta")
    shutil.copytree(bundle, damaged)
    victim = entries[0][1]["file"]
    os.remove(os.path.join(damaged, victim))
    p = greta_run(damaged)
    e2e.check(p.returncode == 1 and victim in p.stderr and "missing" in p.stderr,
              f"a missing code object is refused at load ({p.stderr.strip()!r})")

    nowhere = os.path.join(work, "nowhere.greta")
    env = dict(os.environ, GRETA_NVRTC_LIBRARY="/nonexistent/libnvrtc.so")
    p = e2e.run([e2e.tool("greta-compile"), gguf, "-o", nowhere, "--target", "sm_90"],
                check_rc=False, env=env)
    e2e.check(p.returncode == 1 and "sm_90" in p.stderr and "/nonexistent/libnvrtc.so" in p.stderr
              and not os.path.exists(nowhere),
              f"no NVRTC: a clear error and no bundle ({p.stderr.strip()[:300]!r})")

    # AMD: ROCm 5.x's hipRTC crashed when greta-compile called it from several threads; where a
    # hipRTC is installed, a gfx90a bundle must compile (one kernel at a time) into ELF objects.
    amd = os.path.join(work, "amd.greta")
    p = e2e.run([e2e.tool("greta-compile"), gguf, "-o", amd, "--target", "gfx90a"],
                check_rc=False)
    if "compiler is not available" in p.stderr:
        print(f"note: no hipRTC here, gfx90a code objects not checked ({p.stderr.strip()[:200]})")
    else:
        objects = [f for f in os.listdir(os.path.join(amd, "kernels")) if f.endswith(".gfx90a.co")] \
            if p.returncode == 0 else []
        elf = all(open(os.path.join(amd, "kernels", f), "rb").read(4) == b"\x7fELF" for f in objects)
        e2e.check(p.returncode == 0 and len(objects) == len(kernels) and elf,
                  f"--target gfx90a writes one ELF code object per kernel (exit {p.returncode}, "
                  f"{len(objects)} for {len(kernels)} kernels; {p.stderr.strip()[-300:]!r})")
    e2e.finish()


if __name__ == "__main__":
    main()
