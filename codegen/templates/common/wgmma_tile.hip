//===--- The parts of a gemm block on Hopper's warpgroup matrix instructions (sm_90a wgmma) ---===//
// The alternative to common/mma_tile for matmul_mma_f16 on targets with wgmma (Targets:
// warpgroupMma): the same names (kStride, kWeightRows, TileAcc, slot_offset, stage_ready,
// multiply_stage, finish_products, store_tile), another way of multiplying. mma.sync feeds every
// 16 x 8 x 16 step through registers (ldmatrix of both operands by every warp) and keeps a warp
// waiting on each; wgmma reads both tiles straight from shared memory for a whole 64 x 128 x 16
// step of a warpgroup (four warps) and runs asynchronously, so the products of a stage overlap
// the barrier and the copies of the next. The block is two warpgroups: warpgroup g multiplies
// input rows [64 g, 64 g + 64) of the tile by all kWeightRows weight rows.
// Shared tiles are binary16 rows of kTileK = 64 values (128 bytes) in the 128-byte swizzled
// layout the instruction's descriptors name: the 16-byte vector v of row r sits at vector
// v ^ (r % 8) of its row (so the eight rows of a core matrix hit distinct banks), and a tile
// starts on a 1024-byte boundary (the swizzle's period: eight rows).
#define GRETA_WGMMA_TILES 1
constexpr int kWeightRows = kMatrices * kTileN;
constexpr int kStride = kTileK; // the swizzle replaces the padding
constexpr int kStages = kK / kTileK;
constexpr int kWarpgroupRows = 64;                 // rows of one wgmma (m64)
constexpr int kWarpgroupThreads = 128;             // four warps
constexpr int kWgmmaK = 16;                        // reduction values of one wgmma (k16)
constexpr int kSwizzleBytes = 1024;                // eight 128-byte rows
constexpr int kAccRegisters = kWeightRows / 2;     // f32 accumulators per thread (m64nN: N/2)
// Stages whose products may still run when the next stage's copies start: two where the ring
// has four slots or more (a block alone on its SM: the matrix units then need not wait for a
// barrier), else one (two blocks share the SM and cover each other's barriers).
constexpr int kProductsInFlight = kStagesInFlight >= 4 ? 2 : 1;
constexpr int kDescriptorStrideBit = 32;           // stride byte offset's field in a descriptor
constexpr int kDescriptorSwizzleBit = 62;          // swizzle mode's field
static_assert(kTileK * 2 == 128, "a shared row is one 128-byte swizzle line");
static_assert(kTileM == 2 * kWarpgroupRows && kBlock == 2 * kWarpgroupThreads,
              "two warpgroups of 64 rows each");
static_assert(kWeightRows == 128, "one m64n128k16 instruction covers the weight tile");
static_assert(kK % kTileK == 0, "K is whole stages");
// The emitter sizes the slots (params.shared_bytes) for the mma path's rows, padded by eight
// values: room for these unpadded ones and the alignment.
static_assert(kStagesInFlight * (kTileM + kWeightRows) * kStride * 2 + kSwizzleBytes <=
                  kStagesInFlight * (kTileM + kWeightRows) * (kStride + 8) * 2,
              "the padded slots hold the swizzled tiles and their alignment");
static_assert((kTileM * kStride * 2) % kSwizzleBytes == 0 &&
                  (kWeightRows * kStride * 2) % kSwizzleBytes == 0,
              "every tile starts on a swizzle period");

/// The warpgroup's accumulators: register 4 j + e holds row 16 w + lane / 4 + 8 (e / 2), column
/// 8 j + 2 (lane % 4) + e % 2 of its 64 x kWeightRows product (w: the warp within the group).
struct TileAcc {
  float v[kAccRegisters] = {};
};

/// Where vector v (8 values) of row r of a tile lives, in values from the tile's start.
__device__ __forceinline__ int slot_offset(int r, int v) {
  return r * kStride + ((v ^ (r % 8)) * 8);
}

/// The matrix descriptor of a K-major tile in the 128-byte swizzled layout starting at `tile`:
/// start address / 16 (bits 0-13), leading byte offset (unused by swizzled K-major layouts: 1),
/// stride byte offset / 16 between groups of eight rows (bits 32-45), swizzle mode 1 (128 bytes,
/// bits 62-63).
__device__ __forceinline__ u64 wgmma_descriptor(const u16 *tile) {
  const u64 address = static_cast<u32>(__cvta_generic_to_shared(tile));
  return ((address & 0x3ffff) >> 4) | (u64{1} << 16) |
         (u64{kSwizzleBytes >> 4} << kDescriptorStrideBit) | (u64{1} << kDescriptorSwizzleBit);
}

/// Makes this thread's copies of the stage (done by the caller's copy_async_wait) visible to
/// the instructions' asynchronous reads, and waits for the warpgroup's products of all but the
/// kProductsInFlight - 1 stages before, so the barrier that follows frees the slot they read.
__device__ __forceinline__ void stage_ready() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kProductsInFlight - 1) : "memory");
}

/// acc += X (64 rows at descriptor a) · W (128 rows at descriptor b)ᵀ over 16 values of K.
__device__ __forceinline__ void wgmma_m64n128k16(TileAcc &acc, u64 a, u64 b) {
  float *d = acc.v;
  asm volatile(
      "{\n"
      ".reg .pred accumulate;\n"
      "setp.ne.b32 accumulate, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, accumulate, 1, 1, 0, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]),
        "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
        "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]),
        "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]),
        "+f"(d[62]), "+f"(d[63])
      : "l"(a), "l"(b), "r"(1)
      : "memory");
}

/// Starts one stage's products (xTile: kTileM input rows, wTile: kWeightRows weight rows) and
/// returns without waiting for them (stage_ready and finish_products do).
__device__ __forceinline__ void multiply_stage(TileAcc &out, const u16 *xTile, const u16 *wTile) {
  const int group = static_cast<int>(threadIdx.x) / kWarpgroupThreads;
  const u64 a = wgmma_descriptor(xTile + group * kWarpgroupRows * kStride);
  const u64 b = wgmma_descriptor(wTile);
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  // A step of 16 values is 32 bytes further along the rows: 2 in the descriptors' address field
  // (the hardware applies the swizzle to the addresses it forms).
#pragma unroll
  for (int kk = 0; kk < kTileK / kWgmmaK; ++kk)
    wgmma_m64n128k16(out, a + 2 * kk, b + 2 * kk);
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

/// Waits for the last stage's products; the empty asm statements keep the compiler from
/// reading an accumulator before the wait.
__device__ __forceinline__ void finish_products(TileAcc &out) {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#pragma unroll
  for (int i = 0; i < kAccRegisters; ++i)
    asm volatile("" : "+f"(out.v[i])::"memory");
}

/// Writes the warpgroup's part of the output tile at (row0, col0) through the epilogue; rows
/// past `rows` and columns past kN are not written. gate_up's weight rows are kTileN gate rows,
/// then kTileN up rows: a thread holds column c of both (registers 4 j + e and 4 (j + kTileN / 8)
/// + e).
__device__ __forceinline__ void store_tile(const Params &p, const TileAcc &out, int row0, int col0,
                                           int rows) {
  const int lane = lane_id();
  const int warpRow = row0 + static_cast<int>(threadIdx.x) / kWarpgroupThreads * kWarpgroupRows +
                      warp_id() % (kWarpgroupThreads / kWarpSize) * 16 + lane / 4;
#pragma unroll
  for (int j = 0; j < kTileN / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int row = warpRow + e / 2 * 8;
      const int n = col0 + 8 * j + 2 * (lane % 4) + e % 2;
      if (row < rows && n < kN)
{{#GATE_UP}}
        store_output(p, row, n, out.v[4 * j + e], out.v[4 * (j + kTileN / 8) + e]);
{{/GATE_UP}}
{{^GATE_UP}}
        store_output(p, row, n, out.v[4 * j + e]);
{{/GATE_UP}}
    }
}
