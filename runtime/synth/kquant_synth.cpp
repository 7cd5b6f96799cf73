#include "runtime/synth/kquant_synth.h"

#include "runtime/formats/quant.h"
#include "runtime/support/error.h"
#include "runtime/synth/portable_math.h"

#include <array>
#include <cmath>
#include <vector>

namespace greta::synth {
namespace {

constexpr uint32_t kSuperBlock = 256; // QK_K

// Q4_K block: d (f16), dmin (f16), 12 bytes of packed 6-bit scales and mins, 128 bytes of
// 4-bit codes (two per byte). 8 sub-blocks of 32; value = d * scale * code - dmin * min.
constexpr uint32_t kQ4KBytes = 144;
constexpr uint32_t kQ4KScalesOffset = 4;
constexpr uint32_t kQ4KCodesOffset = 16;
constexpr uint32_t kQ4KSubBlocks = 8;
constexpr int kQ4KLevels = 16;
constexpr int kQ4KIndexBits = 8;
constexpr uint32_t kQ4KIndexMask = (1u << kQ4KIndexBits) - 1;
// One byte of two codes from 2 * kQ4KIndexBits random bits, four bytes per 64-bit draw.
constexpr int kQ4KPairBits = 2 * kQ4KIndexBits;
constexpr uint64_t kQ4KPairMask = (1u << kQ4KPairBits) - 1;
static_assert(4 * kQ4KPairBits == 64, "synthesizeQ4K packs four code bytes per draw");
// Real Q4_K codes spread over the whole range: a sub-block of 32 normal values spans about
// +-2 sigma, so one code step is ~0.28 sigma and the codes' own deviation ~3.6 steps.
constexpr double kQ4KCodeStddev = 3.5;
// Random sub-block scales in [40, 63]: real blocks put their largest at 63 and the rest near it.
// Mins equal scales (with dmin = 7.5 d): value = d * scale * (code - 7.5).
constexpr uint32_t kQ4KMinScale = 40;
constexpr uint32_t kQ4KMaxScale = 63;
constexpr float kQ4KCentre = 7.5f;

// Q6_K block: 128 bytes of low code nibbles, 64 bytes of high 2-bit pairs, 16 int8 sub-block
// scales, d (f16). 16 sub-blocks of 16; value = d * scale * (code - 32).
constexpr uint32_t kQ6KBytes = 210;
constexpr uint32_t kQ6KHighOffset = 128;
constexpr uint32_t kQ6KScalesOffset = 192;
constexpr uint32_t kQ6KDOffset = 208;
constexpr uint32_t kQ6KSubBlocks = 16;
constexpr int kQ6KLevels = 64;
constexpr int kQ6KIndexBits = 16;
constexpr uint64_t kQ6KIndexMask = (1u << kQ6KIndexBits) - 1;
static_assert(4 * kQ6KIndexBits <= 64, "synthesizeQ6K draws four codes at once");
constexpr int kQ6KCentre = 32;
// The extremes of 16 normal values land near codes 0 and 63: deviation ~14 code steps.
constexpr double kQ6KCodeStddev = 14.0;
constexpr uint32_t kQ6KMinScale = 64;
constexpr uint32_t kQ6KMaxScale = 127;

/// A discretised, truncated normal over the codes [lowest, levels), as a lookup table from
/// uniform random `indexBits`-bit indices to codes, plus the exact variance of its codes.
struct CodeTable {
  std::vector<uint8_t> codeOf;
  double variance = 0.0;
};

/// Builds the table with counts symmetric about `centre` (so the mean is exactly `centre`).
/// Weights use portableExp: the same table on every machine.
CodeTable makeCodeTable(int indexBits, int lowest, int levels, double centre, double stddev) {
  const uint32_t size = 1u << indexBits;
  std::vector<uint32_t> counts(levels, 0);
  std::vector<double> weights(levels, 0.0);
  double total = 0.0;
  for (int k = lowest; k < levels; ++k) {
    const double z = (k - centre) / stddev;
    weights[k] = portableExp(-0.5 * z * z);
    total += weights[k];
  }
  uint32_t assigned = 0;
  for (int k = lowest; k < levels; ++k) {
    counts[k] = static_cast<uint32_t>(std::floor(weights[k] / total * size));
    assigned += counts[k];
  }
  // Mirror-image codes have bitwise-equal weights, hence equal counts; the remainder goes to the
  // central code(s), which keeps the table symmetric.
  const uint32_t remainder = size - assigned;
  const int middle = static_cast<int>(std::floor(centre));
  if (centre == middle) {
    counts[middle] += remainder;
  } else {
    counts[middle] += remainder / 2;
    counts[middle + 1] += remainder - remainder / 2;
  }

  CodeTable table;
  table.codeOf.reserve(size);
  double sumSquares = 0.0;
  for (int k = lowest; k < levels; ++k) {
    table.codeOf.insert(table.codeOf.end(), counts[k], static_cast<uint8_t>(k));
    sumSquares += counts[k] * (k - centre) * (k - centre);
  }
  table.variance = sumSquares / size;
  return table;
}

/// Sub-block scales from random bytes: scaleOf[b] = lo + b * (hi - lo + 1) / 256, and the exact
/// mean of scale^2 over all bytes.
struct ScaleTable {
  std::array<uint8_t, 256> scaleOf{};
  double meanSquare = 0.0;
};

ScaleTable makeScaleTable(uint32_t lo, uint32_t hi) {
  ScaleTable table;
  double sum = 0.0;
  for (uint32_t b = 0; b < 256; ++b) {
    const uint32_t scale = lo + (b * (hi - lo + 1)) / 256;
    table.scaleOf[b] = static_cast<uint8_t>(scale);
    sum += static_cast<double>(scale) * scale;
  }
  table.meanSquare = sum / 256;
  return table;
}

/// Q4_K's tables: two 4-bit codes per byte from 16 random bits (8 bits, resolution 1/256, per
/// code: ample for 16 levels, and it halves the random numbers needed).
struct Q4KTables {
  CodeTable codes = makeCodeTable(kQ4KIndexBits, 0, kQ4KLevels, kQ4KCentre, kQ4KCodeStddev);
  std::vector<uint8_t> packedPair = [this] {
    std::vector<uint8_t> pairs(1u << kQ4KPairBits);
    for (uint32_t i = 0; i < pairs.size(); ++i)
      pairs[i] = static_cast<uint8_t>(codes.codeOf[i & kQ4KIndexMask] |
                                      (codes.codeOf[i >> kQ4KIndexBits] << 4));
    return pairs;
  }();
  ScaleTable scales = makeScaleTable(kQ4KMinScale, kQ4KMaxScale);
};

/// Q6_K's tables: 6-bit codes from 16 random bits each (64 levels want the finer resolution).
/// Code 0 is left out so the codes are symmetric about 32 (1..63).
struct Q6KTables {
  CodeTable codes = makeCodeTable(kQ6KIndexBits, 1, kQ6KLevels, kQ6KCentre, kQ6KCodeStddev);
  ScaleTable scales = makeScaleTable(kQ6KMinScale, kQ6KMaxScale);
};

const Q4KTables &q4KTables() {
  static const Q4KTables tables;
  return tables;
}

const Q6KTables &q6KTables() {
  static const Q6KTables tables;
  return tables;
}

/// The F16 bits of d = stddev / sqrt(E[scale^2] * Var[code]). sqrt is IEEE correctly rounded.
uint16_t superBlockScale(float stddev, double meanSquareScale, double codeVariance,
                         TensorType type) {
  const double d = stddev / std::sqrt(meanSquareScale * codeVariance);
  const uint16_t bits = floatToHalf(static_cast<float>(d));
  if (!(stddev > 0.0f) || halfToFloat(bits) == 0.0f || std::isinf(halfToFloat(bits)))
    fail("K-quant synthesis: standard deviation {} gives a {} block scale {} outside F16's range",
         stddev, nameOf(type), d);
  return bits;
}

void storeHalf(uint8_t *dst, uint16_t bits) {
  dst[0] = static_cast<uint8_t>(bits & 0xFF);
  dst[1] = static_cast<uint8_t>(bits >> 8);
}

/// Packs 8 six-bit (scale, min) pairs the way Q4_K stores them: bytes 0-3 hold scales 0-3 and
/// bytes 4-7 mins 0-3 in their low 6 bits, with the top 2 bits of scales/mins 4-7 above them;
/// bytes 8-11 hold the low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high nibble).
void packQ4KScales(const std::array<uint8_t, kQ4KSubBlocks> &scales,
                   const std::array<uint8_t, kQ4KSubBlocks> &mins, uint8_t *dst) {
  for (uint32_t j = 0; j < 4; ++j) {
    dst[j] = static_cast<uint8_t>(scales[j] | ((scales[j + 4] >> 4) << 6));
    dst[j + 4] = static_cast<uint8_t>(mins[j] | ((mins[j + 4] >> 4) << 6));
    dst[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((mins[j + 4] & 0xF) << 4));
  }
}

void synthesizeQ4K(float stddev, RandomStream &stream, std::span<uint8_t> dst) {
  // A local copy keeps the generator state in registers: stores through the uint8_t pointers
  // below may alias anything, so the compiler would otherwise reload it for every draw.
  RandomStream random = stream;
  const Q4KTables &tables = q4KTables();
  uint16_t dBits = superBlockScale(stddev, tables.scales.meanSquare, tables.codes.variance,
                                   TensorType::Q4_K);
  // dmin must be exactly 7.5 d for a zero mean: step d down until 7.5 d is an F16 value (a few
  // steps at most; 7.5 d itself is exact in float).
  while (halfToFloat(floatToHalf(kQ4KCentre * halfToFloat(dBits))) !=
         kQ4KCentre * halfToFloat(dBits))
    --dBits;
  const uint16_t dminBits = floatToHalf(kQ4KCentre * halfToFloat(dBits));

  const uint8_t *packedPair = tables.packedPair.data();
  for (size_t offset = 0; offset < dst.size(); offset += kQ4KBytes) {
    uint8_t *block = dst.data() + offset;
    storeHalf(block, dBits);
    storeHalf(block + 2, dminBits);
    std::array<uint8_t, kQ4KSubBlocks> scales;
    uint64_t scaleBits = random.next();
    for (uint8_t &scale : scales) {
      scale = tables.scales.scaleOf[scaleBits & 0xFF];
      scaleBits >>= 8;
    }
    packQ4KScales(scales, /*mins=*/scales, block + kQ4KScalesOffset);
    // Codes are i.i.d., so their order within the block does not matter; each byte holds two.
    uint8_t *packed = block + kQ4KCodesOffset;
    for (uint32_t i = 0; i < kSuperBlock / 2; i += 4) {
      const uint64_t bits = random.next();
      packed[i] = packedPair[bits & kQ4KPairMask];
      packed[i + 1] = packedPair[(bits >> kQ4KPairBits) & kQ4KPairMask];
      packed[i + 2] = packedPair[(bits >> 2 * kQ4KPairBits) & kQ4KPairMask];
      packed[i + 3] = packedPair[(bits >> 3 * kQ4KPairBits) & kQ4KPairMask];
    }
  }
  stream = random;
}

void synthesizeQ6K(float stddev, RandomStream &stream, std::span<uint8_t> dst) {
  RandomStream random = stream; // in registers, as in synthesizeQ4K
  const Q6KTables &tables = q6KTables();
  const uint16_t dBits = superBlockScale(stddev, tables.scales.meanSquare, tables.codes.variance,
                                         TensorType::Q6_K);
  const uint8_t *codeOf = tables.codes.codeOf.data();
  constexpr uint32_t kGroupsPerHalf = 32; // each group: 4 codes sharing one high-bits byte
  for (size_t offset = 0; offset < dst.size(); offset += kQ6KBytes) {
    uint8_t *block = dst.data() + offset;
    // A code's low 4 bits sit in a nibble of `low` and its high 2 bits in a bit pair of `high`:
    // for l < 32, codes (l, l+32, l+64, l+96) of each 128-value half use low[l] (low nibble),
    // low[l+32] (low nibble), low[l] (high nibble), low[l+32] (high nibble) and bit pairs 0..3 of
    // high[l].
    for (uint32_t half = 0; half < 2; ++half) {
      uint8_t *low = block + 64 * half;
      uint8_t *high = block + kQ6KHighOffset + 32 * half;
      for (uint32_t l = 0; l < kGroupsPerHalf; ++l) {
        const uint64_t bits = random.next();
        const uint8_t c0 = codeOf[bits & kQ6KIndexMask];
        const uint8_t c1 = codeOf[(bits >> kQ6KIndexBits) & kQ6KIndexMask];
        const uint8_t c2 = codeOf[(bits >> 2 * kQ6KIndexBits) & kQ6KIndexMask];
        const uint8_t c3 = codeOf[(bits >> 3 * kQ6KIndexBits) & kQ6KIndexMask];
        low[l] = static_cast<uint8_t>((c0 & 0xF) | ((c2 & 0xF) << 4));
        low[l + 32] = static_cast<uint8_t>((c1 & 0xF) | ((c3 & 0xF) << 4));
        high[l] = static_cast<uint8_t>((c0 >> 4) | ((c1 >> 4) << 2) | ((c2 >> 4) << 4) |
                                       ((c3 >> 4) << 6));
      }
    }
    for (uint32_t j = 0; j < kQ6KSubBlocks; j += 8) {
      uint64_t scaleBits = random.next();
      for (uint32_t k = 0; k < 8; ++k, scaleBits >>= 8)
        block[kQ6KScalesOffset + j + k] = tables.scales.scaleOf[scaleBits & 0xFF];
    }
    storeHalf(block + kQ6KDOffset, dBits);
  }
  stream = random;
}

} // namespace

bool isSynthesizedKQuant(TensorType type) {
  return type == TensorType::Q4_K || type == TensorType::Q6_K;
}

void synthesizeKQuantBlocks(TensorType type, float stddev, RandomStream &random,
                            std::span<uint8_t> dst) {
  const TensorTypeTraits &traits = traitsOf(type);
  if (!isSynthesizedKQuant(type) || dst.size() % traits.blockBytes != 0)
    fail("K-quant synthesis: {} bytes of {} are not whole blocks of a synthesized type",
         dst.size(), traits.name);
  if (type == TensorType::Q4_K)
    synthesizeQ4K(stddev, random, dst);
  else
    synthesizeQ6K(stddev, random, dst);
}

} // namespace greta::synth
