// Attention on tensor cores for query tiles (FlashAttention-2's decomposition, sm_80+
// mma.sync): a block takes 64 query rows of one head, 16 per warp, holds their Q fragments
// in registers, and streams the K/V tiles its rows see through two shared-memory stages
// filled by cp.async, so that the next tile loads while this one is multiplied. The
// schedule (which tiles, which need masks, which block owns which query tile of a
// variable-length batch) is kernels/attention_schedule.h; the warp steps are
// kernels/flash_tile.cuh.
//
// kHeadDim is the tile's width: a narrower head dim (batch.head_dim) runs zero-padded to it
// (flash_tile_width). One kernel serves both key layouts: causal over the paged cache (a batch of sequences
// with any number of new tokens each, K/V read through the block tables, so a cached prefix
// costs nothing to recompute) and non-causal over dense K/V (DiT blocks, encoders,
// cross-attention with its own key length).

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/flash_attention.cuh"
#include "kernels/flash_tile.cuh"

namespace genrt::kernels {

namespace {

template <class T>
struct PrefillProblem {
  const T* q = nullptr;
  T* out = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  flash::AttentionBatch batch;
};

template <class T, int kHeadDim, bool kPaged>
__global__ void __launch_bounds__(flash_prefill_tile(kHeadDim).warps * 32)
    flash_prefill_kernel(const PrefillProblem<T> p) {
  constexpr FlashTile kTile = flash_prefill_tile(kHeadDim);
  constexpr int kRows = kTile.query_rows, kKeys = kTile.key_rows, kThreads = kTile.warps * 32;
  constexpr int kStride = static_cast<int>(kTile.smem_row());
  extern __shared__ __align__(16) unsigned char smem[];
  T* q_tile = reinterpret_cast<T*>(smem);
  T* k_tiles = q_tile + kRows * kStride;    // two stages
  T* v_tiles = k_tiles + 2 * kKeys * kStride;

  const flash::AttentionBatch& b = p.batch;
  const int features = static_cast<int>(b.head_dim);  // of a row in global memory, <= kHeadDim
  const flash::QueryTilePlace place = flash::place_query_tile<kPaged>(b, kRows);
  if (!place.valid) return;  // uniform: every warp found the same
  const int64_t seq = place.seq, tile = place.tile, first_token = place.first_token, queries = place.queries,
                kv_len = place.kv_len, first_position = place.first_position;
  const int64_t head = blockIdx.y;
  const int64_t kv_head = head / (b.q_heads / b.kv_heads);
  const int64_t first_row = tile * kRows;
  const int64_t rows = queries - first_row < kRows ? queries - first_row : kRows;
  const int64_t tile_first_position = first_position + first_row;
  const int64_t tile_last_position = tile_first_position + rows - 1;
  const TileSpan tiles = key_tiles(tile_first_position, tile_last_position, kv_len, kPaged, b.window, kKeys);
  const int64_t first_key = visible_keys(tile_first_position, kv_len, kPaged, b.window).begin;

  // Keys before the tile's first visible one (out of every row's window) and past the end
  // are zero-filled, never read: their cache blocks may have been released.
  auto key_offset = [&](int64_t key_tile, int r) -> int64_t {
    const int64_t key = key_tile * kKeys + r;
    if (key < first_key || key >= kv_len) return -1;
    int64_t slot;
    if constexpr (kPaged) {
      const int32_t k32 = static_cast<int32_t>(key);
      slot = static_cast<int64_t>(b.block_tables[seq * b.max_blocks_per_seq + k32 / b.block_size]) * b.block_size +
             k32 % b.block_size;
    } else {
      slot = seq * b.kv_tokens + key;
    }
    return (slot * b.kv_heads + kv_head) * b.head_dim;
  };
  auto load_kv_tile = [&](int64_t key_tile, int stage) {
    flash::load_kv_async<T, kHeadDim, kThreads>(k_tiles + stage * kKeys * kStride, v_tiles + stage * kKeys * kStride,
                                                kStride, kKeys, features, p.k, p.v,
                                                [&](int r) { return key_offset(key_tile, r); });
  };

  flash::load_rows_async<T, kHeadDim, kThreads>(q_tile, kStride, kRows, features, p.q, [&](int r) -> const T* {
    return r < rows ? p.q + ((first_token + first_row + r) * b.q_heads + head) * b.head_dim : nullptr;
  });
  if (tiles.first < tiles.last) load_kv_tile(tiles.first, 0);
  sm80::cp_async_commit();

  const int warp = threadIdx.x / 32;
  T* warp_rows = q_tile + warp * 16 * kStride;
  const int64_t warp_first_position = tile_first_position + warp * 16;
  flash::RowState<kHeadDim> state;
  state.init();
  uint32_t q_fragments[kHeadDim / 16][4];
  for (int64_t j = tiles.first; j < tiles.last; ++j) {
    const int stage = static_cast<int>((j - tiles.first) % 2);
    sm80::cp_async_wait<0>();
    __syncthreads();  // tile j is in; every warp is done with tile j - 1, whose stage loads next
    if (j + 1 < tiles.last) load_kv_tile(j + 1, 1 - stage);
    sm80::cp_async_commit();
    if constexpr (kTile.q_in_registers) {
      if (j == tiles.first) flash::load_a_fragments<kHeadDim>(q_fragments, warp_rows, kStride);
    }
    float s[kKeys / 8][4];
    flash::compute_scores<T, kHeadDim, kKeys, kTile.q_in_registers>(s, q_fragments, warp_rows,
                                                                    k_tiles + stage * kKeys * kStride, kStride);
    flash::scale_scores<kKeys>(s, b.scale_log2);
    if (tile_needs_mask(j, tile_first_position, tile_last_position, kv_len, kPaged, b.window, kKeys)) {
      flash::mask_scores<kKeys>(s, [&](int r, int c) {
        return key_visible(j * kKeys + c, warp_first_position + r, kv_len, kPaged, b.window);
      });
    }
    flash::online_softmax<kHeadDim, kKeys>(state, s);
    flash::accumulate_values<T, kHeadDim, kKeys>(state, s, v_tiles + stage * kKeys * kStride, kStride);
  }
  // With no key tile, no barrier has made the Q copies of other threads complete before
  // the output reuses the Q tile's rows.
  sm80::cp_async_wait<0>();
  __syncthreads();

  flash::reduce_sums(state);
  flash::store_normalized<T, kHeadDim>(state, warp_rows, kStride);
  __syncwarp();
  const int64_t warp_first_row = first_row + warp * 16;
  flash::copy_rows_out<T, kHeadDim>(warp_rows, kStride, 16, features, threadIdx.x % 32, 32, [&](int r) -> T* {
    const int64_t row = warp_first_row + r;
    return row < queries ? p.out + ((first_token + row) * b.q_heads + head) * b.head_dim : nullptr;
  });
}

// Launches the instantiation for p's head dim (its tile width): grid (query tiles, query heads).
template <class T, bool kPaged>
cudaError_t launch(const PrefillProblem<T>& p, int64_t head_dim, int64_t query_tile_blocks, cudaStream_t stream) {
  if (query_tile_blocks > 0x7fffffff || p.batch.q_heads > 65535) return cudaErrorInvalidValue;
  cudaError_t status = cudaErrorInvalidValue;
  auto run = [&]<int kHeadDim>() {
    constexpr FlashTile kTile = flash_prefill_tile(kHeadDim);
    constexpr auto kernel = flash_prefill_kernel<T, kHeadDim, kPaged>;
    const int smem = static_cast<int>(kTile.prefill_smem_bytes());
    if ((status = set_up_kernel<kernel>(kTile.warps * 32, smem).status) != cudaSuccess) return;
    const dim3 grid(static_cast<unsigned>(query_tile_blocks), static_cast<unsigned>(p.batch.q_heads));
    kernel<<<grid, kTile.warps * 32, smem, stream>>>(p);
    status = cudaGetLastError();
  };
  with_head_dim<64, 80, 96, 128, 160, 256>(flash_tile_width(head_dim), run);
  return status;
}

}  // namespace

template <class T>
cudaError_t launch_flash_prefill(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  if (a.tokens > 0x7fffffff || a.seqs <= 0 || a.block_size <= 0 || a.block_size > 0x7fffffff || a.kv_heads <= 0 ||
      a.q_heads % a.kv_heads != 0 || a.window < 0) {
    return cudaErrorInvalidValue;
  }
  const PrefillProblem<T> p{.q = a.q, .out = a.out, .k = a.k_cache, .v = a.v_cache, .batch = flash::attention_batch(a)};
  const int64_t rows = flash_prefill_tile(flash_tile_width(a.head_dim)).query_rows;
  return launch<T, true>(p, a.head_dim, rows > 0 ? query_tile_grid(a.tokens, a.seqs, rows) : 0, stream);
}

template <class T>
cudaError_t launch_flash_prefill(const DenseAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.batch == 0 || a.tokens == 0) return cudaSuccess;
  if (a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 || a.kv_tokens < 0) return cudaErrorInvalidValue;
  const PrefillProblem<T> p{.q = a.q, .out = a.out, .k = a.k, .v = a.v, .batch = flash::attention_batch(a)};
  const int64_t rows = flash_prefill_tile(flash_tile_width(a.head_dim)).query_rows;
  return launch<T, false>(p, a.head_dim, rows > 0 ? a.batch * query_tiles(a.tokens, rows) : 0, stream);
}

template cudaError_t launch_flash_prefill<__half>(const PagedAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&, cudaStream_t);
template cudaError_t launch_flash_prefill<__half>(const DenseAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_flash_prefill<__nv_bfloat16>(const DenseAttentionLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
