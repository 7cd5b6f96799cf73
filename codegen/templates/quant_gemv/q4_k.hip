//===--- gemv pieces of Q4_K: 16 bytes of nibbles, 32 values ---===//
// Piece j (0..7) of a block is qs bytes [16 j, 16 j + 16): values l0 .. l0 + 15 (l0 = 16 (j % 2))
// of sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles), c = j / 2. The block's first 16
// bytes (d, dmin and the 12 packed scale/min bytes) are one more 16-byte load, shared by the 8
// lanes of a block (one transaction). Rows of whole 144-byte blocks keep both 16-byte aligned.
constexpr int kPieceValues = 32;
/// 8 pieces (head and qs: 8 registers each) per lane in flight: the kernel stays within 128
/// registers, so two blocks share a compute unit.
constexpr int kPiecesInFlight = 8;
constexpr int kPiecesPerBlock = 8;
static_assert(kRowBytes % 16 == 0 && kQuantBlockBytes % 16 == 0 && kQ4_KValuesOffset == 16,
              "Q4_K heads and pieces are aligned 16-byte loads");

struct WeightPiece {
  uint4 head; ///< u16 d | u16 dmin | u8 scales[12]
  uint4 qs;
};

/// The inputs a piece multiplies: the low-nibble and high-nibble values, and their sums.
struct PieceInput {
  float lo[16];
  float hi[16];
  float sumLo;
  float sumHi;
};

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
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    unpack4(input.at4(first + 4 * q), x.lo + 4 * q);
    unpack4(input.at4(first + kKSubBlock + 4 * q), x.hi + 4 * q);
  }
  x.sumLo = 0.0f;
  x.sumHi = 0.0f;
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    x.sumLo += x.lo[i];
    x.sumHi += x.hi[i];
  }
}

/// The six-bit scale and min of sub-block s from the head (packed bytes 0-3, 4-7 and 8-11 are
/// its words y, z and w), as unpack_scale_min reads them.
__device__ __forceinline__ void piece_scale_min(const uint4 &head, int s, float &scale,
                                                float &min) {
  const int shift = s % 4 * 8;
  const u32 a = head.y >> shift, b = head.z >> shift, c = head.w >> shift;
  const u32 sc = s < 4 ? a & 0x3f : (c & 0x0f) | ((a >> 6) & 3) << 4;
  const u32 mn = s < 4 ? b & 0x3f : ((c >> 4) & 0x0f) | ((b >> 6) & 3) << 4;
  scale = static_cast<float>(sc);
  min = static_cast<float>(mn);
}

/// Σ over the piece's 32 values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  const int s = piece % kPiecesPerBlock / 2 * 2;
  float scaleLo, minLo, scaleHi, minHi;
  piece_scale_min(w.head, s, scaleLo, minLo);
  piece_scale_min(w.head, s + 1, scaleHi, minHi);
  const float d = half_bits_to_float(static_cast<u16>(w.head.x & 0xffffu));
  const float dmin = half_bits_to_float(static_cast<u16>(w.head.x >> 16));
  const u32 words[4] = {w.qs.x, w.qs.y, w.qs.z, w.qs.w};
  float unitsLo = 0.0f, unitsHi = 0.0f; // Σ (1 + q / 128) · x
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const u32 lo = (words[i] & 0x0f0f0f0fu) | 0x80808080u; // 0x80 | q per byte
    const u32 hi = ((words[i] >> 4) & 0x0f0f0f0fu) | 0x80808080u;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      unitsLo += unit_from_byte(lo, k) * x.lo[4 * i + k];
      unitsHi += unit_from_byte(hi, k) * x.hi[4 * i + k];
    }
  }
  // value = d · scale · q − dmin · min, and Σ q·x = 128 (Σ units·x − Σ x).
  return d * (scaleLo * 128.0f * (unitsLo - x.sumLo) + scaleHi * 128.0f * (unitsHi - x.sumHi)) -
         dmin * (minLo * x.sumLo + minHi * x.sumHi);
}
