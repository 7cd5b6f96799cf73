//===--- One part of a gemv kernel's rows: a weight format, its decoder and its tiles ---===//
// A gemv kernel's grid covers kN weight rows in parts of one storage format each: one part, or
// for a matmul_qkv whose v weight has another type than q and k (Q4_K_M's Q6_K v layers) two,
// q and k's rows then v's. Each part is its own namespace with that format's row stride, block
// decoder (quant/*.hip) and gemv pieces (quant_gemv/*.hip), and the rows kPartFirst ..
// kPartFirst + kPartRows - 1 of the grid in kTiles tiles; the kernel hands each block to its part.
namespace {{PART}} {

{{PART_CONSTANTS}}
constexpr int kTiles = (kPartRows + kTileN - 1) / kTileN;
static_assert(kTiles > 0 && kPartFirst + kPartRows <= kN, "a part is a run of the grid's rows");
{{#QKV}}
static_assert(kPartFirst % 2 == 0 && kPartRows % 2 == 0, "RoPE pairs lie within a part");
{{/QKV}}

{{QUANT}}

{{GEMV_QUANT}}

// Split-K ranges are whole units of kSplitUnit values (whole quant blocks: a piece's inputs
// lie within its block, not within a run of its own size), kUnits / kSplitK of them per split,
// the first kUnits % kSplitK splits one more.
constexpr int kSplitUnit = kQuantBlockElements > kPieceValues ? kQuantBlockElements : kPieceValues;
constexpr int kUnits = kK / kSplitUnit;
constexpr int kStagedK = (kUnits + kSplitK - 1) / kSplitK * kSplitUnit; // the longest range
constexpr int kStagedSlots = (kStagedK / 4 + 7) / 8 * 8; // whole 128-byte lines of float4s
static_assert(kK % kSplitUnit == 0 && kSplitUnit % kPieceValues == 0 &&
                  kSplitUnit % kQuantBlockElements == 0 && kSplitK <= kUnits,
              "split-K ranges are whole quant blocks of whole pieces");
static_assert(kStagedK % 4 == 0, "the staged range is whole float4s");
// The int16 form: values (kStagedK / 2 words), then the scales, then the sums, within the
// f32 form's space. Ranges of whole warps of float4s keep every 32-value group, and every warp's
// staging pass, whole (stage_int16 shuffles within a group).
constexpr int kStagedPairWords = kStagedK / 2;
static_assert(kSumValues / 4 == 4 && kInt16Group / kSumValues == 2,
              "stage_int16 sums two shuffles of float4s, and a group is two sums");
static_assert(!kStagedInt16 || kSplitUnit % (4 * kWarpSize) == 0,
              "the int16 form stages whole 32-value groups");
/// The staged space in floats: the f32 form's whole lines, or the int16 form's words (half
/// the size, so a block holds twice the range: greta-lower-to-kernels splits K by this size).
constexpr int kStagedFloats =
    kStagedInt16 ? kStagedPairWords + kStagedK / kInt16Group + kStagedK / kSumValues
                 : 4 * kStagedSlots;

/// The first unit of split `split`'s range.
__device__ __forceinline__ int split_first_unit(int split) {
  return split * (kUnits / kSplitK) + (split < kUnits % kSplitK ? split : kUnits % kSplitK);
}

//===--- gemv route: out[s, n] = epilogue(prologue(x[s]) · W[n]) for few rows ---===//
// Bandwidth-bound: every weight byte is read once per row, with 16-byte loads. Grid
// (tiles over the parts' rows, rows, kSplitK); gemv_tile reduces tile `tile` of this part. Each
// warp reduces kRowsPerWarp whole weight rows: lane l takes pieces l, l + kWarpSize, ... of each
// (a piece: the values one 16-byte load of quantised data holds, quant_gemv/*.hip), so a warp's
// loads cover consecutive bytes of a row, and the input values of a piece, loaded once, serve
// all the warp's rows. A lane issues the loads of kBatch steps before it decodes any, to keep
// enough bytes in flight per compute unit.
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kRowsPerWarp = kTileN / kWarps;
constexpr int kMaxPiecesPerSplit = kStagedK / kPieceValues;
constexpr int kSteps = (kMaxPiecesPerSplit + kWarpSize - 1) / kWarpSize;
static_assert(kTileN % kWarps == 0, "every warp reduces whole rows");
static_assert(kK % kPieceValues == 0 && kK % 4 == 0, "rows decode in whole pieces");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate and up rows of the same columns
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}
/// A warp step covers kStepValues values; when that is a whole number of the input form's slot
/// periods and the range is the whole row (no splits: no step past its end), a lane reads step
/// t's inputs through the row advanced by t steps, at its own piece of step 0. Not for warps of
/// 8 rows (the LM head): the hoisted slots spill there (154 vs 159 µs a token on an H200).
constexpr int kStepValues = kWarpSize * kPieceValues;
constexpr bool kInputByStep = kSplitK == 1 && kRowsPerWarp < 8 &&
                              kStepValues % (kStagedInt16 ? kSlotPeriodInt16 : kSlotPeriodF32) == 0;
/// Steps of loads a lane issues before decoding: kPiecesInFlight pieces (the decoder's choice,
/// sized so that two blocks fit a compute unit's registers) over its rows and matrices.
constexpr int kBatchWanted = kPiecesInFlight / (kRowsPerWarp * kMatrices);
constexpr int kBatch = kBatchWanted < 1 ? 1 : kBatchWanted > kSteps ? kSteps : kBatchWanted;
/// Float4s of the input a thread loads at once when staging its range: four (16 registers, with
/// the weights' first batch in flight) cut a 14336-long row's 14 round trips to four.
constexpr int kMaxStageLoads = 4;

{{#SPLIT_K}}
// Split-K: the kSplitK blocks of a column tile each reduce a K range into g_partials; the
// last of them to arrive adds the ranges up in split order (so the sum does not depend on
// timing), applies the epilogue and resets the tile's counter for the next launch (a graph
// replay starts from zero). Used for one row only (decode); the runtime runs one launch of a
// kernel at a time.
static_assert(kTileN <= kBlock, "the last block sums one column per thread");
__device__ float g_partials[kSplitK * kPartRows];
{{#GATE_UP}}
__device__ float g_partials_up[kSplitK * kPartRows];
{{/GATE_UP}}
__device__ unsigned int g_arrivals[kTiles];
{{/SPLIT_K}}

{{#QKV}}
/// Weight row n of the grid: q's rows, then k's, then v's. The rows a part covers share its
/// format, so its decoder and row stride serve them all (a tile may straddle q and k, or k and
/// v when v has q and k's type).
__device__ __forceinline__ const u8 *qkv_weight_row(const Params &p, i64 n) {
  if (n < kNQ)
    return p.q_weight + n * kRowBytes;
  if (n < kNQ + kNKV)
    return p.k_weight + (n - kNQ) * kRowBytes;
  return p.v_weight + (n - kNQ - kNKV) * kRowBytes;
}

{{/QKV}}
/// A split's pieces: [first, first + count) of the row.
struct PieceRange {
  int first;
  int count;
};

/// The piece a lane reads at `step`: past the range's end (a ragged last step) it rereads the
/// range's last piece, whose product the caller drops, so loads need no guard.
__device__ __forceinline__ int piece_at(const PieceRange &range, int step, int lane) {
  const int local = step * kWarpSize + lane;
  return range.first + (local < range.count ? local : range.count - 1);
}

/// Issues the loads of steps [step, step + kBatch) of `rows` (those below kSteps).
__device__ __forceinline__ void load_batch(const u8 *const (&rows)[kRowsPerWarp],
                                           const PieceRange &range, int step, int lane,
                                           WeightPiece (&w)[kBatch][kRowsPerWarp]) {
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    if (step + b >= kSteps)
      continue;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      load_piece(rows[r], piece_at(range, step + b, lane), w[b][r]);
  }
}

/// Tile `tile` of the part (its rows kPartFirst + tile · kTileN, ...), staging its input range in
/// `staged` (kStagedFloats floats of shared memory).
__device__ __forceinline__ void gemv_tile(const Params &p, int tile, float *staged) {
  const int s = blockIdx.y;
{{#LAST_ROW}}
  if (s >= 1) // lm_head: x points at the last row; one output row
    return;
{{/LAST_ROW}}
{{^LAST_ROW}}
  if (s >= p.rows)
    return;
{{/LAST_ROW}}
  const float *x = p.x + static_cast<i64>(s) * kK;
  const int lane = lane_id();
  // One split: a constant range, so piece indices, their blocks and the live test fold.
  const int split = kSplitK == 1 ? 0 : static_cast<int>(blockIdx.z);
  const int firstUnit = split_first_unit(split);
  const int first = firstUnit * kSplitUnit; // the range's first input value
  const int rangeK = (split_first_unit(split + 1) - firstUnit) * kSplitUnit;
  const PieceRange range{first / kPieceValues, rangeK / kPieceValues};
  const int firstRow = tile * kTileN + warp_id() * kRowsPerWarp; // within the part

  // Rows past the part (a ragged last tile) read its last row; their results are not stored.
  const u8 *rows[kRowsPerWarp];
{{#GATE_UP}}
  const u8 *rowsUp[kRowsPerWarp];
{{/GATE_UP}}
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const i64 n = kPartFirst + (firstRow + r < kPartRows ? firstRow + r : kPartRows - 1);
{{#GATE_UP}}
    rows[r] = p.gate + n * kRowBytes;
    rowsUp[r] = p.up + n * kRowBytes;
{{/GATE_UP}}
{{#QKV}}
    rows[r] = qkv_weight_row(p, n);
{{/QKV}}
{{#ONE_MATRIX}}
    rows[r] = p.weight + n * kRowBytes;
{{/ONE_MATRIX}}
  }

  // The first batch of weights is in flight while the block prepares its input row.
  WeightPiece w[kBatch][kRowsPerWarp];
  load_batch(rows, range, 0, lane, w);
{{#GATE_UP}}
  WeightPiece wUp[kBatch][kRowsPerWarp];
  load_batch(rowsUp, range, 0, lane, wUp);
{{/GATE_UP}}
{{#QKV}}
  // The tile's RoPE rotations, while the weights are in flight (positions and the frequency
  // divisors are inputs and weights: no earlier launch of the step writes them).
  __shared__ float2 rotation[kTileN / 2];
  qkv_tile_rotations(p, s, kPartFirst + tile * kTileN, rotation);
{{/QKV}}
{{^GATE_UP}}
  // Early start: the weights are in flight before the launch that writes the input row has
  // finished; the input, and every output, is touched only after it has.
  wait_for_producers();
{{/GATE_UP}}
{{#GATE_UP}}
  // gate_up is launched after its producer (the o projection) has finished: started early, it
  // made decode 3 % slower (tg128 355.2 vs 365.4 tok/s with early start off for gate_up alone,
  // H200); the down projection after it may still start early.
  let_dependents_start();
{{/GATE_UP}}

  // The split's input range, prologue applied, staged while the first loads are in flight.
{{#PROLOGUE}}
  // 1/rms of the whole row, as rms_norm computes it (squares summed in double).
  __shared__ double squaresScratch[kBlock / kWarpSize];
  // Unrolled over a compile-time count, so each thread's loads are all in flight at once.
  constexpr int kRowVectorsPerThread = (kK / 4 + kBlock - 1) / kBlock;
  double sumSquares = 0.0;
#pragma unroll
  for (int i = 0; i < kRowVectorsPerThread; ++i) {
    const int k = 4 * (static_cast<int>(threadIdx.x) + i * kBlock);
    if (k < kK) {
      const float4 v = *reinterpret_cast<const float4 *>(x + k);
      sumSquares += static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y +
                    static_cast<double>(v.z) * v.z + static_cast<double>(v.w) * v.w;
    }
  }
  sumSquares = block_reduce_sum<kBlock>(sumSquares, squaresScratch);
  const float invRms = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
{{/PROLOGUE}}
  const InputRow input{staged, first, reinterpret_cast<uint4 *>(staged), staged + kStagedPairWords,
                       staged + kStagedPairWords + kStagedK / kInt16Group};
  // The range's float4s, kStageLoads per thread in flight together: a group's loads are all
  // issued before any of them is converted (a loop that loaded, converted and stored one float4
  // at a time waited out an L2 round trip per float4, as ptxas will not hoist a load above the
  // previous conversion's shuffles: 14 in a row for a 14336-long row, ≈ 6 µs of an H200's
  // 22 µs down projection, measured by skipping the staging).
  constexpr int kStagedVectorsPerThread = (kStagedK / 4 + kBlock - 1) / kBlock;
  constexpr int kStageLoads =
      kStagedVectorsPerThread < kMaxStageLoads ? kStagedVectorsPerThread : kMaxStageLoads;
#pragma unroll
  for (int group = 0; group < kStagedVectorsPerThread; group += kStageLoads) {
    float4 v[kStageLoads];
#pragma unroll
    for (int i = 0; i < kStageLoads; ++i) {
      // Past the range (a shorter split, or the group's tail) a thread loads nothing; the
      // test is uniform over each warp (ranges are whole warps of float4s).
      const int f = static_cast<int>(threadIdx.x) + (group + i) * kBlock;
      v[i] = f < rangeK / 4 ? *reinterpret_cast<const float4 *>(x + first + 4 * f)
                            : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
{{#PROLOGUE}}
      const float4 gamma = f < rangeK / 4
                               ? *reinterpret_cast<const float4 *>(p.norm + first + 4 * f)
                               : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      v[i] = make_float4(prologue(v[i].x, gamma.x, invRms), prologue(v[i].y, gamma.y, invRms),
                         prologue(v[i].z, gamma.z, invRms), prologue(v[i].w, gamma.w, invRms));
{{/PROLOGUE}}
    }
#pragma unroll
    for (int i = 0; i < kStageLoads; ++i) {
      const int f = static_cast<int>(threadIdx.x) + (group + i) * kBlock;
      if (f >= rangeK / 4)
        break;
      if constexpr (kStagedInt16)
        stage_int16(input, f, v[i]);
      else
        reinterpret_cast<float4 *>(staged)[staged_slot(f)] = v[i];
    }
  }
  __syncthreads();

  float acc[kRowsPerWarp] = {};
{{#GATE_UP}}
  float accUp[kRowsPerWarp] = {};
{{/GATE_UP}}
  for (int step = 0; step < kSteps; step += kBatch) {
    if (step > 0) {
      load_batch(rows, range, step, lane, w);
{{#GATE_UP}}
      load_batch(rowsUp, range, step, lane, wUp);
{{/GATE_UP}}
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      if (step + b >= kSteps)
        continue;
      // Past the range (a ragged last step) a lane decodes its reread piece and drops the
      // product: every lane calls dot_piece, which may exchange bytes across the warp.
      const bool live = (step + b) * kWarpSize + lane < range.count;
      const int piece = piece_at(range, step + b, lane);
      PieceInput in;
      if constexpr (kInputByStep)
        load_input(input.advanced((step + b) * kStepValues), piece - (step + b) * kWarpSize, in);
      else
        load_input(input, piece, in);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float dot = dot_piece(w[b][r], piece, in);
        acc[r] += live ? dot : 0.0f;
{{#GATE_UP}}
        const float dotUp = dot_piece(wUp[b][r], piece, in);
        accUp[r] += live ? dotUp : 0.0f;
{{/GATE_UP}}
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    acc[r] = warp_reduce_sum(acc[r]);
{{#GATE_UP}}
    accUp[r] = warp_reduce_sum(accUp[r]);
{{/GATE_UP}}
  }

{{^SPLIT_K}}
{{#QKV}}
  // The tile's products meet in shared memory: RoPE rotates pairs of rows that two warps made.
  __shared__ float tileOut[kTileN];
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      tileOut[warp_id() * kRowsPerWarp + r] = acc[r];
  }
  __syncthreads();
  store_qkv_tile(p, s, kPartFirst + tile * kTileN, kPartFirst + kPartRows, tileOut, rotation);
{{/QKV}}
{{^QKV}}
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      if (firstRow + r < kPartRows)
{{#GATE_UP}}
        store_output(p, s, kPartFirst + firstRow + r, acc[r], accUp[r]);
{{/GATE_UP}}
{{^GATE_UP}}
        store_output(p, s, kPartFirst + firstRow + r, acc[r]);
{{/GATE_UP}}
  }
{{/QKV}}
{{/SPLIT_K}}
{{#SPLIT_K}}
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      if (firstRow + r < kPartRows) {
        g_partials[split * kPartRows + firstRow + r] = acc[r];
{{#GATE_UP}}
        g_partials_up[split * kPartRows + firstRow + r] = accUp[r];
{{/GATE_UP}}
      }
    // The writers' partials are visible before the block's arrival counts (the barrier orders
    // the arrival after every writer's fence; a fence by every thread cost the down
    // projections 0.35 cycles of membar stall per issued instruction).
    __threadfence();
  }
  __syncthreads();
  __shared__ bool isLast;
  if (threadIdx.x == 0)
    isLast = atomicAdd(&g_arrivals[tile], 1u) == kSplitK - 1;
  __syncthreads();
  if (!isLast)
    return;
  __threadfence();
  const int n = tile * kTileN + static_cast<int>(threadIdx.x); // within the part
{{#QKV}}
  __shared__ float tileOut[kTileN];
  if (threadIdx.x < kTileN) {
    const volatile float *partials = g_partials;
    float total = 0.0f;
    for (int k = 0; n < kPartRows && k < kSplitK; ++k)
      total += partials[k * kPartRows + n];
    tileOut[threadIdx.x] = total;
  }
  __syncthreads();
  store_qkv_tile(p, s, kPartFirst + tile * kTileN, kPartFirst + kPartRows, tileOut, rotation);
{{/QKV}}
{{^QKV}}
  if (threadIdx.x < kTileN && n < kPartRows) {
    const volatile float *partials = g_partials;
    float total = 0.0f;
    for (int k = 0; k < kSplitK; ++k)
      total += partials[k * kPartRows + n];
{{#GATE_UP}}
    const volatile float *partialsUp = g_partials_up;
    float totalUp = 0.0f;
    for (int k = 0; k < kSplitK; ++k)
      totalUp += partialsUp[k * kPartRows + n];
    store_output(p, s, kPartFirst + n, total, totalUp);
{{/GATE_UP}}
{{^GATE_UP}}
    store_output(p, s, kPartFirst + n, total);
{{/GATE_UP}}
  }
{{/QKV}}
  if (threadIdx.x == 0)
    g_arrivals[tile] = 0;
{{/SPLIT_K}}
}

} // namespace {{PART}}
