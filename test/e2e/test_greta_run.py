#!/usr/bin/env python3
"""greta-run end to end on a compiled tiny model (greta-synth --preset tiny, q4_k_m; CPU).

  * Greedy (--temp 0) 32-token generation is identical across runs and thread counts, and equals
    the greedy continuation computed from the bundle's logits (greta-e2e-logits) for the same
    prompt ids; the streamed text equals the --json text.
  * Sampling (--temp 0.8) with the same --seed repeats exactly; another seed differs.
  * Context: a prompt longer than --ctx is an error (exit 1, nothing generated, a message naming
    both sizes); generation that fills --ctx stops with stop_reason "context"; GRETA_MAX_SEQ_LEN
    sets the context when --ctx is not given.
  * --chat wraps the prompt in the model's own chat template: the prompt ids equal the template
    rendered by jinja2 (independently of GRETA's template engine) and tokenized; --system adds a
    system turn; -i runs two turns from stdin.
"""
import json
import os
import subprocess
import sys

import gguf
import jinja2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_support as e2e  # noqa: E402

PROMPT = "Once upon a time, in a small town by the river,"


def greta_run(bundle, *args, env=None, stdin=None):
    cmd = [e2e.tool("greta-run"), bundle, *args]
    return subprocess.run(cmd, capture_output=True, env=env, input=stdin)


def run_json(bundle, *args, env=None):
    p = greta_run(bundle, "--json", *args, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"greta-run {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
    return json.loads(p.stdout)


def tokenize(gguf_path, text):
    p = subprocess.run([e2e.tool("greta-tokenize"), gguf_path, "--special"],
                       input=json.dumps(text) + "\n", capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def render_template(gguf_path, messages):
    reader = gguf.GGUFReader(gguf_path)
    template = reader.fields["tokenizer.chat_template"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    bos = tokens[reader.fields["tokenizer.ggml.bos_token_id"].contents()]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(template).render(messages=messages, bos_token=bos,
                                            add_generation_prompt=True)


# Tests that greedy generation is deterministic, thread-count independent, equal to the argmax
# chain of the bundle's logits, and that streamed text equals the --json text.
def test_greedy(bundle):
    a = run_json(bundle, "-p", PROMPT, "-n", "32", "--temp", "0")
    b = run_json(bundle, "-p", PROMPT, "-n", "32", "--temp", "0")
    c = run_json(bundle, "-p", PROMPT, "-n", "32", "--temp", "0", "--threads", "1")
    n = len(a["generated_ids"])
    e2e.check(n == 32 or a["stop_reason"] == "eos",
              f"greedy run generated {n} tokens (stop {a['stop_reason']})")
    e2e.check(a["generated_ids"] == b["generated_ids"] and a["text"] == b["text"],
              "greedy 32-token text identical across two runs")
    e2e.check(c["generated_ids"] == a["generated_ids"],
              f"greedy ids identical with --threads 1 (vs {a['threads']} threads)")
    logits = e2e.greta_logits(bundle, a["prompt_ids"], decode_steps=31, generate=32)
    e2e.check(logits["continuation"][:n] == a["generated_ids"],
              "greta-run's greedy ids == argmax chain of the bundle's prefill/decode logits")
    streamed = greta_run(bundle, "-p", PROMPT, "-n", "32", "--temp", "0")
    e2e.check(streamed.returncode == 0
              and streamed.stdout.decode("utf-8", errors="replace").rstrip("\n") == a["text"],
              "streamed stdout equals the --json text")
    e2e.check(b"tok/s" in streamed.stderr, "speeds (tok/s) reported on stderr")


# Tests that --seed makes temperature sampling repeatable and that another seed changes it.
def test_seed(bundle):
    args = ["-p", PROMPT, "-n", "32", "--temp", "0.8"]
    a = run_json(bundle, *args, "--seed", "42")
    b = run_json(bundle, *args, "--seed", "42")
    c = run_json(bundle, *args, "--seed", "43")
    g = run_json(bundle, "-p", PROMPT, "-n", "32", "--temp", "0")
    e2e.check(a["seed"] == 42 and a["generated_ids"] == b["generated_ids"] and a["text"] == b["text"],
              "--temp 0.8 --seed 42 twice: identical output")
    e2e.check(c["generated_ids"] != a["generated_ids"], "--seed 43 gives another output")
    e2e.check(a["generated_ids"] != g["generated_ids"], "--temp 0.8 differs from greedy")


# Tests that a prompt beyond the context is a clear error, that a full context stops generation
# with stop_reason "context", and that GRETA_MAX_SEQ_LEN sets the context.
def test_context(bundle):
    p = greta_run(bundle, "-p", PROMPT, "--ctx", "4", "-n", "3")
    err = p.stderr.decode(errors="replace")
    e2e.check(p.returncode == 1 and p.stdout == b"" and "does not fit the context of 4" in err,
              f"prompt longer than --ctx 4: exit 1, no output ({err.strip()!r})")
    a = run_json(bundle, "-p", "Hello", "--ctx", "16", "-n", "100", "--temp", "0")
    total = len(a["prompt_ids"]) + len(a["generated_ids"])
    e2e.check(a["stop_reason"] == "context" and a["context"] == 16 and total <= 17,
              f"--ctx 16 -n 100: stops with stop_reason context after {total} tokens")
    env = dict(os.environ, GRETA_MAX_SEQ_LEN="24")
    b = run_json(bundle, "-p", "Hello", "-n", "100", "--temp", "0", env=env)
    e2e.check(b["context"] == 24 and b["stop_reason"] == "context",
              "GRETA_MAX_SEQ_LEN=24 sets the context")


# Tests that --chat uses the model's built-in chat template (checked against jinja2), with and
# without --system, and that -i chats over two turns from stdin.
def test_chat(bundle, gguf_path):
    a = run_json(bundle, "--chat", "-p", "Hello there", "-n", "16", "--temp", "0")
    want = tokenize(gguf_path, render_template(gguf_path, [{"role": "user",
                                                            "content": "Hello there"}]))
    e2e.check(a["prompt_ids"] == want, f"--chat prompt ids == jinja2-rendered template ({want[:6]}...)")
    e2e.check(len(a["generated_ids"]) == 16 or a["stop_reason"] == "eos",
              f"--chat generates (stop {a['stop_reason']})")
    s = run_json(bundle, "--chat", "--system", "Be brief.", "-p", "Hello there", "-n", "4",
                 "--temp", "0")
    want = tokenize(gguf_path, render_template(gguf_path, [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]))
    e2e.check(s["prompt_ids"] == want, "--chat --system prompt ids == jinja2-rendered template")
    p = greta_run(bundle, "-i", "-n", "8", "--temp", "0", stdin=b"Hi\nAnd again\n")
    lines = p.stdout.decode("utf-8", errors="replace").split("\n")
    e2e.check(p.returncode == 0 and len(lines) >= 3 and p.stderr.count(b"> ") >= 2,
              "-i: two turns from stdin, a reply to each")


def main():
    work = e2e.work_dir()
    gguf_path = e2e.synth(os.path.join(work, "tiny.gguf"), "--quant", "q4_k_m", "--seed", "1")
    bundle = e2e.compile_bundle(gguf_path, os.path.join(work, "tiny.greta"))
    test_greedy(bundle)
    test_seed(bundle)
    test_context(bundle)
    test_chat(bundle, gguf_path)
    e2e.finish()


if __name__ == "__main__":
    main()
