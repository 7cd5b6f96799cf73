//===--- gemv pieces of Q6_K: 16 bytes of ql (and the 16 qh bytes beside them), 32 values ---===//
// Piece j (0..7) of a block: half h = j / 4, c = j / 2 % 2, l0 = 16 (j % 2). Its 16 ql bytes
// [64 h + 32 c + l0, + 16) hold the low four bits of values 128 h + 32 g + l0 + i for group
// g = c (low nibbles) and g = c + 2 (high nibbles); qh bytes [32 h + l0, + 16) hold their high
// two bits (bits 2g, 2g + 1). Each group of 16 values has one scale.
//
// ggml's 210-byte blocks are only 2-byte aligned, so the warp loads the bytes of a step's
// blocks together: the kSpanBlocks consecutive blocks its lanes' pieces cover are one byte span
// of the row, which the lanes read with two aligned, coalesced 16-byte loads each (instead of
// seven scattered loads per piece through aligned pairs); dot_piece then passes the span
// through the warp's slice of shared memory, where each lane picks its piece's ql, qh, scales
// and d. (Rows of K = 2048 j values are whole 16-byte chunks, so there the span starts 0 or 8
// bytes into its first chunk; any row works.)
constexpr int kPieceValues = 32;
/// Reads the int16 input form: a piece's 32 products are 16 dp2a instructions (q − 32 as a
/// signed byte times an int16 value, two per instruction), as Q4_K's.
constexpr bool kStagedInt16 = true;
constexpr int kPiecesPerBlock = 8;
/// dot_piece multiplies 4 (q − 32): the six bits at the top of their byte.
constexpr float kCentredShift = 4.0f;
constexpr int kSpanBlocks = kWarpSize / kPiecesPerBlock; ///< blocks of one warp step
/// 16-byte chunks a lane loads per step: the span plus its start's misalignment (< 16 bytes).
constexpr int kChunksPerLane = 2;
constexpr int kSpanChunks = kChunksPerLane * kWarpSize;
/// 6 pieces (two chunks and the span offset: 9 registers each) per lane in flight: the kernel
/// stays within 128 registers, so two blocks share a compute unit.
constexpr int kPiecesInFlight = 6;
static_assert(kWarpSize % kPiecesPerBlock == 0, "a warp step is whole blocks");
static_assert((kSpanBlocks * kQuantBlockBytes + 15) / 16 + 1 <= kSpanChunks,
              "a lane's chunks cover the warp's span");

struct WeightPiece {
  uint4 chunk[kChunksPerLane]; ///< chunks lane, lane + kWarpSize of the warp's span
  int at;                      ///< the byte of the span where this lane's block starts
};

/// The inputs a piece multiplies, group c's values then group c + 2's: int16 pairs (value 2i
/// in the low half of word i) and their scales per unit of the decoder's 4 (q − 32).
struct PieceInput {
  u32 a[8];
  u32 b[8];
  float scaleA;
  float scaleB;
};

/// The piece's h, c and l0 (see above) in one place.
__device__ __forceinline__ void piece_coordinates(int piece, int &h, int &c, int &l0) {
  const int j = piece % kPiecesPerBlock;
  h = j / 4;
  c = j / 2 % 2;
  l0 = j % 2 * 16;
}

/// Loads the lane's share of the warp's span. Lane 0's piece is the step's first; lane l's
/// piece is that + l while within the range (block lane / 8 of the span). A lane past the range
/// (a step past a short split's range: every lane) reads a bounded slot whose product the
/// caller drops.
__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  const int lane = lane_id();
  // The span's first byte within the row, and the 16-byte chunk holding it (offsets in 32 bits:
  // a row is far below 2 GiB).
  const int first = shfl(piece, 0) / kPiecesPerBlock * kQuantBlockBytes;
  const int skew = static_cast<int>((static_cast<u32>(reinterpret_cast<u64>(row)) + first) & 15u);
  const uint4 *chunks = reinterpret_cast<const uint4 *>(row + (first - skew));
  // The chunk holding the row's last byte: chunks past it (a span at the row's end) read it
  // again rather than past the weights.
  const int lastChunk = (kRowBytes - 1 - (first - skew)) / 16;
#pragma unroll
  for (int i = 0; i < kChunksPerLane; ++i) {
    const int chunk = lane + i * kWarpSize;
    w.chunk[i] = chunks[chunk < lastChunk ? chunk : lastChunk];
  }
  w.at = skew + lane / kPiecesPerBlock * kQuantBlockBytes;
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
  int h, c, l0;
  piece_coordinates(piece, h, c, l0);
  const int first =
      piece / kPiecesPerBlock * kQuantBlockElements + kQ6_KHalf * h + kQ6_KGroup * c + l0;
  input.pairs16(first, x.a);
  input.pairs16(first + 2 * kQ6_KGroup, x.b);
  x.scaleA = input.scale(first) / kCentredShift;
  x.scaleB = input.scale(first + 2 * kQ6_KGroup) / kCentredShift;
}

/// The 16 bytes at shared-memory byte `at` (even) of `span` as four little-endian words: five
/// aligned words, each output word two halves of neighbours (a byte permute) when `at` is not
/// a multiple of 4.
__device__ __forceinline__ void span_words(const u32 *span, int at, u32 (&out)[4]) {
  const u32 *words = span + at / 4;
  constexpr u32 kLowWord = 0x3210u, kMiddleHalves = 0x5432u; // byte_perm selectors
  const u32 select = at % 4 == 0 ? kLowWord : kMiddleHalves;
  u32 picked[5];
#pragma unroll
  for (int i = 0; i < 5; ++i)
    picked[i] = words[i];
#pragma unroll
  for (int i = 0; i < 4; ++i)
    out[i] = __byte_perm(picked[i], picked[i + 1], select);
}

/// Σ over the piece's 32 values of value · input. Every lane of the warp calls it (the span
/// passes through shared memory).
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  __shared__ __align__(16) uint4 spans[kBlock / kWarpSize][kSpanChunks];
  uint4 *span = spans[warp_id()];
  const int lane = lane_id();
  warp_sync(); // the previous piece's reads are done
#pragma unroll
  for (int i = 0; i < kChunksPerLane; ++i)
    span[lane + i * kWarpSize] = w.chunk[i];
  warp_sync();
  int h, c, l0;
  piece_coordinates(piece, h, c, l0);
  const u32 *words = reinterpret_cast<const u32 *>(span);
  const u8 *block = reinterpret_cast<const u8 *>(span) + w.at;
  u32 low[4], high[4];
  span_words(words, w.at + 2 * kQ6_KGroup * h + kQ6_KGroup * c + l0, low);
  span_words(words, w.at + kQ6_KHighBitsOffset + kQ6_KGroup * h + l0, high);
  const u8 *scales = block + kQ6_KScalesOffset; // signed bytes
  const int first = (kQ6_KHalf * h + kQ6_KGroup * c + l0) / kQ6_KSubBlock;
  const float d = half_bits_to_float(*reinterpret_cast<const u16 *>(block + kQ6_KScaleOffset));
  const float scaleA = d * float_from_signed_byte(scales[first], 0);
  const float scaleB =
      d * float_from_signed_byte(scales[first + 2 * kQ6_KGroup / kQ6_KSubBlock], 0);
  // Per byte, q (0..63) is the low nibble from ql and two high bits from qh (group c: bits 2c,
  // 2c + 1; group c + 2: bits 2c + 4, 2c + 5), and 4 (q − 32) as a signed byte is
  // nibble << 2 | (pair ^ 2) << 6: the qh bytes have the top bit of every pair flipped first
  // (bits 1, 3, 5, 7), each group's pair is shifted to bits 6-7 (by 6 − 2c for group c,
  // 2 − 2c for c + 2) and its nibble to bits 2-5 (nine instructions per word, where moving q
  // to bits 0-5 first took eleven). Byte k of word i multiplies input value 4 i + k.
  // |sum| ≤ 16 · 128 · 32767 < 2^31.
  constexpr u32 kPairTops = 0xaaaaaaaau, kPairAtTop = 0xc0c0c0c0u, kNibbleAt2 = 0x3c3c3c3cu;
  const int shiftA = 6 - 2 * c, shiftB = 2 - 2 * c;
  int dotA = 0, dotB = 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const u32 flipped = high[i] ^ kPairTops;
    const u32 a = ((low[i] << 2) & kNibbleAt2) | ((flipped << shiftA) & kPairAtTop);
    const u32 b = ((low[i] >> 2) & kNibbleAt2) | ((flipped << shiftB) & kPairAtTop);
    dotA = dot2_i16_i8<false>(x.a[2 * i], a, dotA);
    dotA = dot2_i16_i8<true>(x.a[2 * i + 1], a, dotA);
    dotB = dot2_i16_i8<false>(x.b[2 * i], b, dotB);
    dotB = dot2_i16_i8<true>(x.b[2 * i + 1], b, dotB);
  }
  // value = d · scale · (q − 32), and Σ (q − 32) · x = input scale · Σ 4 (q − 32) xq / 4.
  static_assert(kQ6_KZero == 32, "q - 32 is the top bit of a six-bit q, flipped");
  return scaleA * x.scaleA * static_cast<float>(dotA) + scaleB * x.scaleB * static_cast<float>(dotB);
}
