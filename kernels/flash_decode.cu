// Decode over the paged KV cache on tensor cores, split over the keys (flash-decoding): a
// block per (split, KV head, sequence) serves every query head of the GQA group, their rows
// (group x new tokens, at most 16) padded to one m16 tile, so each K/V page is read once
// for the whole group; a larger group is cut into chunks of heads that fit, a block each
// (decode_heads). The keys of a sequence are cut into `splits` runs of tiles, chosen so
// that batch x KV heads x head chunks x splits fills the GPU even at batch 1; each warp of
// a block takes a 16-key slice of every tile; the warps merge in shared memory, and the
// splits in a second small kernel, both by log-sum-exp. With one split the block writes
// the output itself. Schedule: kernels/attention_schedule.h; warp steps:
// kernels/flash_tile.cuh.

#include <cmath>

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/flash_attention.cuh"
#include "kernels/flash_tile.cuh"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

template <class T>
struct DecodeProblem {
  const T* q = nullptr;
  T* out = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  flash::AttentionBatch batch;  // paged
  int64_t tokens = 0;
  int64_t splits = 1;
  DecodeHeads heads;  // of a GQA group, per block
  // With splits > 1: each split's output, normalized, [splits, tokens, q_heads, head_dim],
  // and its log2-sum-exp of scaled scores [splits, tokens, q_heads] (-inf without keys).
  float* partial_out = nullptr;
  float* partial_lse = nullptr;
};

template <class T, int kHeadDim>
__global__ void __launch_bounds__(flash_decode_tile(kHeadDim).warps * 32)
    flash_decode_kernel(const DecodeProblem<T> p) {
  constexpr FlashTile kTile = flash_decode_tile(kHeadDim);
  constexpr int kWarps = kTile.warps, kKeys = kTile.key_rows, kThreads = kWarps * 32;
  constexpr int kStride = static_cast<int>(kTile.smem_row());
  extern __shared__ __align__(16) unsigned char smem[];
  T* q_tile = reinterpret_cast<T*>(smem);
  T* k_tiles = q_tile + kDecodeRows * kStride;  // two stages
  T* v_tiles = k_tiles + 2 * kKeys * kStride;

  const flash::AttentionBatch& b = p.batch;
  const int64_t split = blockIdx.x, seq = blockIdx.z;
  const int64_t kv_head = blockIdx.y / p.heads.chunks, chunk = blockIdx.y % p.heads.chunks;
  const int64_t group = b.q_heads / b.kv_heads;
  const int64_t first_token = b.query_start[seq];
  const int64_t queries = b.query_start[seq + 1] - first_token;
  const int64_t kv_len = b.context_lens[seq];
  const int64_t first_position = kv_len - queries, last_position = kv_len - 1;
  // Row r: the query of decode_row(r, chunk). The launcher checked the longest sequence
  // against the chunk's rows; the bound keeps a lie in the metadata inside the tile.
  const int64_t rows = queries * p.heads.per_block < kDecodeRows ? queries * p.heads.per_block : kDecodeRows;
  if (rows <= 0) return;  // uniform: a sequence without new tokens
  auto real_row = [&](int r) { return r < rows && decode_row(r, chunk, p.heads).head < group; };
  const TileSpan tiles =
      split_tiles(key_tiles(first_position, last_position, kv_len, true, b.window, kKeys), split, p.splits);
  const int64_t first_key = visible_keys(first_position, kv_len, true, b.window).begin;
  auto row_offset = [&](int r) {  // of row r's query (and output) among [tokens, q_heads, head_dim]
    const DecodeRow row = decode_row(r, chunk, p.heads);
    return ((first_token + row.token) * b.q_heads + kv_head * group + row.head) * kHeadDim;
  };

  auto load_kv_tile = [&](int64_t key_tile, int stage) {
    flash::load_kv_async<T, kHeadDim, kThreads>(
        k_tiles + stage * kKeys * kStride, v_tiles + stage * kKeys * kStride, kStride, kKeys, kHeadDim, p.k, p.v,
        [&](int r) -> int64_t {
          const int64_t key = key_tile * kKeys + r;
          if (key < first_key || key >= kv_len) return -1;
          const int32_t k32 = static_cast<int32_t>(key);
          const int64_t slot =
              static_cast<int64_t>(b.block_tables[seq * b.max_blocks_per_seq + k32 / b.block_size]) * b.block_size +
              k32 % b.block_size;
          return (slot * b.kv_heads + kv_head) * kHeadDim;
        });
  };
  flash::load_rows_async<T, kHeadDim, kThreads>(q_tile, kStride, kDecodeRows, kHeadDim, p.q, [&](int r) -> const T* {
    return real_row(r) ? p.q + row_offset(r) : nullptr;
  });
  if (tiles.first < tiles.last) load_kv_tile(tiles.first, 0);
  sm80::cp_async_commit();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  flash::RowState<kHeadDim> state;
  state.init();
  uint32_t q_fragments[kHeadDim / 16][4];
  for (int64_t j = tiles.first; j < tiles.last; ++j) {
    const int stage = static_cast<int>((j - tiles.first) % 2);
    sm80::cp_async_wait<0>();
    __syncthreads();  // tile j is in; every warp is done with tile j - 1, whose stage loads next
    if (j + 1 < tiles.last) load_kv_tile(j + 1, 1 - stage);
    sm80::cp_async_commit();
    if (j == tiles.first) flash::load_a_fragments<kHeadDim>(q_fragments, q_tile, kStride);
    const int64_t slice = static_cast<int64_t>(warp) * 16;  // this warp's keys of the tile
    float s[2][4];
    flash::compute_scores<T, kHeadDim, 16, true>(s, q_fragments, q_tile, k_tiles + (stage * kKeys + slice) * kStride,
                                                 kStride);
    flash::scale_scores<16>(s, b.scale_log2);
    if (tile_needs_mask(j, first_position, last_position, kv_len, true, b.window, kKeys)) {
      flash::mask_scores<16>(s, [&](int r, int c) {
        const int64_t position = first_position + decode_row(r, chunk, p.heads).token;
        return key_visible(j * kKeys + slice + c, position, kv_len, true, b.window);
      });
    }
    flash::online_softmax<kHeadDim, 16>(state, s);
    flash::accumulate_values<T, kHeadDim, 16>(state, s, v_tiles + (stage * kKeys + slice) * kStride, kStride);
  }
  sm80::cp_async_wait<0>();
  __syncthreads();  // every warp is done with the K/V stages, which now hold the warps' results

  // The warps' unnormalized outputs, maxima and sums, merged by log-sum-exp.
  // Rows padded by 4 floats: a head dim's worth of floats is a multiple of 32 banks, which
  // would put a lane group's 8 rows in one bank.
  constexpr int kMergeRow = kHeadDim + 4;
  float* warp_out = reinterpret_cast<float*>(k_tiles);            // [kWarps][16][kMergeRow]
  float* warp_max = warp_out + kWarps * kDecodeRows * kMergeRow;  // [kWarps][16]
  float* warp_sum = warp_max + kWarps * kDecodeRows;               // [kWarps][16]
  flash::reduce_sums(state);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = flash::fragment_row(lane, half);
    float* out_row = warp_out + (warp * kDecodeRows + r) * kMergeRow + flash::fragment_col(lane);
#pragma unroll
    for (int t = 0; t < kHeadDim / 8; ++t) {
      out_row[t * 8] = state.o[t][2 * half];
      out_row[t * 8 + 1] = state.o[t][2 * half + 1];
    }
    if (lane % 4 == 0) {
      warp_max[warp * kDecodeRows + r] = state.max[half];
      warp_sum[warp * kDecodeRows + r] = state.sum[half];
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < rows * kHeadDim; i += kThreads) {
    const int r = i / kHeadDim, d = i % kHeadDim;
    if (!real_row(r)) continue;  // a head past the group's end, in its last chunk
    float row_max = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) row_max = fmaxf(row_max, warp_max[w * kDecodeRows + r]);
    const float base = row_max == -INFINITY ? 0.0f : row_max;
    float sum = 0.0f, acc = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float weight = exp2f(warp_max[w * kDecodeRows + r] - base);
      sum += weight * warp_sum[w * kDecodeRows + r];
      acc += weight * warp_out[(w * kDecodeRows + r) * kMergeRow + d];
    }
    const float value = sum > 0.0f ? acc / sum : 0.0f;
    if (p.splits == 1) {
      p.out[row_offset(r) + d] = from_float<T>(value);
    } else {
      // Partials are laid out like the output with a leading split axis.
      const int64_t row = row_offset(r) / kHeadDim;
      p.partial_out[(split * p.tokens * b.q_heads + row) * kHeadDim + d] = value;
      if (d == 0) p.partial_lse[split * p.tokens * b.q_heads + row] = sum > 0.0f ? base + log2f(sum) : -INFINITY;
    }
  }
}

// One warp per (token, query head): the splits' outputs weighted by 2^(lse - max lse).
template <class T>
__global__ void __launch_bounds__(128) merge_splits_kernel(const DecodeProblem<T> p, int64_t head_dim) {
  const int64_t rows = p.tokens * p.batch.q_heads;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x % 32;
  const float* lse = p.partial_lse + row;
  float lse_max = -INFINITY;
  for (int64_t s = lane; s < p.splits; s += 32) lse_max = fmaxf(lse_max, lse[s * rows]);
  for (int offset = 16; offset > 0; offset /= 2) lse_max = fmaxf(lse_max, __shfl_xor_sync(0xffffffffu, lse_max, offset));
  const float base = lse_max == -INFINITY ? 0.0f : lse_max;
  float total = 0.0f;
  for (int64_t s = 0; s < p.splits; ++s) total += exp2f(lse[s * rows] - base);
  for (int64_t d = lane; d < head_dim; d += 32) {
    float acc = 0.0f;
    for (int64_t s = 0; s < p.splits; ++s) acc += exp2f(lse[s * rows] - base) * p.partial_out[(s * rows + row) * head_dim + d];
    p.out[row * head_dim + d] = from_float<T>(total > 0.0f ? acc / total : 0.0f);
  }
}

constexpr int64_t decode_smem_bytes(const FlashTile& tile) {
  const int64_t tiles = (kDecodeRows + 4 * tile.key_rows) * tile.smem_row() * 2;
  const int64_t merge = (static_cast<int64_t>(tile.warps) * kDecodeRows * (tile.head_dim + 6)) * 4 +
                        kDecodeRows * tile.smem_row() * 2;
  return tiles > merge ? tiles : merge;
}

}  // namespace

template <class T>
cudaError_t launch_flash_decode(const PagedAttentionLaunch<T>& a, int multiprocessors, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  const FlashTile tile = flash_decode_tile(a.head_dim);
  if (tile.head_dim == 0 || a.seqs <= 0 || a.seqs > 65535 || a.q_heads <= 0 || a.kv_heads <= 0 || a.kv_heads > 65535 ||
      a.q_heads % a.kv_heads != 0 || a.max_query_len < 1 || a.max_query_len > kDecodeRows || a.block_size <= 0 ||
      a.window < 0 || a.block_size > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  const DecodeHeads heads = decode_heads(a.q_heads / a.kv_heads, a.max_query_len, kDecodeRows);
  if (a.kv_heads * heads.chunks > 65535) return cudaErrorInvalidValue;
  const int64_t per_split = split_workspace_bytes(1, a.tokens, a.q_heads, a.head_dim);
  cudaError_t status = cudaErrorInvalidValue;
  auto run = [&]<int kHeadDim>() {
    constexpr FlashTile kTile = flash_decode_tile(kHeadDim);
    constexpr auto kKernel = flash_decode_kernel<T, kHeadDim>;
    const int smem = static_cast<int>(decode_smem_bytes(kTile));
    const KernelSetup setup = set_up_kernel<kKernel>(kTile.warps * 32, smem);
    if ((status = setup.status) != cudaSuccess) return;
    // One wave of blocks over the SMs, at the occupancy this instantiation reaches.
    const int64_t splits =
        decode_splits(a.seqs, a.kv_heads * heads.chunks, (a.max_context_len + kTile.key_rows - 1) / kTile.key_rows,
                      int64_t{setup.blocks_per_sm} * multiprocessors, kMaxDecodeSplits,
                      a.split_workspace != nullptr ? a.split_workspace_bytes / per_split : 0);
    auto* partial_out = static_cast<float*>(a.split_workspace);
    const DecodeProblem<T> p{
        .q = a.q,
        .out = a.out,
        .k = a.k_cache,
        .v = a.v_cache,
        .batch = flash::attention_batch(a),
        .tokens = a.tokens,
        .splits = splits,
        .heads = heads,
        .partial_out = partial_out,
        .partial_lse = splits > 1 ? partial_out + splits * a.tokens * a.q_heads * kHeadDim : nullptr};
    const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(a.kv_heads * heads.chunks),
                    static_cast<unsigned>(a.seqs));
    kKernel<<<grid, kTile.warps * 32, smem, stream>>>(p);
    if ((status = cudaGetLastError()) != cudaSuccess || splits == 1) return;
    const int64_t merge_blocks = (a.tokens * a.q_heads + 3) / 4;
    if (merge_blocks > 0x7fffffff) {
      status = cudaErrorInvalidValue;
      return;
    }
    merge_splits_kernel<T><<<static_cast<unsigned>(merge_blocks), 128, 0, stream>>>(p, kHeadDim);
    status = cudaGetLastError();
  };
  with_head_dim<64, 80, 96, 128, 160, 256>(a.head_dim, run);
  return status;
}

template cudaError_t launch_flash_decode<__half>(const PagedAttentionLaunch<__half>&, int, cudaStream_t);
template cudaError_t launch_flash_decode<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&, int, cudaStream_t);

}  // namespace genrt::kernels
