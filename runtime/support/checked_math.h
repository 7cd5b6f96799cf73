//===- checked_math.h - Size arithmetic that cannot silently overflow ------===//
//
// Sizes read from files are attacker-controlled: every multiplication or addition that produces a
// byte count or element count goes through these helpers, which throw a greta::Error naming what
// was being computed instead of wrapping around.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/error.h"

#include <cstdint>
#include <string_view>

namespace greta {

/// a * b, or an Error "<what>: a * b overflows 64 bits".
inline uint64_t checkedMul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t result;
  if (__builtin_mul_overflow(a, b, &result))
    fail("{}: {} * {} overflows 64 bits", what, a, b);
  return result;
}

/// a + b, or an Error "<what>: a + b overflows 64 bits".
inline uint64_t checkedAdd(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t result;
  if (__builtin_add_overflow(a, b, &result))
    fail("{}: {} + {} overflows 64 bits", what, a, b);
  return result;
}

/// Rounds `value` up to a multiple of `alignment` (> 0), checking for overflow.
inline uint64_t alignUp(uint64_t value, uint64_t alignment, std::string_view what) {
  uint64_t remainder = value % alignment;
  return remainder == 0 ? value : checkedAdd(value, alignment - remainder, what);
}

} // namespace greta
