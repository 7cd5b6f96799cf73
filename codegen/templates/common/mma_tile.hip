//===--- The parts of a gemm block on the matrix units that do not depend on how weights arrive ---===//
// Shared by matmul_mma (weights decoded per stage from raw quant blocks) and matmul_mma_f16
// (weights streamed as binary16 from a dequant_f16 scratch buffer). The including template
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
constexpr int kInputVectorsPerRow = kTileK / 4; // float4 loads of x per row and stage
constexpr int kStages = kK / kTileK;
static_assert(kTileM % (kWarpsM * kMmaM) == 0 && kTileN % (kWarpsN * kMmaN) == 0,
              "the warps cover the tile in whole matrix-instruction tiles");
static_assert(kTileK % kMmaK == 0 && kTileK % 8 == 0 && kK % kTileK == 0,
              "a stage is whole instruction steps and 16-byte vectors, K whole stages");

// Each thread stages the same few x vectors every stage: fixed counts, so the loops unroll and
// all of a thread's global loads of a stage are in flight together.
constexpr int kInputVectors = kTileM * kInputVectorsPerRow;
constexpr int kInputsPerThread = (kInputVectors + kBlock - 1) / kBlock;

/// One thread's share of a stage's inputs, fetched from global memory while the previous stage
/// is multiplied and kept as loaded: nothing computes on them before they are stored (after
/// that stage's products), so a thread does not wait for its loads ahead of the products. The
/// prologue and the conversion to binary16 happen in commit_inputs.
static_assert(kBlock % kInputVectorsPerRow == 0,
              "a thread's input vectors share one K offset (and one gamma vector)");
struct InputRegisters {
  float4 x[kInputsPerThread];
{{#PROLOGUE}}
  float4 gamma;
{{/PROLOGUE}}
};

/// Loads x[row0 .. row0 + kTileM)[k0 .. k0 + kTileK) (rows past `rows` read the last row; they
/// are zeroed when stored) and the norm weights of the range.
__device__ __forceinline__ void fetch_inputs(const Params &p, InputRegisters &regs, int row0,
                                             int rows, int k0) {
  const int kk = static_cast<int>(threadIdx.x) % kInputVectorsPerRow * 4;
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int row = min(row0 + i / kInputVectorsPerRow, rows - 1);
    regs.x[t] = *reinterpret_cast<const float4 *>(p.x + static_cast<i64>(row) * kK + k0 + kk);
  }
{{#PROLOGUE}}
  regs.gamma = *reinterpret_cast<const float4 *>(p.norm + k0 + kk);
{{/PROLOGUE}}
}

/// Stores fetched inputs into the binary16 x tile, prologue applied; rows past `rows` as zeros.
__device__ __forceinline__ void commit_inputs(const InputRegisters &regs, u16 *xTile, int row0,
                                              int rows, const float *invRms) {
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = i / kInputVectorsPerRow;
    const bool valid = row0 + r < rows;
    float v[4] = {regs.x[t].x, regs.x[t].y, regs.x[t].z, regs.x[t].w};
{{#PROLOGUE}}
    const float scale = invRms[min(r, kTileM - 1)];
    v[0] = prologue(v[0], regs.gamma.x, scale);
    v[1] = prologue(v[1], regs.gamma.y, scale);
    v[2] = prologue(v[2], regs.gamma.z, scale);
    v[3] = prologue(v[3], regs.gamma.w, scale);
{{/PROLOGUE}}
#pragma unroll
    for (int j = 0; j < 4; ++j)
      v[j] = valid ? v[j] : 0.0f;
    if (i < kInputVectors)
      *reinterpret_cast<uint2 *>(xTile + r * kStride + i % kInputVectorsPerRow * 4) =
          make_uint2(pack_f16x2(v[0], v[1]), pack_f16x2(v[2], v[3]));
  }
}

{{#PROLOGUE}}
/// invRms[r] = 1/rms of row row0 + r of x, one warp per row (squares summed in double, as
/// rms_norm computes them). Ends with a barrier. A lane reads float4s, kRmsLoadsInFlight of
/// them before it adds any: a block reduces kTileM whole rows of L2-resident input before its
/// first product, and one scalar load at a time made that a chain of L2 round trips.
constexpr int kRmsLoadsInFlight = 8;
__device__ __forceinline__ void tile_inv_rms(const Params &p, int row0, int rows, float *invRms) {
  static_assert(kK % 4 == 0, "rows are whole float4s");
  for (int r = warp_id(); r < kTileM; r += kWarps) {
    double sumSquares = 0.0;
    if (row0 + r < rows) {
      const float4 *x = reinterpret_cast<const float4 *>(p.x + static_cast<i64>(row0 + r) * kK);
#pragma unroll kRmsLoadsInFlight
      for (int k = lane_id(); k < kK / 4; k += kWarpSize) {
        const float4 v = x[k];
        sumSquares += static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y +
                      static_cast<double>(v.z) * v.z + static_cast<double>(v.w) * v.w;
      }
    }
    sumSquares = warp_reduce_sum(sumSquares);
    if (lane_id() == 0)
      invRms[r] = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
  }
  __syncthreads();
}

{{/PROLOGUE}}
/// The warp's accumulators of the block's output tile.
struct TileAcc {
  MmaAcc acc[kFragsM][kFragsN];
{{#GATE_UP}}
  MmaAcc up[kFragsM][kFragsN];
{{/GATE_UP}}
};

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
