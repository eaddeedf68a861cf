#pragma once
// The pieces both Hopper attention kernels (flash_prefill_sm90.cu) are built from: where a
// block's 128-row query tile and its key tiles are, the TMA copies of a Q or K/V tile into
// 128-byte-swizzled 64-column panels, one warpgroup's S = Q K^T and O += P V as wgmma, its
// online softmax over the wgmma accumulators, and its output rows. The kernels differ only
// in who runs them when: every thread in turn, or a producer warp and two consumer
// warpgroups taking turns at the tensor cores.
//
// A warpgroup owns 64 query rows; its accumulators follow sm90.cuh's layout (warp w rows
// 16w..16w+15, an m16n8 fragment per n8 chunk).

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/flash_tile.cuh"
#include "kernels/sm90.cuh"
#include "kernels/tensor_map.cuh"

namespace genrt::kernels::flash_sm90 {

template <class T>
struct Problem {
  T* out = nullptr;
  flash::AttentionBatch batch;  // paged: K/V boxes are one page each; dense: a whole tile of keys
};

// The block's query tile: its sequence, rows, head and the key tiles it visits.
struct QueryTile {
  bool valid = false;  // false past the batch's last tile (the same for every thread)
  int64_t seq = 0, first_token = 0, queries = 0, kv_len = 0;
  int64_t first_row = 0;           // of the tile within the sequence's queries
  int64_t first_position = 0;      // of the tile's first row
  int64_t last_position = 0;       // of its last real row
  int64_t first_key = 0;           // the first key any row sees
  int64_t head = 0, kv_head = 0;
  TileSpan tiles;
};

template <bool kPaged>
__device__ __forceinline__ QueryTile locate_query_tile(const flash::AttentionBatch& b, int rows, int key_rows) {
  const flash::QueryTilePlace place = flash::place_query_tile<kPaged>(b, rows);
  QueryTile t;
  if (!place.valid) return t;
  t.valid = true;
  t.seq = place.seq;
  t.first_token = place.first_token;
  t.queries = place.queries;
  t.kv_len = place.kv_len;
  t.first_row = place.tile * rows;
  const int64_t real_rows = t.queries - t.first_row < rows ? t.queries - t.first_row : rows;
  t.first_position = place.first_position + t.first_row;
  t.last_position = t.first_position + real_rows - 1;
  t.first_key = visible_keys(t.first_position, t.kv_len, kPaged, b.window).begin;
  t.head = blockIdx.y;
  t.kv_head = t.head / (b.q_heads / b.kv_heads);
  t.tiles = key_tiles(t.first_position, t.last_position, t.kv_len, kPaged, b.window, key_rows);
  return t;
}

// Shared memory: the Q tile, then kStages K tiles, then kStages V tiles, each in 64-column
// panels of 128-byte rows (panel p of a tile at p * rows * 128), from a 1024-byte swizzle atom.
template <int kHeadDim, int kRows, int kKeys, int kStages>
struct TileMemory {
  static constexpr int kPanels = kHeadDim / 64;
  static constexpr int kQBytes = kPanels * kRows * 128, kKvBytes = kPanels * kKeys * 128;
  uint8_t* q;
  uint8_t* k;
  uint8_t* v;

  __device__ explicit TileMemory(uint8_t* raw) {
    q = raw + (1024 - sm90::shared_address(raw) % 1024) % 1024;
    k = q + kQBytes;
    v = k + kStages * kKvBytes;
  }
  __device__ uint8_t* k_stage(int stage) const { return k + stage * kKvBytes; }
  __device__ uint8_t* v_stage(int stage) const { return v + stage * kKvBytes; }
};

// One thread's copies of the Q tile, completing on `bar` (which expects their bytes).
template <int kHeadDim, int kRows>
__device__ __forceinline__ void load_q_tile(uint8_t* q, const CUtensorMap& map, uint64_t* bar, const QueryTile& t) {
#pragma unroll
  for (int panel = 0; panel < kHeadDim / 64; ++panel) {
    sm90::tma_load_2d(q + panel * kRows * 128, &map, bar, static_cast<int32_t>(t.head * kHeadDim + panel * 64),
                      static_cast<int32_t>(t.first_token + t.first_row));
  }
}

// One thread's copies of key tile j into a stage, completing 2 * kKvBytes on `bar`. Paged:
// a box per page, and pages outside [first_key, kv_len) come from rows before the cache
// (out of bounds: zeros), so no released or unwritten block is read. Dense: one box; rows
// past a sequence's keys are the next sequence's (their keys masked, their values zeroed by
// zero_stale_v_rows) or past the tensor (zeros).
template <int kHeadDim, int kKeys, bool kPaged>
__device__ __forceinline__ void load_kv_tile(uint8_t* k_stage, uint8_t* v_stage, const CUtensorMap& k_map,
                                             const CUtensorMap& v_map, uint64_t* bar, const flash::AttentionBatch& b,
                                             const QueryTile& t, int64_t j) {
  for (int panel = 0; panel < kHeadDim / 64; ++panel) {
    const int32_t column = static_cast<int32_t>(t.kv_head * kHeadDim + panel * 64);
    uint8_t* k_panel = k_stage + panel * kKeys * 128;
    uint8_t* v_panel = v_stage + panel * kKeys * 128;
    if constexpr (kPaged) {
      for (int page = 0; page < kKeys / b.block_size; ++page) {
        const int64_t key = j * kKeys + static_cast<int64_t>(page) * b.block_size;
        // A table entry outside the pool is read as a skipped page, never as a wrapped row.
        const int64_t block = key + b.block_size > t.first_key && key < t.kv_len
                                  ? b.block_tables[t.seq * b.max_blocks_per_seq + key / b.block_size]
                                  : -1;
        const auto row =
            static_cast<int32_t>(block >= 0 && block < b.cache_blocks ? block * b.block_size : -b.block_size);
        sm90::tma_load_2d(k_panel + page * b.block_size * 128, &k_map, bar, column, row);
        sm90::tma_load_2d(v_panel + page * b.block_size * 128, &v_map, bar, column, row);
      }
    } else {
      const auto row = static_cast<int32_t>(t.seq * b.kv_tokens + j * kKeys);
      sm90::tma_load_2d(k_panel, &k_map, bar, column, row);
      sm90::tma_load_2d(v_panel, &v_map, bar, column, row);
    }
  }
}

// The V rows of key tile j past the sequence's keys are zeroed before P V reads them: a
// paged tile's last page holds there what the cache held, a dense tile's box the next
// sequence's values (TMA's zeros only past the tensor), maybe Inf or NaN, and 0 * NaN is
// NaN, which would leak another sequence's overflow into this one's output. Thread
// `thread` of `threads` takes its share. True when it wrote any: the writers then fence
// (fence_proxy_async) and meet at a barrier before any wgmma reads the tile.
template <int kHeadDim, int kKeys>
__device__ __forceinline__ bool zero_stale_v_rows(uint8_t* v_stage, int64_t j, int64_t kv_len, int thread,
                                                  int threads) {
  constexpr int kPanels = kHeadDim / 64;
  const int64_t stale_from = kv_len - j * kKeys;
  if (stale_from >= kKeys) return false;
  for (int64_t i = thread; i < (kKeys - stale_from) * kPanels * 8; i += threads) {
    const int64_t row = stale_from + i / (kPanels * 8), panel = i / 8 % kPanels, chunk = i % 8;
    *reinterpret_cast<uint4*>(v_stage + panel * kKeys * 128 + row * 128 + chunk * 16) = make_uint4(0, 0, 0, 0);
  }
  sm90::fence_proxy_async();
  return true;
}

// One warpgroup's rows of the softmax state: scores of a key tile (one n64 accumulator
// per 64 keys), the output (one per 64-column panel), and each thread's two rows' running
// max and sum (its fragment rows g and g + 8).
template <int kHeadDim, int kKeys>
struct WarpgroupRows {
  static constexpr int kPanels = kHeadDim / 64;
  float s[kKeys / 64][32];
  float o[kPanels][32];
  uint32_t p[kKeys / 16][4];  // P as wgmma A fragments, one per k16 chunk of keys
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};

  __device__ WarpgroupRows() {
#pragma unroll
    for (auto& panel : o) {
#pragma unroll
      for (float& v : panel) v = 0.0f;
    }
  }
};

// Issues S = Q K^T for the warpgroup's 64 rows (q_rows: their first row of panel 0) over
// a key tile, both operands K-major; between wgmma_fence() and wgmma_commit().
template <class T, int kHeadDim, int kRows, int kKeys>
__device__ __forceinline__ void issue_scores(float (&s)[kKeys / 64][32], const uint8_t* q_rows, const uint8_t* k_tile) {
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
}

// Issues O += P V with P from registers and V MN-major; between wgmma_fence() and
// wgmma_commit(), with p and o fenced (sm90::fence_registers) on both sides.
template <class T, int kHeadDim, int kKeys>
__device__ __forceinline__ void issue_pv(float (&o)[kHeadDim / 64][32], const uint32_t (&p)[kKeys / 16][4],
                                         const uint8_t* v_tile) {
#pragma unroll
  for (int kc = 0; kc < kKeys / 16; ++kc) {
#pragma unroll
    for (int panel = 0; panel < kHeadDim / 64; ++panel) {
      sm90::wgmma_m64n64k16_rs<T>(o[panel], p[kc],
                                  sm90::swizzle128_descriptor(v_tile + panel * kKeys * 128 + kc * 2048, kKeys * 128),
                                  true);
    }
  }
}

// The online softmax of flash_tile.cuh over key tile j's scores in r.s (complete: after
// the wgmma wait): scaled, masked when the tile needs it, exponentiated in place, the
// running max and sum updated and r.o rescaled (no wgmma may be writing it), then packed
// into r.p. warp_first_position: the position of the warp's first row.
template <class T, int kHeadDim, int kKeys, bool kPaged>
__device__ __forceinline__ void softmax_tile(WarpgroupRows<kHeadDim, kKeys>& r, const flash::AttentionBatch& b,
                                             const QueryTile& t, int64_t j, int64_t warp_first_position, int lane) {
  const bool masked = tile_needs_mask(j, t.first_position, t.last_position, t.kv_len, kPaged, b.window, kKeys);
#pragma unroll
  for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      r.s[n][i] *= b.scale_log2;
      const int row = flash::fragment_row(lane, i % 4 / 2);
      const int key = n * 64 + i / 4 * 8 + flash::fragment_col(lane) + i % 2;
      if (masked && !key_visible(j * kKeys + key, warp_first_position + row, t.kv_len, kPaged, b.window)) {
        r.s[n][i] = -INFINITY;
      }
    }
  }
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float tile_max = -INFINITY;
#pragma unroll
    for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        tile_max = fmaxf(tile_max, fmaxf(r.s[n][4 * c + 2 * half], r.s[n][4 * c + 2 * half + 1]));
      }
    }
    const auto [base, correction] = flash::rescale_row(r.row_max[half], tile_max);
    float tile_sum = 0.0f;
#pragma unroll
    for (int n = 0; n < kKeys / 64; ++n) {
#pragma unroll
      for (int c = 0; c < 8; ++c) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float prob = exp2f(r.s[n][4 * c + 2 * half + e] - base);
          r.s[n][4 * c + 2 * half + e] = prob;
          tile_sum += prob;
        }
      }
    }
    r.row_sum[half] = r.row_sum[half] * correction + tile_sum;
#pragma unroll
    for (int panel = 0; panel < kHeadDim / 64; ++panel) {
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        r.o[panel][4 * c + 2 * half] *= correction;
        r.o[panel][4 * c + 2 * half + 1] *= correction;
      }
    }
  }
  // k16 chunk kc of P is n8 chunks 2 (kc % 4) and + 1 of S's n64 accumulator kc / 4: the
  // m16n8k16 A layout of each warp's 16 rows.
#pragma unroll
  for (int kc = 0; kc < kKeys / 16; ++kc) {
    const float* pn = r.s[kc / 4] + kc % 4 * 8;
#pragma unroll
    for (int i = 0; i < 4; ++i) r.p[kc][i] = sm80::pack2<T>(pn[2 * i], pn[2 * i + 1]);
  }
}

// Writes the warpgroup's rows of the output, normalized (a row that saw no key: zeros; a
// NaN row sum: NaN rows).
// first_row: the warpgroup's first row within the tile.
template <class T, int kHeadDim, int kKeys>
__device__ __forceinline__ void store_rows(WarpgroupRows<kHeadDim, kKeys>& r, T* out, const flash::AttentionBatch& b,
                                           const QueryTile& t, int64_t first_row, int warp, int lane) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float sum = r.row_sum[half];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;  // a NaN sum (a lost copy) stays NaN
    const int64_t row = t.first_row + first_row + warp * 16 + flash::fragment_row(lane, half);
    if (row >= t.queries) continue;
    T* dst = out + ((t.first_token + row) * b.q_heads + t.head) * kHeadDim + flash::fragment_col(lane);
#pragma unroll
    for (int panel = 0; panel < kHeadDim / 64; ++panel) {
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        *reinterpret_cast<uint32_t*>(dst + panel * 64 + c * 8) =
            sm80::pack2<T>(r.o[panel][4 * c + 2 * half] * inv, r.o[panel][4 * c + 2 * half + 1] * inv);
      }
    }
  }
}

}  // namespace genrt::kernels::flash_sm90
