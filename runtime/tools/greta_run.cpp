//===- greta_run.cpp - Generate text with a compiled model -----------------===//
//
// `greta-run MODEL.greta -p TEXT [-n N] [--chat] [-i] [--temp T] [--seed S] [--json] …` loads a
// bundle, runs its prefill and decode plans on a backend, and streams the generated text to
// stdout as it is produced. Speeds go to stderr at the end; --json prints one JSON object
// instead (prompt ids, generated ids, text, timings) for tools and tests. --audit-out writes the
// audit JSONL (runtime/engine/audit_log.h), with the CPU probe, RMSNorm check and prefill/decode
// delta on request; --force-route picks a route alternative the bundle carries.
//
// Ctrl-C stops generation between tokens: the text so far, the speed line (and --json object)
// are printed as usual and the exit status is 130. The audit JSONL is written under a temporary
// name and renamed when greta-run finishes (also after Ctrl-C or an error, holding every step that
// ran), so a reader never sees a half-written line; a second Ctrl-C exits at once and removes the
// temporary (runtime/support/interrupt.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/engine/audit_log.h"
#include "runtime/engine/generation.h"
#include "runtime/engine/session.h"
#include "runtime/engine/utf8_stream.h"
#include "runtime/formats/gguf.h"
#include "runtime/sampling/sampler.h"
#include "runtime/support/atomic_output_file.h"
#include "runtime/support/error.h"
#include "runtime/support/interrupt.h"
#include "runtime/support/line_reader.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tools/backend_setup.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <unistd.h>

namespace greta {
namespace {

constexpr std::string_view kDescription = R"(Generates text with a compiled GRETA bundle.

The prompt is tokenized with the bundle's tokenizer (special tokens such as <|eot_id|> in the
text become their ids). With --chat it is wrapped in the model's chat template as a user message
(after --system, if given); -i continues the conversation from stdin, one user message per line,
keeping the KV cache between turns. Generation stops at the end-of-turn token or after -n tokens.
--temp 0 is greedy decoding; the same --seed gives the same output.)";

/// Tokens to generate when -n is not given.
constexpr int64_t kDefaultMaxTokens = 256;

struct Flags {
  std::string model;
  std::string prompt;
  int64_t maxTokens = kDefaultMaxTokens;
  bool chat = false;
  std::string system;
  bool interactive = false;
  sampling::SamplingParams sampling;
  std::optional<uint64_t> seed;
  uint64_t context = 0;
  std::string device = "auto";
  bool json = false;
  bool verify = false;
  unsigned threads = 0;
  std::string weights;
  std::string auditOut;
  engine::AuditTraceOptions audit;
  std::vector<std::string> forceRoutes;
  std::string injectFault; // tests only
  engine::ExecutorFactory executor; // from --device; null: the CPU
};

/// Turns generated ids into text: streamed to stdout (unless quiet) and kept for --json.
class TextSink {
public:
  TextSink(const Tokenizer &tokenizer, bool stream) : tokenizer_(tokenizer), stream_(stream) {}

  void add(int32_t id) {
    if (tokenizer_.isControl(id))
      return; // control tokens (BOS, <|eot_id|>) are structure, not text
    const std::string &piece = tokenizer_.tokenText(id);
    text_ += piece;
    if (stream_)
      print(utf8_.push(piece));
  }
  void endTurn() {
    if (stream_) {
      print(utf8_.finish());
      print("\n");
    }
  }
  const std::string &text() const { return text_; }

private:
  static void print(const std::string &bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
  }

  const Tokenizer &tokenizer_;
  bool stream_;
  engine::Utf8Stream utf8_;
  std::string text_;
};

/// Totals over all turns, for the speed line and --json.
struct Totals {
  std::vector<int32_t> promptIds;
  std::vector<int32_t> generatedIds;
  uint64_t promptTokens = 0;
  double promptSeconds = 0;
  uint64_t generatedTokens = 0;
  double generationSeconds = 0;
  engine::StopReason stop = engine::StopReason::Length;

  void add(const std::vector<int32_t> &prompt, const engine::GenerationResult &result) {
    promptIds.insert(promptIds.end(), prompt.begin(), prompt.end());
    generatedIds.insert(generatedIds.end(), result.tokens.begin(), result.tokens.end());
    promptTokens += result.promptTokens;
    promptSeconds += result.promptSeconds;
    generatedTokens += result.tokens.size();
    generationSeconds += result.generationSeconds;
    stop = result.stop;
  }
};

double perSecond(uint64_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

std::vector<int32_t> stopTokensOf(const Tokenizer &tokenizer) {
  std::vector<int32_t> stops;
  for (int32_t id : {tokenizer.eos(), tokenizer.eot()})
    if (id >= 0)
      stops.push_back(id);
  for (std::string_view text : {"<|eot_id|>", "<|end_of_text|>"})
    if (auto id = tokenizer.findSpecial(text))
      stops.push_back(*id);
  return stops;
}

/// The token the chat template ends a turn with.
int32_t endOfTurnToken(const Tokenizer &tokenizer) {
  if (tokenizer.eot() >= 0)
    return tokenizer.eot();
  if (auto id = tokenizer.findSpecial("<|eot_id|>"))
    return *id;
  fail("{}: the model has no end-of-turn token (<|eot_id|>); interactive chat needs one",
       tokenizer.source());
}

class Runner {
public:
  Runner(const Flags &flags, const bundle::Bundle &bundle)
      : flags_(flags), bundle_(bundle), tokenizer_(Tokenizer::fromGguf(bundle.tokenizerGguf())),
        session_(bundle, {.context = flags.context,
                          .threads = flags.threads,
                          .forceRoutes = flags.forceRoutes,
                          .injectFault = flags.injectFault,
                          .captureAuditRows = !flags.auditOut.empty(),
                          .executor = flags.executor}),
        sampler_(samplingParams(flags)), sink_(*tokenizer_, !flags.json) {
    if (!flags.auditOut.empty()) {
      tracer_ = std::make_unique<engine::AuditTracer>(session_, flags.audit);
      auditFile_ = std::make_unique<AtomicOutputFile>(flags.auditOut);
    }
  }

  /// Generates; 0, or kInterruptedExitStatus after Ctrl-C.
  int run() {
    try {
      generateAll();
    } catch (...) {
      // The records of the steps that ran explain the failure: keep them (best effort).
      try {
        commitAudit();
      } catch (const std::exception &) {
      }
      throw;
    }
    report();
    commitAudit();
    return interruptRequested() ? kInterruptedExitStatus : 0;
  }

private:
  void generateAll() {
    const bool chat = flags_.chat || flags_.interactive;
    std::optional<ChatTemplate> chatTemplate;
    if (chat)
      chatTemplate.emplace(ChatTemplate::fromGguf(bundle_.tokenizerGguf()));
    std::string userText = flags_.prompt;
    if (userText.empty() && flags_.interactive && !readUserLine(userText))
      return;
    if (userText.empty())
      fail("no prompt: give -p TEXT (or -i to read messages from stdin)");

    std::vector<int32_t> prompt;
    if (chat) {
      std::vector<ChatMessage> messages;
      if (!flags_.system.empty())
        messages.push_back({"system", flags_.system});
      messages.push_back({"user", userText});
      prompt = encode(chatTemplate->render(messages, /*addGenerationPrompt=*/true), false);
    } else {
      prompt = encode(userText, tokenizer_->addsBosByDefault() && tokenizer_->bos() >= 0);
    }

    for (;;) {
      if (tracer_)
        tracer_->setPrompt(userText);
      const engine::GenerationResult result = turn(prompt);
      if (!flags_.interactive || result.stop == engine::StopReason::ContextFull ||
          result.stop == engine::StopReason::Interrupted)
        break;
      if (!readUserLine(userText))
        break;
      // The cache must end with the reply's end-of-turn token before the next user block.
      prompt = result.unfed;
      const int32_t eot = endOfTurnToken(*tokenizer_);
      if (prompt.empty() || prompt.back() != eot) {
        if (result.stop == engine::StopReason::EndOfTurn)
          prompt.pop_back(); // another stop token (EOS): the template wants <|eot_id|>
        prompt.push_back(eot);
      }
      const std::vector<ChatMessage> next = {{"user", userText}};
      const std::vector<int32_t> continuation =
          encode(chatTemplate->renderContinuation(next), false);
      prompt.insert(prompt.end(), continuation.begin(), continuation.end());
    }
  }

  void commitAudit() {
    if (auditFile_)
      auditFile_->commit();
    auditFile_.reset();
  }

  static sampling::SamplingParams samplingParams(const Flags &flags) {
    sampling::SamplingParams params = flags.sampling;
    params.seed = flags.seed ? *flags.seed : std::random_device{}();
    return params;
  }

  std::vector<int32_t> encode(const std::string &text, bool addBos) const {
    return tokenizer_->encode(text, {.addBos = addBos, .parseSpecial = true});
  }

  /// False at the end of stdin or on Ctrl-C.
  bool readUserLine(std::string &line) {
    std::fputs("> ", stderr);
    std::fflush(stderr);
    return stdinLines_.next(line);
  }

  engine::GenerationResult turn(const std::vector<int32_t> &prompt) {
    engine::GenerationOptions options;
    // -n -1: no limit of its own; generation still stops when the context is full.
    options.maxTokens = flags_.maxTokens < 0 ? std::numeric_limits<uint64_t>::max()
                                             : static_cast<uint64_t>(flags_.maxTokens);
    options.stopTokens = stopTokensOf(*tokenizer_);
    options.stopRequested = interruptRequested;
    engine::GenerationCallbacks callbacks;
    callbacks.onToken = [&](int32_t id) { sink_.add(id); };
    if (tracer_)
      callbacks.afterStep = [&] {
        if (std::string line = tracer_->stepJson(); !line.empty()) {
          line += '\n';
          auditFile_->write({reinterpret_cast<const uint8_t *>(line.data()), line.size()});
        }
      };
    engine::GenerationResult result =
        engine::generate(session_, sampler_, prompt, options, history_, callbacks);
    sink_.endTurn();
    totals_.add(prompt, result);
    if (result.stop == engine::StopReason::ContextFull)
      std::fprintf(stderr,
                   "greta-run: stopped after %zu tokens: the context of %llu tokens is full "
                   "(raise --ctx for longer output)\n",
                   result.tokens.size(), static_cast<unsigned long long>(session_.context()));
    return result;
  }

  void report() const {
    std::fprintf(stderr,
                 "greta-run: prompt %llu tokens in %.3f s (%.1f tok/s); generated %llu tokens in "
                 "%.3f s (%.1f tok/s); %s\n",
                 static_cast<unsigned long long>(totals_.promptTokens), totals_.promptSeconds,
                 perSecond(totals_.promptTokens, totals_.promptSeconds),
                 static_cast<unsigned long long>(totals_.generatedTokens),
                 totals_.generationSeconds,
                 perSecond(totals_.generatedTokens, totals_.generationSeconds),
                 session_.deviceDescription().c_str());
    if (!flags_.json)
      return;
    nlohmann::ordered_json out;
    out["prompt_ids"] = totals_.promptIds;
    out["generated_ids"] = totals_.generatedIds;
    out["text"] = sink_.text();
    out["stop_reason"] = engine::nameOf(totals_.stop);
    out["seed"] = sampler_.params().seed;
    out["device"] = session_.device();
    out["threads"] = session_.threads();
    out["context"] = session_.context();
    out["timings"] = {
        {"prompt_tokens", totals_.promptTokens},
        {"prompt_seconds", totals_.promptSeconds},
        {"prompt_tokens_per_second", perSecond(totals_.promptTokens, totals_.promptSeconds)},
        {"generated_tokens", totals_.generatedTokens},
        {"generation_seconds", totals_.generationSeconds},
        {"generation_tokens_per_second",
         perSecond(totals_.generatedTokens, totals_.generationSeconds)}};
    // Token pieces may split a UTF-8 character at the -n limit: replace, never fail.
    const std::string text =
        out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  }

  const Flags &flags_;
  const bundle::Bundle &bundle_;
  std::unique_ptr<Tokenizer> tokenizer_;
  engine::Session session_;
  sampling::Sampler sampler_;
  TextSink sink_;
  std::vector<int32_t> history_;
  Totals totals_;
  std::unique_ptr<engine::AuditTracer> tracer_;
  std::unique_ptr<AtomicOutputFile> auditFile_; // --audit-out, until committed
  LineReader stdinLines_{STDIN_FILENO};
};

/// A boolean switch: "1", "true", "on", "yes" (any case) are on; "0", "false", "off", "no" and ""
/// are off; anything else is an error naming the variable.
bool envSwitch(const char *name) {
  const char *value = std::getenv(name);
  if (!value)
    return false;
  std::string text(value);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "1" || text == "true" || text == "on" || text == "yes")
    return true;
  if (text.empty() || text == "0" || text == "false" || text == "off" || text == "no")
    return false;
  fail("{}='{}' is not a switch (use 1 or 0)", name, value);
}

int run(int argc, char **argv) {
  CLI::App app{std::string(kDescription), "greta-run"};
  Flags f;
  app.add_option("model", f.model, "bundle directory (NAME.greta)")->required();
  app.add_option("-p,--prompt", f.prompt, "prompt text (with --chat: the user message)");
  app.add_option("-n,--n-predict", f.maxTokens,
                 "tokens to generate at most (-1: until the context is full)")
      ->capture_default_str();
  app.add_flag("--chat", f.chat, "wrap the prompt in the model's chat template");
  app.add_option("--system", f.system, "system message for --chat / -i");
  app.add_flag("-i,--interactive", f.interactive,
               "chat on stdin, keeping the KV cache between turns");
  app.add_option("--temp", f.sampling.temperature, "temperature (0: greedy)")
      ->capture_default_str();
  app.add_option("--top-k", f.sampling.topK, "keep the k most likely tokens (0: all)")
      ->capture_default_str();
  app.add_option("--top-p", f.sampling.topP,
                 "keep the most likely tokens up to this total probability (1: off)")
      ->capture_default_str();
  app.add_option("--min-p", f.sampling.minP,
                 "drop tokens below this fraction of the top probability (0: off)")
      ->capture_default_str();
  app.add_option("--repeat-penalty", f.sampling.repeatPenalty,
                 "penalty for recently seen tokens (1: off)")
      ->capture_default_str();
  app.add_option("--repeat-last-n", f.sampling.repeatLastN, "tokens the repeat penalty looks back")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "random seed (default: random; printed with --json)");
  app.add_option("--ctx", f.context,
                 "context length: KV cache tokens (default: GRETA_MAX_SEQ_LEN, else the model's, "
                 "at most 4096)");
  app.add_option("--device", f.device, "auto|cpu|hip (hip:amd, hip:nvidia pick a vendor)")
      ->check(CLI::IsMember({"auto", "cpu", "hip", "hip:amd", "hip:nvidia"}))
      ->capture_default_str();
  app.add_flag("--json", f.json, "print one JSON object (ids, text, timings) instead of streaming");
  app.add_flag("--verify", f.verify, "check every weight checksum before running");
  app.add_option("--threads", f.threads, "CPU threads (0: all)")->capture_default_str();
  app.add_option("--weights", f.weights,
                 "external-weights bundles: the GGUF to read (default: the path in the bundle)");
  app.add_option("--audit-out", f.auditOut,
                 "write the audit records of every step to this JSONL file "
                 "(GRETA_TRACE_PREFILL_DECODE_OUT)");
  app.add_flag("--cpu-probe", f.audit.cpuProbe,
               "recompute final RMSNorm + LM head on the CPU from the backend's hidden state with "
               "the original weights; report agreement (GRETA_TRACE_LMHEAD_CPU_PROBE=1)");
  app.add_flag("--rms-verify", f.audit.rmsVerify,
               "recompute the final RMSNorm alone and compare (GRETA_TRACE_RMS_VERIFY=1)");
  app.add_flag("--trace-delta", f.audit.delta,
               "after each decode step at position N, prefill the same N+1 tokens and compare "
               "every audit point (GRETA_TRACE_PREFILL_DECODE_DELTA=1)");
  app.add_option("--force-route", f.forceRoutes,
                 "run OP on ROUTE where the bundle carries that alternative, e.g. lm_head=gemv");
  // TESTS ONLY, hidden from --help: corrupts one route's weights in the backend on purpose.
  app.add_option("--inject-fault", f.injectFault)->group("");
  app.add_option("--probe-weights", f.audit.weights.ggufPath,
                 "the source GGUF the CPU probe reads original weights from when the bundle holds "
                 "only repacked or f16 copies (default: --weights, else the bundle's source path)");
  CLI11_PARSE(app, argc, argv);

  // ARCHITECTURE.md: the audit environment switches mean what the flags mean; a flag wins.
  if (const char *out = std::getenv("GRETA_TRACE_PREFILL_DECODE_OUT"); out && f.auditOut.empty())
    f.auditOut = out;
  f.audit.cpuProbe = f.audit.cpuProbe || envSwitch("GRETA_TRACE_LMHEAD_CPU_PROBE");
  f.audit.rmsVerify = f.audit.rmsVerify || envSwitch("GRETA_TRACE_RMS_VERIFY");
  f.audit.delta = f.audit.delta || envSwitch("GRETA_TRACE_PREFILL_DECODE_DELTA");
  if (f.audit.weights.ggufPath.empty())
    f.audit.weights.ggufPath = f.weights;
  if ((f.audit.cpuProbe || f.audit.rmsVerify || f.audit.delta) && f.auditOut.empty())
    fail("--cpu-probe, --rms-verify and --trace-delta write their results into the audit "
         "records: give --audit-out FILE (or GRETA_TRACE_PREFILL_DECODE_OUT=FILE)");
  if (!f.injectFault.empty())
    std::fprintf(stderr, "greta-run: TEST ONLY: injecting fault %s into the backend\n",
                 f.injectFault.c_str());

  // ARCHITECTURE.md: environment switches mirror flags; the flag wins.
  if (const char *maxSeqLen = std::getenv("GRETA_MAX_SEQ_LEN"); maxSeqLen && f.context == 0) {
    char *end = nullptr;
    f.context = std::strtoull(maxSeqLen, &end, 10);
    if (end == maxSeqLen || *end != '\0' || f.context == 0)
      fail("GRETA_MAX_SEQ_LEN='{}' is not a positive token count", maxSeqLen);
  }
  const tools::Backend backend = tools::openBackend(f.device);
  if (f.json && f.interactive)
    fail("--json and -i cannot be combined (--json prints one object at the end)");
  bundle::BundleOpenOptions open;
  open.verify = f.verify;
  open.weightsPath = f.weights;
  open.threads = f.threads;
  const std::unique_ptr<bundle::Bundle> bundle = bundle::Bundle::open(f.model, open);
  f.executor = tools::executorFor(backend, *bundle,
                                  {.printProfileAtExit = envSwitch("GRETA_HIP_PROFILE"),
                                   .earlyStart = !envSwitch("GRETA_HIP_NO_EARLY_START"),
                                   .sideStream = !envSwitch("GRETA_HIP_NO_SIDE_STREAM")});
  Runner runner(f, *bundle);
  return runner.run();
}

} // namespace
} // namespace greta

int main(int argc, char **argv) {
  greta::installInterruptHandler(); // Ctrl-C: stop between tokens (see the top of this file)
  try {
    return greta::run(argc, argv);
  } catch (const std::exception &e) { // greta::Error, and I/O or allocation failures
    std::fflush(stdout);
    std::fprintf(stderr, "greta-run: error: %s\n", e.what());
    return 1;
  }
}
