#!/usr/bin/env python3
# gen_chat_vectors.py - reference vectors for runtime/tokenizer/chat_template.cpp.
#
# Renders the Llama-3 Instruct chat template with jinja2, configured the way Hugging Face
# transformers' apply_chat_template configures it (sandboxed environment, trim_blocks and
# lstrip_blocks on, the loopcontrols extension, a raise_exception global, special tokens passed
# as variables), over a fixed set of conversations, and tokenizes each rendered text with the
# `tokenizers` package (add_special_tokens=False, so the header tokens and <|eot_id|> written by
# the template come out as their special ids and no extra BOS is added).
#
# Three templates are rendered:
#   gguf          - the template stored in the testdata (Llama-3-8B-Instruct as first published:
#                   it appends the assistant header whatever add_generation_prompt says);
#   guarded       - the same text with that header wrapped in `{% if add_generation_prompt %}`,
#                   as later revisions of the model's tokenizer_config.json have it;
#   llama31_shape - test/data/chat/llama31_shape.jinja, written for GRETA's tests: the
#                   statements that make Llama-3.1's output when no tools are passed (a system
#                   block with the cutoff and date lines), without the official tool branches.
#
# Rerun (needs jinja2 and tokenizers, pinned in scripts/requirements.txt):
#   .venv/bin/pip install -r scripts/requirements.txt
#   .venv/bin/python scripts/gen_chat_vectors.py \
#       [--testdata ../shared/testdata] [--out test/data/chat/llama3_chat_vectors.json]
# The output is deterministic; commit it when it changes.

import argparse
import json
import pathlib

import jinja2
import jinja2.ext
import jinja2.sandbox
import tokenizers

REPO = pathlib.Path(__file__).resolve().parent.parent

# The unconditional generation prompt in the published template, and what later revisions
# replaced it with.
GEN_PROMPT_EXPR = "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
GUARDED_GEN_PROMPT_EXPR = "{% if add_generation_prompt %}" + GEN_PROMPT_EXPR + "{% endif %}"


def conversation(*turns):
    return [{"role": role, "content": content} for role, content in turns]


# Each case: name, messages, and the add_generation_prompt values to render it with.
CASES = [
    ("system_user", conversation(
        ("system", "You are a helpful assistant."),
        ("user", "What is the capital of France?")), [True, False]),
    ("user_only", conversation(
        ("user", "Hello!")), [True, False]),
    ("multi_turn", conversation(
        ("system", "You are a concise assistant. Answer in one sentence."),
        ("user", "Name a prime number."),
        ("assistant", "7 is a prime number."),
        ("user", "And an even one?")), [True]),
    ("ends_with_assistant", conversation(
        ("user", "Say hi."),
        ("assistant", "Hi!")), [False]),
    ("spanish", conversation(
        ("system", "Eres un asistente útil que responde en español."),
        ("user", "¿Cuál es la capital de Argentina?")), [True]),
    ("multilingual", conversation(
        ("user", "東京はどこですか？ Где находится Москва? أين تقع القاهرة؟"),
        ("assistant", "Tokio está en Japón; Москва — в России; القاهرة في مصر."),
        ("user", "Grüße aus Köln! Ça va? Ελληνικά; नमस्ते")), [True]),
    ("ascii_whitespace", conversation(
        ("system", "\n\n  Be brief.\t\n"),
        ("user", "  \t Line one\n\n  line two, indented\n\t\r\n"),
        ("assistant", "\r\n\x0b\x0cOK \n")), [True]),
    # Python's str.strip() (Jinja's `trim`) also strips Unicode spaces and the ASCII
    # separators 0x1C-0x1F, but not U+200B ZERO WIDTH SPACE or U+FEFF.
    ("unicode_whitespace", conversation(
        ("user", "\u00a0\u3000\u2003 wide spaces \u2009\u202f\u205f\u1680\u2028\u2029\x85"),
        ("assistant", "\x1c\x1d\x1e\x1f separators \x1f"),
        ("user", "\u200b zero width stays \ufeff")), [True]),
    ("empty_content", conversation(
        ("system", ""),
        ("user", "   \n\t "),
        ("assistant", ""),
        ("user", "")), [True]),
    ("emoji", conversation(
        ("user", "🦙 Tell me about llamas 🇦🇷👩‍💻❤️"),
        ("assistant", "Llamas 🦙 are camelids from South America. 🏔️"),
        ("user", "😀😀😀 more!")), [True]),
    ("code", conversation(
        ("system", "You write Python."),
        ("user", "Fix this:\n```python\ndef f(x):\n    return x+1  # add one\n```\n"),
        ("assistant", "```python\ndef f(x: int) -> int:\n    return x + 1\n```")), [True]),
]


def make_environment():
    """A jinja2 environment shaped like transformers' chat-template environment."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    parser = argparse.ArgumentParser(description="Writes the chat-template reference vectors.")
    parser.add_argument("--testdata", type=pathlib.Path,
                        default=REPO.parent / "shared" / "testdata")
    parser.add_argument("--out", type=pathlib.Path,
                        default=REPO / "test" / "data" / "chat" / "llama3_chat_vectors.json")
    args = parser.parse_args()

    tokdir = args.testdata / "llama3-tokenizer"
    config = json.loads((tokdir / "tokenizer_config.json").read_text(encoding="utf-8"))
    source = config["chat_template"]
    if GEN_PROMPT_EXPR not in source:
        raise SystemExit("tokenizer_config.json: chat_template has no unconditional generation "
                         "prompt to derive the guarded variant from")
    templates = {
        "gguf": source,
        "guarded": source.replace(GEN_PROMPT_EXPR, GUARDED_GEN_PROMPT_EXPR),
        "llama31_shape": (args.out.parent / "llama31_shape.jinja").read_text(encoding="utf-8"),
    }
    specials = {k: config[k] for k in ("bos_token", "eos_token") if isinstance(config.get(k), str)}

    env = make_environment()
    tokenizer = tokenizers.Tokenizer.from_file(str(tokdir / "tokenizer.json"))

    vectors = []
    for template_name, template_source in templates.items():
        template = env.from_string(template_source)
        for name, messages, gen_flags in CASES:
            for gen in gen_flags:
                text = template.render(messages=messages, add_generation_prompt=gen, **specials)
                ids = tokenizer.encode(text, add_special_tokens=False).ids
                vectors.append({
                    "name": f"{template_name}/{name}/{'gen' if gen else 'nogen'}",
                    "template": template_name,
                    "messages": messages,
                    "add_generation_prompt": gen,
                    "text": text,
                    "ids": ids,
                })

    document = {
        "generator": "scripts/gen_chat_vectors.py",
        "tokenizer": f"llama3-tokenizer/tokenizer.json (tokenizers {tokenizers.__version__})",
        "jinja2": jinja2.__version__,
        "bos_token": specials.get("bos_token"),
        "templates": templates,
        "vectors": vectors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {args.out}")


if __name__ == "__main__":
    main()
