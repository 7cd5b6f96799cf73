//===--- gemv pieces of formats without a vector decoder: one chunk through dequant_chunk ---===//
// F32, BF16, Q4_0 and Q5_K decode kChunk values per piece with the format's own snippet (its
// byte loads); the route's structure (rows per warp, staged input, split-K) is the same.
constexpr int kPieceValues = kChunk;
constexpr bool kStagedInt16 = false; ///< reads the f32 input form (at4)
/// 4 decoded chunks per lane in flight.
constexpr int kPiecesInFlight = 4;
static_assert(kChunk % 4 == 0, "pieces are whole float4 inputs");

struct WeightPiece {
  float v[kChunk];
};

struct PieceInput {
  float v[kChunk];
};

__device__ __forceinline__ void load_piece(const u8 *row, int piece, WeightPiece &w) {
  dequant_chunk(row, piece, w.v);
}

__device__ __forceinline__ void load_input(const InputRow &input, int piece, PieceInput &x) {
#pragma unroll
  for (int q = 0; q < kChunk / 4; ++q)
    unpack4(input.at4(piece * kChunk + 4 * q), x.v + 4 * q);
}

/// Σ over the piece's values of value · input.
__device__ __forceinline__ float dot_piece(const WeightPiece &w, int, const PieceInput &x) {
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kChunk; ++i)
    sum += w.v[i] * x.v[i];
  return sum;
}
