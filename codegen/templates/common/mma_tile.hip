//===--- The parts of a gemm block on the matrix units that do not depend on how weights arrive ---===//
// Shared by matmul_mma (weights decoded per stage from raw quant blocks, inputs converted per
// stage) and matmul_mma_f16 (both streamed as binary16 from cast_f16's and dequant_f16's
// buffers): the warp layout, a stage's products and the output tile's stores. The including template
// defines kMatrices (2 for gate_up: gate rows [0, kTileN) and up rows [kTileN, 2 kTileN) of a
// weight tile) before it. Shared tiles are binary16 rows of kStride values, K contiguous.
constexpr int kWeightRows = kMatrices * kTileN;
// Eight halves (16 bytes) of padding per shared row: rows stay 16-byte aligned (wide stores,
// ldmatrix) and eight consecutive rows start on different banks.
constexpr int kStride = kTileK + 8;
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kWarpsM = kTileM % (2 * kMmaM) == 0 && kWarps % 2 == 0 ? 2 : 1;
constexpr int kWarpsN = kWarps / kWarpsM;
constexpr int kWarpTileM = kTileM / kWarpsM;
constexpr int kWarpTileN = kTileN / kWarpsN;
constexpr int kFragsM = kWarpTileM / kMmaM;
constexpr int kFragsN = kWarpTileN / kMmaN;
constexpr int kStages = kK / kTileK;
static_assert(kTileM % (kWarpsM * kMmaM) == 0 && kTileN % (kWarpsN * kMmaN) == 0,
              "the warps cover the tile in whole matrix-instruction tiles");
static_assert(kTileK % kMmaK == 0 && kTileK % 8 == 0 && kK % kTileK == 0,
              "a stage is whole instruction steps and 16-byte vectors, K whole stages");

/// The warp's accumulators of the block's output tile.
struct TileAcc {
  MmaAcc acc[kFragsM][kFragsN];
{{#GATE_UP}}
  MmaAcc up[kFragsM][kFragsN];
{{/GATE_UP}}
};

/// Where vector v (8 values) of row r of a tile lives, in values from the tile's start.
__device__ __forceinline__ int slot_offset(int r, int v) { return r * kStride + v * 8; }

/// Nothing to wait for before a stage's barrier: multiply_stage's products are done when it
/// returns.
constexpr int kProductsInFlight = 1;
__device__ __forceinline__ void stage_ready() {}
__device__ __forceinline__ void finish_products(TileAcc &) {}

/// Adds one stage's products to `out`: x is the stage's binary16 input tile, w its weight tile
/// (kWeightRows rows).
__device__ __forceinline__ void multiply_stage(TileAcc &out, const u16 *xTile, const u16 *wTile) {
  const u16 *x = xTile + warp_id() / kWarpsN * kWarpTileM * kStride;
  const u16 *w = wTile + warp_id() % kWarpsN * kWarpTileN * kStride;
#pragma unroll
  for (int kk = 0; kk < kTileK; kk += kMmaK) {
    MmaA a[kFragsM];
#pragma unroll
    for (int i = 0; i < kFragsM; ++i)
      mma_load_a(a[i], x + i * kMmaM * kStride + kk, kStride);
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) {
      MmaB b;
      mma_load_b(b, w + j * kMmaN * kStride + kk, kStride);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
        mma(out.acc[i][j], a[i], b);
{{#GATE_UP}}
      mma_load_b(b, w + (kTileN + j * kMmaN) * kStride + kk, kStride);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
        mma(out.up[i][j], a[i], b);
{{/GATE_UP}}
    }
  }
}

/// Writes the warp's part of the output tile at (row0, col0) through the epilogue; rows past
/// `rows` and columns past kN are not written.
__device__ __forceinline__ void store_tile(const Params &p, const TileAcc &out, int row0, int col0,
                                           int rows) {
  const int warpRow = row0 + warp_id() / kWarpsN * kWarpTileM;
  const int warpCol = col0 + warp_id() % kWarpsN * kWarpTileN;
#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j)
#pragma unroll
      for (int e = 0; e < kMmaAccElements; ++e) {
        const int row = warpRow + i * kMmaM + mma_acc_row(e);
        const int n = warpCol + j * kMmaN + mma_acc_col(e);
        if (row < rows && n < kN)
{{#GATE_UP}}
          store_output(p, row, n, out.acc[i][j].v[e], out.up[i][j].v[e]);
{{/GATE_UP}}
{{^GATE_UP}}
          store_output(p, row, n, out.acc[i][j].v[e]);
{{/GATE_UP}}
      }
}
