//===- bundle_test.cpp - Bundle writer, loader and validation --------------===//
//
// Bundles made by the mock compiler (support/llama_plan_fixture.h) from greta-synth models:
// round trips, atomic writing, external weights, and every class of damage the loader must
// refuse with a message naming the file, field, value and limit.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/bundle_writer.h"
#include "runtime/bundle/manifest_json.h"
#include "runtime/formats/gguf.h"
#include "runtime/support/fnv1a.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

#include "test/unit/gguf_test_support.h"
#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/shared_testdata.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

namespace greta::bundle {
namespace {

namespace fs = std::filesystem;
using test::expectError;
using Json = nlohmann::json;

std::string readText(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeText(const fs::path &path, const std::string &text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/// Applies `edit` to the bundle's manifest.json, as a user or a bug might.
template <typename Edit> void editManifest(const std::string &dir, Edit edit) {
  const fs::path path = fs::path(dir) / "manifest.json";
  Json manifest = Json::parse(readText(path));
  edit(manifest);
  writeText(path, manifest.dump(1));
}

/// An edit of a valid manifest and the parts the refusal's message must contain.
struct ManifestCase {
  std::function<void(Json &)> edit;
  std::vector<std::string> message;
};

/// Writes each case's edit of `original` as `dir`'s manifest and expects Bundle::open to refuse
/// it with a message holding every part of the case's.
void expectEditsRefused(const std::string &dir, const Json &original,
                        const std::vector<ManifestCase> &cases) {
  for (const ManifestCase &c : cases) {
    Json edited = original;
    c.edit(edited);
    writeText(fs::path(dir) / "manifest.json", edited.dump());
    const std::string message = test::errorOf([&] { Bundle::open(dir); });
    for (const std::string &part : c.message)
      EXPECT_NE(message.find(part), std::string::npos) << message << "\nmissing: " << part;
  }
}

/// Index of the first launch of `phase` whose kernel has `family`.
size_t findLaunch(const Json &m, const std::string &phase, const std::string &family) {
  const Json &launches = m["phases"][phase]["launches"];
  for (size_t i = 0; i < launches.size(); ++i)
    for (const Json &kernel : m["kernels"])
      if (kernel["name"] == launches[i]["kernel"] && kernel["family"] == family)
        return i;
  ADD_FAILURE() << "no " << family << " launch in " << phase;
  return 0;
}

class BundleTest : public ::testing::Test {
protected:
  std::string model() { return test::tinyModel(synth::QuantMix::Q4_K_M); }
  std::string writeBundle(const test::LlamaPlanOptions &options = {}) {
    return test::writeLlamaBundle(model(), dir_.file("tiny.greta"), options);
  }
  test::TempDir dir_;
};

// Tests that a written bundle opens with the same manifest, holds every file of the format,
// and hands the kernels the GGUF's own bytes for ggml-layout weights, 64-byte aligned.
TEST_F(BundleTest, RoundTripKeepsManifestFilesAndWeights) {
  BundleSpec spec = test::buildLlamaPlan(model());
  spec.manifest.options.kvCacheDtype = "f16"; // a non-default option survives the trip too
  const Manifest written = bundle::writeBundle(spec, dir_.file("tiny.greta"));
  const auto bundle = Bundle::open(dir_.file("tiny.greta"), {.verify = true});
  EXPECT_EQ(manifestToJson(bundle->manifest()), manifestToJson(written));
  EXPECT_EQ(bundle->manifest().options.kvCacheDtype, "f16");
  EXPECT_EQ(parseManifest(manifestToJson(written), "x").generator, written.generator);

  const fs::path root = dir_.file("tiny.greta");
  for (const KernelSpec &kernel : written.kernels)
    EXPECT_EQ(readText(root / kernel.source), spec.kernelSources.at(kernel.name));
  EXPECT_TRUE(fs::is_regular_file(root / "ir" / "final.mlir"));
  EXPECT_FALSE(fs::exists(root.string() + fmt::format(".tmp-{}", ::getpid())));

  const GgufFile gguf = GgufFile::open(model());
  EXPECT_EQ(written.source.size, gguf.fileSize());
  for (const WeightEntry &w : written.weights.tensors) {
    EXPECT_EQ(w.offset % kWeightAlignment, 0u) << w.name;
    const GgufTensorInfo &t = gguf.requireTensor(w.name);
    const auto bytes = bundle->weightBytes(w.name);
    ASSERT_EQ(bytes.size(), t.data.size()) << w.name;
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), t.data.begin())) << w.name;
  }
}

// Tests that tokenizer.gguf is vocab-only yet carries every tokenizer.* key: the tokenizer and the
// chat template load from it and agree with the source model.
TEST_F(BundleTest, TokenizerFileCarriesEveryTokenizerKey) {
  const auto bundle = Bundle::open(writeBundle());
  const GgufFile source = GgufFile::open(model());
  const GgufFile &vocab = bundle->tokenizerGguf();
  EXPECT_TRUE(vocab.tensors().empty());
  for (const auto &[key, value] : source.metadata()) {
    if (key.starts_with("tokenizer.")) {
      EXPECT_TRUE(vocab.find(key) && *vocab.find(key) == value) << key;
    }
  }
  const auto fromBundle = Tokenizer::fromGguf(vocab);
  const auto fromSource = Tokenizer::fromGguf(source);
  EXPECT_EQ(fromBundle->encode("the quick brown fox"), fromSource->encode("the quick brown fox"));
  EXPECT_NO_THROW(ChatTemplate::fromGguf(vocab));
}

// Tests that a bundle whose tokenizer.gguf has another token count than the model's vocabulary
// (a tokenizer copied from another model) is refused at load, naming both counts, rather than
// failing when the sampler first picks an id the tokenizer lacks.
TEST_F(BundleTest, TokenizerOfAnotherModelIsRefused) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const std::string dir = writeBundle();
  const uint32_t vocab = Bundle::open(dir)->manifest().model.vocab;
  fs::copy_file(GRETA_SHARED_TESTDATA "/llama-spm/ggml-vocab-llama-spm.gguf",
                fs::path(dir) / "tokenizer.gguf", fs::copy_options::overwrite_existing);
  expectError([&] { Bundle::open(dir); },
              {"tokenizer.gguf", "32000 tokens", std::to_string(vocab), "does not belong"});
}

// Tests that a bundle of another format version is refused with a message naming the bundle,
// its version and generator, and the version this runtime reads — before any other field is
// looked at.
TEST_F(BundleTest, OtherFormatVersionIsRefusedNamingBothVersions) {
  const std::string dir = writeBundle();
  editManifest(dir, [](Json &m) {
    m["format_version"] = 2;
    m["generator"] = "greta-compile 9.9.9";
    m["model"] = "a field whose meaning changed";
  });
  expectError([&] { Bundle::open(dir); }, {"tiny.greta/manifest.json", "bundle format version 2",
                                           "greta-compile 9.9.9", "format version 1"});
}

// Tests that a truncated manifest and a manifest with a mistyped field are refused by name.
TEST_F(BundleTest, TruncatedOrMistypedManifestIsRefused) {
  const std::string dir = writeBundle();
  const fs::path path = fs::path(dir) / "manifest.json";
  const std::string text = readText(path);
  writeText(path, text.substr(0, text.size() / 2));
  expectError([&] { Bundle::open(dir); }, {"manifest.json", "not valid JSON"});
  writeText(path, text);
  editManifest(dir, [](Json &m) { m["model"]["layers"] = "two"; });
  expectError([&] { Bundle::open(dir); },
              {"field 'model.layers'", "non-negative integer", "\"two\""});
  editManifest(dir, [](Json &m) {
    m["model"]["layers"] = 2;
    m["buffers"][0]["kind"] = "texture";
  });
  expectError([&] { Bundle::open(dir); }, {"buffers[0].kind", "'texture'", "activation"});
  editManifest(dir, [](Json &m) {
    m["buffers"][0]["kind"] = "input";
    m["weights"]["tensors"][0]["layout"] = "gemv_q4k_t8";
  });
  expectError([&] { Bundle::open(dir); }, {"weights.tensors[0]", "layout 'gemv_q4k_t8'", "ggml"});
  // early_start is a boolean: read when true, refused when anything else.
  editManifest(dir, [](Json &m) {
    m["weights"]["tensors"][0]["layout"] = "ggml";
    m["kernels"][0]["early_start"] = true;
  });
  EXPECT_TRUE(Bundle::open(dir)->manifest().kernels[0].earlyStart);
  EXPECT_FALSE(Bundle::open(dir)->manifest().kernels[1].earlyStart);
  editManifest(dir, [](Json &m) { m["kernels"][0]["early_start"] = "yes"; });
  expectError([&] { Bundle::open(dir); },
              {"field 'kernels[0].early_start'", "expected true or false", "\"yes\""});
  // Hostile nesting is refused before any recursive code sees it.
  writeText(path, "{\"generator\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
  expectError([&] { Bundle::open(dir); }, {"nested deeper than"});
}

// Tests that a launch naming a kernel the manifest does not define is refused.
TEST_F(BundleTest, LaunchOfMissingKernelIsRefused) {
  const std::string dir = writeBundle();
  editManifest(dir, [](Json &m) { m["phases"]["decode"]["launches"][2]["kernel"] = "nope"; });
  expectError([&] { Bundle::open(dir); },
              {"phases.decode.launches[2]", "kernel 'nope' is not in the manifest's kernels"});
}

// Tests that launch arguments are checked against the family: missing, unknown, dangling buffer
// and weight names, wrong shapes and weight types.
TEST_F(BundleTest, BadLaunchArgumentsAreRefused) {
  const std::string dir = writeBundle({.fuse = false});
  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  const size_t matmul = findLaunch(original, "decode", "matmul");
  const std::string at = fmt::format("phases.decode.launches[{}]", matmul);
  const std::vector<ManifestCase> cases = {
      {[&](Json &m) { m["phases"]["decode"]["launches"][matmul]["args"].erase("weight"); },
       {at, "args.weight is missing"}},
      {[&](Json &m) { m["phases"]["decode"]["launches"][matmul]["args"]["wieght"] = "@x"; },
       {at, "no argument 'wieght'"}},
      {[&](Json &m) { m["phases"]["decode"]["launches"][matmul]["args"]["out"] = "nowhere"; },
       {at, "args.out", "no buffer named 'nowhere'"}},
      {[&](Json &m) {
         m["phases"]["decode"]["launches"][matmul]["args"]["weight"] = "@blk.9.attn_q.weight";
       },
       {at, "no weight named 'blk.9.attn_q.weight'"}},
      {[&](Json &m) {
         m["phases"]["decode"]["launches"][matmul]["args"]["weight"] = "@blk.0.ffn_down.weight";
       },
       {at, "weight dims [512, 256]", "needs [256, 256]"}},
      {[&](Json &m) { m["phases"]["decode"]["launches"][matmul]["args"]["x"] = "g"; },
       {at, "args.x = 'g'", "512 cols, but k = 256"}},
      {[&](Json &m) {
         m["phases"]["decode"]["launches"][matmul]["args"]["x"] = "@output_norm.weight";
       },
       {at, "expected a buffer"}},
  };
  expectEditsRefused(dir, original, cases);
}

// Tests kernel params against the family (unknown family, missing and out-of-range params,
// quant that differs from the weight, a compute dtype no kernel declares) and the phase dataflow (reading a buffer no earlier
// launch wrote; aliasing a family cannot do in place).
TEST_F(BundleTest, BadKernelsAndDataflowAreRefused) {
  const std::string dir = writeBundle({.fuse = false});
  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  const size_t matmul = findLaunch(original, "decode", "matmul");
  const std::string matmulKernel = original["phases"]["decode"]["launches"][matmul]["kernel"];
  size_t kernelIndex = 0;
  while (original["kernels"][kernelIndex]["name"] != matmulKernel)
    ++kernelIndex;
  const size_t attention = findLaunch(original, "prefill", "attention");
  const std::vector<ManifestCase> cases = {
      {[&](Json &m) { m["kernels"][kernelIndex]["family"] = "convolution"; },
       {"family 'convolution' is not a kernel family", "matmul_gate_up"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"].erase("n"); }, {"params.n is missing"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"]["k"] = 0; }, {"params.k = 0", "[1,"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"]["quant"] = "Q8_0"; },
       {"differs from params.quant Q8_0"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["route"] = "teleport"; },
       {"route 'teleport'", "gemv, gemm"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"]["dtype_a"] = "f8"; },
       {"params.dtype_a = \"f8\"", "expected one of f32, f16, bf16, i16"}},
      {[&](Json &m) { m["phases"]["prefill"]["launches"][attention]["args"]["q"] = "o"; },
       {"read before any earlier launch of the phase writes it"}},
      {[&](Json &m) { m["phases"]["decode"]["launches"][matmul]["args"]["out"] = "xn"; },
       {"args.out and args.x both name buffer 'xn'"}},
  };
  expectEditsRefused(dir, original, cases);
}

// Tests that matmul_qkv's weights are checked against its types: q and k against params.quant,
// v against params.v_quant where the kernel has it (Q4_K_M's Q6_K v), else params.quant.
TEST_F(BundleTest, MatmulQKVWeightTypesAreChecked) {
  const std::string dir = writeBundle();
  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  findLaunch(original, "decode", "matmul_qkv");
  size_t kernelIndex = 0; // the matmul_qkv kernel of the layers whose v is Q6_K
  while (kernelIndex < original["kernels"].size() &&
         !(original["kernels"][kernelIndex]["family"] == "matmul_qkv" &&
           original["kernels"][kernelIndex]["params"].contains("v_quant")))
    ++kernelIndex;
  ASSERT_LT(kernelIndex, original["kernels"].size()) << "the tiny Q4_K_M model stores some v as Q6_K";
  EXPECT_EQ(original["kernels"][kernelIndex]["params"]["v_quant"], "Q6_K");
  EXPECT_NO_THROW(Bundle::open(dir));
  const std::vector<ManifestCase> cases = {
      {[&](Json &m) { m["kernels"][kernelIndex]["params"]["v_quant"] = "Q8_0"; },
       {"args.v_weight", "weight type Q6_K differs from params.v_quant Q8_0"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"].erase("v_quant"); },
       {"args.v_weight", "weight type Q6_K differs from params.quant Q4_K"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["params"]["quant"] = "Q6_K"; },
       {"args.q_weight", "weight type Q4_K differs from params.quant Q6_K"}},
      {[&](Json &m) { m["kernels"][kernelIndex]["route"] = "gemm"; },
       {"route 'gemm'", "gemv"}},
  };
  expectEditsRefused(dir, original, cases);
}

// Tests the binary16 operands of prefill's products (cast_f16, dequant_f16, scratch buffers):
// a scratch buffer is f16 with one row and holds the whole matrix; a gemm's weight_f16 is a
// scratch buffer and its x_f16 an f16 activation written earlier in the phase; an f16
// activation cannot hold a KV cache's context rows.
TEST_F(BundleTest, BinaryF16OperandsAreChecked) {
  const std::string dir = writeBundle({.fuse = false, .f16Gemm = true});
  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  EXPECT_NO_THROW(Bundle::open(dir));
  size_t scratch = 0, x16 = 0;
  for (size_t i = 0; i < original["buffers"].size(); ++i) {
    if (original["buffers"][i]["name"] == "w16.0")
      scratch = i;
    if (original["buffers"][i]["name"] == "x16.256")
      x16 = i;
  }
  ASSERT_EQ(original["buffers"][scratch]["kind"], "scratch");
  ASSERT_EQ(original["buffers"][x16]["dtype"], "f16");
  const size_t matmul = findLaunch(original, "prefill", "matmul");
  const size_t dequant = findLaunch(original, "prefill", "dequant_f16");
  ASSERT_LT(dequant, matmul);
  const std::string at = fmt::format("phases.prefill.launches[{}]", matmul);
  const std::vector<ManifestCase> cases = {
      {[&](Json &m) { m["buffers"][scratch]["dtype"] = "f32"; },
       {"buffers[", "'w16.0'", "scratch buffers are f16 with rows 1"}},
      {[&](Json &m) { m["buffers"][scratch]["rows"] = "seq"; },
       {"'w16.0'", "scratch buffers are f16 with rows 1"}},
      {[&](Json &m) { m["buffers"][scratch]["cols"] = 1000; },
       {"args.out = 'w16.0'", "scratch buffer holds 1000 values, but n*k = 65536"}},
      {[&](Json &m) { m["buffers"][x16]["rows"] = "context"; },
       {"'x16.256'", "activations are f32 (or f16, cast_f16's)"}},
      {[&](Json &m) { m["phases"]["prefill"]["launches"][matmul]["args"]["weight_f16"] = "q"; },
       {at, "args.weight_f16 = 'q'", "buffer dtype is f32, family matmul needs f16"}},
      {[&](Json &m) {
         m["phases"]["prefill"]["launches"][matmul]["args"]["weight_f16"] = "x16.256";
       },
       {at, "args.weight_f16 = 'x16.256'",
        "needs a scratch buffer (kind scratch), got kind activation"}},
      {[&](Json &m) { m["phases"]["prefill"]["launches"][matmul]["args"]["x_f16"] = "x"; },
       {at, "args.x_f16 = 'x'", "buffer dtype is f32, family matmul needs f16"}},
      {[&](Json &m) { m["phases"]["prefill"]["launches"][matmul]["args"]["out"] = "w16.0"; },
       {at, "args.out = 'w16.0'", "buffer dtype is f16, family matmul needs f32"}},
      {[&](Json &m) {
         Json &launches = m["phases"]["prefill"]["launches"];
         launches.erase(launches.begin() + static_cast<std::ptrdiff_t>(dequant));
       },
       {"args.weight_f16 = 'w16.0'", "read before any earlier launch of the phase writes it"}},
  };
  expectEditsRefused(dir, original, cases);
}

// Tests binary16 KV caches: f16 cache buffers load where every kernel that takes them says
// kv_dtype "f16"; a kernel whose kv_dtype (absent: f32) is not its caches' dtype is refused
// naming the launch, the argument and both dtypes, and so are a kv_dtype other than f32 / f16
// and a KV buffer of any other dtype.
TEST_F(BundleTest, KvCacheDtypesAreChecked) {
  const std::string dir = writeBundle({.fuse = false, .kvF16 = true});
  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  EXPECT_NO_THROW(Bundle::open(dir));
  size_t cache = 0;
  while (original["buffers"][cache]["name"] != "kv.0.k")
    ++cache;
  ASSERT_EQ(original["buffers"][cache]["dtype"], "f16");
  const size_t attention = findLaunch(original, "prefill", "attention");
  const size_t append = findLaunch(original, "prefill", "kv_append");
  ASSERT_LT(append, attention);
  size_t kernel = 0;
  while (original["kernels"][kernel]["name"] !=
         original["phases"]["prefill"]["launches"][attention]["kernel"])
    ++kernel;
  ASSERT_EQ(original["kernels"][kernel]["params"]["kv_dtype"], "f16");
  const std::string atAttention = fmt::format("phases.prefill.launches[{}]", attention);
  const std::string atAppend = fmt::format("phases.prefill.launches[{}]", append);
  const std::vector<ManifestCase> cases = {
      {[&](Json &m) { m["kernels"][kernel]["params"].erase("kv_dtype"); },
       {atAttention, "args.k_cache = 'kv.0.k'", "buffer dtype is f16, family attention needs f32",
        "no params.kv_dtype"}},
      {[&](Json &m) { m["kernels"][kernel]["params"]["kv_dtype"] = "f32"; },
       {atAttention, "args.k_cache = 'kv.0.k'", "buffer dtype is f16, family attention needs f32",
        "params.kv_dtype = \"f32\""}},
      {[&](Json &m) { m["kernels"][kernel]["params"]["kv_dtype"] = "bf16"; },
       {"kernels[", "params.kv_dtype = \"bf16\"", "expected one of f32, f16"}},
      {[&](Json &m) { m["buffers"][cache]["dtype"] = "f32"; },
       {atAppend, "args.k_cache = 'kv.0.k'", "buffer dtype is f32, family kv_append needs f16",
        "params.kv_dtype = \"f16\""}},
      {[&](Json &m) { m["buffers"][cache]["dtype"] = "i32"; },
       {"buffers[", "'kv.0.k'", "dtype i32", "KV caches are f32 or f16 with rows \"context\""}},
  };
  expectEditsRefused(dir, original, cases);
}

// Tests that a weight range past the end of weights.bin, or an offset beyond 63 bits, is refused.
TEST_F(BundleTest, OutOfRangeWeightOffsetIsRefused) {
  const std::string dir = writeBundle();
  const uint64_t size = fs::file_size(fs::path(dir) / "weights.bin");
  const uint64_t past = (size + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
  editManifest(dir, [&](Json &m) { m["weights"]["tensors"][3]["offset"] = past; });
  expectError([&] { Bundle::open(dir); }, {"weights.bin", fmt::format("offset {}", past),
                                           fmt::format("exceeds the file size {}", size)});
  editManifest(dir, [&](Json &m) { m["weights"]["tensors"][3]["offset"] = UINT64_MAX - 63; });
  expectError([&] { Bundle::open(dir); }, {"weights.tensors[3].offset", "exceeds the limit"});
}

// Tests that damaged weights open (checksums cost a full read) but are caught by --verify,
// which names the weight and both checksums.
TEST_F(BundleTest, TamperedWeightsAreDetectedByVerify) {
  const std::string dir = writeBundle();
  const auto clean = Bundle::open(dir);
  const WeightEntry victim = clean->manifest().weights.tensors.at(5);
  {
    std::fstream file(fs::path(dir) / "weights.bin",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(victim.offset + victim.bytes / 2));
    file.put('\x5a');
  }
  EXPECT_NO_THROW(Bundle::open(dir));
  expectError(
      [&] { Bundle::open(dir, {.verify = true}); },
      {fmt::format("weight '{}'", victim.name), "differs from the manifest's", victim.checksum});
}

// Tests that a failed write leaves neither the bundle nor its temporary directory, and that the
// non-throwing entry point reports the error as text.
TEST_F(BundleTest, FailedWriteLeavesNothing) {
  BundleSpec spec = test::buildLlamaPlan(model());
  spec.manifest.decode.launches[1].kernel = "missing_kernel";
  std::string error;
  EXPECT_FALSE(tryWriteBundle(spec, dir_.file("bad.greta"), &error));
  EXPECT_NE(error.find("kernel 'missing_kernel' is not in the manifest's kernels"),
            std::string::npos)
      << error;
  EXPECT_FALSE(fs::exists(dir_.file("bad.greta")));
  for (const auto &entry : fs::directory_iterator(dir_.path()))
    ADD_FAILURE() << "left behind: " << entry.path();

  spec = test::buildLlamaPlan(model());
  spec.manifest.weights.tensors.push_back({.name = "no.such.tensor"});
  EXPECT_FALSE(tryWriteBundle(spec, dir_.file("bad.greta"), &error));
  EXPECT_NE(error.find("no.such.tensor"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_empty(dir_.path()));
}

// Tests that the writer replaces an existing bundle but refuses to replace a directory that is
// not one.
TEST_F(BundleTest, WriterReplacesBundlesOnly) {
  const std::string dir = writeBundle({.audits = true});
  writeBundle({.audits = false});
  EXPECT_EQ(Bundle::open(dir)->manifest().options.audit, "none");
  fs::create_directories(dir_.file("precious"));
  writeText(dir_.file("precious/notes.txt"), "keep me");
  std::string error;
  EXPECT_FALSE(tryWriteBundle(test::buildLlamaPlan(model()), dir_.file("precious"), &error));
  EXPECT_NE(error.find("is not a bundle"), std::string::npos) << error;
  EXPECT_EQ(readText(dir_.file("precious/notes.txt")), "keep me");
}

// Tests external weights: the table points into the source GGUF (no weights.bin), checksums
// verify, layouts other than ggml are repacked at load, and a different file at the recorded
// path is refused by size or header hash.
TEST_F(BundleTest, ExternalWeightsPointIntoTheSourceGguf) {
  const std::string copy = dir_.file("model.gguf");
  fs::copy_file(model(), copy);
  BundleSpec spec = test::buildLlamaPlan(
      copy, {.weights = WeightMode::External, .fp16Weights = {"output.weight"}});
  bundle::writeBundle(spec, dir_.file("ext.greta"));
  EXPECT_FALSE(fs::exists(dir_.file("ext.greta/weights.bin")));
  const auto bundle = Bundle::open(dir_.file("ext.greta"), {.verify = true});
  EXPECT_EQ(bundle->manifest().weights.file, fs::absolute(copy).string());
  const GgufFile gguf = GgufFile::open(copy);
  const auto q = bundle->weightBytes("blk.0.attn_q.weight");
  EXPECT_TRUE(
      std::equal(q.begin(), q.end(), gguf.requireTensor("blk.0.attn_q.weight").data.begin()));
  const WeightEntry &output = bundle->weight("output.weight");
  EXPECT_EQ(output.type, TensorType::F16);
  EXPECT_EQ(bundle->weightBytes("output.weight").size(), 256u * output.dims[1] * 2);

  // Another model at the same path: same size is not enough.
  fs::copy_file(test::tinyModel(synth::QuantMix::Q4_K_M, "other-seed",
                                [](synth::ModelShape &s) { s.ropeTheta = 10000.0f; }),
                copy, fs::copy_options::overwrite_existing);
  expectError([&] { Bundle::open(dir_.file("ext.greta")); },
              {"ext.greta/manifest.json", "header hash", "same file"});
  fs::copy_file(test::tinyModel(synth::QuantMix::F32), copy, fs::copy_options::overwrite_existing);
  expectError([&] { Bundle::open(dir_.file("ext.greta")); },
              {"bytes, but the bundle was compiled"});
  // --weights points the bundle at the right file elsewhere.
  EXPECT_NO_THROW(Bundle::open(dir_.file("ext.greta"), {.weightsPath = model()}));
}

// Tests that kernels and ir files are plain files inside the bundle: a kernel source whose file
// is missing is refused.
TEST_F(BundleTest, MissingKernelSourceIsRefused) {
  const std::string dir = writeBundle();
  const auto bundle = Bundle::open(dir);
  const KernelSpec &kernel = bundle->manifest().kernels.front();
  fs::remove(fs::path(dir) / kernel.source);
  expectError([&] { Bundle::open(dir); }, {kernel.name, "source file", "missing"});
  editManifest(dir, [](Json &m) { m["kernels"][0]["source"] = "../../etc/passwd"; });
  expectError([&] { Bundle::open(dir); }, {"not a relative path inside the bundle"});
}

// Tests ahead-of-time code objects in the bundle: the writer writes each file a kernel's
// code_objects entry names (and refuses an entry without its file), the manifest keeps the
// entries, and the loader refuses a missing or resized file and entries that break the format's
// rules (file name, one per target, hash spelling).
TEST_F(BundleTest, CodeObjectsAreWrittenRecordedAndChecked) {
  BundleSpec spec = test::buildLlamaPlan(model());
  KernelSpec &kernel = spec.manifest.kernels.front();
  const std::vector<uint8_t> code = {0x7f, 'E', 'L', 'F', 1, 2, 3};
  Fnv1a64 checksum;
  checksum.update(std::span<const uint8_t>(code));
  const CodeObjectEntry entry{.target = "sm_90",
                              .file = "kernels/" + kernel.name + ".sm_90.co",
                              .key = formatFnv1a64(42),
                              .bytes = code.size(),
                              .checksum = formatFnv1a64(checksum.value())};
  kernel.codeObjects = {entry};
  expectError([&] { bundle::writeBundle(spec, dir_.file("nofile.greta")); },
              {entry.file, "no file of that size"});
  EXPECT_FALSE(fs::exists(dir_.file("nofile.greta")));

  spec.codeObjectFiles[entry.file] = code;
  const std::string dir = dir_.file("aot.greta");
  bundle::writeBundle(spec, dir);
  const auto bundle = Bundle::open(dir);
  ASSERT_EQ(bundle->manifest().kernels.front().codeObjects.size(), 1u);
  const CodeObjectEntry &read = bundle->manifest().kernels.front().codeObjects.front();
  EXPECT_EQ(read.file, entry.file);
  EXPECT_EQ(read.key, entry.key);
  EXPECT_EQ(read.checksum, entry.checksum);
  EXPECT_EQ(read.bytes, code.size());
  EXPECT_EQ(readText(fs::path(dir) / entry.file), std::string(code.begin(), code.end()));

  const Json original = Json::parse(readText(fs::path(dir) / "manifest.json"));
  const std::vector<ManifestCase> cases = {
      {[](Json &m) { m["kernels"][0]["code_objects"][0]["file"] = "kernels/other.sm_90.co"; },
       {"code_objects[0]", "must be 'kernels/"}},
      {[](Json &m) {
         m["kernels"][0]["code_objects"].push_back(m["kernels"][0]["code_objects"][0]);
       },
       {"code_objects[1]", "a second code object for target sm_90"}},
      {[](Json &m) { m["kernels"][0]["code_objects"][0]["key"] = "md5:1234"; },
       {"fnv1a64:<16 hex digits>", "md5:1234"}},
      {[](Json &m) { m["kernels"][0]["code_objects"][0]["target"] = "../sm_90"; },
       {"target '../sm_90' is not a GPU target name"}},
      {[&](Json &m) { m["kernels"][0]["code_objects"][0]["bytes"] = code.size() + 1; },
       {entry.file, "is 7 bytes (the manifest says 8 bytes)"}},
  };
  expectEditsRefused(dir, original, cases);
  writeText(fs::path(dir) / "manifest.json", original.dump());
  fs::remove(fs::path(dir) / entry.file);
  expectError([&] { Bundle::open(dir); }, {entry.file, "is missing"});
}

} // namespace
} // namespace greta::bundle
