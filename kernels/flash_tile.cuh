#pragma once
// The warp-level steps of the tensor-core attention kernels (flash_prefill.cu,
// flash_decode.cu): a warp owns 16 query rows and, tile after tile of keys in shared memory,
// computes S = Q K^T with mma.sync, masks it, folds it into an online softmax held in fp32
// registers, and accumulates O += P V with P taken straight from the score registers
// (FlashAttention-2's register reuse: S's accumulator layout is the A-fragment layout of the
// next product, two n8 tiles per k16 chunk). Fragment layouts are in kernels/mma.cuh.
//
// Shared-memory tiles are row-major, `stride` elements a row (the head dim plus padding).

#include <cfloat>
#include <cstdint>

#include "kernels/attention_schedule.h"
#include "kernels/dense_attention.cuh"
#include "kernels/mma.cuh"
#include "kernels/paged_attention.cuh"

namespace genrt::kernels::flash {

using sm80::ldmatrix_x4;
using sm80::ldmatrix_x4_trans;
using sm80::mma_m16n8k16;
using sm80::pack2;

// Lane l's two rows of its warp's 16 (l / 4 and l / 4 + 8) and the first of its two
// columns in each n8 tile.
__device__ __forceinline__ int fragment_row(int lane, int half) { return lane / 4 + 8 * half; }
__device__ __forceinline__ int fragment_col(int lane) { return 2 * (lane % 4); }

// A fragments of 16 rows x kHeadDim starting at `rows`, one per k16 chunk.
template <int kHeadDim>
__device__ __forceinline__ void load_a_fragments(uint32_t (&a)[kHeadDim / 16][4], const void* rows, int stride) {
  const int lane = threadIdx.x % 32;
  const auto* base = static_cast<const uint16_t*>(rows) + (lane % 16) * stride + (lane / 16) * 8;
#pragma unroll
  for (int kc = 0; kc < kHeadDim / 16; ++kc) ldmatrix_x4(a[kc], base + kc * 16);
}

// The output accumulator and online-softmax state of a warp's 16 rows.
template <int kHeadDim>
struct RowState {
  float o[kHeadDim / 8][4];
  float max[2];  // the rows' running maxima of scale * log2(e) * score; -inf before any key
  float sum[2];  // this lane's share of the rows' sums of 2^(score - max)

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int t = 0; t < kHeadDim / 8; ++t) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    max[0] = max[1] = -INFINITY;
    sum[0] = sum[1] = 0.0f;
  }
};

// s = Q K^T for the warp's 16 query rows and kKeys keys at `keys` (shared memory). Q comes
// from `q` (registers) when kQInRegisters, else from the rows at `q_rows` in shared memory.
template <class T, int kHeadDim, int kKeys, bool kQInRegisters>
__device__ __forceinline__ void compute_scores(float (&s)[kKeys / 8][4], const uint32_t (&q)[kHeadDim / 16][4],
                                               const T* q_rows, const T* keys, int stride) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int t = 0; t < kKeys / 8; ++t) s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.0f;
  // Matrices 0..3 of an x4 load: keys 0-7 and 8-15 of a 16-key pair, features 0-7 and 8-15
  // of the k16 chunk, ordered (keys 0-7, f 0-7), (keys 0-7, f 8-15), (keys 8-15, f 0-7),
  // (keys 8-15, f 8-15): the b0, b1 of n8 tile 2j, then of tile 2j + 1.
  const T* key_base = keys + ((lane % 8) + (lane / 16) * 8) * stride + ((lane / 8) % 2) * 8;
  const T* q_base = q_rows + (lane % 16) * stride + (lane / 16) * 8;
#pragma unroll
  for (int kc = 0; kc < kHeadDim / 16; ++kc) {
    uint32_t q_chunk[4];
    if constexpr (kQInRegisters) {
#pragma unroll
      for (int i = 0; i < 4; ++i) q_chunk[i] = q[kc][i];
    } else {
      ldmatrix_x4(q_chunk, q_base + kc * 16);
    }
#pragma unroll
    for (int pair = 0; pair < kKeys / 16; ++pair) {
      uint32_t b[4];
      ldmatrix_x4(b, key_base + pair * 16 * stride + kc * 16);
      mma_m16n8k16<T>(s[2 * pair], q_chunk, b[0], b[1]);
      mma_m16n8k16<T>(s[2 * pair + 1], q_chunk, b[2], b[3]);
    }
  }
}

// Multiplies the scores by the softmax scale times log2(e), before any mask: a masked -inf
// must not meet a zero or negative scale.
template <int kKeys>
__device__ __forceinline__ void scale_scores(float (&s)[kKeys / 8][4], float scale_log2) {
#pragma unroll
  for (int t = 0; t < kKeys / 8; ++t) {
#pragma unroll
    for (int i = 0; i < 4; ++i) s[t][i] *= scale_log2;
  }
}

// Sets to -inf the scores whose key the row does not see: visible(row, key) with the row
// in 0..15 of the warp's rows and the key in 0..kKeys-1 of the slice.
template <int kKeys, class Visible>
__device__ __forceinline__ void mask_scores(float (&s)[kKeys / 8][4], Visible visible) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int t = 0; t < kKeys / 8; ++t) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if (!visible(fragment_row(lane, i / 2), t * 8 + fragment_col(lane) + i % 2)) s[t][i] = -INFINITY;
    }
  }
}

// One row's step of the online softmax, in base 2: its max over this key tile from each of
// the 4 lanes that share the row (`tile_max`: this lane's), folded into `running_max`; the
// base the tile's exponents subtract (0 while the row has seen only masked keys, so that
// 2^(-inf - 0) = 0, never NaN) and the correction 2^(old max - base) for what the row has
// summed so far.
struct RowRescale {
  float base;
  float correction;
};
__device__ __forceinline__ RowRescale rescale_row(float& running_max, float tile_max) {
  tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
  tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
  const float new_max = fmaxf(running_max, tile_max);
  const float base = new_max == -INFINITY ? 0.0f : new_max;
  const float correction = exp2f(running_max - base);
  running_max = new_max;
  return {base, correction};
}

// Folds the scaled scores of one key slice into the rows' softmax: new maxima (over the 4
// lanes that share a row), the accumulator and sums rescaled by 2^(old max - new max), and
// s replaced by the unnormalized probabilities 2^(s - max). A row that has seen no key yet
// keeps max -inf, and its probabilities are 2^-inf = 0, never NaN.
template <int kHeadDim, int kKeys>
__device__ __forceinline__ void online_softmax(RowState<kHeadDim>& rows, float (&s)[kKeys / 8][4]) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float tile_max = -INFINITY;
#pragma unroll
    for (int t = 0; t < kKeys / 8; ++t) tile_max = fmaxf(tile_max, fmaxf(s[t][2 * half], s[t][2 * half + 1]));
    const auto [base, correction] = rescale_row(rows.max[half], tile_max);
    float tile_sum = 0.0f;
#pragma unroll
    for (int t = 0; t < kKeys / 8; ++t) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const float p = exp2f(s[t][2 * half + c] - base);
        s[t][2 * half + c] = p;
        tile_sum += p;
      }
    }
    rows.sum[half] = rows.sum[half] * correction + tile_sum;
#pragma unroll
    for (int t = 0; t < kHeadDim / 8; ++t) {
      rows.o[t][2 * half] *= correction;
      rows.o[t][2 * half + 1] *= correction;
    }
  }
}

// o += P V for the kKeys keys whose probabilities are in p and whose values are at `values`.
template <class T, int kHeadDim, int kKeys>
__device__ __forceinline__ void accumulate_values(RowState<kHeadDim>& rows, const float (&p)[kKeys / 8][4],
                                                  const T* values, int stride) {
  const int lane = threadIdx.x % 32;
  // .trans x4 matrices: (keys 0-7, f 0-7), (keys 8-15, f 0-7), (keys 0-7, f 8-15),
  // (keys 8-15, f 8-15) of a k16 chunk: the b0, b1 of n8 feature tile 2j, then of 2j + 1.
  const T* value_base = values + ((lane % 8) + ((lane / 8) % 2) * 8) * stride + (lane / 16) * 8;
#pragma unroll
  for (int kc = 0; kc < kKeys / 16; ++kc) {
    const uint32_t a[4] = {pack2<T>(p[2 * kc][0], p[2 * kc][1]), pack2<T>(p[2 * kc][2], p[2 * kc][3]),
                           pack2<T>(p[2 * kc + 1][0], p[2 * kc + 1][1]),
                           pack2<T>(p[2 * kc + 1][2], p[2 * kc + 1][3])};
#pragma unroll
    for (int pair = 0; pair < kHeadDim / 16; ++pair) {
      uint32_t b[4];
      ldmatrix_x4_trans(b, value_base + kc * 16 * stride + pair * 16);
      mma_m16n8k16<T>(rows.o[2 * pair], a, b[0], b[1]);
      mma_m16n8k16<T>(rows.o[2 * pair + 1], a, b[2], b[3]);
    }
  }
}

// The rows' full sums (over the 4 lanes of each row).
template <int kHeadDim>
__device__ __forceinline__ void reduce_sums(RowState<kHeadDim>& rows) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    rows.sum[half] += __shfl_xor_sync(0xffffffffu, rows.sum[half], 1);
    rows.sum[half] += __shfl_xor_sync(0xffffffffu, rows.sum[half], 2);
  }
}

// Writes the normalized output o / sum of the warp's 16 rows as T into `rows_out` (shared
// memory, `stride` elements a row); a row without keys (sum 0) gets zeros. Call after
// reduce_sums.
template <class T, int kHeadDim>
__device__ __forceinline__ void store_normalized(const RowState<kHeadDim>& rows, T* rows_out, int stride) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float inv = rows.sum[half] > 0.0f ? 1.0f / rows.sum[half] : 0.0f;
    T* out = rows_out + fragment_row(lane, half) * stride + fragment_col(lane);
#pragma unroll
    for (int t = 0; t < kHeadDim / 8; ++t) {
      *reinterpret_cast<uint32_t*>(out + t * 8) = pack2<T>(rows.o[t][2 * half] * inv, rows.o[t][2 * half + 1] * inv);
    }
  }
}

// Copies the first `features` columns (a multiple of 16 bytes, at most kHeadDim) of `rows`
// rows from shared memory (`stride` a row) to global memory in 16-byte pieces, row r going
// to dst(r); the calling threads (`threads` of them, numbered from `thread`) share the work.
template <class T, int kHeadDim, class Dst>
__device__ __forceinline__ void copy_rows_out(const T* src, int stride, int rows, int features, int thread,
                                              int threads, Dst dst) {
  constexpr int kPerChunk = 16 / static_cast<int>(sizeof(T));
  const int chunks = features / kPerChunk;
  for (int i = thread; i < rows * chunks; i += threads) {
    const int r = i / chunks, chunk = i % chunks;
    T* row = dst(r);
    if (row != nullptr) {
      *reinterpret_cast<uint4*>(row + chunk * kPerChunk) =
          *reinterpret_cast<const uint4*>(src + r * stride + chunk * kPerChunk);
    }
  }
}

// Starts the copy of `rows` rows of kHeadDim T into shared memory (`stride` a row) with
// cp.async, row r from src(r), which holds `features` of them (a multiple of 16 bytes, at
// most kHeadDim); a null row, and the columns past `features`, are zero-filled. `fallback`
// is any valid global address (a zero-filled copy reads nothing but still names one).
template <class T, int kHeadDim, int kThreads, class Src>
__device__ __forceinline__ void load_rows_async(T* dst, int stride, int rows, int features, const T* fallback,
                                                Src src) {
  constexpr int kChunks = kHeadDim * static_cast<int>(sizeof(T)) / 16;
  constexpr int kPerChunk = 16 / static_cast<int>(sizeof(T));
  for (int i = static_cast<int>(threadIdx.x); i < rows * kChunks; i += kThreads) {
    const int r = i / kChunks, chunk = i % kChunks;
    const T* row = src(r);
    const bool read = row != nullptr && chunk * kPerChunk < features;
    sm80::cp_async_16(dst + r * stride + chunk * kPerChunk, read ? row + chunk * kPerChunk : fallback, read);
  }
}

// K and V rows of a tile together, since both sit at the same offset of their caches:
// offset(r) is the element offset of key row r in either, or -1 for a row to zero-fill;
// `features` as for load_rows_async.
template <class T, int kHeadDim, int kThreads, class Offset>
__device__ __forceinline__ void load_kv_async(T* k_dst, T* v_dst, int stride, int rows, int features, const T* k,
                                              const T* v, Offset offset) {
  constexpr int kChunks = kHeadDim * static_cast<int>(sizeof(T)) / 16;
  constexpr int kPerChunk = 16 / static_cast<int>(sizeof(T));
  for (int i = static_cast<int>(threadIdx.x); i < rows * kChunks; i += kThreads) {
    const int r = i / kChunks, chunk = i % kChunks;
    const int64_t at = offset(r);
    const bool read = at >= 0 && chunk * kPerChunk < features;
    const int64_t src = read ? at + chunk * kPerChunk : 0;
    sm80::cp_async_16(k_dst + r * stride + chunk * kPerChunk, k + src, read);
    sm80::cp_async_16(v_dst + r * stride + chunk * kPerChunk, v + src, read);
  }
}

// The sequence of a variable-length batch that owns query tile `index` (tiles numbered
// sequence after sequence), and the tile's number within it; seq -1 past the last tile.
// Every lane of the calling warp takes part: a warp-wide scan of the tile counts, 32
// sequences at a time.
struct QueryTile {
  int64_t seq = -1;
  int64_t tile = 0;
};

__device__ __forceinline__ QueryTile find_query_tile(const int32_t* query_start, int64_t seqs, int64_t index, int rows) {
  constexpr unsigned kAll = 0xffffffffu;
  const int lane = threadIdx.x % 32;
  int64_t before = 0;  // tiles of the sequences already passed
  for (int64_t first = 0; first < seqs; first += 32) {
    const int64_t s = first + lane;
    const int64_t tiles = s < seqs ? query_tiles(query_start[s + 1] - query_start[s], rows) : 0;
    int64_t inclusive = tiles;
#pragma unroll
    for (int d = 1; d < 32; d *= 2) {
      const int64_t up = __shfl_up_sync(kAll, inclusive, d);
      if (lane >= d) inclusive += up;
    }
    const unsigned owners = __ballot_sync(kAll, before + inclusive > index);
    if (owners != 0) {
      const int owner = __ffs(static_cast<int>(owners)) - 1;
      const int64_t tiles_before_owner = __shfl_sync(kAll, inclusive - tiles, owner);
      return {first + owner, index - before - tiles_before_owner};
    }
    before += __shfl_sync(kAll, inclusive, 31);
  }
  return {};
}


// Softmax scales are carried times log2(e): the kernels exponentiate in base 2.
inline constexpr float kLog2e = 1.4426950408889634f;

// The batch the tensor-core kernels' queries and keys come from (both prefills, the decode).
struct AttentionBatch {
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;     // features of a row in global memory (the tile may be wider)
  float scale_log2 = 0.0f;  // softmax scale times log2(e)
  int64_t window = 0;
  // Paged (causal).
  const int32_t* block_tables = nullptr;
  const int32_t* query_start = nullptr;
  const int32_t* context_lens = nullptr;
  int64_t seqs = 0;
  int32_t block_size = 0;
  int64_t max_blocks_per_seq = 0;
  int64_t cache_blocks = 0;  // the pool's blocks, where a kernel bounds-checks table entries
  // Dense (non-causal).
  int64_t q_tokens = 0;
  int64_t kv_tokens = 0;
};

// The query tile a block computes (tiles of `rows` rows), and where its queries sit among
// the keys. Paged: a variable-length batch, each sequence's tiles heaviest first (its last
// tiles see the most keys, so the last wave is of light tiles, FlashAttention-2's order).
// Dense: batch x tiles in order.
struct QueryTilePlace {
  bool valid = false;  // false past the batch's last tile (the same for every warp)
  int64_t seq = 0, tile = 0, first_token = 0, queries = 0, kv_len = 0, first_position = 0;
};

template <bool kPaged>
__device__ __forceinline__ QueryTilePlace place_query_tile(const AttentionBatch& b, int rows) {
  QueryTilePlace place;
  if constexpr (kPaged) {
    const QueryTile found = find_query_tile(b.query_start, b.seqs, blockIdx.x, rows);
    if (found.seq < 0) return place;
    place.seq = found.seq;
    place.first_token = b.query_start[found.seq];
    place.queries = b.query_start[found.seq + 1] - place.first_token;
    place.tile = query_tiles(place.queries, rows) - 1 - found.tile;
    place.kv_len = b.context_lens[found.seq];
    place.first_position = place.kv_len - place.queries;
  } else {
    const int64_t tiles_per_seq = query_tiles(b.q_tokens, rows);
    place.seq = blockIdx.x / tiles_per_seq;
    place.tile = blockIdx.x % tiles_per_seq;
    place.first_token = place.seq * b.q_tokens;
    place.queries = b.q_tokens;
    place.kv_len = b.kv_tokens;
  }
  place.valid = true;
  return place;
}

// The batches of the two launchers.
template <class T>
AttentionBatch attention_batch(const PagedAttentionLaunch<T>& a) {
  return {.q_heads = a.q_heads,
          .kv_heads = a.kv_heads,
          .head_dim = a.head_dim,
          .scale_log2 = a.scale * kLog2e,
          .window = a.window,
          .block_tables = a.block_tables,
          .query_start = a.query_start,
          .context_lens = a.context_lens,
          .seqs = a.seqs,
          .block_size = static_cast<int32_t>(a.block_size),
          .max_blocks_per_seq = a.max_blocks_per_seq,
          .cache_blocks = a.cache_blocks};
}

template <class T>
AttentionBatch attention_batch(const DenseAttentionLaunch<T>& a) {
  return {.q_heads = a.q_heads,
          .kv_heads = a.kv_heads,
          .head_dim = a.head_dim,
          .scale_log2 = a.scale * kLog2e,
          .q_tokens = a.tokens,
          .kv_tokens = a.kv_tokens};
}

}  // namespace genrt::kernels::flash
