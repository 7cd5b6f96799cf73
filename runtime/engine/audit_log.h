//===- audit_log.h - Audit records as JSON lines ---------------------------===//
//
// One JSON object per step (ARCHITECTURE.md "Audit record"): phase, step, tokens_total, seq_len,
// pos_id, then each audit point's statistics under its prefix — `rms_` for final_rmsnorm,
// `logits_` plus top1/top2/gap for lm_head, `<point>_` (dots as underscores) for others.
// Hashes are written as "fnv1a64:<16 hex digits>".
//
// Thread-safety: pure function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/session.h"

#include <string>
#include <vector>

namespace greta::engine {

/// One line (no newline) for the records of one step; "" when there are none.
std::string auditStepJson(const std::vector<AuditRecord> &records);

} // namespace greta::engine
