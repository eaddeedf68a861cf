// Attention for query tiles on Hopper (sm_90a): the decomposition of flash_prefill.cu with
// Hopper's data path. TMA brings Q, K and V tiles into 128-byte-swizzled shared memory,
// completing on mbarriers; S = Q K^T runs as warpgroup MMAs (wgmma) with both operands in
// shared memory, and O += P V with P straight from the S registers as the A operand and V
// read MN-major. Two warpgroups take 64 query rows each of a 128-row tile and share its
// K/V tiles, which stream through two stages: thread 0 issues the next tile's copies while
// the block computes on this one.
//
// This is the first stage of the FlashAttention-3 scheme: no producer warp with its own
// register budget and no ping-pong between the warpgroups yet, so a warpgroup's softmax
// does not overlap the other's MMAs. Those come once this data path has run on a GPU.
// The schedule (tiles, masks, ownership) is kernels/attention_schedule.h, as in the sm_80
// kernel; the primitives are kernels/sm90.cuh.

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/flash_attention.cuh"
#include "kernels/flash_tile.cuh"
#include "kernels/sm90.cuh"
#include "kernels/tensor_map.cuh"

namespace genrt::kernels {

namespace {

template <class T>
struct Sm90Problem {
  T* out = nullptr;
  flash::AttentionBatch batch;  // paged: K/V boxes are one page each; dense: a whole tile of keys
};

// T is the element type; the maps describe q [rows, q_heads * d] and K/V [rows, kv_heads * d].
template <class T, int kHeadDim, bool kPaged>
__global__ void __launch_bounds__(kSm90Threads, 1)
    flash_prefill_sm90(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap k_map,
                       const __grid_constant__ CUtensorMap v_map, const Sm90Problem<T> p) {
  constexpr Sm90Tile kTile = sm90_prefill_tile(kHeadDim);
  constexpr int kPanels = kHeadDim / 64, kRows = kTile.query_rows, kKeys = kTile.key_rows;
  constexpr int kQBytes = kPanels * kRows * 128, kKvBytes = kPanels * kKeys * 128;
  extern __shared__ uint8_t smem_raw[];
  // Swizzled tiles start on 1024-byte atoms.
  uint8_t* q_tile = smem_raw + (1024 - static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw)) % 1024) % 1024;
  uint8_t* k_tiles = q_tile + kQBytes;  // stage s at s * kKvBytes; panel p of a tile at p * kKeys * 128
  uint8_t* v_tiles = k_tiles + 2 * kKvBytes;
  __shared__ uint64_t tile_loaded[2];

  const flash::AttentionBatch& b = p.batch;
  const flash::QueryTilePlace place = flash::place_query_tile<kPaged>(b, kRows);
  if (!place.valid) return;  // uniform: every warp found the same
  const int64_t seq = place.seq, tile = place.tile, first_token = place.first_token, queries = place.queries,
                kv_len = place.kv_len, first_position = place.first_position;
  const int64_t head = blockIdx.y, kv_head = head / (b.q_heads / b.kv_heads);
  const int64_t first_row = tile * kRows;
  const int64_t rows = queries - first_row < kRows ? queries - first_row : kRows;
  const int64_t tile_first_position = first_position + first_row;
  const int64_t tile_last_position = tile_first_position + rows - 1;
  const TileSpan tiles = key_tiles(tile_first_position, tile_last_position, kv_len, kPaged, b.window, kKeys);
  const int64_t first_key = visible_keys(tile_first_position, kv_len, kPaged, b.window).begin;

  const int thread = threadIdx.x, warpgroup = thread / 128, warp = thread % 128 / 32, lane = thread % 32;
  if (thread == 0) {
    sm90::mbarrier_init(&tile_loaded[0], 1);
    sm90::mbarrier_init(&tile_loaded[1], 1);
  }
  sm90::fence_barrier_init();
  __syncthreads();

  // Thread 0's copies of key tile j into a stage. Paged: a box per page, and pages outside
  // [first_key, kv_len) come from rows before the cache (out of bounds: zeros), so no
  // released or unwritten block is read. Dense: one box; rows past a sequence's keys are
  // the next sequence's (masked) or past the tensor (zeros).
  auto load_kv_tile = [&](int64_t j, int stage) {
    for (int panel = 0; panel < kPanels; ++panel) {
      const int32_t column = static_cast<int32_t>(kv_head * kHeadDim + panel * 64);
      uint8_t* k_panel = k_tiles + stage * kKvBytes + panel * kKeys * 128;
      uint8_t* v_panel = v_tiles + stage * kKvBytes + panel * kKeys * 128;
      if constexpr (kPaged) {
        for (int page = 0; page < kKeys / b.block_size; ++page) {
          const int64_t key = j * kKeys + static_cast<int64_t>(page) * b.block_size;
          // A table entry outside the pool is read as a skipped page, never as a wrapped row.
          const int64_t block = key + b.block_size > first_key && key < kv_len
                                    ? b.block_tables[seq * b.max_blocks_per_seq + key / b.block_size]
                                    : -1;
          const auto row = static_cast<int32_t>(block >= 0 && block < b.cache_blocks ? block * b.block_size
                                                                                     : -b.block_size);
          sm90::tma_load_2d(k_panel + page * b.block_size * 128, &k_map, &tile_loaded[stage], column, row);
          sm90::tma_load_2d(v_panel + page * b.block_size * 128, &v_map, &tile_loaded[stage], column, row);
        }
      } else {
        const auto row = static_cast<int32_t>(seq * b.kv_tokens + j * kKeys);
        sm90::tma_load_2d(k_panel, &k_map, &tile_loaded[stage], column, row);
        sm90::tma_load_2d(v_panel, &v_map, &tile_loaded[stage], column, row);
      }
    }
  };
  if (thread == 0) {
    const bool any = tiles.first < tiles.last;
    sm90::mbarrier_arrive_expect_tx(&tile_loaded[0], kQBytes + (any ? 2 * kKvBytes : 0));
    for (int panel = 0; panel < kPanels; ++panel) {
      sm90::tma_load_2d(q_tile + panel * kRows * 128, &q_map, &tile_loaded[0],
                        static_cast<int32_t>(head * kHeadDim + panel * 64),
                        static_cast<int32_t>(first_token + first_row));
    }
    if (any) load_kv_tile(tiles.first, 0);
  }
  if (tiles.first == tiles.last) sm90::mbarrier_wait(&tile_loaded[0], 0);  // no copy outlives the block

  float o[kPanels][32], s[kKeys / 64][32];
  for (auto& panel : o) {
    for (float& v : panel) v = 0.0f;
  }
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};
  const int64_t warp_first_position = tile_first_position + warpgroup * 64 + warp * 16;
  const uint8_t* q_rows = q_tile + warpgroup * 64 * 128;  // this warpgroup's 64 rows of each panel
  for (int64_t j = tiles.first; j < tiles.last; ++j) {
    const int stage = static_cast<int>((j - tiles.first) % 2);
    sm90::mbarrier_wait(&tile_loaded[stage], static_cast<uint32_t>((j - tiles.first) / 2 % 2));
    __syncthreads();  // every warpgroup is done with tile j - 1, whose stage loads next
    if (thread == 0 && j + 1 < tiles.last) {
      sm90::mbarrier_arrive_expect_tx(&tile_loaded[1 - stage], 2 * kKvBytes);
      load_kv_tile(j + 1, 1 - stage);
    }
    uint8_t* k_tile = k_tiles + stage * kKvBytes;
    uint8_t* v_tile = v_tiles + stage * kKvBytes;
    if constexpr (kPaged) {
      // The last page's slots past the context hold what the cache held (maybe NaN, and
      // 0 * NaN is NaN): zero those V rows before P V reads them.
      const int64_t stale_from = kv_len - j * kKeys;
      if (stale_from < kKeys) {
        for (int64_t i = thread; i < (kKeys - stale_from) * kPanels * 8; i += kSm90Threads) {
          const int64_t row = stale_from + i / (kPanels * 8), panel = i / 8 % kPanels, chunk = i % 8;
          *reinterpret_cast<uint4*>(v_tile + panel * kKeys * 128 + row * 128 + chunk * 16) = make_uint4(0, 0, 0, 0);
        }
        sm90::fence_proxy_async();
        __syncthreads();
      }
    }

    __syncwarp();  // thread 0's copies and the zeroing loop diverged; wgmma is .sync.aligned
    sm90::wgmma_fence();
#pragma unroll
    for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
      for (int kk = 0; kk < kHeadDim / 16; ++kk) {
        const int panel = kk / 4, step = kk % 4 * 32;
        sm90::wgmma_m64n64k16_ss<T>(s[n], sm90::swizzle128_descriptor(q_rows + panel * kRows * 128 + step),
                                    sm90::swizzle128_descriptor(k_tile + panel * kKeys * 128 + n * 64 * 128 + step),
                                    kk > 0);
      }
    }
    sm90::wgmma_commit();
    sm90::wgmma_wait<0>();
    for (auto& chunk : s) sm90::fence_registers(chunk);  // no read of s moves above the wait

    const bool masked = tile_needs_mask(j, tile_first_position, tile_last_position, kv_len, kPaged, b.window, kKeys);
#pragma unroll
    for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        s[n][i] *= b.scale_log2;
        const int r = flash::fragment_row(lane, i % 4 / 2), key = n * 64 + i / 4 * 8 + flash::fragment_col(lane) + i % 2;
        if (masked && !key_visible(j * kKeys + key, warp_first_position + r, kv_len, kPaged, b.window)) {
          s[n][i] = -INFINITY;
        }
      }
    }
    // The online softmax of flash_tile.cuh over the n64 accumulators.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
        for (int t = 0; t < 8; ++t) tile_max = fmaxf(tile_max, fmaxf(s[n][4 * t + 2 * half], s[n][4 * t + 2 * half + 1]));
      }
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
      const float new_max = fmaxf(row_max[half], tile_max);
      const float base = new_max == -INFINITY ? 0.0f : new_max;
      const float correction = exp2f(row_max[half] - base);
      row_max[half] = new_max;
      float tile_sum = 0.0f;
#pragma unroll
      for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
        for (int t = 0; t < 8; ++t) {
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const float prob = exp2f(s[n][4 * t + 2 * half + c] - base);
            s[n][4 * t + 2 * half + c] = prob;
            tile_sum += prob;
          }
        }
      }
      row_sum[half] = row_sum[half] * correction + tile_sum;
#pragma unroll
      for (int panel = 0; panel < kPanels; ++panel) {
#pragma unroll
        for (int t = 0; t < 8; ++t) {
          o[panel][4 * t + 2 * half] *= correction;
          o[panel][4 * t + 2 * half + 1] *= correction;
        }
      }
    }

    // P as A fragments, all packed before the MMAs are issued (registers an in-flight wgmma
    // reads must not change under it): k16 chunk kc is n8 tiles 2 (kc % 4) and + 1 of S's
    // n64 accumulator kc / 4.
    uint32_t p_fragments[kKeys / 16][4];
#pragma unroll
    for (int kc = 0; kc < kKeys / 16; ++kc) {
      const float* pn = s[kc / 4] + kc % 4 * 8;
#pragma unroll
      for (int i = 0; i < 4; ++i) p_fragments[kc][i] = sm80::pack2<T>(pn[2 * i], pn[2 * i + 1]);
    }
    // No write of o or of the fragments moves below the fence, no read of o above the wait.
    for (auto& panel : o) sm90::fence_registers(panel);
    for (auto& fragment : p_fragments) sm90::fence_registers(fragment);
    sm90::wgmma_fence();
#pragma unroll
    for (int kc = 0; kc < kKeys / 16; ++kc) {
#pragma unroll
      for (int panel = 0; panel < kPanels; ++panel) {
        sm90::wgmma_m64n64k16_rs<T>(o[panel], p_fragments[kc],
                                    sm90::swizzle128_descriptor(v_tile + panel * kKeys * 128 + kc * 2048, kKeys * 128),
                                    true);
      }
    }
    sm90::wgmma_commit();
    sm90::wgmma_wait<0>();
    for (auto& panel : o) sm90::fence_registers(panel);
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    row_sum[half] += __shfl_xor_sync(0xffffffffu, row_sum[half], 1);
    row_sum[half] += __shfl_xor_sync(0xffffffffu, row_sum[half], 2);
    const float inv = row_sum[half] > 0.0f ? 1.0f / row_sum[half] : 0.0f;
    const int64_t row = first_row + warpgroup * 64 + warp * 16 + flash::fragment_row(lane, half);
    if (row >= queries) continue;
    T* out = p.out + ((first_token + row) * b.q_heads + head) * kHeadDim + flash::fragment_col(lane);
#pragma unroll
    for (int panel = 0; panel < kPanels; ++panel) {
#pragma unroll
      for (int t = 0; t < 8; ++t) {
        *reinterpret_cast<uint32_t*>(out + panel * 64 + t * 8) =
            sm80::pack2<T>(o[panel][4 * t + 2 * half] * inv, o[panel][4 * t + 2 * half + 1] * inv);
      }
    }
  }
}

template <class T, bool kPaged>
cudaError_t launch(const CUtensorMap& q_map, const CUtensorMap& k_map, const CUtensorMap& v_map,
                   const Sm90Problem<T>& p, int64_t head_dim, int64_t blocks, cudaStream_t stream) {
  if (blocks > 0x7fffffff || p.batch.q_heads > 65535) return cudaErrorInvalidValue;
  cudaError_t status = cudaErrorInvalidValue;
  auto run = [&]<int kHeadDim>() {
    constexpr auto kernel = flash_prefill_sm90<T, kHeadDim, kPaged>;
    const int smem = static_cast<int>(sm90_prefill_tile(kHeadDim).smem_bytes());
    if ((status = set_up_kernel<kernel>(kSm90Threads, smem).status) != cudaSuccess) return;
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p.batch.q_heads));
    kernel<<<grid, kSm90Threads, smem, stream>>>(q_map, k_map, v_map, p);
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
  const Sm90Problem<T> p{.out = a.out, .batch = flash::attention_batch(a)};
  return launch<T, true>(q_map, k_map, v_map, p, a.head_dim, query_tile_grid(a.tokens, a.seqs, tile.query_rows), stream);
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
  const Sm90Problem<T> p{.out = a.out, .batch = flash::attention_batch(a)};
  return launch<T, false>(q_map, k_map, v_map, p, a.head_dim, a.batch * query_tiles(a.tokens, tile.query_rows), stream);
}

template cudaError_t launch_flash_prefill_sm90<__half>(const PagedAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&,
                                                               cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__half>(const DenseAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill_sm90<__nv_bfloat16>(const DenseAttentionLaunch<__nv_bfloat16>&,
                                                               cudaStream_t);

}  // namespace genrt::kernels
