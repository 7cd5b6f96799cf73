//===- audit_digest.h - The audit records' row digest: an FNV-1a 64 tree ----===//
//
// The hash an audit record carries for a row of float32 values. Plain FNV-1a over the row is one
// dependent multiply per byte: on a GPU that is one thread walking the whole row (7.2 ms for a
// 128,256-entry logits row on an H200). The digest is therefore a fixed two-level tree of
// FNV-1a 64 hashes, identical on every backend:
//
//   leaf  i = FNV-1a 64 over the little-endian bytes of the float32 bit patterns of values
//             [i·kAuditDigestChunk, (i+1)·kAuditDigestChunk) (the last leaf may be shorter);
//   group j = FNV-1a 64 over the 8 little-endian bytes of leaves
//             [j·kAuditDigestGroup, (j+1)·kAuditDigestGroup) in order (the last group may be
//             shorter);
//   digest  = FNV-1a 64 over the 8 little-endian bytes of every group, in order.
//
// An empty row has no groups: its digest is the FNV-1a offset basis. Still deterministic and
// order-sensitive (every level hashes in order), and reproducible from any language.
//
// Why this shape (a cost model of the GPU kernel, codegen/templates/audit_stats.hip). One FNV
// step is a xor and a 64-bit multiply by 2^40 + 0x1b3; the chain it forms costs about t ≈ 8-10
// cycles per byte on a GPU (a 32x32->64 multiply-add on the low word, whose result the next
// byte's xor needs; the high word's multiply-adds run beside it). Each level's hashes run in
// parallel, so the critical path of a row of n values is
//     t · (4·C + 8·G + 8·ceil(n / (C·G)))      (C = kAuditDigestChunk, G = kAuditDigestGroup),
// against t · 4n for the serial hash. With C = 64 and G = 32, a 128,256-value logits row costs
// t · (256 + 256 + 504) ≈ 10k cycles ≈ 5 µs, the three terms balanced; a hidden state of 4096
// values t · (256 + 256 + 16). A third level would save ~2 µs at the price of another barrier;
// one leaf of 64 values also stays in a thread's registers. C·G = 2048 values per group.
//
// Text form in the audit JSONL: "fnv1a64tree:" followed by 16 lower-case hex digits (plain
// "fnv1a64:" hashes — weights, scales, GGUF headers — stay FNV-1a 64 over the bytes).
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/fnv1a.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace greta {

/// Float32 values per leaf (codegen/templates/audit_stats.hip kDigestChunk must agree).
inline constexpr size_t kAuditDigestChunk = 64;
/// Leaves per group (codegen/templates/audit_stats.hip kDigestGroup must agree).
inline constexpr size_t kAuditDigestGroup = 32;
/// Values per group.
inline constexpr size_t kAuditDigestGroupValues = kAuditDigestChunk * kAuditDigestGroup;

/// The digest of `row` (see the file comment).
inline uint64_t auditDigest(std::span<const float> row) {
  Fnv1a64 root;
  for (size_t g = 0; g < row.size(); g += kAuditDigestGroupValues) {
    const std::span<const float> group =
        row.subspan(g, std::min(kAuditDigestGroupValues, row.size() - g));
    Fnv1a64 groupHash;
    for (size_t c = 0; c < group.size(); c += kAuditDigestChunk) {
      Fnv1a64 leaf;
      leaf.update(group.subspan(c, std::min(kAuditDigestChunk, group.size() - c)));
      groupHash.update(leaf.value());
    }
    root.update(groupHash.value());
  }
  return root.value();
}

inline constexpr std::string_view kAuditDigestPrefix = "fnv1a64tree:";

/// "fnv1a64tree:0123456789abcdef".
inline std::string formatAuditDigest(uint64_t digest) {
  return fmt::format("{}{:016x}", kAuditDigestPrefix, digest);
}

} // namespace greta
