#!/usr/bin/env python3
"""Checks scripts/bundle-variant.py, the benchmark-sweep tool, on a real bundle:

1. --replace edits exactly the selected kernels' sources (and --min-blocks their declaration);
   the other kernels and the weights are byte-identical; --grid changes only the named
   kernel's launches.
2. The variant still loads and runs: greta-run on it (CPU backend) gives the same greedy ids as on
   the source bundle.
3. Every bad request (text not found, no kernel selected, bad --grid, DST existing, not a bundle)
   exits 1 with a message naming what is wrong, and leaves no DST behind.

Run by ctest as `bundle_variant` (GRETA_BIN_DIR with greta-synth, make_test_bundle, greta-run):
    .venv/bin/python test/python/bundle_variant.py
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(os.environ.get("GRETA_BIN_DIR", "build/bin"))
TOOL = Path(__file__).resolve().parents[2] / "scripts" / "bundle-variant.py"

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def variant(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True)


def greedy_ids(bundle):
    run = subprocess.run([str(BIN / "greta-run"), str(bundle), "-p", "hello", "-n", "4",
                          "--temp", "0", "--json", "--device", "cpu"],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"greta-run {bundle}: exit {run.returncode}: {run.stderr[-400:]}")
    return json.loads(run.stdout)["generated_ids"] if run.returncode == 0 else None


def files(bundle):
    return {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}


def main():
    with tempfile.TemporaryDirectory(prefix="greta-bundle-variant-") as tmp:
        tmp = Path(tmp)
        gguf, src = tmp / "t.gguf", tmp / "src.greta"
        subprocess.run([str(BIN / "greta-synth"), "-o", str(gguf), "--preset", "tiny",
                        "--quant", "q8_0"], check=True, capture_output=True)
        subprocess.run([str(BIN / "make_test_bundle"), str(gguf), str(src)], check=True,
                       capture_output=True)
        manifest = json.loads((src / "manifest.json").read_text())
        decode_kernels = [k for k in manifest["kernels"] if k["name"].startswith("decode_")]
        marker = (src / decode_kernels[0]["source"]).read_text().split()[1]  # a word of a source

        # 1. Edits land where asked, nowhere else.
        dst = tmp / "v.greta"
        target = decode_kernels[0]["name"]
        result = variant(src, dst, "--kernels", "decode_*", "--replace", marker, "EDITED",
                         "--grid", target, "0", "add=7")
        check(result.returncode == 0, f"variant: exit {result.returncode}: {result.stderr}")
        before, after = files(src), files(dst)
        check(before.keys() == after.keys(), "the variant holds the same files")
        for kernel in manifest["kernels"]:
            path = Path(kernel["source"])
            edited = b"EDITED" in after[path]
            selected = kernel["name"].startswith("decode_")
            check(edited == selected, f"{kernel['name']}: edited {edited}, selected {selected}")
        for path in before:
            if path.suffix != ".hip" and path.name != "manifest.json":
                check(before[path] == after[path], f"{path} is unchanged")
        new_manifest = json.loads(after[Path("manifest.json")])
        for phase, plan in new_manifest["phases"].items():
            for i, launch in enumerate(plan["launches"]):
                old = manifest["phases"][phase]["launches"][i]["grid"][0]["add"]
                want = 7 if launch["kernel"] == target else old
                check(launch["grid"][0]["add"] == want, f"{phase} launch {i}: grid add")

        # 2. The variant runs as the source does (the CPU backend reads the manifest's plan).
        src_ids = greedy_ids(src)
        check(src_ids is not None and greedy_ids(dst) == src_ids,
              "greta-run: the variant's greedy ids equal the source bundle's")

        # --min-blocks rewrites the declaration of a template-made kernel.
        declared = tmp / "declared.greta"
        subprocess.run(["cp", "-r", str(src), str(declared)], check=True)
        kernel_file = declared / decode_kernels[0]["source"]
        kernel_file.write_text("GRETA_KERNEL(kBlock) entry(const Params p) {}\n")
        blocks = tmp / "blocks.greta"
        result = variant(declared, blocks, "--kernels", decode_kernels[0]["name"],
                         "--min-blocks", "2")
        check(result.returncode == 0, f"--min-blocks: exit {result.returncode}: {result.stderr}")
        check("GRETA_KERNEL_BLOCKS(kBlock, 2) entry(" in
              (blocks / decode_kernels[0]["source"]).read_text(), "--min-blocks declaration")
        # A kernel that declares its blocks already (the gemv kernels) gets the new count.
        reblocked = tmp / "reblocked.greta"
        result = variant(blocks, reblocked, "--kernels", decode_kernels[0]["name"],
                         "--min-blocks", "3")
        check(result.returncode == 0, f"--min-blocks again: exit {result.returncode}: {result.stderr}")
        check((reblocked / decode_kernels[0]["source"]).read_text() ==
              "GRETA_KERNEL_BLOCKS(kBlock, 3) entry(const Params p) {}\n",
              "--min-blocks replaces an existing GRETA_KERNEL_BLOCKS count")
        # --param sets an integer param of the selected kernels only.
        param_name = next(iter(decode_kernels[0]["params"]))
        params = tmp / "params.greta"
        result = variant(src, params, "--kernels", target, "--param", f"{param_name}=12345")
        check(result.returncode == 0, f"--param: exit {result.returncode}: {result.stderr}")
        for kernel in json.loads((params / "manifest.json").read_text())["kernels"]:
            old = next(k for k in manifest["kernels"] if k["name"] == kernel["name"])["params"]
            want = 12345 if kernel["name"] == target else old.get(param_name)
            check(kernel["params"].get(param_name) == want, f"--param: {kernel['name']}")
        # --empty makes the selected kernel return at entry, and leaves the others as they are.
        emptyable = tmp / "emptyable.greta"
        subprocess.run(["cp", "-r", str(src), str(emptyable)], check=True)
        entry = decode_kernels[0].get("entry", target)
        (emptyable / decode_kernels[0]["source"]).write_text(
            f"GRETA_KERNEL_BLOCKS(kBlock, 2) {entry}(const Params p) {{ body(); }}\n")
        empty = tmp / "empty.greta"
        result = variant(emptyable, empty, "--kernels", target, "--empty")
        check(result.returncode == 0, f"--empty: exit {result.returncode}: {result.stderr}")
        if result.returncode == 0:
            before, after = files(emptyable), files(empty)
            changed = {str(path) for path in before if before[path] != after.get(path)}
            check(changed == {decode_kernels[0]["source"], "manifest.json"} or
                  changed == {decode_kernels[0]["source"]},
                  f"--empty changes the selected kernel only: {sorted(changed)}")
            check((empty / decode_kernels[0]["source"]).read_text() ==
                  f"GRETA_KERNEL_BLOCKS(kBlock, 2) {entry}(const Params p) {{\n"
                  f"  return; // bundle-variant --empty body(); }}\n",
                  "--empty returns at the entry's first statement")
        # A source with no declaration at all is refused (the variant would be the original).
        undeclared = tmp / "undeclared.greta"
        subprocess.run(["cp", "-r", str(src), str(undeclared)], check=True)
        (undeclared / decode_kernels[0]["source"]).write_text("// no entry point\n")

        # 3. Bad requests: exit 1, a message naming the problem, no DST.
        bad = tmp / "bad.greta"
        cases = [
            (["--replace", "no such text", "x"], "text not found"),
            (["--kernels", "nothing_*", "--replace", marker, "x"], "selects no kernel"),
            (["--grid", "no_kernel", "0", "add=1"], "names no kernel"),
            (["--grid", target, "3", "add=1"], "DIM is 0, 1 or 2"),
            (["--grid", target, "0", "size=1"], "FIELD=VALUE"),
            (["--grid", target, "0", "div=0"], "div must be at least 1"),
            (["--param", "no_such_param=1"], "has no param"),
            (["--param", "block=wide"], "integer VALUE"),
            ([], "nothing to change"),
        ]
        for args, words in cases:
            result = variant(src, bad, *args)
            check(result.returncode == 1 and words in result.stderr,
                  f"{args}: exit {result.returncode}, message {result.stderr.strip()!r} "
                  f"lacks {words!r}")
            check(not bad.exists(), f"{args}: left {bad} behind")
        result = variant(undeclared, bad, "--kernels", decode_kernels[0]["name"], "--min-blocks",
                         "2")
        check(result.returncode == 1 and "no 'GRETA_KERNEL(kBlock)' or" in result.stderr,
              f"--min-blocks without a declaration: exit {result.returncode}, message "
              f"{result.stderr.strip()!r}")
        check(not bad.exists(), f"--min-blocks without a declaration: left {bad} behind")
        result = variant(undeclared, bad, "--kernels", decode_kernels[0]["name"], "--empty")
        check(result.returncode == 1 and "to --empty" in result.stderr,
              f"--empty without a definition: exit {result.returncode}, message "
              f"{result.stderr.strip()!r}")
        check(not bad.exists(), f"--empty without a definition: left {bad} behind")
        result = variant(src, dst, "--replace", marker, "x")
        check(result.returncode == 1 and "exists" in result.stderr, "an existing DST is refused")
        result = variant(tmp, bad, "--replace", marker, "x")
        check(result.returncode == 1 and "not a bundle" in result.stderr,
              "a folder without manifest.json is refused")
        check(not any(p.name.startswith("bad.greta.") for p in tmp.iterdir()),
              "no temporary folder is left behind")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("bundle-variant: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
