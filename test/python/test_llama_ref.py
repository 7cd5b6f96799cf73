#!/usr/bin/env python3
"""Self-checks of the numpy Llama reference (test/reference/llama_ref.py).

1. Ops: RoPE at position 0 is the identity; RoPE equals a complex rotation of adjacent pairs by
   pos·theta^(-2i/hd)/freqs[i] and keeps q·k relative; attention equals a naive per-head loop
   (GQA head h reads KV head h // group); RMSNorm and SwiGLU formulas.
2. Shapes of forward() and of run()'s outputs; the CLI writes the same keys to .npz and .json.
3. Prefill/decode consistency inside the reference: decode logits at position N (after a prefill
   of N) equal the last row of a prefill of the same N+1 tokens; a token-by-token run equals one
   prefill at every position; later tokens never change earlier positions' logits.
4. GQA vs MHA: a GQA model equals the MHA model whose K/V heads are the GQA ones duplicated.
5. Tied embeddings equal an explicit output.weight copy of token_embd; rope_freqs of ones is a
   no-op and other factors change the result.
6. Quantized files (Q8_0 written by gguf-py; greta-synth's q4_k_m/q8_0/f16 when GRETA_BIN_DIR has
   greta-synth) run, stay consistent and stay close to the F32 model.

Run by ctest as `llama_ref_selfcheck`:  .venv/bin/python test/python/test_llama_ref.py
"""
import json
import math
import os
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
sys.path.insert(0, HERE)

import llama_ref as ref  # noqa: E402
import llama_test_models as tm  # noqa: E402

failures = []


def check(condition, what):
    status = "ok  " if condition else "FAIL"
    print(f"{status} {what}")
    if not condition:
        failures.append(what)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def load(path, dtype=np.float64):
    return ref.LlamaRef.load(path, dtype)


# ---------------------------------------------------------------------------------------------

def test_ops():
    rng = np.random.default_rng(1)
    heads, hd = 3, 8
    x = rng.standard_normal((4, heads * hd))
    ang0 = ref.rope_angles([0, 0, 0, 0], hd, 10000.0)
    check(np.array_equal(ref.rope(x, ang0, heads, hd, hd), x), "rope at position 0 is identity")
    ang0f = ref.rope_angles([0] * 4, hd, 500000.0, freq_factors=np.full(hd // 2, 8.0))
    check(np.array_equal(ref.rope(x, ang0f, heads, hd, hd), x),
          "rope at position 0 is identity with rope_freqs")

    positions = np.array([0, 1, 5, 17])
    theta = 10000.0
    factors = np.array([1.0, 2.0, 3.5, 8.0])
    got = ref.rope(x, ref.rope_angles(positions, hd, theta, factors), heads, hd, hd)
    want = np.empty_like(x)
    for s, p in enumerate(positions):
        for h in range(heads):
            for i in range(hd // 2):
                a = p * theta ** (-2.0 * i / hd) / factors[i]
                z = complex(x[s, h * hd + 2 * i], x[s, h * hd + 2 * i + 1]) * complex(
                    math.cos(a), math.sin(a))
                want[s, h * hd + 2 * i], want[s, h * hd + 2 * i + 1] = z.real, z.imag
    check(rel(got, want) < 1e-12, "rope = complex rotation of adjacent pairs (2i, 2i+1)")

    # Relative position: <rope(q, p+t), rope(k, t)> does not depend on t.
    q, k = rng.standard_normal((1, hd)), rng.standard_normal((1, hd))
    dots = [(ref.rope(q, ref.rope_angles([7 + t], hd, theta), 1, hd, hd)
                  @ ref.rope(k, ref.rope_angles([t], hd, theta), 1, hd, hd).T)[0, 0] for t in range(5)]
    check(np.ptp(dots) < 1e-12, "rope scores depend only on the position difference")

    # Attention vs a naive loop, GQA (6 heads, 2 KV heads), queries at positions 3..5.
    H, Hkv, T = 6, 2, 6
    qx = rng.standard_normal((3, H * hd))
    kc = rng.standard_normal((T, Hkv, hd))
    vc = rng.standard_normal((T, Hkv, hd))
    pos = np.array([3, 4, 5])
    got = ref.attention(qx, kc, vc, pos, H, Hkv, hd)
    want = np.zeros_like(got)
    for s, p in enumerate(pos):
        for h in range(H):
            g = h // (H // Hkv)
            qv = qx[s, h * hd:(h + 1) * hd]
            sc = np.array([qv @ kc[t, g] / math.sqrt(hd) for t in range(p + 1)])
            pr = np.exp(sc - sc.max())
            pr /= pr.sum()
            want[s, h * hd:(h + 1) * hd] = sum(pr[t] * vc[t, g] for t in range(p + 1))
    check(rel(got, want) < 1e-12, "attention = naive causal GQA loop (head h -> kv h // group)")

    xn = rng.standard_normal((2, 16))
    wn = rng.standard_normal(16)
    want = np.stack([r / math.sqrt(np.mean(r * r) + 1e-5) * wn for r in xn])
    check(rel(ref.rms_norm(xn, wn, 1e-5), want) < 1e-13, "rms_norm formula")
    g, u, dn = rng.standard_normal((8, 16)), rng.standard_normal((8, 16)), rng.standard_normal(
        (16, 8))
    want = (((xn @ g.T) / (1 + np.exp(-(xn @ g.T)))) * (xn @ u.T)) @ dn.T
    check(rel(ref.swiglu_ffn(xn, g, u, dn), want) < 1e-13, "swiglu ffn formula")


def test_shapes_and_cli(tmp):
    hp = tm.default_hparams()
    path = tm.write_gguf(os.path.join(tmp, "gqa.gguf"), hp, tm.random_weights(hp, 1))
    m = load(path)
    check((m.hp.layers, m.hp.dim, m.hp.heads, m.hp.kv_heads, m.hp.head_dim, m.hp.ffn,
           m.hp.vocab) == (2, 64, 4, 2, 16, 96, 80), f"hparams read from GGUF: {m.hp}")
    check(not m.hp.tied_embeddings and not m.hp.has_rope_freqs, "untied, no rope_freqs")
    cache = m.new_cache()
    check(m.forward([1, 2, 3], cache).shape == (3, 80), "forward prefill shape [S, V]")
    check(m.forward([4], cache, last_only=True).shape == (1, 80), "forward decode shape [1, V]")
    check(cache.length == 4, "cache length after 3 + 1 tokens")

    r = ref.run(m, [5, 6, 7, 8, 9], decode_steps=4, generate=9, all_positions=True)
    shapes = {k: np.asarray(v).shape for k, v in r.items()}
    check(shapes["prefill_logits_last"] == (80,) and shapes["prefill_logits_all"] == (5, 80)
          and shapes["decode_logits"] == (4, 80) and shapes["decode_tokens"] == (4,)
          and shapes["continuation"] == (9,) and shapes["top1_gap_decode"] == (4,),
          f"run() shapes {shapes}")
    check(r["continuation"][0] == np.argmax(r["prefill_logits_last"]) and
          all(r["continuation"][k + 1] == np.argmax(r["decode_logits"][k]) for k in range(4)),
          "continuation is the argmax chain")
    check(np.array_equal(r["decode_tokens"], r["continuation"][:4]),
          "decode steps feed the greedy tokens")

    npz, js = os.path.join(tmp, "o.npz"), os.path.join(tmp, "o.json")
    args = [path, "--tokens", "5,6,7,8,9", "--decode-steps", "4", "--generate", "9",
            "--all-positions"]
    ref.main(args + ["--out", npz])
    ref.main(args + ["--out", js])
    d = np.load(npz)
    with open(js) as f:
        j = json.load(f)
    check(j["format"] == "greta-golden-logits" and j["model"]["vocab"] == 80,
          "json header (format, model)")
    for key in ("prompt", "prefill_logits_last", "prefill_logits_all", "decode_tokens",
                "decode_logits", "continuation"):
        check(np.allclose(d[key], r[key], rtol=0, atol=0) and
              np.allclose(np.asarray(j[key]), r[key], rtol=1e-7, atol=0),
              f"CLI .npz and .json hold {key}")
    ref.main([path, "--tokens", "5,6", "--feed", "1,2,3", "--out", npz])
    d = np.load(npz)
    check(d["decode_tokens"].tolist() == [1, 2, 3] and d["decode_logits"].shape == (3, 80)
          and "continuation" not in d, "--feed feeds the given tokens")


def test_consistency(tmp):
    for dtype, tol in ((np.float64, 1e-11), (np.float32, 1e-5)):
        hp = tm.default_hparams(rope_freqs=np.linspace(1.0, 8.0, 8))
        path = tm.write_gguf(os.path.join(tmp, "c.gguf"), hp, tm.random_weights(hp, 2))
        m = load(path, dtype)
        prompt = [3, 14, 15, 9, 26, 5]
        r = ref.run(m, prompt, decode_steps=6, generate=7)
        worst = 0.0
        for k in range(6):
            seq = prompt + r["decode_tokens"][: k + 1].tolist()
            full = m.forward(seq, m.new_cache(), last_only=True)[0]
            worst = max(worst, rel(r["decode_logits"][k], full))
        check(worst < tol, f"{np.dtype(dtype).name}: decode at N == prefill of N+1 (rel {worst:.2g})")

        seq = prompt + r["decode_tokens"].tolist()
        all_rows = m.forward(seq, m.new_cache())
        cache = m.new_cache()
        one_by_one = np.concatenate([m.forward([t], cache) for t in seq])
        check(rel(one_by_one, all_rows) < tol,
              f"{np.dtype(dtype).name}: token-by-token == one prefill at every position "
              f"(rel {rel(one_by_one, all_rows):.2g})")
        chunked = m.new_cache()
        chunks = np.concatenate([m.forward(seq[:4], chunked), m.forward(seq[4:9], chunked),
                                 m.forward(seq[9:], chunked)])
        check(rel(chunks, all_rows) < tol, f"{np.dtype(dtype).name}: chunked prefill")
        changed = m.forward(seq[:5] + [1, 2, 3], m.new_cache())
        check(np.array_equal(changed[:5], all_rows[:5]), "later tokens leave earlier logits")


def test_gqa_vs_mha(tmp):
    hp = tm.default_hparams(heads=4, kv_heads=2)
    w = tm.random_weights(hp, 3)
    gqa = load(tm.write_gguf(os.path.join(tmp, "gqa.gguf"), hp, w))
    hp_mha = dict(hp, kv_heads=4)
    w_mha = dict(w)
    hd, group = hp["head_dim"], hp["heads"] // hp["kv_heads"]
    for i in range(hp["layers"]):
        for n in ("attn_k", "attn_v"):
            a = w[f"blk.{i}.{n}.weight"]
            w_mha[f"blk.{i}.{n}.weight"] = np.repeat(a.reshape(hp["kv_heads"], hd, -1), group,
                                                     axis=0).reshape(hp["heads"] * hd, -1)
    mha = load(tm.write_gguf(os.path.join(tmp, "mha.gguf"), hp_mha, w_mha))
    check(mha.hp.kv_heads == 4 and gqa.hp.kv_heads == 2, "kv heads read back")
    prompt = [1, 7, 2, 9, 30, 31, 44]
    a = ref.run(gqa, prompt, decode_steps=5, generate=8, all_positions=True)
    b = ref.run(mha, prompt, decode_steps=5, generate=8, all_positions=True)
    check(rel(a["prefill_logits_all"], b["prefill_logits_all"]) < 1e-12 and
          rel(a["decode_logits"], b["decode_logits"]) < 1e-12 and
          np.array_equal(a["continuation"], b["continuation"]),
          "GQA == MHA with duplicated K/V heads (prefill, decode, continuation)")
    # The mapping matters: interleaving the duplicates (h % Hkv) must not match.
    w_bad = dict(w_mha)
    for i in range(hp["layers"]):
        for n in ("attn_k", "attn_v"):
            a_ = w[f"blk.{i}.{n}.weight"]
            w_bad[f"blk.{i}.{n}.weight"] = np.tile(a_.reshape(hp["kv_heads"], hd, -1),
                                                   (group, 1, 1)).reshape(hp["heads"] * hd, -1)
    bad = load(tm.write_gguf(os.path.join(tmp, "bad.gguf"), hp_mha, w_bad))
    c = ref.run(bad, prompt, decode_steps=5, generate=8)
    check(rel(c["prefill_logits_last"], a["prefill_logits_last"]) > 1e-3,
          "negative control: h % Hkv duplication differs")


def test_tied_and_rope_freqs(tmp):
    hp = tm.default_hparams(tied=True)
    w = tm.random_weights(hp, 4)
    tied = load(tm.write_gguf(os.path.join(tmp, "tied.gguf"), hp, w))
    untied = load(tm.write_gguf(os.path.join(tmp, "untied.gguf"), dict(hp, tied=False),
                                dict(w, **{"output.weight": w["token_embd.weight"]})))
    prompt = [1, 2, 3, 4]
    check(tied.hp.tied_embeddings and not untied.hp.tied_embeddings, "tied detection")
    check(rel(ref.run(tied, prompt, 3, 4)["decode_logits"],
              ref.run(untied, prompt, 3, 4)["decode_logits"]) == 0.0,
          "tied LM head uses token_embd")

    base_hp = tm.default_hparams()
    w = tm.random_weights(base_hp, 5)
    base = load(tm.write_gguf(os.path.join(tmp, "b.gguf"), base_hp, w))
    ones_hp = dict(base_hp, rope_freqs=np.ones(8))
    ones = load(tm.write_gguf(os.path.join(tmp, "o.gguf"), ones_hp,
                              dict(w, **{"rope_freqs.weight": np.ones(8, np.float32)})))
    scaled = load(tm.write_gguf(os.path.join(tmp, "s.gguf"), ones_hp,
                                dict(w, **{"rope_freqs.weight": np.linspace(1, 8, 8)
                                           .astype(np.float32)})))
    check(ones.hp.has_rope_freqs, "rope_freqs detected")
    ra, rb, rc = (ref.run(m, prompt, 3, 4)["decode_logits"] for m in (base, ones, scaled))
    check(rel(ra, rb) < 1e-14, "rope_freqs of ones is a no-op")
    check(rel(ra, rc) > 1e-4, "rope_freqs factors change the logits")


def test_quantized(tmp):
    hp = tm.default_hparams()
    w = tm.random_weights(hp, 6)
    f32 = load(tm.write_gguf(os.path.join(tmp, "f32.gguf"), hp, w))
    prompt = [9, 8, 7, 6, 5]
    base = ref.run(f32, prompt, decode_steps=4, generate=5)
    for qt, tol in ((Q.F16, 2e-3), (Q.Q8_0, 3e-2)):
        m = load(tm.write_gguf(os.path.join(tmp, f"{qt.name}.gguf"), hp, w, qtype=qt))
        check(qt.name in m.source["tensor_types"], f"{qt.name} tensors present")
        r = ref.run(m, prompt, decode_steps=4, feed=base["decode_tokens"])
        d = max(rel(r["prefill_logits_last"], base["prefill_logits_last"]),
                rel(r["decode_logits"], base["decode_logits"]))
        check(d < tol, f"{qt.name} close to F32 (rel {d:.2g} < {tol})")

    if tm.find_synth() is None:
        if os.environ.get("GRETA_BIN_DIR"):
            check(False, "greta-synth not found in GRETA_BIN_DIR")
        else:
            print("skip greta-synth models (no GRETA_BIN_DIR / build dir with greta-synth)")
        return
    shape = ["--preset", "tiny", "--layers", "2", "--dim", "256", "--heads", "4",
             "--kv-heads", "2", "--ffn", "512", "--seed", "11"]
    results = {}
    for quant in ("f32", "f16", "q8_0", "q4_k_m"):
        p = tm.synth(os.path.join(tmp, f"synth-{quant}.gguf"), *shape, "--quant", quant)
        m = load(p)
        prompt = [538, 40, 41, 300, 12]
        feed = results["f32"]["decode_tokens"] if quant != "f32" else None
        r = (ref.run(m, prompt, decode_steps=4, feed=feed) if feed is not None
             else ref.run(m, prompt, decode_steps=4, generate=5))
        seq = prompt + r["decode_tokens"].tolist()
        full = m.forward(seq, m.new_cache())
        c = rel(r["decode_logits"], full[len(prompt):])
        check(c < 1e-11, f"greta-synth {quant} ({','.join(m.source['tensor_types'])}): "
              f"decode == prefill (rel {c:.2g})")
        results[quant] = r
    # greta-synth synthesizes K-quant blocks directly (not by quantizing the F32 samples), so
    # only f16/q8_0 are near the f32 model.
    for quant, tol in (("f16", 5e-3), ("q8_0", 5e-2)):
        d = rel(results[quant]["decode_logits"], results["f32"]["decode_logits"])
        check(d < tol, f"greta-synth {quant} close to f32 (rel {d:.2g} < {tol})")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_ops()
        test_shapes_and_cli(tmp)
        test_consistency(tmp)
        test_gqa_vs_mha(tmp)
        test_tied_and_rope_freqs(tmp)
        test_quantized(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
