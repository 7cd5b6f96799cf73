#!/usr/bin/env python3
"""Checks the analysis of scripts/sass-loop.py (the hottest-loop instruction count) on a made-up
cuobjdump -sass listing, so it needs no CUDA toolkit:

1. Opcodes lose their predicates and modifiers (@!P0 IDP.2A.LO.S16.S8 -> IDP).
2. The loop reported is the shortest backward branch holding the asked-for count of the opcode:
   not the outer loop around it, not a short loop without it, not a forward branch.
3. No such loop: None (the tool then exits 1 with a message).

Run by ctest as `sass_loop`:
    .venv/bin/python test/python/sass_loop.py
"""
import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "scripts" / "sass-loop.py"
spec = importlib.util.spec_from_file_location("sass_loop", TOOL)
sass_loop = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sass_loop)

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def line(address, text):
    return f"        /*{address:04x}*/                   {text} ;   /* 0x000000000000794d */"


# 0x00-0x10: set-up; 0x20-0x60: an inner loop with two IDP (back-branch at 0x60); 0x70: a
# forward branch; 0x80-0xa0: a short loop without IDP; 0xb0: the outer back-branch to 0x10.
LISTING = "\n".join([
    "\tcode for sm_90",
    line(0x00, "MOV R1, c[0x0][0x28]"),
    line(0x10, "S2R R0, SR_TID.X"),
    line(0x20, "LDG.E.128 R4, desc[UR4][R2.64]"),
    line(0x30, "@!P0 IDP.2A.LO.S16.S8 R8, R4, R5, RZ"),
    line(0x40, "IDP.2A.HI.S16.S8 R8, R6, R7, R8"),
    line(0x50, "ISETP.NE.AND P1, PT, R0, RZ, PT"),
    line(0x60, "@P1 BRA 0x20"),
    line(0x70, "BRA 0x90"),
    line(0x80, "FADD R9, R9, R8"),
    line(0x90, "@P2 BRA 0x80"),
    line(0xa0, "IMAD R0, R0, 0x2, RZ"),
    line(0xb0, "@P3 BRA 0x10"),
    line(0xc0, "EXIT"),
])

instructions = sass_loop.parse(LISTING)
check(len(instructions) == 13, f"13 instructions parsed, got {len(instructions)}")
check(sass_loop.opcode("@!P0 IDP.2A.LO.S16.S8 R8, R4, R5, RZ") == "IDP", "predicate dropped")
check(sass_loop.opcode("LDG.E.128 R4, desc[UR4][R2.64]") == "LDG", "modifiers dropped")

inner = sass_loop.hottest_loop(instructions, "IDP", 2)
check(inner is not None and inner[0][0] == 0x20 and inner[-1][0] == 0x60,
      f"the inner loop 0x20-0x60, got {inner and (hex(inner[0][0]), hex(inner[-1][0]))}")
check(inner is not None and len(inner) == 5, "the inner loop has 5 instructions")

fadd = sass_loop.hottest_loop(instructions, "FADD", 1)
check(fadd is not None and fadd[0][0] == 0x80 and len(fadd) == 2,
      "FADD's shortest loop is the 0x80-0x90 one")
outer = sass_loop.hottest_loop(instructions, "IMAD", 1)
check(outer is not None and outer[0][0] == 0x10 and outer[-1][0] == 0xb0,
      "an opcode only the outer loop holds reports the outer loop")
check(sass_loop.hottest_loop(instructions, "IDP", 3) is None, "too few IDP anywhere: None")
check(sass_loop.hottest_loop(instructions, "HMMA", 1) is None, "an absent opcode: None")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("sass-loop analysis: ok")
