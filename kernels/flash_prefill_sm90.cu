// Attention for query tiles on Hopper (sm_90a): the decomposition of flash_prefill.cu with
// Hopper's data path (kernels/flash_sm90_tile.cuh). TMA brings Q, K and V tiles into
// 128-byte-swizzled shared memory, completing on mbarriers; S = Q K^T runs as warpgroup MMAs
// (wgmma) with both operands in shared memory, and O += P V with P straight from the S
// registers as the A operand and V read MN-major. Two warpgroups take 64 query rows each of
// a 128-row tile and share its K/V tiles. Two schedules:
//
//  - warp-specialized (the one the runtime runs), FlashAttention-3's: a producer warpgroup
//    gives its registers to the two consumer warpgroups (setmaxnreg) and one of its threads
//    issues every copy, `stages` K/V tiles ahead, into stages the consumers hand back on an
//    mbarrier. The consumers take turns at the tensor cores (ping-pong on two named
//    barriers): in its turn a warpgroup issues P V of the previous key tile and S of this
//    one, then runs this tile's softmax while the other's matrix products run.
//  - unspecialized, the first data path: every warp computes, thread 0 issues the next
//    tile's copies after a block barrier, and no softmax overlaps a matrix product. Kept so
//    that a fault on a GPU tells the data path from the schedule, and in the bench.
//
// The schedule (tiles, masks, ownership) is kernels/attention_schedule.h, as in the sm_80
// kernel; the primitives are kernels/sm90.cuh.

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/flash_attention.cuh"
#include "kernels/flash_sm90_tile.cuh"
#include "kernels/sm90.cuh"
#include "kernels/tensor_map.cuh"

namespace genrt::kernels {

namespace {

using flash_sm90::Problem;

constexpr int kUnspecializedStages = 2;

// T is the element type; the maps describe q [rows, q_heads * d] and K/V [rows, kv_heads * d].
template <class T, int kHeadDim, bool kPaged>
__global__ void __launch_bounds__(kSm90Threads, 1)
    flash_prefill_sm90(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap k_map,
                       const __grid_constant__ CUtensorMap v_map, const Problem<T> p) {
  constexpr Sm90Tile kTile = sm90_prefill_tile(kHeadDim);
  constexpr int kRows = kTile.query_rows, kKeys = kTile.key_rows;
  using Memory = flash_sm90::TileMemory<kHeadDim, kRows, kKeys, kUnspecializedStages>;
  extern __shared__ uint8_t smem_raw[];
  const Memory smem(smem_raw);
  __shared__ uint64_t tile_loaded[2];

  const flash::AttentionBatch& b = p.batch;
  const flash_sm90::QueryTile t = flash_sm90::locate_query_tile<kPaged>(b, kRows, kKeys);
  if (!t.valid) return;  // uniform: every warp found the same

  const int thread = threadIdx.x, warpgroup = thread / 128, warp = thread % 128 / 32, lane = thread % 32;
  if (thread == 0) {
    sm90::mbarrier_init(&tile_loaded[0], 1);
    sm90::mbarrier_init(&tile_loaded[1], 1);
  }
  sm90::fence_barrier_init();
  __syncthreads();

  auto load_kv_tile = [&](int64_t j, int stage) {
    flash_sm90::load_kv_tile<kHeadDim, kKeys, kPaged>(smem.k_stage(stage), smem.v_stage(stage), k_map, v_map,
                                                       &tile_loaded[stage], b, t, j);
  };
  if (thread == 0) {
    const bool any = t.tiles.first < t.tiles.last;
    sm90::mbarrier_arrive_expect_tx(&tile_loaded[0], Memory::kQBytes + (any ? 2 * Memory::kKvBytes : 0));
    flash_sm90::load_q_tile<kHeadDim, kRows>(smem.q, q_map, &tile_loaded[0], t);
    if (any) load_kv_tile(t.tiles.first, 0);
  }
  if (t.tiles.first == t.tiles.last) sm90::mbarrier_wait(&tile_loaded[0], 0);  // no copy outlives the block

  flash_sm90::WarpgroupRows<kHeadDim, kKeys> r;
  const int64_t warp_first_position = t.first_position + warpgroup * 64 + warp * 16;
  const uint8_t* q_rows = smem.q + warpgroup * 64 * 128;  // this warpgroup's 64 rows of each panel
  for (int64_t j = t.tiles.first; j < t.tiles.last; ++j) {
    const int stage = static_cast<int>((j - t.tiles.first) % 2);
    sm90::mbarrier_wait(&tile_loaded[stage], static_cast<uint32_t>((j - t.tiles.first) / 2 % 2));
    __syncthreads();  // every warpgroup is done with tile j - 1, whose stage loads next
    if (thread == 0 && j + 1 < t.tiles.last) {
      sm90::mbarrier_arrive_expect_tx(&tile_loaded[1 - stage], 2 * Memory::kKvBytes);
      load_kv_tile(j + 1, 1 - stage);
    }
    // Uniform: every thread sees the same tile.
    if (flash_sm90::zero_stale_v_rows<kHeadDim, kKeys>(smem.v_stage(stage), j, t.kv_len, thread, kSm90Threads)) {
      __syncthreads();
    }

    __syncwarp();  // thread 0's copies and the zeroing loop diverged; wgmma is .sync.aligned
    sm90::wgmma_fence();
    flash_sm90::issue_scores<T, kHeadDim, kRows, kKeys>(r.s, q_rows, smem.k_stage(stage));
    sm90::wgmma_commit();
    sm90::wgmma_wait<0>();
    for (auto& chunk : r.s) sm90::fence_registers(chunk);  // no read of s moves above the wait

    flash_sm90::softmax_tile<T, kHeadDim, kKeys, kPaged>(r, b, t, j, warp_first_position, lane);
    // No write of o or of the fragments moves below the fence, no read of o above the wait.
    for (auto& panel : r.o) sm90::fence_registers(panel);
    for (auto& fragment : r.p) sm90::fence_registers(fragment);
    sm90::wgmma_fence();
    flash_sm90::issue_pv<T, kHeadDim, kKeys>(r.o, r.p, smem.v_stage(stage));
    sm90::wgmma_commit();
    sm90::wgmma_wait<0>();
    for (auto& panel : r.o) sm90::fence_registers(panel);
  }
  flash_sm90::store_rows<T, kHeadDim, kKeys>(r, p.out, b, t, warpgroup * 64, warp, lane);
}

// The warp-specialized schedule. Warpgroup 0 is the producer; consumers 1 and 2 own rows
// 0-63 and 64-127 of the tile. Barriers:
//  - q_loaded: the Q tile's copies (one phase);
//  - kv_loaded[s]: stage s's K and V copies, phase (i / kStages) % 2 for the i-th key tile;
//  - kv_free[s]: each of the 256 consumer threads arrives once it is done with stage s
//    (its S and its P V complete); the producer waits for that before refilling it;
//  - named barriers kTurn0 and kTurn1: consumer 0's and 1's turn at the tensor cores;
//    kZeroed: both consumers' zeroing of stale V rows done.
// Every wait is mbarrier_wait_bounded (sm90.cuh: no trap after setmaxnreg): a consumer whose
// wait gave up writes NaN rows, so that a lost copy fails the attention tests loudly rather
// than hanging the GPU. (Its copy may then still land after the block; only a broken byte
// count or descriptor gets there.)
// The consumers' turns alternate strictly, starting with consumer 0: consumer 1 arrives on
// consumer 0's barrier before the first, and each takes as many turns as there are key
// tiles, plus one for the last P V. The last arrival (consumer 1's after its last turn) is
// left out, so that no barrier holds arrivals when the block exits.
constexpr int kTurn0 = 1, kTurn1 = 2, kZeroed = 3, kConsumerThreads = 256;
// Registers a thread, moved from the producer to the consumers: together the 168 a thread
// that 384 threads get from the 64 Ki register file (128 x 40 + 256 x 232 = 384 x 168). With
// 24 the producer's paged copies spilled; with 232 no instantiation spills (ptxas -v).
constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;

template <class T, int kHeadDim, bool kPaged>
__global__ void __launch_bounds__(kSm90WarpSpecializedThreads, 1)
    flash_prefill_sm90_ws(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap k_map,
                          const __grid_constant__ CUtensorMap v_map, const Problem<T> p) {
  constexpr Sm90Tile kTile = sm90_prefill_tile(kHeadDim);
  constexpr int kRows = kTile.query_rows, kKeys = kTile.key_rows, kStages = kTile.stages;
  using Memory = flash_sm90::TileMemory<kHeadDim, kRows, kKeys, kStages>;
  extern __shared__ uint8_t smem_raw[];
  const Memory smem(smem_raw);
  __shared__ uint64_t q_loaded, kv_loaded[kStages], kv_free[kStages];

  const flash::AttentionBatch& b = p.batch;
  const flash_sm90::QueryTile t = flash_sm90::locate_query_tile<kPaged>(b, kRows, kKeys);
  if (!t.valid) return;  // uniform: every warp found the same
  const int64_t tiles = t.tiles.last - t.tiles.first;

  if (threadIdx.x == 0) {
    sm90::mbarrier_init(&q_loaded, 1);
    for (int s = 0; s < kStages; ++s) {
      sm90::mbarrier_init(&kv_loaded[s], 1);
      sm90::mbarrier_init(&kv_free[s], kConsumerThreads);
    }
  }
  sm90::fence_barrier_init();
  __syncthreads();  // the last block-wide barrier: the producer's idle warps leave below

  // Read from lane 0: the compiler then knows each warp takes one side of the branch, which
  // ptxas needs to give each side its own register budget (setmaxnreg).
  const int warpgroup = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);
  if (warpgroup == 0) {
    sm90::setmaxnreg_dec<kProducerRegisters>();
    if (threadIdx.x != 0) return;
    sm90::mbarrier_arrive_expect_tx(&q_loaded, Memory::kQBytes);
    flash_sm90::load_q_tile<kHeadDim, kRows>(smem.q, q_map, &q_loaded, t);
    bool gave_up = false;  // then the consumers' rows are NaN already: no more waiting
    for (int64_t i = 0; i < tiles; ++i) {
      const int stage = static_cast<int>(i % kStages);
      // The consumers' release of the stage's previous tile, i - kStages.
      if (i >= kStages && !gave_up) {
        gave_up = !sm90::mbarrier_wait_bounded(&kv_free[stage], static_cast<uint32_t>((i / kStages - 1) % 2));
      }
      sm90::mbarrier_arrive_expect_tx(&kv_loaded[stage], 2 * Memory::kKvBytes);
      flash_sm90::load_kv_tile<kHeadDim, kKeys, kPaged>(smem.k_stage(stage), smem.v_stage(stage), k_map, v_map,
                                                         &kv_loaded[stage], b, t, t.tiles.first + i);
    }
    return;
  }

  sm90::setmaxnreg_inc<kConsumerRegisters>();
  const int consumer = warpgroup - 1, thread = threadIdx.x - 128, warp = thread % 128 / 32, lane = thread % 32;
  const int64_t warp_first_position = t.first_position + consumer * 64 + warp * 16;
  const uint8_t* q_rows = smem.q + consumer * 64 * 128;  // this warpgroup's 64 rows of each panel
  flash_sm90::WarpgroupRows<kHeadDim, kKeys> r;
  // Also: no copy outlives the block when there are no key tiles.
  bool lost = !sm90::mbarrier_wait_bounded(&q_loaded, 0);
  if (consumer == 1 && tiles > 0) sm90::named_barrier_arrive<kTurn0>(kConsumerThreads);

  // Turn i: key tile i - 1's P V (with the P and the rescaled O its softmax left), then tile
  // i's S (none in the last turn, i == tiles), issued back to back for the tensor cores to
  // run while the other consumer computes its softmax.
  auto take_turn = [&](int64_t i) {
    const bool last_turn = i == tiles;
    __syncwarp();  // the zeroing loop and the waits may split a warp; bar.sync and wgmma are .aligned
    if (consumer == 0) {
      sm90::named_barrier_sync<kTurn0>(kConsumerThreads);
    } else {
      sm90::named_barrier_sync<kTurn1>(kConsumerThreads);
    }
    for (auto& panel : r.o) sm90::fence_registers(panel);
    for (auto& fragment : r.p) sm90::fence_registers(fragment);
    sm90::wgmma_fence();
    if (i > 0) flash_sm90::issue_pv<T, kHeadDim, kKeys>(r.o, r.p, smem.v_stage(static_cast<int>((i - 1) % kStages)));
    if (!last_turn) {
      flash_sm90::issue_scores<T, kHeadDim, kRows, kKeys>(r.s, q_rows, smem.k_stage(static_cast<int>(i % kStages)));
    }
    sm90::wgmma_commit();
    if (consumer == 0) {
      sm90::named_barrier_arrive<kTurn1>(kConsumerThreads);
    } else if (!last_turn) {
      sm90::named_barrier_arrive<kTurn0>(kConsumerThreads);
    }
    sm90::wgmma_wait<0>();
    for (auto& chunk : r.s) sm90::fence_registers(chunk);  // no read of s or o moves above the wait
    for (auto& panel : r.o) sm90::fence_registers(panel);
    // Tile i - 1 is done with: its K by its S (last turn), its V by the P V just waited for.
    if (i > 0) sm90::mbarrier_arrive(&kv_free[(i - 1) % kStages]);
  };
  for (int64_t i = 0; i < tiles; ++i) {
    const int stage = static_cast<int>(i % kStages);
    const int64_t j = t.tiles.first + i;
    // A thread whose wait gave up waits no more: a broken block ends within a second or two.
    lost = lost || !sm90::mbarrier_wait_bounded(&kv_loaded[stage], static_cast<uint32_t>(i / kStages % 2));
    // Uniform over both consumers, which meet before either reads the tile.
    if (flash_sm90::zero_stale_v_rows<kHeadDim, kKeys>(smem.v_stage(stage), j, t.kv_len, thread, kConsumerThreads)) {
      __syncwarp();
      sm90::named_barrier_sync<kZeroed>(kConsumerThreads);
    }
    take_turn(i);
    flash_sm90::softmax_tile<T, kHeadDim, kKeys, kPaged>(r, b, t, j, warp_first_position, lane);
  }
  if (tiles > 0) take_turn(tiles);
  if (lost) r.row_sum[0] = r.row_sum[1] = NAN;  // NaN rows: the comparison sees them
  flash_sm90::store_rows<T, kHeadDim, kKeys>(r, p.out, b, t, consumer * 64, warp, lane);
}

template <class T, bool kPaged>
cudaError_t launch(const CUtensorMap& q_map, const CUtensorMap& k_map, const CUtensorMap& v_map, const Problem<T>& p,
                   int64_t head_dim, int64_t blocks, Sm90Schedule schedule, cudaStream_t stream) {
  if (blocks > 0x7fffffff || p.batch.q_heads > 65535) return cudaErrorInvalidValue;
  const bool specialized = schedule == Sm90Schedule::warp_specialized;
  const int threads = specialized ? kSm90WarpSpecializedThreads : kSm90Threads;
  cudaError_t status = cudaErrorInvalidValue;
  auto run = [&]<int kHeadDim>() {
    constexpr Sm90Tile kTile = sm90_prefill_tile(kHeadDim);
    constexpr auto kernel = flash_prefill_sm90<T, kHeadDim, kPaged>;
    constexpr auto specialized_kernel = flash_prefill_sm90_ws<T, kHeadDim, kPaged>;
    const int smem = static_cast<int>(kTile.smem_bytes(specialized ? kTile.stages : kUnspecializedStages));
    status = specialized ? set_up_kernel<specialized_kernel>(threads, smem).status
                         : set_up_kernel<kernel>(threads, smem).status;
    if (status != cudaSuccess) return;
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p.batch.q_heads));
    if (specialized) {
      specialized_kernel<<<grid, threads, smem, stream>>>(q_map, k_map, v_map, p);
    } else {
      kernel<<<grid, threads, smem, stream>>>(q_map, k_map, v_map, p);
    }
    status = cudaGetLastError();
  };
  with_head_dim<64, 128, 256>(head_dim, run);
  return status;
}

}  // namespace

template <class T>
cudaError_t launch_flash_prefill_sm90(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  const Sm90Tile tile = sm90_prefill_tile(a.head_dim);
  if (tile.head_dim == 0 || a.tokens > 0x7fffffff || a.seqs <= 0 || a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 ||
      a.window < 0 || a.block_size < 8 || a.block_size % 8 != 0 || tile.key_rows % a.block_size != 0 ||
      a.cache_blocks <= 0 ||
      a.cache_blocks * a.block_size > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  constexpr bool kBf16 = std::is_same_v<T, __nv_bfloat16>;
  CUtensorMap q_map, k_map, v_map;
  const uint64_t q_row = a.q_heads * a.head_dim, kv_row = a.kv_heads * a.head_dim;
  const auto slots = static_cast<uint64_t>(a.cache_blocks * a.block_size);
  for (const cudaError_t status :
       {make_swizzled_tensor_map(q_map, a.q, kBf16, a.tokens, q_row, q_row, tile.query_rows),
        make_swizzled_tensor_map(k_map, a.k_cache, kBf16, slots, kv_row, kv_row, static_cast<uint32_t>(a.block_size)),
        make_swizzled_tensor_map(v_map, a.v_cache, kBf16, slots, kv_row, kv_row, static_cast<uint32_t>(a.block_size))}) {
    if (status != cudaSuccess) return status;
  }
  const Problem<T> p{.out = a.out, .batch = flash::attention_batch(a)};
  return launch<T, true>(q_map, k_map, v_map, p, a.head_dim, query_tile_grid(a.tokens, a.seqs, tile.query_rows),
                         a.hopper_schedule, stream);
}

template <class T>
cudaError_t launch_flash_prefill_sm90(const DenseAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.batch == 0 || a.tokens == 0) return cudaSuccess;
  const Sm90Tile tile = sm90_prefill_tile(a.head_dim);
  if (tile.head_dim == 0 || a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 || a.kv_tokens <= 0 ||
      a.batch * a.tokens > 0x7fffffff || a.batch * a.kv_tokens > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  constexpr bool kBf16 = std::is_same_v<T, __nv_bfloat16>;
  CUtensorMap q_map, k_map, v_map;
  const uint64_t q_row = a.q_heads * a.head_dim, kv_row = a.kv_heads * a.head_dim;
  const auto keys = static_cast<uint64_t>(a.batch * a.kv_tokens);
  const auto key_box = static_cast<uint32_t>(tile.key_rows);
  for (const cudaError_t status :
       {make_swizzled_tensor_map(q_map, a.q, kBf16, a.batch * a.tokens, q_row, q_row, tile.query_rows),
        make_swizzled_tensor_map(k_map, a.k, kBf16, keys, kv_row, kv_row, key_box),
        make_swizzled_tensor_map(v_map, a.v, kBf16, keys, kv_row, kv_row, key_box)}) {
    if (status != cudaSuccess) return status;
  }
  const Problem<T> p{.out = a.out, .batch = flash::attention_batch(a)};
  return launch<T, false>(q_map, k_map, v_map, p, a.head_dim, a.batch * query_tiles(a.tokens, tile.query_rows),
                          a.hopper_schedule, stream);
}

template cudaError_t launch_flash_prefill_sm90<__half>(const PagedAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&,
                                                               cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__half>(const DenseAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__nv_bfloat16>(const DenseAttentionLaunch<__nv_bfloat16>&,
                                                               cudaStream_t);

}  // namespace genrt::kernels
