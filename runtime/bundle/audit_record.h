//===- audit_record.h - What an audit_stats launch writes ------------------===//
//
// An `audit_stats` launch reduces the last row of its input to this fixed-size record in an
// `audit` buffer (dtype u8, rows 1, cols kAuditRecordBytes). Every backend writes the same bytes
// (little-endian, this field order), so the runtime reads the record the same way whatever ran
// the kernel. The JSONL fields of ARCHITECTURE.md are derived from it.
//
// Thread-safety: plain values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace greta::bundle {

struct AuditStatsRecord {
  uint64_t hash = 0;     ///< the row's digest: runtime/support/audit_digest.h (an FNV-1a 64 tree)
  double sumSquares = 0; ///< sum of x², accumulated in double
  float min = 0;
  float max = 0;
  float mean = 0;     ///< sum / count, accumulated in double
  uint32_t count = 0; ///< elements in the row
  // Logits only (is_logits): the two largest values, ties to the lower id; gap = top1 − top2.
  int32_t top1Id = -1;
  float top1Logit = 0;
  int32_t top2Id = -1;
  float top2Logit = 0;
  float gap = 0;
  uint32_t isLogits = 0; ///< 1 when the top-k fields are meaningful
  uint32_t reserved[2] = {};
};

/// Bytes of the record buffer an audit_stats launch writes.
inline constexpr uint64_t kAuditRecordBytes = 64;
static_assert(sizeof(AuditStatsRecord) == kAuditRecordBytes,
              "the record is part of the bundle format: its size must not drift");

} // namespace greta::bundle
