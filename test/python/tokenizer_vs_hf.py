#!/usr/bin/env python3
"""Checks GRETA's Llama-3 tokenizer against Hugging Face `tokenizers` on random text.

The shared vectors cover chosen cases; this covers the corners between them. Strings are drawn
(seeded, so failures reproduce) from an alphabet weighted towards what the Llama-3 split regex
and byte-level BPE treat specially: contractions in both cases, every Unicode whitespace kind
(NBSP, NEL, U+180E which is not White_Space, line/paragraph separators), \\r\\n runs, digits of
other scripts and number-like symbols (\\p{N}), combining marks, emoji with ZWJ, CJK, and
control-token texts. Each string goes through `greta-tokenize --special` and through
tokenizer.json's encode(add_special_tokens=False); the ids must be equal, and
`greta-tokenize --decode` must give the string back. Without --special, control texts are plain
text: the ids must equal Hugging Face's with encode_special_tokens set.

Run by ctest as `tokenizer_vs_hf` (needs GRETA_BIN_DIR with greta-tokenize):
    .venv/bin/python test/python/tokenizer_vs_hf.py [--seed N] [--count N] [--max-chars N]
"""
import argparse
import json
import os
import random
import subprocess
import sys

from tokenizers import Tokenizer

BIN = os.environ.get("GRETA_BIN_DIR", "build/bin")
TESTDATA = os.environ.get("GRETA_SHARED_TESTDATA", "../shared/testdata")
VOCAB = os.path.join(TESTDATA, "llama3-tokenizer", "llama3-vocab.gguf")
HF_JSON = os.path.join(TESTDATA, "llama3-tokenizer", "tokenizer.json")

ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n\r\v\f") * 3
    + list("'’\".,;:!?-_=+*/\\()[]{}<>|@#$%^&~`")
    + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'D"] * 2
    + list("äöüßéèçñÅØæœ")
    + list("日本語中文한국어")
    + ["😀", "🚀", "👨\u200d👩", "🦙", "\u200d", "\u200b"]
    + ["\u00a0", "\u0085", "\u180e", "\u2028", "\u2029", "\u3000", "\u2009", "\u202f", "\u1680"]
    + list("٣٤²³½Ⅻⅷ")
    + ["\u0301", "\u0308"]
    + list("Ꮳſǅ")
    + ["\u00ad", "\x00", "\x7f", "\x1b"]
    + ["<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>"]
)


def run_tool(args, lines):
    result = subprocess.run(
        [os.path.join(BIN, "greta-tokenize"), VOCAB, *args],
        input="".join(line + "\n" for line in lines).encode(),
        capture_output=True,
    )
    if result.returncode != 0:
        sys.exit(f"greta-tokenize {' '.join(args)} failed: {result.stderr.decode()}")
    # Not splitlines(): that also splits at U+0085 and U+2028, which JSON strings hold unescaped.
    return [json.loads(line) for line in result.stdout.decode().split("\n")[:-1]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--max-chars", type=int, default=60)
    options = parser.parse_args()

    rng = random.Random(options.seed)
    texts = [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, options.max_chars)))
        for _ in range(options.count)
    ]
    hf = Tokenizer.from_file(HF_JSON)
    hf_plain = Tokenizer.from_file(HF_JSON)
    hf_plain.encode_special_tokens = True
    lines = [json.dumps(text) for text in texts]
    got = run_tool(["--special"], lines)
    got_plain = run_tool([], lines)
    decoded = run_tool(["--decode"], [json.dumps(ids) for ids in got + got_plain])

    failures = 0
    for text, ids, plain, back, back_plain in zip(
        texts, got, got_plain, decoded[: len(texts)], decoded[len(texts) :]
    ):
        expected = hf.encode(text, add_special_tokens=False).ids
        expected_plain = hf_plain.encode(text, add_special_tokens=False).ids
        if ids != expected or plain != expected_plain or back != text or back_plain != text:
            failures += 1
            if failures <= 10:
                print(f"input {json.dumps(text)}\n  hf      {expected}\n  greta   {ids}"
                      f"\n  hf (no special parsing)    {expected_plain}"
                      f"\n  greta (no special parsing) {plain}"
                      f"\n  decoded {json.dumps(back)} / {json.dumps(back_plain)}")
    print(f"{len(texts) - failures} of {len(texts)} random strings match (seed {options.seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
