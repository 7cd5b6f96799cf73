//===- audit_stats.cpp - CPU family `audit_stats` --------------------------===//
//
// Reduces the last row of x to an AuditStatsRecord (audit_record.h): the row's digest
// (runtime/support/audit_digest.h), min, max, mean, sum of squares, and for logits the top two
// ids, their logits and the gap.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/bundle/audit_record.h"
#include "runtime/support/audit_digest.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace greta::cpu {

namespace {

class AuditStatsLaunch final : public CpuLaunch {
public:
  explicit AuditStatsLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), stats_(b.buffer("stats")), isLogits_(b.flag("is_logits")) {}

  void run(const RunContext &context) override {
    const float *row = x_.lastRows(context.seq, 1);
    const bundle::AuditStatsRecord record =
        computeAuditStats({row, static_cast<size_t>(x_.cols())}, isLogits_);
    std::memcpy(stats_.bytes(), &record, sizeof record);
  }

private:
  CpuBuffer &x_;
  CpuBuffer &stats_;
  bool isLogits_;
};

} // namespace

bundle::AuditStatsRecord computeAuditStats(std::span<const float> row, bool isLogits) {
  bundle::AuditStatsRecord record;
  record.hash = auditDigest(row);
  record.count = static_cast<uint32_t>(row.size());
  double sum = 0.0;
  record.min = row.empty() ? 0.0f : row[0];
  record.max = record.min;
  for (float value : row) {
    sum += value;
    record.sumSquares += static_cast<double>(value) * value;
    record.min = std::min(record.min, value);
    record.max = std::max(record.max, value);
  }
  record.mean = row.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(row.size()));
  if (!isLogits)
    return record;
  record.isLogits = 1;
  for (size_t i = 0; i < row.size(); ++i) {
    const int32_t id = static_cast<int32_t>(i);
    if (record.top1Id < 0 || row[i] > record.top1Logit) {
      record.top2Id = record.top1Id;
      record.top2Logit = record.top1Logit;
      record.top1Id = id;
      record.top1Logit = row[i];
    } else if (record.top2Id < 0 || row[i] > record.top2Logit) {
      record.top2Id = id;
      record.top2Logit = row[i];
    }
  }
  record.gap = record.top2Id < 0 ? 0.0f : record.top1Logit - record.top2Logit;
  return record;
}

std::unique_ptr<CpuLaunch> makeAuditStats(const LaunchBinding &binding) {
  return std::make_unique<AuditStatsLaunch>(binding);
}

} // namespace greta::cpu
