//===--- gemv pieces of Q4_K: 16 bytes of nibbles, 32 values ---===//
// Piece j (0..7) of a block is qs bytes [16 j, 16 j + 16): values l0 .. l0 + 15 (l0 = 16 (j % 2))
// of sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles), c = j / 2. The block's first 16
// bytes (d, dmin and the 12 packed scale/min bytes) are one more 16-byte load, shared by the 8
// lanes of a block (one transaction). Rows of whole 144-byte blocks keep both 16-byte aligned.
constexpr int kPieceValues = 32;
/// Reads the int16 input form: a piece's 32 products are 16 dp2a instructions (a nibble
/// byte times an int16 value, two per instruction) instead of 32 conversions and 32 fmas; the
/// decode GEMVs are bound by instruction issue (Nsight Compute: 0.6-0.7 issued per cycle per
/// scheduler on gate_up), not by DRAM.
constexpr bool kStagedInt16 = true;
/// 8 pieces (head and qs: 8 registers each) per lane in flight: the kernel stays within 128
/// registers, so two blocks share a compute unit.
constexpr int kPiecesInFlight = 8;
constexpr int kPiecesPerBlock = 8;
/// dot_piece multiplies 16 (q − 8): the nibble at the top of its byte.
constexpr float kNibbleShift = 16.0f;
static_assert(kRowBytes % 16 == 0 && kQuantBlockBytes % 16 == 0 && kQ4_KValuesOffset == 16,
              "Q4_K heads and pieces are aligned 16-byte loads");

struct WeightPiece {
  uint4 head; ///< u16 d | u16 dmin | u8 scales[12]
  uint4 qs;
};

/// The inputs a piece multiplies, low-nibble values then high-nibble values: int16 pairs
/// (value 2i in the low half of word i), their groups' scales per unit of the decoder's
/// 16 (q − 8) (dot_piece), and kCentre times their f32 sums (the centring's offsets).
struct PieceInput {
  u32 lo[8];
  u32 hi[8];
  float scaleLo;
  float scaleHi;
  float sumLo; ///< Σ of the low-nibble values
  float sumHi;
  float centredLo; ///< kCentre · sumLo
  float centredHi;
};

/// dot_piece multiplies q − kCentre (see there).
constexpr float kCentre = 8.0f;

__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  const uint4 *block = reinterpret_cast<const uint4 *>(
      row + static_cast<i64>(piece / kPiecesPerBlock) * kQuantBlockBytes);
  w.head = block[0];
  w.qs = block[1 + piece % kPiecesPerBlock];
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
  const int j = piece % kPiecesPerBlock;
  const int first = piece / kPiecesPerBlock * kQuantBlockElements + j / 2 * 2 * kKSubBlock +
                    j % 2 * 16;
  input.pairs16(first, x.lo);
  input.pairs16(first + kKSubBlock, x.hi);
  x.scaleLo = input.scale(first) / kNibbleShift;
  x.scaleHi = input.scale(first + kKSubBlock) / kNibbleShift;
  x.sumLo = input.sum16(first);
  x.sumHi = input.sum16(first + kKSubBlock);
  x.centredLo = kCentre * x.sumLo;
  x.centredHi = kCentre * x.sumHi;
}

/// The six-bit scales and mins of sub-blocks s and s + 1 (s even) from the head (packed bytes
/// 0-3, 4-7 and 8-11 are its words y, z and w), as unpack_scale_min reads them, both at once
/// in the two low bytes of a word. Sub-blocks 0-3 keep their six bits in bytes 0-3 (scales)
/// and 4-7 (mins); 4-7 keep their low four bits in the nibbles of bytes 8-11 and their top
/// two in the top bits of bytes 0-7. One formula serves both, (y >> shift) & mask | (w >>
/// shiftW) & maskW, with shifts and masks that depend on s only: a lane's pieces always have
/// the same s (piece % 8 is its lane's), so they are computed once, outside the loop.
__device__ __forceinline__ void piece_scales_mins(const uint4 &head, int s, float (&scale)[2],
                                                  float (&min)[2]) {
  const bool low = s < 4;
  const int byteShift = s % 4 * 8;
  const int shift = low ? byteShift : byteShift + 2; // of y and z
  const u32 mask = low ? 0x3f3fu : 0x3030u;
  const u32 maskW = low ? 0u : 0x0f0fu;
  const u32 scales = ((head.y >> shift) & mask) | ((head.w >> byteShift) & maskW);
  const u32 mins = ((head.z >> shift) & mask) | ((head.w >> (byteShift + 4)) & maskW);
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    scale[i] = float_from_byte(scales, i);
    min[i] = float_from_byte(mins, i);
  }
}

/// Σ over the piece's 32 values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  const int s = piece % kPiecesPerBlock / 2 * 2;
  float scale[2], min[2];
  piece_scales_mins(w.head, s, scale, min);
  const float d = half_bits_to_float(static_cast<u16>(w.head.x & 0xffffu));
  const float dmin = half_bits_to_float(static_cast<u16>(w.head.x >> 16));
  const u32 words[4] = {w.qs.x, w.qs.y, w.qs.z, w.qs.w};
  // Per half, Σ 16 (q − 8) · xq: a nibble moved to the top of its byte with the byte's top bit
  // flipped is 16 (q − 8) as a signed byte (three instructions per four values: a shift and
  // two and_xor), and byte k of word i multiplies input value 4 i + k. Centring q halves the
  // error the input's int16 rounding adds (its terms scale with |q − 8|, not q);
  // Σ q · x = s Σ (q − 8) xq + 8 Σ x takes the rest from the exact f32 sums.
  // |sum| ≤ 16 · 128 · 32767 < 2^31.
  int dotLo = 0, dotHi = 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    constexpr u32 kHighNibbles = 0xf0f0f0f0u, kTopBits = 0x80808080u;
    const u32 lo = and_xor(words[i] << 4, kHighNibbles, kTopBits);
    const u32 hi = and_xor(words[i], kHighNibbles, kTopBits);
    dotLo = dot2_i16_i8<false>(x.lo[2 * i], lo, dotLo);
    dotLo = dot2_i16_i8<true>(x.lo[2 * i + 1], lo, dotLo);
    dotHi = dot2_i16_i8<false>(x.hi[2 * i], hi, dotHi);
    dotHi = dot2_i16_i8<true>(x.hi[2 * i + 1], hi, dotHi);
  }
  // value = d · scale · q − dmin · min per sub-block, so the piece's sum is
  //   d · Σ_half scale · (Σ (q − 8) x + 8 Σ x) − dmin · Σ_half min · Σ x,
  // grouped so that each product is one multiply-add.
  const float centredSumLo = fmaf(x.scaleLo, static_cast<float>(dotLo), x.centredLo);
  const float centredSumHi = fmaf(x.scaleHi, static_cast<float>(dotHi), x.centredHi);
  const float scaled = fmaf(scale[0], centredSumLo, scale[1] * centredSumHi);
  const float offset = fmaf(min[0], x.sumLo, min[1] * x.sumHi);
  return fmaf(d, scaled, -dmin * offset);
}
