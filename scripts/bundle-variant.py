#!/usr/bin/env python3
"""Makes a variant of a compiled bundle for a benchmark sweep: a copy whose kernel sources (and,
where a tile changes, launch grids) are edited, so several kernel ideas can be measured in one
device call beside the unchanged bundle, without recompiling the model.

    python3 scripts/bundle-variant.py SRC.greta DST.greta [--kernels GLOB]
        [--replace OLD NEW]... [--min-blocks N] [--grid KERNEL DIM FIELD=VALUE]...
        [--param FIELD=VALUE]... [--empty]

  --kernels GLOB          which kernels/*.hip the edits apply to (fnmatch on the kernel name,
                          e.g. 'decode_matmul_*'; default every kernel)
  --replace OLD NEW       replace the text OLD by NEW in each selected kernel; a selected kernel
                          without OLD is an error (the variant would silently be the original)
  --min-blocks N          declare each selected kernel with GRETA_KERNEL_BLOCKS(kBlock, N): ask
                          the compiler to fit N blocks per compute unit (a kernel declared
                          with GRETA_KERNEL_BLOCKS already, as the gemv kernels are, gets N)
  --grid KERNEL DIM F=V   set field F (mul, add or div) of grid dimension DIM (0-2) of every
                          launch of KERNEL, for a tile constant changed with --replace
  --param FIELD=VALUE     set the integer manifest param FIELD of each selected kernel (e.g.
                          shared_bytes, for a tile or stage count changed with --replace); the
                          kernel must have the param already
  --empty                 make each selected kernel return as soon as it starts (its launches
                          stay in the plan, its outputs go stale): a run of the variant against
                          the original gives the kernel's marginal cost in a replayed step, which
                          an eager per-launch profile does not (it adds each launch's own latency
                          and hides how launches overlap). For timing only: the results are wrong

The runtime compiles kernels from their sources and keys its kernel cache on them, so an edited
kernel is recompiled at load; ahead-of-time code objects of edited kernels are dropped (their
manifest key would no longer match). Weights are copied as they are (external weights stay
where the manifest says). DST is written whole or not at all. Exit status 1 with a message naming
the file and the edit on any problem.
"""
import argparse
import fnmatch
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

# A kernel's declaration: GRETA_KERNEL(kBlock) or GRETA_KERNEL_BLOCKS(kBlock, N).
KERNEL_DECLARATION = re.compile(r"GRETA_KERNEL(?:_BLOCKS)?\(kBlock(?:, *\d+)?\) ")
GRID_FIELDS = ("mul", "add", "div")


class VariantError(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--kernels", default="*")
    parser.add_argument("--replace", nargs=2, action="append", default=[], metavar=("OLD", "NEW"))
    parser.add_argument("--min-blocks", type=int)
    parser.add_argument("--grid", nargs=3, action="append", default=[],
                        metavar=("KERNEL", "DIM", "FIELD=VALUE"))
    parser.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--empty", action="store_true")
    return parser.parse_args(argv)


def edit_source(path: Path, replaces, min_blocks, empty_entry=None):
    text = path.read_text()
    if empty_entry is not None:
        # The entry's definition: its declaration macro, name and parameter list, then the body.
        definition = re.compile("(" + KERNEL_DECLARATION.pattern + re.escape(empty_entry) +
                                r"\([^)]*\) *\{)")
        text, found = definition.subn(r"\1\n  return; // bundle-variant --empty", text)
        if found != 1:
            raise VariantError(f"{path}: no definition of entry '{empty_entry}' to --empty")
    for old, new in replaces:
        if old not in text:
            raise VariantError(f"{path}: --replace text not found: {old!r}")
        text = text.replace(old, new)
    if min_blocks is not None:
        if min_blocks < 1:
            raise VariantError(f"--min-blocks {min_blocks}: must be at least 1")
        text, declarations = KERNEL_DECLARATION.subn(
            f"GRETA_KERNEL_BLOCKS(kBlock, {min_blocks}) ", text)
        if declarations == 0:
            raise VariantError(f"{path}: no 'GRETA_KERNEL(kBlock)' or 'GRETA_KERNEL_BLOCKS(kBlock, "
                               f"N)' declaration to give --min-blocks")
    path.write_text(text)


def edit_grids(manifest, grids, manifest_path):
    kernels = {k["name"] for k in manifest.get("kernels", [])}
    for kernel, dim_text, assignment in grids:
        if kernel not in kernels:
            raise VariantError(f"{manifest_path}: --grid names no kernel '{kernel}'")
        field, _, value_text = assignment.partition("=")
        if field not in GRID_FIELDS or not value_text.lstrip("-").isdigit():
            raise VariantError(f"--grid {kernel} {dim_text} {assignment}: want FIELD=VALUE with "
                               f"FIELD one of {', '.join(GRID_FIELDS)} and an integer VALUE")
        if not dim_text.isdigit() or int(dim_text) > 2:
            raise VariantError(f"--grid {kernel} {dim_text}: DIM is 0, 1 or 2")
        dim, value = int(dim_text), int(value_text)
        if field == "div" and value < 1:
            raise VariantError(f"--grid {kernel} {dim_text} {assignment}: div must be at least 1")
        launches = [launch for phase in manifest.get("phases", {}).values()
                    for launch in phase.get("launches", []) if launch.get("kernel") == kernel]
        if not launches:
            raise VariantError(f"{manifest_path}: kernel '{kernel}' has no launch to --grid")
        for launch in launches:
            launch["grid"][dim][field] = value


def edit_params(kernel, params, manifest_path):
    for assignment in params:
        field, _, value_text = assignment.partition("=")
        if not value_text.lstrip("-").isdigit():
            raise VariantError(f"--param {assignment}: want FIELD=VALUE with an integer VALUE")
        if field not in kernel.get("params", {}):
            raise VariantError(f"{manifest_path}: kernel '{kernel['name']}' has no param "
                               f"'{field}' to --param")
        kernel["params"][field] = int(value_text)


def drop_code_objects(manifest, edited):
    """Removes the ahead-of-time code objects of edited kernels (files and manifest entries)."""
    for kernel in manifest.get("kernels", []):
        if kernel["name"] in edited:
            kernel.pop("code_objects", None)


def make_variant(args):
    src, dst = args.src, args.dst
    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        raise VariantError(f"{src}: not a bundle (no manifest.json)")
    if dst.exists():
        raise VariantError(f"{dst}: exists (remove it first)")
    kernel_edits = bool(args.replace or args.min_blocks is not None or args.param or args.empty)
    if not kernel_edits and not args.grid:
        raise VariantError("nothing to change: give --replace, --min-blocks, --grid, --param or "
                           "--empty")
    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=dst.name + ".", dir=dst.parent))
    try:
        staged = work / "bundle"
        shutil.copytree(src, staged)
        manifest = json.loads((staged / "manifest.json").read_text())
        edited = set()
        if kernel_edits:
            for kernel in manifest.get("kernels", []):
                if not fnmatch.fnmatch(kernel["name"], args.kernels):
                    continue
                edit_params(kernel, args.param, manifest_path)
                edit_source(staged / kernel["source"], args.replace, args.min_blocks,
                            kernel.get("entry", kernel["name"]) if args.empty else None)
                edited.add(kernel["name"])
                for code_object in (staged / "kernels").glob(kernel["name"] + ".*.co"):
                    code_object.unlink()
            if not edited:
                raise VariantError(f"{src}: --kernels '{args.kernels}' selects no kernel")
        edit_grids(manifest, args.grid, manifest_path)
        drop_code_objects(manifest, edited)
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        staged.rename(dst)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name in sorted(edited):
        print(f"bundle-variant: {dst}: edited {name}")
    for kernel, dim, assignment in args.grid:
        print(f"bundle-variant: {dst}: grid of {kernel}, dimension {dim}: {assignment}")


def main(argv):
    args = parse_args(argv)
    try:
        make_variant(args)
    except (VariantError, OSError, json.JSONDecodeError, KeyError) as error:
        print(f"bundle-variant: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
