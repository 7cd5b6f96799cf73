//===--- gemv pieces of Q8_0: 16 int8 values (half a block) ---===//
// Piece j of a row is half j % 2 of block j / 2. ggml's 34-byte blocks are only 2-byte
// aligned, so the values come from load_16_unaligned.
constexpr int kPieceValues = 16;
constexpr bool kStagedInt16 = false; ///< reads the f32 input form (at4)
/// 8 pieces (5 registers each) per lane in flight.
constexpr int kPiecesInFlight = 8;
constexpr int kPiecesPerBlock = 2;

struct WeightPiece {
  uint4 qs;
  float d;
};

struct PieceInput {
  float v[16];
  float sum;
};

__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  const u8 *block = row + static_cast<i64>(piece / kPiecesPerBlock) * kQuantBlockBytes;
  w.qs = load_16_unaligned(block + kQ8_0ValuesOffset + piece % kPiecesPerBlock * kPieceValues);
  w.d = half_bits_to_float(load_u16(block + kQ8_0ScaleOffset));
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
  const int first = piece * kPieceValues;
#pragma unroll
  for (int q = 0; q < 4; ++q)
    unpack4(input.at4(first + 4 * q), x.v + 4 * q);
  x.sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 16; ++i)
    x.sum += x.v[i];
}

/// Σ over the piece's 16 values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  // q + 128 (the int8 with its sign bit flipped) is an unsigned byte.
  const u32 words[4] = {w.qs.x ^ 0x80808080u, w.qs.y ^ 0x80808080u, w.qs.z ^ 0x80808080u,
                        w.qs.w ^ 0x80808080u};
  float units = 0.0f; // Σ (1 + (q + 128) / 256) · x
#pragma unroll
  for (int i = 0; i < 16; ++i)
    units += unit_from_bits(words[i / 4], i % 4 * 8, 8) * x.v[i];
  // Σ q·x = 256 (Σ units·x − Σ x) − 128 Σ x.
  return w.d * (256.0f * (units - x.sum) - 128.0f * x.sum);
}
