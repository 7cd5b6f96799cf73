#!/usr/bin/env python3
"""Counts the machine instructions of a kernel's hottest loop, by opcode, without a GPU: for
kernel work that is bound by instruction issue (the decode GEMVs), the count of one loop
iteration predicts more than a guess and costs no device time.

    python3 scripts/sass-loop.py KERNEL.hip [--arch sm_90] [--opcode IDP] [--at-least 16]

KERNEL.hip is a bundle's kernel source (NAME.greta/kernels/*.hip, or a variant of it). It is
compiled as the runtime's NVRTC would (the prelude, GRETA_TARGET_NVIDIA, the warp size) with
nvcc -cubin, disassembled with cuobjdump -sass, and the loop reported is the shortest backward
branch whose body holds at least --at-least instructions of --opcode (IDP: the dp2a of the
int16 decoders; FFMA or HMMA for others). Prints the registers and spills ptxas reports, the
loop's address range, its instruction count and the opcodes that make it up, most first.

nvcc comes from the CUDA toolkit (/usr/local/cuda, or $CUDA_HOME). cuobjdump and nvdisasm, which
the compile-only toolkit here lacks, are fetched once from PyPI (NVIDIA's nvidia-cuda-cuobjdump
and nvidia-cuda-nvdisasm wheels) into .sass-tools (ignored; 32 MB, kept out of .deps, which
travels to the GPU machine), through a virtual environment's pip.
Exit status 1 with a message on any failure (no loop found, the compiler failed).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".sass-tools"  # not under .deps: that folder travels to the GPU machine
WHEELS = ("nvidia-cuda-cuobjdump", "nvidia-cuda-nvdisasm")
INSTRUCTION = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
BACKWARD_BRANCH = re.compile(r"\bBRA(?:\.\w+)*\s+(?:\S+,\s*)?0x([0-9a-f]+)")


class ToolError(Exception):
    pass


def opcode(text):
    """The opcode of one SASS instruction, without its predicate and modifiers."""
    words = text.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0].split(".")[0] if words else ""


def parse(sass):
    """(address, instruction text) of every instruction of a cuobjdump -sass listing."""
    return [(int(m.group(1), 16), m.group(2)) for m in map(INSTRUCTION.match, sass.splitlines())
            if m]


def hottest_loop(instructions, wanted, at_least):
    """The instructions of the shortest loop (a backward branch and its target) that holds at
    least `at_least` instructions with opcode `wanted`, or None."""
    best = None
    for address, text in instructions:
        branch = BACKWARD_BRANCH.search(text)
        if not branch or int(branch.group(1), 16) >= address:
            continue
        start = int(branch.group(1), 16)
        body = [(a, t) for a, t in instructions if start <= a <= address]
        if sum(opcode(t) == wanted for _, t in body) >= at_least and (
                best is None or len(body) < len(best)):
            best = body
    return best


def tool(name):
    """Path of cuobjdump or nvdisasm, fetching the wheels on first use."""
    found = list(TOOLS.glob(f"**/bin/{name}"))
    if found:
        return found[0]
    TOOLS.mkdir(parents=True, exist_ok=True)
    venv = TOOLS / "venv"
    if not (venv / "bin" / "pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    with tempfile.TemporaryDirectory() as downloads:
        subprocess.run([str(venv / "bin" / "pip"), "download", "--no-deps", "-q", "-d", downloads,
                        *WHEELS], check=True)
        for wheel in Path(downloads).glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(TOOLS)
    for binary in TOOLS.glob("**/bin/*"):
        binary.chmod(0o755)
    found = list(TOOLS.glob(f"**/bin/{name}"))
    if not found:
        raise ToolError(f"{name} is not in the wheels {', '.join(WHEELS)} ({TOOLS})")
    return found[0]


def compile_and_disassemble(kernel, arch):
    nvcc = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"
    warp = 32
    with tempfile.TemporaryDirectory() as work:
        cubin = Path(work) / "kernel.cubin"
        built = subprocess.run(
            [str(nvcc), "-x", "cu", "-cubin", f"-arch={arch}", "-O3", f"-DGRETA_WARP_SIZE={warp}",
             "-DGRETA_TARGET_NVIDIA", "-I", str(ROOT / "codegen" / "prelude"), "--resource-usage",
             "-o", str(cubin), str(kernel)], capture_output=True, text=True)
        if built.returncode != 0:
            raise ToolError(f"{kernel}: nvcc failed:\n{built.stderr.strip()}")
        usage = [line.replace("ptxas info    :", "").strip() for line in built.stderr.splitlines()
                 if "Used" in line or "spill" in line]
        cuobjdump = tool("cuobjdump")
        env = dict(os.environ, PATH=f"{tool('nvdisasm').parent}:{os.environ.get('PATH', '')}")
        sass = subprocess.run([str(cuobjdump), "-sass", str(cubin)], capture_output=True,
                              text=True, env=env)
        if sass.returncode != 0:
            raise ToolError(f"{kernel}: cuobjdump failed:\n{sass.stderr.strip()}")
        return usage, sass.stdout


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kernel", type=Path)
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--opcode", default="IDP")
    parser.add_argument("--at-least", type=int, default=16)
    args = parser.parse_args(argv)
    try:
        usage, sass = compile_and_disassemble(args.kernel, args.arch)
    except (ToolError, subprocess.CalledProcessError, OSError) as error:
        print(f"sass-loop: {error}", file=sys.stderr)
        return 1
    loop = hottest_loop(parse(sass), args.opcode, args.at_least)
    if loop is None:
        print(f"sass-loop: {args.kernel}: no loop holds {args.at_least} {args.opcode} instructions",
              file=sys.stderr)
        return 1
    counts = collections.Counter(opcode(text) for _, text in loop)
    print(f"{args.kernel.name}: {'; '.join(usage)}")
    print(f"loop {loop[0][0]:#x}-{loop[-1][0]:#x}: {len(loop)} instructions")
    print(", ".join(f"{name} {count}" for name, count in counts.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
