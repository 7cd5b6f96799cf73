//===--- gemv pieces of Q6_K: 16 bytes of ql (and the 16 qh bytes beside them), 32 values ---===//
// Piece j (0..7) of a block: half h = j / 4, c = j / 2 % 2, l0 = 16 (j % 2). Its 16 ql bytes
// [64 h + 32 c + l0, + 16) hold the low four bits of values 128 h + 32 g + l0 + i for group
// g = c (low nibbles) and g = c + 2 (high nibbles); qh bytes [32 h + l0, + 16) hold their high
// two bits (bits 2g, 2g + 1). Each group of 16 values has one scale. ggml's 210-byte blocks
// are only 2-byte aligned, so ql and qh come from load_16_unaligned.
constexpr int kPieceValues = 32;
/// 6 pieces (ql, qh, two scales: 10 registers each) per lane in flight: the kernel stays within
/// 128 registers, so two blocks share a compute unit.
constexpr int kPiecesInFlight = 6;
constexpr int kPiecesPerBlock = 8;

struct WeightPiece {
  uint4 ql;
  uint4 qh;
  float scaleA; ///< d · scale of group c
  float scaleB; ///< d · scale of group c + 2
};

struct PieceInput {
  float a[16]; ///< group c
  float b[16]; ///< group c + 2
  float sumA;
  float sumB;
};

/// The piece's h, c and l0 (see above) in one place.
__device__ __forceinline__ void piece_coordinates(int piece, int &h, int &c, int &l0) {
  const int j = piece % kPiecesPerBlock;
  h = j / 4;
  c = j / 2 % 2;
  l0 = j % 2 * 16;
}

__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  const u8 *block = row + static_cast<i64>(piece / kPiecesPerBlock) * kQuantBlockBytes;
  int h, c, l0;
  piece_coordinates(piece, h, c, l0);
  w.ql = load_16_unaligned(block + 2 * kQ6_KGroup * h + kQ6_KGroup * c + l0);
  w.qh = load_16_unaligned(block + kQ6_KHighBitsOffset + kQ6_KGroup * h + l0);
  const i8 *scales = reinterpret_cast<const i8 *>(block + kQ6_KScalesOffset);
  const int first = (kQ6_KHalf * h + kQ6_KGroup * c + l0) / kQ6_KSubBlock;
  const float d = half_bits_to_float(load_u16(block + kQ6_KScaleOffset));
  w.scaleA = d * static_cast<float>(scales[first]);
  w.scaleB = d * static_cast<float>(scales[first + 2 * kQ6_KGroup / kQ6_KSubBlock]);
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
  int h, c, l0;
  piece_coordinates(piece, h, c, l0);
  const int first =
      piece / kPiecesPerBlock * kQuantBlockElements + kQ6_KHalf * h + kQ6_KGroup * c + l0;
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    unpack4(input.at4(first + 4 * q), x.a + 4 * q);
    unpack4(input.at4(first + 2 * kQ6_KGroup + 4 * q), x.b + 4 * q);
  }
  x.sumA = 0.0f;
  x.sumB = 0.0f;
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    x.sumA += x.a[i];
    x.sumB += x.b[i];
  }
}

/// Σ over the piece's 32 values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  int h, c, l0;
  piece_coordinates(piece, h, c, l0);
  const u32 low[4] = {w.ql.x, w.ql.y, w.ql.z, w.ql.w};
  const u32 high[4] = {w.qh.x, w.qh.y, w.qh.z, w.qh.w};
  float unitsA = 0.0f, unitsB = 0.0f; // Σ (1 + q / 128) · x
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    // Per byte, 0x80 | q: the low nibble from ql, the two high bits (group c: bits 2c, 2c + 1;
    // group c + 2: bits 2c + 4, 2c + 5 of the qh byte) moved to bits 4-5.
    const u32 bits = high[i] >> (2 * c);
    const u32 a = (low[i] & 0x0f0f0f0fu) | ((bits << 4) & 0x30303030u) | 0x80808080u;
    const u32 b = ((low[i] >> 4) & 0x0f0f0f0fu) | (bits & 0x30303030u) | 0x80808080u;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      unitsA += unit_from_byte(a, k) * x.a[4 * i + k];
      unitsB += unit_from_byte(b, k) * x.b[4 * i + k];
    }
  }
  // value = d · scale · (q − 32), and Σ (q − 32)·x = 128 (Σ units·x − Σ x) − 32 Σ x.
  return w.scaleA * (128.0f * (unitsA - x.sumA) - kQ6_KZero * x.sumA) +
         w.scaleB * (128.0f * (unitsB - x.sumB) - kQ6_KZero * x.sumB);
}
