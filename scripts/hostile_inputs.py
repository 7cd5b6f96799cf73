#!/usr/bin/env python3
"""Crafts each class of hostile input, runs the GRETA tool that reads it, and prints the table of
docs/hostile-inputs.md: the input class, the command, the exit status and the error it gets.

    GRETA_BIN_DIR=build/bin .venv/bin/python scripts/hostile_inputs.py [--work DIR] [--check]

Needs greta-inspect, greta-run, greta-synth, greta-tokenize and make_test_bundle (a test tool
that writes the mock compiler's bundle, so builds without greta-compile can run this) in
GRETA_BIN_DIR. With --check (the `hostile_inputs` ctest) the exit status is 1 when any class
crashes (a signal, a sanitizer report), exits with another status than expected, or gives no
clear error (its message lacks the words expected for that class).
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(os.environ.get("GRETA_BIN_DIR", "build/bin"))
SANITIZER_REPORT = re.compile(r"AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer")

# GGUF value and tensor type ids (docs/bundle-format.md, ggml).
U32, I32, STRING, ARRAY, U64 = 4, 5, 8, 9, 10
F32_TYPE, Q8_0_TYPE = 0, 8


@dataclass
class Row:
    name: str
    command: str
    expected_status: int
    expected: list  # every one must appear in the message
    test: str  # the unit test asserting the same message
    status: int = 0
    message: str = ""
    problems: list = field(default_factory=list)


class Image:
    """A GGUF image built field by field, remembering where each named field starts."""

    def __init__(self):
        self.data = bytearray()
        self.at = {}

    def put(self, fmt, value, name=None):
        if name:
            self.at[name] = len(self.data)
        self.data += struct.pack("<" + fmt, value)

    def string(self, text, name=None):
        raw = text.encode()
        self.put("Q", len(raw), name and name + ".length")
        self.data += raw

    def patch(self, name, fmt, value):
        struct.pack_into("<" + fmt, self.data, self.at[name], value)


def valid_gguf():
    """Three metadata keys (a string, a string array, the alignment) and two tensors (F32 [8, 2] at
    0, Q8_0 [32, 2] at 64), aligned to 32."""
    img = Image()
    img.data += b"GGUF"
    img.put("I", 3, "version")
    img.put("Q", 2, "tensor_count")
    img.put("Q", 3, "metadata_count")
    img.string("general.architecture", "key0")
    img.put("I", STRING)
    img.string("llama")
    img.string("s.list", "key1")
    img.put("I", ARRAY, "key1.type")
    img.put("I", STRING, "key1.element_type")
    img.put("Q", 2, "key1.count")
    img.string("x", "key1.element0")
    img.string("yy")
    img.string("general.alignment", "key2")
    img.put("I", U32, "key2.type")
    img.put("I", 32, "alignment")
    for index, (name, dims, type_id, offset) in enumerate(
            [("t.a", [8, 2], F32_TYPE, 0), ("t.b", [32, 2], Q8_0_TYPE, 64)]):
        img.string(name, f"tensor{index}.name")
        img.put("I", len(dims), f"tensor{index}.n_dims")
        for d, dim in enumerate(dims):
            img.put("Q", dim, f"tensor{index}.dim{d}")
        img.put("I", type_id, f"tensor{index}.type")
        img.put("Q", offset, f"tensor{index}.offset")
    img.data += bytes(-len(img.data) % 32)
    img.at["data"] = len(img.data)
    img.data += bytes([1]) * 64 + bytes([2]) * 68
    img.at["data_end"] = len(img.data)
    img.data += bytes(-len(img.data) % 32)
    return img


def gguf_variants():
    """(class, bytes, expected words, unit test) for each malformed GGUF."""
    def edited(edit):
        img = valid_gguf()
        edit(img)
        return bytes(img.data)

    def empty_key(img):
        start = img.at["key1.length"]
        del img.data[start + 8:start + 8 + len("s.list")]
        struct.pack_into("<Q", img.data, start, 0)

    def nested_arrays(img):  # s.list becomes 100 nested one-element arrays around one u32
        start = img.at["key1.type"]
        img.data[start:img.at["key2.length"]] = (struct.pack("<I", ARRAY) +
                                                 struct.pack("<IQ", ARRAY, 1) * 100 +
                                                 struct.pack("<IQI", U32, 1, 0))

    test = "test/unit/gguf_corruption_test.cpp"
    return [
        ("bad magic", edited(lambda i: i.data.__setitem__(slice(0, 4), b"XGUF")),
         ["header magic", "not a GGUF file"], f"{test} BadMagic"),
        ("unsupported version", edited(lambda i: i.patch("version", "I", 99)),
         ["header version", "99"], f"{test} UnsupportedVersions"),
        ("huge tensor count (2^63)", edited(lambda i: i.patch("tensor_count", "Q", 1 << 63)),
         ["tensor count", "cannot fit"], f"{test} AbsurdCounts"),
        ("huge metadata count (2^63)", edited(lambda i: i.patch("metadata_count", "Q", 1 << 63)),
         ["metadata count", "cannot fit"], f"{test} AbsurdCounts"),
        ("string length beyond the file", edited(lambda i: i.patch("key0.length", "Q", 1 << 20)),
         ["metadata 0 key", "past end of file"], f"{test} AbsurdStringLengths"),
        ("string length over the cap (2^40)",
         edited(lambda i: i.patch("key1.element0.length", "Q", 1 << 40)),
         ["metadata 1 's.list'[0]", "string length too large"], f"{test} AbsurdStringLengths"),
        ("array count overflow (2^64-1)", edited(lambda i: i.patch("key1.count", "Q", (1 << 64) - 1)),
         ["'s.list' array length", "too large"], f"{test} AbsurdArrayLengths"),
        ("arrays nested 100 deep", edited(nested_arrays), ["nested too deep"],
         f"{test} ArrayNestingTooDeep"),
        ("empty metadata key", edited(empty_key), ["metadata 1 key", "key is empty"],
         f"{test} EmptyKey"),
        ("unknown value type", edited(lambda i: i.patch("key2.type", "I", 77)),
         ["metadata 2 'general.alignment'", "unknown value type id 77"],
         f"{test} UnknownValueTypeAndBadBool"),
        ("alignment not a power of two", edited(lambda i: i.patch("alignment", "I", 48)),
         ["general.alignment", "48"], f"{test} BadAlignment"),
        ("unknown tensor type", edited(lambda i: i.patch("tensor1.type", "I", 31)),
         ["tensor 1 't.b'", "unknown tensor type id 31"], f"{test} UnknownTensorType"),
        ("dims overflow (2^40 x 2^40)",
         edited(lambda i: (i.patch("tensor0.dim0", "Q", 1 << 40), i.patch("tensor0.dim1", "Q", 1 << 40))),
         ["tensor 0 't.a'", "overflows"], f"{test} BadShapes"),
        ("zero dimension", edited(lambda i: i.patch("tensor0.dim1", "Q", 0)),
         ["tensor 0 't.a'", "dimension 1 is 0"], f"{test} BadShapes"),
        ("tensor offset past EOF", edited(lambda i: i.patch("tensor1.offset", "Q", 4096)),
         ["tensor 1 't.b'", "extends past end of file"], f"{test} BadOffsets"),
        ("tensor offset overflow (2^64-64)",
         edited(lambda i: i.patch("tensor1.offset", "Q", (1 << 64) - 64)),
         ["tensor 1 't.b'", "overflows"], f"{test} BadOffsets"),
        ("overlapping tensors", edited(lambda i: i.patch("tensor1.offset", "Q", 32)),
         ["tensor 1 't.b'", "overlaps tensor 0 't.a'"], f"{test} BadOffsets"),
        ("misaligned tensor data", edited(lambda i: i.patch("tensor1.offset", "Q", 8)),
         ["tensor 1 't.b'", "not a multiple of the alignment 32"], f"{test} BadOffsets"),
    ]


def run(command, timeout=300, env=None):
    result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                            timeout=timeout, env=env)
    return result.returncode, result.stdout, result.stderr


def first_error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line or "interrupted" in line]
    return (errors or lines or [""])[-1]


def message_line(stderr, expected):
    """The last line holding the first expected word (the line a user reads), else the last error."""
    if expected:
        lines = [line for line in stderr.splitlines() if expected[0] in line]
        if lines:
            return lines[-1]
    return first_error_line(stderr)


def judge(row, status, stderr):
    row.status = status
    row.message = message_line(stderr, row.expected)
    if status < 0:
        row.problems.append(f"killed by signal {-status}")
    elif status != row.expected_status:
        row.problems.append(f"exit status {status}, expected {row.expected_status}")
    if SANITIZER_REPORT.search(stderr):
        row.problems.append("sanitizer report")
    missing = [word for word in row.expected if word not in stderr]
    if missing:
        row.problems.append(f"message lacks {missing}")
    return row


def truncation_row(work, image):
    """Every cut of the valid image short of its last tensor's end must be refused as truncated
    (only the final padding may be missing)."""
    path = work / "cut.gguf"
    end = image.at["data_end"]
    failures, example = [], ""
    for size in range(end):
        path.write_bytes(image.data[:size])
        status, _, stderr = run([BIN / "greta-inspect", path])
        explained = any(w in stderr for w in ("truncated", "past end of file", "cannot fit"))
        if status != 1 or not explained or SANITIZER_REPORT.search(stderr):
            failures.append(f"cut at {size}: status {status}: {first_error_line(stderr)}")
        if size == end // 2:
            example = first_error_line(stderr)
    row = Row(f"truncated GGUF, cut at each of {end} bytes", "greta-inspect cut.gguf", 1, [],
              "test/unit/gguf_corruption_test.cpp TruncationAtEveryByte", status=1,
              message=f"all {end - len(failures)} of {end} refused; at byte {end // 2}: {example}")
    row.problems = failures[:3]
    return row


def gguf_rows(work):
    image = valid_gguf()
    path = work / "valid.gguf"
    path.write_bytes(image.data)
    status, _, stderr = run([BIN / "greta-inspect", path])
    if status != 0:
        sys.exit(f"the valid GGUF fixture is refused: {stderr}")
    rows = [truncation_row(work, image)]
    for name, data, expected, test in gguf_variants():
        path = work / "hostile.gguf"
        path.write_bytes(data)
        status, _, stderr = run([BIN / "greta-inspect", path])
        rows.append(judge(Row(name, "greta-inspect hostile.gguf", 1, expected, test), status, stderr))
    return rows


def make_bundle(work, name, synth_args):
    gguf = work / f"{name}.gguf"
    bundle = work / f"{name}.greta"
    for command in ([BIN / "greta-synth", "-o", gguf, "--quant", "q8_0"] + synth_args,
                    [BIN / "make_test_bundle", gguf, bundle]):
        status, _, stderr = run(command)
        if status != 0:
            sys.exit(f"{' '.join(map(str, command))} failed: {stderr}")
    return bundle


def edited_bundle(work, bundle, name, edit):
    """A copy of `bundle` with `edit(path)` applied."""
    copy = work / f"{name}.greta"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(bundle, copy)
    edit(copy)
    return copy


def edit_manifest(change):
    def edit(bundle):
        manifest = json.loads((bundle / "manifest.json").read_text())
        change(manifest)
        (bundle / "manifest.json").write_text(json.dumps(manifest))
    return edit


def truncate(relative, keep_fraction):
    def edit(bundle):
        path = bundle / relative
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * keep_fraction)])
    return edit


def flip_byte(relative, offset):
    def edit(bundle):
        path = bundle / relative
        data = bytearray(path.read_bytes())
        data[offset] ^= 0x5a
        path.write_bytes(data)
    return edit


def first_kernel_source(bundle):
    return next((bundle / "kernels").iterdir())


def bundle_rows(work, bundle):
    bundle_test = "test/unit/bundle_test.cpp"
    run_test = "test/unit/greta_run_test.cpp"

    def family(m):
        m["kernels"][0]["family"] = "convolution"

    def weight_offset(m):
        m["weights"]["tensors"][1]["offset"] = 1 << 40

    cases = [
        ("tampered weights (one byte), --verify", flip_byte("weights.bin", 4096), ["--verify"],
         ["checksum", "modified or damaged"], f"{run_test} VerifyRefusesDamagedWeights"),
        ("truncated weights.bin", truncate("weights.bin", 0.5), [],
         ["weights.bin"], f"{bundle_test} OutOfRangeWeightOffsetIsRefused"),
        ("truncated manifest", truncate("manifest.json", 0.5), [],
         ["manifest.json", "not valid JSON"], f"{bundle_test} TruncatedOrMistypedManifestIsRefused"),
        ("manifest: other format version", edit_manifest(lambda m: m.update(format_version=2)), [],
         ["bundle format version 2"], f"{bundle_test} OtherFormatVersionIsRefusedNamingBothVersions"),
        ("manifest: field of the wrong type",
         edit_manifest(lambda m: m["model"].update(layers="two")), [],
         ["'model.layers'", "non-negative integer"], f"{bundle_test} TruncatedOrMistypedManifestIsRefused"),
        ("manifest: unknown kernel family", edit_manifest(family), [],
         ["family 'convolution' is not a kernel family"], f"{bundle_test} BadKernelsAndDataflowAreRefused"),
        ("manifest: weight offset past weights.bin", edit_manifest(weight_offset), [],
         ["offset 1099511627776", "exceeds the file size"], f"{bundle_test} OutOfRangeWeightOffsetIsRefused"),
        ("kernel source missing", lambda b: first_kernel_source(b).unlink(), [],
         ["source file", "missing"], f"{bundle_test} MissingKernelSourceIsRefused"),
        ("truncated tokenizer.gguf", truncate("tokenizer.gguf", 0.5), [],
         ["tokenizer.gguf"], "test/unit/gguf_corruption_test.cpp TruncationAtEveryByte"),
    ]
    rows = []
    for index, (name, edit, flags, expected, test) in enumerate(cases):
        copy = edited_bundle(work, bundle, f"hostile{index}", edit)
        status, _, stderr = run([BIN / "greta-run", copy, "-p", "hello", "-n", "2"] + flags)
        command = " ".join(["greta-run", "B.greta", "-p", "hello"] + flags)
        rows.append(judge(Row(name, command, 1, expected, test), status, stderr))
    return rows


def runtime_rows(work, bundle, huge_bundle):
    run_test = "test/unit/greta_run_test.cpp"
    session_test = "test/unit/session_test.cpp"
    rows = []

    def add(name, command, shown, status_expected, expected, test, env=None, stdin=None):
        env_all = dict(os.environ, **(env or {}))
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=300, env=env_all, input=stdin)
        rows.append(judge(Row(name, shown, status_expected, expected, test), result.returncode,
                          result.stderr))

    long_prompt = "the quick brown fox jumps over the lazy dog again and again"
    add("prompt longer than the context", [BIN / "greta-run", bundle, "-p", long_prompt, "--ctx", "4"],
        "greta-run B.greta -p LONG --ctx 4", 1, ["does not fit the context of 4 tokens", "nothing was truncated"],
        f"{run_test} UserErrorsAreClear; {session_test} ContextIsEnforcedWithoutTruncation")
    add("generation reaches the context (notice, exit 0)",
        [BIN / "greta-run", bundle, "-p", "hi", "-n", "100", "--ctx", "8", "--temp", "0"],
        "greta-run B.greta -p hi -n 100 --ctx 8", 0, ["stopped after", "the context of 8 tokens is full"],
        "test/e2e/test_greta_run.py (stop_reason context)")
    add("--ctx beyond the model's context", [BIN / "greta-run", bundle, "-p", "hi", "--ctx", "999999"],
        "greta-run B.greta -p hi --ctx 999999", 1, ["context 999999", "exceeds the model's context length"],
        f"{session_test} ContextIsEnforcedWithoutTruncation")
    add("KV cache beyond available memory",
        [BIN / "greta-run", huge_bundle, "-p", "hi", "--ctx", str(1 << 28)],
        "greta-run HUGE.greta -p hi --ctx 268435456", 1, ["needs", "of memory are available", "--ctx"],
        f"{session_test} BuffersBeyondAvailableMemoryAreRefused")
    add("GRETA_MAX_SEQ_LEN not a number", [BIN / "greta-run", bundle, "-p", "hi"],
        "GRETA_MAX_SEQ_LEN=lots greta-run ...", 1, ["GRETA_MAX_SEQ_LEN='lots'", "not a positive token count"],
        "(this script)", env={"GRETA_MAX_SEQ_LEN": "lots"})
    add("token id beyond the vocabulary (decode)",
        [BIN / "greta-tokenize", bundle / "tokenizer.gguf", "--decode"],
        "greta-tokenize tokenizer.gguf --decode <<< '[1, 999999]'", 1, ["999999", "out of range"],
        "test/unit/tokenizer_test.cpp OutOfRangeIdsAreErrors; greta_tokenize_test.cpp",
        stdin="[1, 999999]\n")
    add("no GPU driver (--device hip)", [BIN / "greta-run", bundle, "-p", "hi", "--device", "hip"],
        "greta-run B.greta --device hip (no driver)", 1, ["--device"],
        "test/unit/hip/hip_platform_test.cpp NoDriverExplainsEveryPlatform",
        env={"GRETA_CUDA_LIBRARY": "/nonexistent/libcuda.so.1",
             "GRETA_HIP_LIBRARY": "/nonexistent/libamdhip64.so"})
    return rows


def wait_for(predicate, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if predicate():
            return True
        time.sleep(0.001)
    return False


def interrupt_rows(work, bundle):
    rows = []
    audit = work / "audit.jsonl"
    process = subprocess.Popen(
        [BIN / "greta-run", bundle, "-p", "hello", "-n", "-1", "--temp", "0", "--audit-out", audit],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    temporary = Path(f"{audit}.tmp-{process.pid}")
    started = wait_for(lambda: temporary.exists() and temporary.read_bytes().count(b"\n") >= 3, process)
    if started:
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    row = judge(Row("Ctrl-C during generation", "greta-run B.greta -n -1 --audit-out A.jsonl, SIGINT",
                    130, ["greta: interrupted", "greta-run: prompt", "tok/s"],
                    "test/unit/interrupt_test.cpp GretaRunStopsBetweenTokens"),
                process.returncode, stderr)
    speed = [line for line in stderr.splitlines() if line.startswith("greta-run: prompt")]
    row.message = speed[-1] if speed else row.message
    lines = audit.read_text().splitlines() if audit.exists() else []
    try:
        whole = all(isinstance(json.loads(line), dict) for line in lines) and len(lines) > 0
    except json.JSONDecodeError:
        whole = False
    if not started or not whole or temporary.exists():
        row.problems.append(f"started {started}, {len(lines)} audit lines, whole {whole}, "
                            f"temporary left {temporary.exists()}")
    row.message += f" (audit: {len(lines)} whole JSON lines)"
    rows.append(row)

    out = work / "big.gguf"
    process = subprocess.Popen(
        [BIN / "greta-synth", "-o", out, "--layers", "4", "--dim", "2048", "--heads", "16",
         "--kv-heads", "16", "--ffn", "8192"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    temporary = Path(f"{out}.tmp-{process.pid}")
    started = wait_for(lambda: temporary.exists() and temporary.stat().st_size > 0, process)
    if started:
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    row = judge(Row("Ctrl-C while writing a GGUF", "greta-synth -o big.gguf (1 GB), SIGINT", 130,
                    ["interrupted (Ctrl-C); nothing written"],
                    "test/unit/interrupt_test.cpp GretaSynthLeavesNoFile"),
                process.returncode, stderr)
    if not started or out.exists() or temporary.exists():
        row.problems.append(f"started {started}, output exists {out.exists()}, "
                            f"temporary left {temporary.exists()}")
    rows.append(row)
    return rows


def markdown(rows):
    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")

    out = ["| Input | Command | Exit | Error (as printed) | Test asserting it |",
           "| --- | --- | --- | --- | --- |"]
    for row in rows:
        out.append(f"| {cell(row.name)} | `{cell(row.command)}` | {row.status} | "
                   f"{cell(row.message)} | {cell(row.test)} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any class is not handled")
    args = parser.parse_args()
    scratch = None
    if args.work is None:
        scratch = tempfile.TemporaryDirectory(prefix="greta-hostile-")
        args.work = Path(scratch.name)
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work.resolve()

    bundle = make_bundle(work, "tiny", [])
    huge = make_bundle(work, "huge", ["--context", str(1 << 28)])
    rows = gguf_rows(work) + bundle_rows(work, bundle) + runtime_rows(work, bundle, huge)
    rows += interrupt_rows(work, bundle)
    # Paths of this run's scratch directory say nothing to a reader of the table.
    for row in rows:
        row.message = row.message.replace(str(work) + "/", "")
    print(markdown(rows))

    bad = [row for row in rows if row.problems]
    for row in bad:
        print(f"NOT HANDLED: {row.name}: {'; '.join(row.problems)}", file=sys.stderr)
    if scratch:
        scratch.cleanup()
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
