//===--- gemv pieces of F16 (GGUF F16, or f16_rows): 8 binary16 values in one 16-byte load ---===//
constexpr int kPieceValues = 8;
constexpr bool kStagedInt16 = false; ///< reads the f32 input form (at4)
/// 8 pieces (4 registers each) per lane in flight.
constexpr int kPiecesInFlight = 8;
static_assert(kRowBytes % 16 == 0, "F16 rows of whole pieces are 16-byte aligned");

struct WeightPiece {
  uint4 halves;
};

struct PieceInput {
  float v[8];
};

__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  w.halves = reinterpret_cast<const uint4 *>(row)[piece];
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
  unpack4(input.at4(piece * kPieceValues), x.v);
  unpack4(input.at4(piece * kPieceValues + 4), x.v + 4);
}

/// Σ over the piece's 8 values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int piece, const PieceInput &x) {
  const u32 words[4] = {w.halves.x, w.halves.y, w.halves.z, w.halves.w};
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 8; ++i)
    sum += half_bits_to_float(static_cast<u16>(words[i / 2] >> (i % 2 * 16))) * x.v[i];
  return sum;
}
