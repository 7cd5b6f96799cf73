//===- audit_log.cpp - Audit records as JSON lines -------------------------===//
#include "runtime/engine/audit_log.h"

#include "runtime/support/fnv1a.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace greta::engine {
namespace {

std::string prefixOf(const std::string &point) {
  if (point == "final_rmsnorm")
    return "rms_";
  if (point == "lm_head")
    return "logits_";
  std::string prefix = point;
  std::replace(prefix.begin(), prefix.end(), '.', '_');
  return prefix + "_";
}

} // namespace

std::string auditStepJson(const std::vector<AuditRecord> &records) {
  if (records.empty())
    return "";
  nlohmann::ordered_json line;
  const AuditRecord &first = records.front();
  line["phase"] = first.phase;
  line["step"] = first.step;
  line["tokens_total"] = first.tokensTotal;
  line["seq_len"] = first.seqLen;
  line["pos_id"] = first.posId;
  for (const AuditRecord &record : records) {
    const std::string prefix = prefixOf(record.point);
    const bundle::AuditStatsRecord &s = record.stats;
    line[prefix + "hash"] = formatFnv1a64(s.hash);
    line[prefix + "min"] = s.min;
    line[prefix + "max"] = s.max;
    line[prefix + "mean"] = s.mean;
    line[prefix + "sumsq"] = s.sumSquares;
    if (s.isLogits) {
      line["top1_id"] = s.top1Id;
      line["top1_logit"] = s.top1Logit;
      line["top2_id"] = s.top2Id;
      line["top2_logit"] = s.top2Logit;
      line["gap"] = s.gap;
    }
  }
  return line.dump();
}

} // namespace greta::engine
