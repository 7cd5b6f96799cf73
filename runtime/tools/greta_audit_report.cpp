//===- greta_audit_report.cpp - Read audit JSONL, name the first divergence ===//
//
// `greta-audit-report FILE.jsonl [MORE.jsonl …] [--json] [--max-steps N]` reads the records
// greta-run --audit-out wrote (runtime/engine/audit_log.h) and prints, per prompt (each
// prefill_last record starts one), a table of its steps — top-1 and gap, LM-head route, CPU probe
// agreement, RMSNorm check, prefill/decode delta — and a verdict naming the first audit point
// that diverges, in dataflow order:
//
//   final_rmsnorm  --rms-verify disagrees (the norm's output differs from the CPU's)
//   lm_head        the CPU probe disagrees while the norm checks out (named with its route and
//                  the phases where it disagrees), e.g. "first divergence: lm_head (route gemm,
//                  prefill) — CPU probe disagrees in prefill, agrees in decode"
//   hidden state   only delta mode disagrees: decode differs from a prefill of the same tokens
//                  before the final norm
//
// Exit status: 0 when the report was written (whatever it found), 1 on unreadable input.
//
//===----------------------------------------------------------------------===//
#include "runtime/support/error.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace greta {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kDescription = R"(Reports what greta-run --audit-out recorded.

For each prompt: its steps (prefill_last, decode0, decodeN) with top-1, gap, the LM head's route,
the CPU probe's top-1 and agreement, the RMSNorm check and the prefill/decode delta; then a
verdict naming the first diverging audit point (final_rmsnorm, then lm_head with its route) and
the phases where it diverges. Record with --cpu-probe --rms-verify (and --trace-delta) to get a
verdict; without them the report says which checks are missing.)";

/// Steps shown per prompt when --max-steps is not given: prefill_last and the first decodes.
constexpr int64_t kDefaultMaxSteps = 8;

struct Group {
  std::string source; ///< "FILE:LINE" of its prefill_last record
  std::string prompt;
  int64_t turn = 0;
  std::vector<Json> records;
};

enum class PhaseKind { Prefill, Decode };

PhaseKind phaseOf(const Json &record) {
  return record.value("phase", "") == "prefill_last" ? PhaseKind::Prefill : PhaseKind::Decode;
}

std::string_view nameOf(PhaseKind phase) {
  return phase == PhaseKind::Prefill ? "prefill" : "decode";
}

std::vector<Group> readGroups(const std::vector<std::string> &files) {
  std::vector<Group> groups;
  for (const std::string &file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
      fail("{}: cannot open", file);
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
      if (line.empty())
        continue;
      Json record;
      try {
        record = Json::parse(line);
      } catch (const Json::exception &e) {
        fail("{}:{}: not a JSON record ({})", file, number, e.what());
      }
      if (!record.is_object() || !record.contains("phase"))
        fail("{}:{}: not an audit record (no `phase` field)", file, number);
      if (record["phase"] == "prefill_last" || groups.empty()) {
        Group group;
        group.source = fmt::format("{}:{}", file, number);
        group.prompt = record.value("prompt", Json()).is_string() ? record["prompt"].get<std::string>()
                                                                  : "";
        group.turn = record.value("turn", Json()).is_number() ? record["turn"].get<int64_t>() : 0;
        groups.push_back(std::move(group));
      }
      groups.back().records.push_back(std::move(record));
    }
  }
  return groups;
}

/// A field as text for the table: "-" for null or absent.
std::string cell(const Json &record, const char *key) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null())
    return "-";
  if (it->is_boolean())
    return it->get<bool>() ? "yes" : "NO";
  if (it->is_number_float())
    return fmt::format("{:.6g}", it->get<double>());
  if (it->is_string())
    return it->get<std::string>();
  return it->dump();
}

/// "agree" / "DISAGREE" / "-" with the difference, for a bool field and its diff field.
std::string check(const Json &record, const char *ok, const char *diff) {
  auto it = record.find(ok);
  if (it == record.end() || !it->is_boolean())
    return "-";
  return fmt::format("{} ({})", it->get<bool>() ? "agree" : "DISAGREE", cell(record, diff));
}

/// Where a boolean check held and failed, by phase.
struct CheckSummary {
  std::set<PhaseKind> failed;
  std::set<PhaseKind> passed;
  const Json *firstFailure = nullptr;
  bool ran() const { return !failed.empty() || !passed.empty(); }
};

CheckSummary summarize(const std::vector<Json> &records, const char *key) {
  CheckSummary summary;
  for (const Json &record : records) {
    auto it = record.find(key);
    if (it == record.end() || !it->is_boolean())
      continue;
    if (it->get<bool>()) {
      summary.passed.insert(phaseOf(record));
    } else {
      summary.failed.insert(phaseOf(record));
      if (!summary.firstFailure)
        summary.firstFailure = &record;
    }
  }
  return summary;
}

/// "disagrees in prefill, agrees in decode" (phases that both failed and passed count as
/// failed).
std::string phasesText(const CheckSummary &summary) {
  std::vector<std::string> failed, passed;
  for (PhaseKind phase : {PhaseKind::Prefill, PhaseKind::Decode}) {
    if (summary.failed.count(phase))
      failed.emplace_back(nameOf(phase));
    else if (summary.passed.count(phase))
      passed.emplace_back(nameOf(phase));
  }
  std::string text = "disagrees in " + fmt::format("{}", fmt::join(failed, " and "));
  if (!passed.empty())
    text += ", agrees in " + fmt::format("{}", fmt::join(passed, " and "));
  return text;
}

std::vector<std::string> phaseNames(const std::set<PhaseKind> &phases) {
  std::vector<std::string> names;
  for (PhaseKind phase : phases)
    names.emplace_back(nameOf(phase));
  return names;
}

/// The verdict of one prompt's records.
Json verdictOf(const std::vector<Json> &records) {
  const CheckSummary rms = summarize(records, "rms_verify_ok");
  const CheckSummary probe = summarize(records, "cpu_probe_agrees_gpu");
  const CheckSummary delta = summarize(records, "delta_agrees");
  Json verdict;
  verdict["divergence"] = false;
  verdict["point"] = nullptr;
  verdict["route"] = nullptr;
  verdict["phases_disagree"] = Json::array();
  verdict["phases_agree"] = Json::array();
  verdict["checks"] = {{"cpu_probe", probe.ran()}, {"rms_verify", rms.ran()},
                       {"delta", delta.ran()}};
  auto diverges = [&](const std::string &point, const CheckSummary &summary,
                      const std::string &text) {
    verdict["divergence"] = true;
    verdict["point"] = point;
    verdict["phases_disagree"] = phaseNames(summary.failed);
    std::set<PhaseKind> agree;
    for (PhaseKind phase : summary.passed)
      if (!summary.failed.count(phase))
        agree.insert(phase);
    verdict["phases_agree"] = phaseNames(agree);
    verdict["text"] = text;
  };
  if (!rms.failed.empty()) {
    const Json &first = *rms.firstFailure;
    diverges("final_rmsnorm", rms,
             fmt::format("first divergence: final_rmsnorm — RMSNorm check {} (max abs diff {}; "
                         "weight {}, eps {})",
                         phasesText(rms), cell(first, "rms_verify_max_abs_diff"),
                         cell(first, "rms_weight_dtype"), cell(first, "rms_eps")));
    return verdict;
  }
  if (!probe.failed.empty()) {
    const Json &first = *probe.firstFailure;
    const std::string route = cell(first, "lm_head_route");
    const std::string phases = fmt::format("{}", fmt::join(phaseNames(probe.failed), ", "));
    std::string text;
    if (rms.ran())
      text = fmt::format("first divergence: lm_head (route {}, {}) — CPU probe {}", route, phases,
                         phasesText(probe));
    else
      text = fmt::format("first divergence: final_rmsnorm or lm_head (LM head route {}, {}) — CPU "
                         "probe {}; record with --rms-verify to tell them apart",
                         route, phases, phasesText(probe));
    // The LM head's own description, for the likely cause.
    std::set<std::string> scales[2];
    for (const Json &record : records)
      scales[phaseOf(record) == PhaseKind::Prefill ? 0 : 1].insert(
          cell(record, "lm_head_scales_hash"));
    if (!scales[0].empty() && !scales[1].empty() && scales[0] != scales[1])
      text += "; lm_head_scales_hash differs between prefill and decode";
    text += fmt::format(" [LM head {}, layout {}, {} x {} -> {}]", cell(first, "lm_head_quant_mode"),
                        cell(first, "lm_head_layout_used"), cell(first, "lm_head_dtype_a"),
                        cell(first, "lm_head_dtype_b"), cell(first, "lm_head_accum_dtype"));
    diverges("lm_head", probe, text);
    verdict["route"] = route;
    return verdict;
  }
  if (!delta.failed.empty()) {
    const Json &first = *delta.firstFailure;
    diverges("hidden", delta,
             fmt::format("first divergence: before final_rmsnorm — decode at {} {} differs from a "
                         "prefill of the same tokens (hidden max abs diff {}, logits {}){}",
                         cell(first, "phase"), cell(first, "pos_id"),
                         cell(first, "delta_hidden_max_abs_diff"),
                         cell(first, "delta_max_abs_diff"),
                         probe.ran() ? "; the CPU probe agrees, so the layers before the final "
                                       "norm diverge"
                                     : ""));
    return verdict;
  }
  if (!rms.ran() && !probe.ran() && !delta.ran())
    verdict["text"] = "no checks recorded: run greta-run with --cpu-probe --rms-verify "
                      "(--trace-delta) to get a verdict";
  else
    verdict["text"] = "no divergence";
  return verdict;
}

/// `text` without trailing spaces (the last column is padded).
std::string trimRight(std::string text) {
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

void printGroup(const Group &group, size_t index, int64_t maxSteps, const Json &verdict) {
  std::string title = fmt::format("prompt {} (turn {}, {})", index + 1, group.turn, group.source);
  if (!group.prompt.empty())
    title += fmt::format(": \"{}\"", group.prompt);
  std::printf("%s\n", title.c_str());
  const std::string header =
      fmt::format("  {:<13}{:>6} {:>8} {:>11} {:>10}  {:<14} {:>10}  {:<22} {:<22} {:<22}", "phase",
                  "pos", "top1", "top1_logit", "gap", "lm_head", "probe_top1", "cpu_probe",
                  "rms_verify", "delta");
  std::printf("%s\n", trimRight(header).c_str());
  int64_t shown = 0;
  for (const Json &r : group.records) {
    if (maxSteps >= 0 && shown++ >= maxSteps) {
      std::printf("  … %zu more steps\n", group.records.size() - static_cast<size_t>(maxSteps));
      break;
    }
    const std::string route = cell(r, "lm_head_route") + " " + cell(r, "lm_head_quant_mode");
    const std::string row = fmt::format(
        "  {:<13}{:>6} {:>8} {:>11} {:>10}  {:<14} {:>10}  {:<22} {:<22} {:<22}", cell(r, "phase"),
        cell(r, "pos_id"), cell(r, "top1_id"), cell(r, "top1_logit"), cell(r, "gap"), route,
        cell(r, "cpu_probe_top1_id"), check(r, "cpu_probe_agrees_gpu", "cpu_probe_max_abs_diff"),
        check(r, "rms_verify_ok", "rms_verify_max_abs_diff"),
        check(r, "delta_agrees", "delta_max_abs_diff"));
    std::printf("%s\n", trimRight(row).c_str());
  }
  std::printf("  verdict: %s\n\n", verdict["text"].get<std::string>().c_str());
}

/// The fields of a step kept in --json output.
Json stepJson(const Json &r) {
  Json step;
  for (const char *key :
       {"phase", "step", "pos_id", "top1_id", "top1_logit", "top2_id", "gap", "lm_head_route",
        "lm_head_quant_mode", "lm_head_scales_hash", "cpu_probe_top1_id", "cpu_probe_agrees_gpu",
        "cpu_probe_max_abs_diff", "rms_verify_ok", "rms_verify_max_abs_diff", "delta_agrees",
        "delta_max_abs_diff", "delta_top1_agrees"})
    step[key] = r.contains(key) ? r[key] : Json();
  return step;
}

int run(int argc, char **argv) {
  CLI::App app{std::string(kDescription), "greta-audit-report"};
  std::vector<std::string> files;
  bool json = false;
  int64_t maxSteps = kDefaultMaxSteps;
  app.add_option("files", files, "audit JSONL files (greta-run --audit-out)")->required();
  app.add_flag("--json", json, "print one JSON object instead of tables");
  app.add_option("--max-steps", maxSteps, "steps shown per prompt in tables (-1: all)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::vector<Group> groups = readGroups(files);
  if (groups.empty())
    fail("{}: no audit records", fmt::join(files, ", "));
  Json out;
  out["prompts"] = Json::array();
  Json overall;
  for (size_t i = 0; i < groups.size(); ++i) {
    const Json verdict = verdictOf(groups[i].records);
    if (overall.is_null() && verdict["divergence"].get<bool>())
      overall = verdict;
    if (json) {
      Json prompt = {{"source", groups[i].source},
                     {"prompt", groups[i].prompt},
                     {"turn", groups[i].turn},
                     {"steps", Json::array()},
                     {"verdict", verdict}};
      for (const Json &r : groups[i].records)
        prompt["steps"].push_back(stepJson(r));
      out["prompts"].push_back(std::move(prompt));
    } else {
      printGroup(groups[i], i, maxSteps, verdict);
    }
  }
  if (overall.is_null()) // nothing diverged: the first prompt's verdict says whether checks ran
    overall = verdictOf(groups.front().records);
  if (json) {
    out["verdict"] = overall;
    const std::string text = out.dump(2, ' ', false, Json::error_handler_t::replace);
    std::printf("%s\n", text.c_str());
  } else {
    std::printf("verdict: %s\n", overall["text"].get<std::string>().c_str());
  }
  return 0;
}

} // namespace
} // namespace greta

int main(int argc, char **argv) {
  try {
    return greta::run(argc, argv);
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "greta-audit-report: error: %s\n", e.what());
    return 1;
  }
}
