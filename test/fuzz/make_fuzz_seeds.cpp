//===- make_fuzz_seeds.cpp - Writes the fuzzers' generated seed files ------===//
//
// The binary seeds under test/fuzz/corpus are written by this program, so they can be
// regenerated when a format changes:
//   build-asan/test/fuzz/make_fuzz_seeds test/fuzz/corpus
// It writes only the `seed-*` files; reproducers of crashes (`crash-*`, `regress-*`) and the
// hand-written text seeds sit beside them and are kept. GGUF images come from GgufWriter, so they
// are valid files the fuzzers then mutate.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle_writer.h"
#include "runtime/bundle/manifest_json.h"
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/unicode.h"
#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/test_models.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace greta;

namespace {

void writeFile(const fs::path &path, const void *data, size_t size) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
  if (!out)
    fail("{}: cannot write", path.string());
}

void writeSeed(const fs::path &dir, const std::string &name, const std::vector<uint8_t> &bytes) {
  writeFile(dir / ("seed-" + name), bytes.data(), bytes.size());
}

void writeSeed(const fs::path &dir, const std::string &name, const std::string &bytes) {
  writeFile(dir / ("seed-" + name), bytes.data(), bytes.size());
}

std::vector<uint8_t> counting(size_t bytes) {
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<uint8_t>(i * 37 + 11);
  return out;
}

/// GGUF reader seeds: no content, every value type with small tensors, and a quantized tensor.
void ggufReaderSeeds(const fs::path &dir) {
  writeSeed(dir, "header-only.gguf", GgufWriter().toBytes());

  GgufWriter all;
  all.add("general.architecture", GgufValue::str("llama"));
  all.add("u8", GgufValue::makeUInt(GgufValueType::UInt8, 200));
  all.add("i8", GgufValue::makeInt(GgufValueType::Int8, -100));
  all.add("u16", GgufValue::makeUInt(GgufValueType::UInt16, 60000));
  all.add("i16", GgufValue::makeInt(GgufValueType::Int16, -30000));
  all.add("u32", GgufValue::u32(4000000000u));
  all.add("i32", GgufValue::i32(-2000000000));
  all.add("f32", GgufValue::f32(1.5f));
  all.add("bool", GgufValue::makeBool(true));
  all.add("string", GgufValue::str("caf\xc3\xa9"));
  all.add("u64", GgufValue::makeUInt(GgufValueType::UInt64, 1ull << 40));
  all.add("i64", GgufValue::makeInt(GgufValueType::Int64, -(1ll << 40)));
  all.add("f64", GgufValue::makeFloat(GgufValueType::Float64, 0.1));
  all.add("strings", GgufValue::strings({"a", "", "bc"}));
  all.add("f32s", GgufValue::f32s({0.f, -1.f, 2.5f}));
  all.add("i32s", GgufValue::i32s({1, -2, 3}));
  GgufArray nested{GgufValueType::Array,
                   {GgufValue::i32s({1, 2}), GgufValue::makeArray({GgufValueType::Bool, {}})}};
  all.add("nested", GgufValue::makeArray(nested));
  all.setAlignment(64);
  all.addTensor("tiny.f32", TensorType::F32, {4}, counting(16));
  all.addTensor("tiny.f16", TensorType::F16, {2, 3}, counting(12));
  writeSeed(dir, "all-value-types.gguf", all.toBytes());

  GgufWriter quant;
  quant.addTensor("blk.0.attn_q.weight", TensorType::Q8_0, {32, 2}, counting(2 * 34));
  quant.addTensor("blk.0.ffn_down.weight", TensorType::Q4_K, {256}, counting(144));
  writeSeed(dir, "quant-tensors.gguf", quant.toBytes());
}

/// Tokenizer metadata seeds: a byte-level BPE vocabulary with merges, special tokens and a chat
/// template, and a SentencePiece one with byte pieces.
void vocabSeeds(const fs::path &dir, const std::string &llama3Template) {
  constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kByte = 6;
  {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (int byte = 0; byte < 256; ++byte) {
      tokens.push_back(byteLevelEncode(std::string(1, static_cast<char>(byte))));
      types.push_back(kNormal);
    }
    for (const char *word : {" t", "he", " the", "in", " a", "er"}) {
      tokens.push_back(byteLevelEncode(word));
      types.push_back(kNormal);
    }
    const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r"};
    for (const char *special : {"<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                                "<|end_header_id|>"}) {
      tokens.push_back(special);
      types.push_back(kControl);
    }
    tokens.push_back("<tool>");
    types.push_back(kUserDefined);
    GgufWriter bpe;
    bpe.add("tokenizer.ggml.model", GgufValue::str("gpt2"));
    bpe.add("tokenizer.ggml.pre", GgufValue::str("llama-bpe"));
    bpe.add("tokenizer.ggml.tokens", GgufValue::strings(tokens));
    bpe.add("tokenizer.ggml.token_type", GgufValue::i32s(types));
    bpe.add("tokenizer.ggml.merges", GgufValue::strings(merges));
    bpe.add("tokenizer.ggml.bos_token_id", GgufValue::u32(262));
    bpe.add("tokenizer.ggml.eos_token_id", GgufValue::u32(263));
    bpe.add("tokenizer.chat_template", GgufValue::str(llama3Template));
    writeSeed(dir, "bpe-vocab.gguf", bpe.toBytes());
  }
  {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {kUnknown, kControl, kControl};
    std::vector<float> scores = {0, 0, 0};
    for (int byte = 0; byte < 256; ++byte) {
      tokens.push_back(fmt::format("<0x{:02X}>", byte));
      types.push_back(kByte);
      scores.push_back(0);
    }
    const std::pair<const char *, float> pieces[] = {
        {"\u2581", -1}, {"\u2581t", -2}, {"he", -3}, {"\u2581the", -4}, {"in", -5}, {"\u2581a", -6}};
    for (const auto &[piece, score] : pieces) {
      tokens.push_back(piece);
      types.push_back(kNormal);
      scores.push_back(score);
    }
    GgufWriter spm;
    spm.add("tokenizer.ggml.model", GgufValue::str("llama"));
    spm.add("tokenizer.ggml.tokens", GgufValue::strings(tokens));
    spm.add("tokenizer.ggml.token_type", GgufValue::i32s(types));
    spm.add("tokenizer.ggml.scores", GgufValue::f32s(scores));
    spm.add("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
    spm.add("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
    spm.add("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
    writeSeed(dir, "spm-vocab.gguf", spm.toBytes());
  }
}

/// Tokenizer seeds: FLAGS byte (see tokenizer_fuzzer.cpp) + text, or + ids.
void tokenizerSeeds(const fs::path &dir) {
  constexpr int kUseSpm = 1, kDecode = 2, kParseSpecial = 4, kAddBos = 8, kRawIds = 64;
  using namespace std::string_literals;
  const std::string texts[] = {
      "Hello, world! It's 2024; don't panic.  \n\tindented\r\n",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
      "Привет мир, 你好世界, こんにちは, مرحبا, नमस्ते, 🦙🔥 ÅΩ 1234567 ",
      "<s>[INST] café \xe2\x96\x81 naïve </s><unk>",
      "bad utf8: \xff\xfe \xc3 \xed\xa0\x80 \xf0\x9f\xa6 nul\0end"s,
  };
  int n = 0;
  for (const std::string &text : texts)
    for (uint8_t flags : {0, kParseSpecial | kAddBos, kUseSpm, kUseSpm | kParseSpecial | kAddBos})
      writeSeed(dir, fmt::format("encode-{:02}", n++), std::string(1, char(flags)) + text);
  // Decode: three bytes per id, folded onto the vocabulary (see tokenizer_fuzzer.cpp).
  auto ids3 = [](uint8_t flags, std::initializer_list<uint32_t> ids) {
    std::string out(1, char(flags));
    for (uint32_t id : ids)
      for (int shift : {0, 8, 16})
        out += char(id >> shift);
    return out;
  };
  // Raw int32 ids: the extremes and values just outside the vocabulary.
  std::string raw(1, char(kDecode | kRawIds));
  for (int32_t id : {0, 128000, 9906, -1, 128256, INT32_MIN, INT32_MAX})
    raw.append(reinterpret_cast<const char *>(&id), sizeof id);
  writeSeed(dir, "decode-bpe", ids3(kDecode, {8, 128008, 9914, 1917, 0, 128264}));
  writeSeed(dir, "decode-spm", ids3(kDecode | kUseSpm, {9, 10, 15051, 3, 0x80 + 11, 32000 + 8}));
  writeSeed(dir, "decode-raw", raw);
}

/// Chat template seeds: the known templates, a Llama-3.2-style one reading today's date, an
/// unsupported one, and templates followed by a conversation (see chat_template_fuzzer.cpp).
void chatSeeds(const fs::path &dir, const nlohmann::json &templates) {
  for (const auto &[name, source] : templates.items())
    writeSeed(dir, name + ".jinja", source.get<std::string>());
  std::string shape = templates.at("llama31_shape").get<std::string>();
  const std::string fixedDate = "set date_string = \"26 Jul 2024\"";
  const size_t at = shape.find(fixedDate);
  if (at == std::string::npos)
    fail("llama31_shape no longer sets a fixed date_string; update make_fuzz_seeds.cpp");
  writeSeed(dir, "llama32-strftime.jinja",
            shape.replace(at, fixedDate.size(), "set date_string = strftime_now(\"%d %b %Y\")"));
  writeSeed(dir, "chatml.jinja",
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}");
  // '\0', FLAGS (1: add the generation prompt), then records split by '\0': a role byte (value
  // mod 4: 0 system, 1 user, 2 assistant, 3 unsupported; never 0 itself) and the content.
  using namespace std::string_literals;
  const std::string conversation = "\0\x01"s + "\x04 Be brief.\n\0"s + "\x01Hi \xc2\xa0\0"s +
                                   "\x02 Hello!\u2003\0"s + "\x01" "Bye"s;
  writeSeed(dir, "guarded-conversation",
            templates.at("guarded").get<std::string>() + conversation);
  writeSeed(dir, "llama31-conversation",
            templates.at("llama31_shape").get<std::string>() + conversation);
  writeSeed(dir, "bad-role", "\0\x02"s + "\x03tool output"s);
}

/// Manifest seeds: bundles of a one-layer tiny Llama as the test fixture's mock compiler plans
/// them, fused with embedded weights (Q8_0, and Q4_K_M, whose matmul_qkv reads a Q6_K v, also
/// with prefill's products on binary16 operands) and unfused with external ones. Printed compactly, with the
/// temporary GGUF path replaced, so regenerating gives the same bytes.
void bundleManifestSeeds(const fs::path &dir) {
  test::TempDir scratch;
  auto oneLayer = [](synth::ModelShape &shape) { shape.layers = 1; };
  struct Variant {
    const char *name;
    synth::QuantMix mix;
    test::LlamaPlanOptions options;
  };
  Variant variants[5] = {{"fused-embed-q8.json", synth::QuantMix::Q8_0, {}},
                         {"unfused-external-f16rows.json", synth::QuantMix::Q4_K_M, {}},
                         {"fused-q4_k_m-qkv.json", synth::QuantMix::Q4_K_M, {}},
                         {"fused-q4_k_m-f16gemm.json", synth::QuantMix::Q4_K_M, {}},
                         {"unfused-q8-kvf16.json", synth::QuantMix::Q8_0, {}}};
  variants[3].options.f16Gemm = true; // cast_f16, dequant_f16, scratch and f16 buffers
  variants[4].options.kvF16 = true;   // f16 kv buffers, params.kv_dtype on every cache kernel
  variants[4].options.fuse = false;   // kv_append and attention's own launches
  variants[1].options.fuse = false;
  variants[1].options.audits = false;
  variants[1].options.weights = bundle::WeightMode::External;
  variants[1].options.fp16Weights = {"output.weight"};
  for (const Variant &variant : variants) {
    const std::string model = test::tinyModel(variant.mix, "one-layer", oneLayer);
    const bundle::Manifest manifest = bundle::writeBundle(
        test::buildLlamaPlan(model, variant.options), scratch.file(variant.name));
    nlohmann::json json = nlohmann::json::parse(bundle::manifestToJson(manifest));
    json["source"]["path"] = "tiny.gguf";
    if (variant.options.weights == bundle::WeightMode::External)
      json["weights"]["file"] = "tiny.gguf";
    writeSeed(dir, variant.name, json.dump() + "\n");
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR (test/fuzz/corpus)\n");
    return 2;
  }
  try {
    const fs::path root = argv[1];
    std::ifstream in(std::string(GRETA_TEST_DATA) + "/chat/llama3_chat_vectors.json");
    const nlohmann::json templates = nlohmann::json::parse(in).at("templates");
    ggufReaderSeeds(root / "gguf_reader_fuzzer");
    vocabSeeds(root / "tokenizer_vocab_fuzzer", templates.at("guarded").get<std::string>());
    tokenizerSeeds(root / "tokenizer_fuzzer");
    chatSeeds(root / "chat_template_fuzzer", templates);
    bundleManifestSeeds(root / "bundle_manifest_fuzzer");
  } catch (const std::exception &error) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", error.what());
    return 1;
  }
  return 0;
}
