// The CPU model of the tensor-core attention kernels' schedule: the same decomposition as
// kernels/flash_prefill.cu, flash_prefill_sm90.cu and flash_decode.cu, executed tile by
// tile in fp32 with the schedule functions they call (kernels/attention_schedule.h) and
// their tile shapes (kernels/attention_kernels.h): the query tile a block owns (the
// device's warp scan, emulated lane by lane), the key tiles it visits and skips, which tiles
// are masked, the zero-filled rows, page walking through the block table, GQA grouping, the
// decode's key splits, warp slices and both log-sum-exp merges. Compared with
// ref::attention and ref::dense_attention over awkward shapes, it proves the algorithm and
// its indexing here; a GPU run then only has the plumbing (fragments, copies, barriers)
// left to prove.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <utility>
#include <vector>

#include "kernels/attention_kernels.h"
#include "kernels/attention_schedule.h"
#include "kernels/ref/attention.h"
#include "kernels/ref/dense_attention.h"

namespace genrt {
namespace {

using kernels::FlashTile;
using kernels::TileSpan;

constexpr float kLog2e = 1.4426950408889634f;

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// One warp's 16 rows: the online-softmax state of flash_tile.cuh in plain fp32.
struct ModelRows {
  int64_t head_dim;
  std::vector<float> o, max, sum;
  explicit ModelRows(int64_t d) : head_dim(d), o(16 * d, 0.0f), max(16, -INFINITY), sum(16, 0.0f) {}

  // Folds keys [0, n) of a slice in: q(r) the row's query (null for a padding row, which the
  // device computes from zeros and never stores: skipped here), key(c) and value(c) the
  // slice's rows as loaded (zeros where the kernel zero-fills), visible(r, c) the mask,
  // applied only when `masked`.
  template <class Q, class K, class V, class Visible>
  void fold(int n, Q q, K key, V value, bool masked, Visible visible, float scale_log2) {
    std::vector<const float*> keys(static_cast<size_t>(n)), values(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) keys[c] = key(c), values[c] = value(c);
    std::vector<float> s(static_cast<size_t>(n));
    for (int r = 0; r < 16; ++r) {
      const float* qr = q(r);
      if (qr == nullptr) continue;
      float tile_max = -INFINITY;
      for (int c = 0; c < n; ++c) {
        float dot = 0.0f;
        for (int64_t i = 0; i < head_dim; ++i) dot += qr[i] * keys[c][i];
        s[c] = masked && !visible(r, c) ? -INFINITY : dot * scale_log2;
        tile_max = std::max(tile_max, s[c]);
      }
      const float new_max = std::max(max[r], tile_max);
      const float base = new_max == -INFINITY ? 0.0f : new_max;
      const float correction = std::exp2(max[r] - base);
      max[r] = new_max;
      float tile_sum = 0.0f;
      for (int c = 0; c < n; ++c) {
        s[c] = std::exp2(s[c] - base);
        tile_sum += s[c];
      }
      sum[r] = sum[r] * correction + tile_sum;
      float* out = o.data() + r * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) out[i] *= correction;
      for (int c = 0; c < n; ++c) {
        for (int64_t i = 0; i < head_dim; ++i) out[i] += s[c] * values[c][i];
      }
    }
  }
};

// The device's find_query_tile, lane by lane: a 32-wide inclusive scan of the tile counts,
// a ballot of the lanes whose running total passes `index`, the lowest of them the owner.
std::pair<int64_t, int64_t> find_query_tile(const std::vector<int32_t>& query_start, int64_t index, int rows) {
  const int64_t seqs = static_cast<int64_t>(query_start.size()) - 1;
  int64_t before = 0;
  for (int64_t first = 0; first < seqs; first += 32) {
    int64_t tiles[32], inclusive[32];
    for (int lane = 0; lane < 32; ++lane) {
      const int64_t s = first + lane;
      tiles[lane] = s < seqs ? kernels::query_tiles(query_start[s + 1] - query_start[s], rows) : 0;
      inclusive[lane] = tiles[lane];
    }
    for (int d = 1; d < 32; d *= 2) {
      int64_t up[32];
      for (int lane = 0; lane < 32; ++lane) up[lane] = inclusive[lane >= d ? lane - d : lane];
      for (int lane = d; lane < 32; ++lane) inclusive[lane] += up[lane];
    }
    for (int lane = 0; lane < 32; ++lane) {
      if (before + inclusive[lane] > index) return {first + lane, index - before - (inclusive[lane] - tiles[lane])};
    }
    before += inclusive[31];
  }
  return {-1, 0};
}

struct Sequence {
  int64_t n_new;
  int64_t context;  // positions cached, the new ones included
};

// A paged batch: sequences with shuffled blocks in one pool, q and the caches random.
struct PagedCase {
  std::vector<Sequence> seqs;
  int64_t q_heads, kv_heads, head_dim, block_size, window = 0;

  std::vector<int32_t> query_start, context_lens, block_tables;
  int64_t max_blocks = 0, tokens = 0;
  std::vector<float> q, k_cache, v_cache;

  void build() {
    query_start = {0};
    int64_t blocks = 0;
    for (const Sequence& s : seqs) {
      query_start.push_back(query_start.back() + static_cast<int32_t>(s.n_new));
      context_lens.push_back(static_cast<int32_t>(s.context));
      max_blocks = std::max(max_blocks, (s.context + block_size - 1) / block_size);
      blocks += (s.context + block_size - 1) / block_size;
    }
    tokens = query_start.back();
    std::vector<int32_t> pool(static_cast<size_t>(blocks));
    for (int64_t b = 0; b < blocks; ++b) pool[b] = static_cast<int32_t>(b);
    std::shuffle(pool.begin(), pool.end(), std::mt19937(7));
    block_tables.assign(seqs.size() * max_blocks, 0);
    size_t next = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
      // Blocks wholly before every query's window are back in the pool: -1, never to be read.
      const int64_t first_read = ref::first_attended_position(seqs[s].context - seqs[s].n_new, window);
      for (int64_t b = 0; b < (seqs[s].context + block_size - 1) / block_size; ++b) {
        block_tables[s * max_blocks + b] = (b + 1) * block_size <= first_read ? -1 : pool[next];
        ++next;
      }
    }
    q = random_values(tokens * q_heads * head_dim, 1);
    k_cache = random_values(blocks * block_size * kv_heads * head_dim, 2);
    v_cache = random_values(blocks * block_size * kv_heads * head_dim, 3);
  }

  float scale() const { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

  std::vector<float> reference() const {
    std::vector<float> out(q.size());
    const int64_t row = q_heads * head_dim;
    for (size_t s = 0; s < seqs.size(); ++s) {
      ref::attention({.q = q.data() + query_start[s] * row,
                      .k_cache = k_cache.data(),
                      .v_cache = v_cache.data(),
                      .block_table = block_tables.data() + s * max_blocks,
                      .out = out.data() + query_start[s] * row,
                      .tokens = seqs[s].n_new,
                      .q_start = seqs[s].context - seqs[s].n_new,
                      .n_heads = q_heads,
                      .n_kv_heads = kv_heads,
                      .head_dim = head_dim,
                      .block_size = block_size,
                      .scale = scale(),
                      .window = window});
    }
    return out;
  }

  // The key row `key` of sequence s for KV head h as the sm_80 kernels load it: through the
  // block table, or zeros outside [first_key, kv_len).
  const float* kv_row(const std::vector<float>& cache, size_t s, int64_t h, int64_t key, int64_t first_key,
                      const std::vector<float>& zeros) const {
    if (key < first_key || key >= context_lens[s]) return zeros.data();
    return cached_row(cache, s, h, key);
  }

  // As the Hopper kernel loads it: a whole page or none. Pages outside [first_key, kv_len)
  // arrive as zeros (out-of-bounds TMA boxes); in a live page, rows past the context hold
  // whatever the cache held (NaN here) for K, and zeros for V, which the kernel clears.
  const float* kv_page_row(bool values, size_t s, int64_t h, int64_t key, int64_t first_key,
                           const std::vector<float>& zeros, const std::vector<float>& stale) const {
    const int64_t page = key / block_size * block_size;
    if (page + block_size <= first_key || page >= context_lens[s]) return zeros.data();
    if (key >= context_lens[s]) return values ? zeros.data() : stale.data();
    return cached_row(values ? v_cache : k_cache, s, h, key);
  }

  const float* cached_row(const std::vector<float>& cache, size_t s, int64_t h, int64_t key) const {
    const int32_t block = block_tables[s * max_blocks + key / block_size];
    EXPECT_GE(block, 0) << "key " << key << " of sequence " << s << " is in a released block";
    const int64_t slot = int64_t{block} * block_size + key % block_size;
    return cache.data() + (slot * kv_heads + h) * head_dim;
  }
};

// Which prefill kernel a model runs: flash_prefill_kernel (sm_80: 64-row tiles, K/V rows
// loaded one by one) or flash_prefill_sm90 (128-row tiles of two warpgroups, K/V loaded by
// TMA: a page at a time from the paged cache, a whole key tile from dense K/V).
enum class PrefillKernel { sm80, sm90 };

// Where a block's query tile sits: rows [first_row, first_row + rows) of a sequence's
// `queries` (the last tile short), its first row at `first_position` among kv_len keys.
struct QueryTileSpot {
  int rows = 0, keys = 0;  // the kernel's query tile and K/V tile
  int64_t queries = 0, first_row = 0, first_position = 0, kv_len = 0;
  bool causal = false;
  int64_t window = 0;
};

// One block's query tile of one head as both prefill kernels run it, warp by warp (16 rows
// each; the Hopper kernel's two warpgroups are its 8 warps in order): the key tiles
// key_tiles() gives, masked where tile_needs_mask() says, and the real rows stored. q(row):
// the sequence's query row as loaded (null for a padding row); key(k), value(k): key k's
// rows as loaded; out(row): the row's output (NaN until stored: a row stored twice fails).
template <class Q, class K, class V, class Out>
void model_query_tile(const QueryTileSpot& t, int64_t head_dim, float scale_log2, Q q, K key, V value, Out out) {
  const int64_t n_rows = std::min<int64_t>(t.rows, t.queries - t.first_row);
  const int64_t last_position = t.first_position + n_rows - 1;
  const TileSpan span = kernels::key_tiles(t.first_position, last_position, t.kv_len, t.causal, t.window, t.keys);
  for (int warp = 0; warp < t.rows / 16; ++warp) {
    ModelRows state(head_dim);
    const int64_t warp_row = t.first_row + warp * 16, warp_position = t.first_position + warp * 16;
    for (int64_t j = span.first; j < span.last; ++j) {
      const bool masked =
          kernels::tile_needs_mask(j, t.first_position, last_position, t.kv_len, t.causal, t.window, t.keys);
      auto visible = [&](int r, int col) {
        return kernels::key_visible(j * t.keys + col, warp_position + r, t.kv_len, t.causal, t.window);
      };
      if (!masked) {  // the schedule's claim: every real row sees every key of the tile
        for (int r = 0; r < 16 && warp_row + r < t.queries; ++r) {
          for (int col = 0; col < t.keys; ++col) EXPECT_TRUE(visible(r, col)) << "tile " << j << " row " << r;
        }
      }
      state.fold(
          t.keys, [&](int r) { return q(warp_row + r); }, [&](int col) { return key(j * t.keys + col); },
          [&](int col) { return value(j * t.keys + col); }, masked, visible, scale_log2);
    }
    for (int r = 0; r < 16 && warp_row + r < t.queries; ++r) {
      float* o = out(warp_row + r);
      EXPECT_TRUE(std::isnan(o[0])) << "row " << warp_row + r << " stored twice";
      for (int64_t i = 0; i < head_dim; ++i) o[i] = state.sum[r] > 0 ? state.o[r * head_dim + i] / state.sum[r] : 0;
    }
  }
}

// The paged prefill kernels, block by block: each block finds its sequence's query tile
// (heaviest first), causal over the context, K/V through the block table.
std::vector<float> model_paged_prefill(const PagedCase& c, PrefillKernel kernel = PrefillKernel::sm80) {
  const bool hopper = kernel == PrefillKernel::sm90;
  // The sm_80 kernel runs a head dim at its tile width (zero-padded features add nothing).
  const kernels::FlashTile tile = kernels::flash_prefill_tile(kernels::flash_tile_width(c.head_dim));
  const int rows = hopper ? kernels::sm90_prefill_tile(c.head_dim).query_rows : tile.query_rows;
  const int keys = hopper ? kernels::sm90_prefill_tile(c.head_dim).key_rows : tile.key_rows;
  const std::vector<float> zeros(c.head_dim, 0.0f), stale(c.head_dim, NAN);
  auto load = [&](bool values, size_t s, int64_t h, int64_t key, int64_t first_key) {
    return hopper ? c.kv_page_row(values, s, h, key, first_key, zeros, stale)
                  : c.kv_row(values ? c.v_cache : c.k_cache, s, h, key, first_key, zeros);
  };
  std::vector<float> out(c.q.size(), NAN);
  std::map<std::pair<int64_t, int64_t>, int> owned;  // (seq, tile) -> blocks that took it
  const int64_t grid = kernels::query_tile_grid(c.tokens, static_cast<int64_t>(c.seqs.size()), rows);
  for (int64_t block = 0; block < grid; ++block) {
    const std::pair<int64_t, int64_t> owner = find_query_tile(c.query_start, block, rows);
    const int64_t s = owner.first, found = owner.second;  // named: lambdas below capture them
    if (s < 0) continue;
    const int64_t t = kernels::query_tiles(c.seqs[s].n_new, rows) - 1 - found;  // heaviest first
    ++owned[{s, t}];
    const int64_t first_token = c.query_start[s], queries = c.seqs[s].n_new, kv_len = c.context_lens[s];
    const QueryTileSpot spot{.rows = rows, .keys = keys, .queries = queries, .first_row = t * rows,
                             .first_position = kv_len - queries + t * rows, .kv_len = kv_len, .causal = true,
                             .window = c.window};
    const int64_t first_key = kernels::visible_keys(spot.first_position, kv_len, true, c.window).begin;
    for (int64_t head = 0; head < c.q_heads; ++head) {
      const int64_t kv_head = head / (c.q_heads / c.kv_heads);
      auto at = [&](int64_t r) { return ((first_token + r) * c.q_heads + head) * c.head_dim; };  // q and out
      model_query_tile(
          spot, c.head_dim, c.scale() * kLog2e,
          [&](int64_t r) { return r < queries ? c.q.data() + at(r) : nullptr; },
          [&](int64_t key) { return load(false, s, kv_head, key, first_key); },
          [&](int64_t key) { return load(true, s, kv_head, key, first_key); },
          [&](int64_t r) { return out.data() + at(r); });
    }
  }
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    for (int64_t t = 0; t < kernels::query_tiles(c.seqs[s].n_new, rows); ++t) {
      EXPECT_EQ((owned[{static_cast<int64_t>(s), t}]), 1) << "query tile " << t << " of sequence " << s;
    }
  }
  return out;
}

// flash_decode_kernel and merge_splits_kernel, block by block, with `splits` splits.
std::vector<float> model_paged_decode(const PagedCase& c, int64_t splits) {
  const FlashTile tile = kernels::flash_decode_tile(c.head_dim);
  const int keys = tile.key_rows;
  const int64_t group = c.q_heads / c.kv_heads;
  int64_t max_query_len = 0;
  for (const Sequence& seq : c.seqs) max_query_len = std::max(max_query_len, seq.n_new);
  EXPECT_LE(max_query_len, kernels::kDecodeRows);
  const kernels::DecodeHeads heads = kernels::decode_heads(group, max_query_len, kernels::kDecodeRows);
  EXPECT_LE(heads.per_block * max_query_len, kernels::kDecodeRows);
  EXPECT_GT(group, (heads.chunks - 1) * heads.per_block) << "an empty chunk";
  const std::vector<float> zeros(c.head_dim, 0.0f);
  const int64_t rows_total = c.tokens * c.q_heads;
  std::vector<float> partial_out(splits * rows_total * c.head_dim, NAN), partial_lse(splits * rows_total, NAN);
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    const int64_t first_token = c.query_start[s], queries = c.seqs[s].n_new, kv_len = c.context_lens[s];
    const int64_t first_pos = kv_len - queries, last_pos = kv_len - 1;
    const int64_t rows = std::min<int64_t>(queries * heads.per_block, kernels::kDecodeRows);
    const int64_t first_key = kernels::visible_keys(first_pos, kv_len, true, c.window).begin;
    const TileSpan all = kernels::key_tiles(first_pos, last_pos, kv_len, true, c.window, keys);
    for (int64_t block_y = 0; block_y < c.kv_heads * heads.chunks; ++block_y) {
      const int64_t kv_head = block_y / heads.chunks, chunk = block_y % heads.chunks;
      auto real_row = [&](int r) { return r < rows && kernels::decode_row(r, chunk, heads).head < group; };
      auto row_index = [&](int r) {
        const kernels::DecodeRow row = kernels::decode_row(r, chunk, heads);
        return (first_token + row.token) * c.q_heads + kv_head * group + row.head;
      };
      for (int64_t split = 0; split < splits; ++split) {
        const TileSpan mine = kernels::split_tiles(all, split, splits);
        std::vector<ModelRows> warps(tile.warps, ModelRows(c.head_dim));
        for (int64_t j = mine.first; j < mine.last; ++j) {
          const bool masked = kernels::tile_needs_mask(j, first_pos, last_pos, kv_len, true, c.window, keys);
          for (int w = 0; w < tile.warps; ++w) {
            const int64_t slice = j * keys + w * 16;
            warps[w].fold(
                16, [&](int r) { return real_row(r) ? c.q.data() + row_index(r) * c.head_dim : nullptr; },
                [&](int col) { return c.kv_row(c.k_cache, s, kv_head, slice + col, first_key, zeros); },
                [&](int col) { return c.kv_row(c.v_cache, s, kv_head, slice + col, first_key, zeros); }, masked,
                [&](int r, int col) {
                  const int64_t position = first_pos + kernels::decode_row(r, chunk, heads).token;
                  return kernels::key_visible(slice + col, position, kv_len, true, c.window);
                },
                c.scale() * kLog2e);
          }
        }
        for (int r = 0; r < rows; ++r) {  // the warps' merge
          if (!real_row(r)) continue;
          EXPECT_TRUE(std::isnan(partial_lse[split * rows_total + row_index(r)])) << "row " << r << " written twice";
          float row_max = -INFINITY;
          for (const ModelRows& w : warps) row_max = std::max(row_max, w.max[r]);
          const float base = row_max == -INFINITY ? 0.0f : row_max;
          float sum = 0.0f;
          for (const ModelRows& w : warps) sum += std::exp2(w.max[r] - base) * w.sum[r];
          for (int64_t i = 0; i < c.head_dim; ++i) {
            float acc = 0.0f;
            for (const ModelRows& w : warps) acc += std::exp2(w.max[r] - base) * w.o[r * c.head_dim + i];
            partial_out[(split * rows_total + row_index(r)) * c.head_dim + i] = sum > 0 ? acc / sum : 0.0f;
          }
          partial_lse[split * rows_total + row_index(r)] = sum > 0 ? base + std::log2(sum) : -INFINITY;
        }
      }
    }
  }
  std::vector<float> out(c.q.size());
  for (int64_t row = 0; row < rows_total; ++row) {  // the splits' merge
    float lse_max = -INFINITY;
    for (int64_t s = 0; s < splits; ++s) lse_max = std::max(lse_max, partial_lse[s * rows_total + row]);
    const float base = lse_max == -INFINITY ? 0.0f : lse_max;
    float total = 0.0f;
    for (int64_t s = 0; s < splits; ++s) total += std::exp2(partial_lse[s * rows_total + row] - base);
    for (int64_t i = 0; i < c.head_dim; ++i) {
      float acc = 0.0f;
      for (int64_t s = 0; s < splits; ++s) {
        acc += std::exp2(partial_lse[s * rows_total + row] - base) * partial_out[(s * rows_total + row) * c.head_dim + i];
      }
      out[row * c.head_dim + i] = total > 0 ? acc / total : 0.0f;
    }
  }
  return out;
}

// A mixed batch as launch_paged_attention cuts it (kernels/paged_attention.cu,
// split_leading_decodes): its leading one-token sequences through the decode schedule,
// the rest through a prefill schedule with query_start, context_lens and the block tables
// offset past them and the token count kept whole, their query rows staying absolute.
std::vector<float> model_mixed_batch(const PagedCase& c, int64_t decodes, int64_t splits, PrefillKernel kernel) {
  PagedCase head = c, tail = c;
  head.seqs.resize(decodes);
  head.query_start.resize(decodes + 1);
  head.context_lens.resize(decodes);
  head.block_tables.resize(decodes * c.max_blocks);
  head.tokens = decodes;
  tail.seqs.erase(tail.seqs.begin(), tail.seqs.begin() + decodes);
  tail.query_start.erase(tail.query_start.begin(), tail.query_start.begin() + decodes);
  tail.context_lens.erase(tail.context_lens.begin(), tail.context_lens.begin() + decodes);
  tail.block_tables.erase(tail.block_tables.begin(), tail.block_tables.begin() + decodes * c.max_blocks);
  std::vector<float> out = model_paged_decode(head, splits);
  const std::vector<float> rest = model_paged_prefill(tail, kernel);
  const auto first_rest = static_cast<ptrdiff_t>(decodes * c.q_heads * c.head_dim);
  for (ptrdiff_t i = 0; i < first_rest; ++i) EXPECT_TRUE(std::isnan(rest[i])) << "the prefill wrote decode row " << i;
  std::copy(rest.begin() + first_rest, rest.end(), out.begin() + first_rest);
  return out;
}

// A dense batch (ref::dense_attention): `batch` sequences of `tokens` queries, each over
// its own `kv_tokens` keys, non-causal; q, k and v random.
struct DenseCase {
  int64_t batch, tokens, kv_tokens, q_heads, kv_heads, head_dim;
  std::vector<float> q, k, v;

  void build() {
    q = random_values(batch * tokens * q_heads * head_dim, 4);
    k = random_values(batch * kv_tokens * kv_heads * head_dim, 5);
    v = random_values(batch * kv_tokens * kv_heads * head_dim, 6);
  }

  float scale() const { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

  std::vector<float> reference() const {
    std::vector<float> out(q.size());
    ref::dense_attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = out.data(), .batch = batch,
                          .tokens = tokens, .kv_tokens = kv_tokens, .n_heads = q_heads, .n_kv_heads = kv_heads,
                          .head_dim = head_dim, .scale = scale()});
    return out;
  }
};

// The dense prefill kernels, block by block (kPaged false): batch x query tiles in order
// (place_query_tile), each sequence's queries at positions from 0, every key visible: no
// key tile skipped, and only the one running past kv_tokens masked. The sm_80 kernel
// zero-fills keys past kv_tokens; the Hopper one loads a key tile as one TMA box from row
// seq * kv_tokens + j * keys, so its tail rows are the next sequence's keys (masked), or
// zeros past the tensor. Its Q box's rows past the sequence are the next sequence's too,
// computed and never stored: padding rows here. Without keys launch_dense_attention runs
// the sm_80 kernel on any device (TMA describes no tensor of zero rows).
std::vector<float> model_dense_prefill(const DenseCase& c, PrefillKernel kernel) {
  const bool hopper = kernel == PrefillKernel::sm90 && c.kv_tokens > 0;
  const kernels::FlashTile tile = kernels::flash_prefill_tile(kernels::flash_tile_width(c.head_dim));
  const kernels::Sm90Tile wide = kernels::sm90_prefill_tile(c.head_dim);
  std::vector<float> out(c.q.size(), NAN);
  if ((hopper ? wide.head_dim : tile.head_dim) == 0) {
    ADD_FAILURE() << "no tile of head dim " << c.head_dim;
    return out;
  }
  const int rows = hopper ? wide.query_rows : tile.query_rows, keys = hopper ? wide.key_rows : tile.key_rows;
  const std::vector<float> zeros(c.head_dim, 0.0f);
  const int64_t tiles_per_seq = kernels::query_tiles(c.tokens, rows);
  for (int64_t block = 0; block < c.batch * tiles_per_seq; ++block) {
    const int64_t seq = block / tiles_per_seq;
    const QueryTileSpot spot{.rows = rows, .keys = keys, .queries = c.tokens, .first_row = block % tiles_per_seq * rows,
                             .first_position = block % tiles_per_seq * rows, .kv_len = c.kv_tokens};
    const int64_t first_key = kernels::visible_keys(spot.first_position, c.kv_tokens, false, 0).begin;
    for (int64_t head = 0; head < c.q_heads; ++head) {
      const int64_t kv_head = head / (c.q_heads / c.kv_heads);
      auto at = [&](int64_t r) { return ((seq * c.tokens + r) * c.q_heads + head) * c.head_dim; };  // q and out
      auto load = [&](const std::vector<float>& x, int64_t key) {
        const int64_t row = seq * c.kv_tokens + key;
        const bool read = hopper ? row < c.batch * c.kv_tokens : key >= first_key && key < c.kv_tokens;
        return read ? x.data() + (row * c.kv_heads + kv_head) * c.head_dim : zeros.data();
      };
      model_query_tile(
          spot, c.head_dim, c.scale() * kLog2e,
          [&](int64_t r) { return r < c.tokens ? c.q.data() + at(r) : nullptr; },
          [&](int64_t key) { return load(c.k, key); }, [&](int64_t key) { return load(c.v, key); },
          [&](int64_t r) { return out.data() + at(r); });
    }
  }
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  // fp32 throughout; base-2 exponentials and a different summation order than the reference.
  constexpr float kTolerance = 2e-5f;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_LE(std::abs(got[i] - want[i]), kTolerance * (1 + std::abs(want[i]))) << what << ", element " << i;
  }
}

struct PrefillShape {
  std::vector<Sequence> seqs;
  int64_t head_dim, q_heads, kv_heads, block_size, window = 0;
};

std::ostream& operator<<(std::ostream& os, const PrefillShape& s) {
  os << "d" << s.head_dim << " " << s.q_heads << "/" << s.kv_heads << " heads, pages of " << s.block_size
     << ", window " << s.window << ", (new, context):";
  for (const Sequence& seq : s.seqs) os << " (" << seq.n_new << ", " << seq.context << ")";
  return os;
}

class AttentionScheduleModel : public ::testing::TestWithParam<PrefillShape> {};

TEST_P(AttentionScheduleModel, PrefillTilesMatchReference) {
  const PrefillShape& shape = GetParam();
  PagedCase c{.seqs = shape.seqs, .q_heads = shape.q_heads, .kv_heads = shape.kv_heads, .head_dim = shape.head_dim,
              .block_size = shape.block_size, .window = shape.window};
  c.build();
  const std::vector<float> want = c.reference();
  expect_close(model_paged_prefill(c), want, "sm_80 prefill");
  // The Hopper kernel's tiles need pages that tile its key tiles, and head dims of 64-column panels.
  if (kernels::sm90_prefill_tile(c.head_dim).head_dim != 0 &&
      kernels::sm90_prefill_tile(c.head_dim).key_rows % c.block_size == 0) {
    expect_close(model_paged_prefill(c, PrefillKernel::sm90), want, "sm_90 prefill");
  }
}

// Lengths 1, 17, 127, 1000 and 4097 (off every tile and page size), chunks over a cached
// prefix (new tokens fewer than the context), head dims 64 to 256, GQA 1, 4 and 8, pages of
// 16 and 32, one sequence and many of mixed lengths.
INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionScheduleModel,
    ::testing::Values(PrefillShape{{{1, 1}}, 64, 1, 1, 16}, PrefillShape{{{17, 17}}, 80, 4, 1, 16},
                      PrefillShape{{{127, 127}}, 96, 8, 1, 32}, PrefillShape{{{1000, 1000}}, 128, 2, 2, 16},
                      PrefillShape{{{4097, 4097}}, 64, 1, 1, 32}, PrefillShape{{{100, 227}}, 256, 4, 1, 16},
                      PrefillShape{{{1, 1}, {17, 40}, {1, 1000}, {127, 127}, {64, 64}, {65, 300}}, 128, 8, 1, 16},
                      PrefillShape{std::vector<Sequence>(40, Sequence{3, 9}), 64, 4, 4, 32},
                      // Sliding windows: of one key, mid-tile, a tile and one, and wider than the context.
                      PrefillShape{{{127, 127}, {17, 40}}, 64, 4, 1, 16, 1},
                      PrefillShape{{{1000, 1000}}, 128, 2, 1, 16, 100},
                      PrefillShape{{{300, 4097}, {1, 70}}, 80, 4, 2, 32, 65},
                      PrefillShape{{{64, 64}}, 96, 2, 2, 16, 1000},
                      // Between the tiles: 40 and 72 at widths 64 and 80; 160's own 32-key tiles.
                      PrefillShape{{{1000, 1000}, {1, 33}}, 40, 8, 8, 16},
                      PrefillShape{{{127, 300}}, 72, 4, 1, 32, 65},
                      PrefillShape{{{257, 257}, {17, 40}}, 160, 4, 2, 16}));

class DecodeScheduleModel : public ::testing::TestWithParam<PrefillShape> {};

TEST_P(DecodeScheduleModel, SplitsMatchReference) {
  const PrefillShape& shape = GetParam();
  PagedCase c{.seqs = shape.seqs, .q_heads = shape.q_heads, .kv_heads = shape.kv_heads, .head_dim = shape.head_dim,
              .block_size = shape.block_size, .window = shape.window};
  c.build();
  const std::vector<float> want = c.reference();
  int64_t longest = 0, max_query_len = 0;
  for (const Sequence& s : c.seqs) longest = std::max(longest, s.context), max_query_len = std::max(max_query_len, s.n_new);
  const int64_t tiles = (longest + kernels::flash_decode_tile(c.head_dim).key_rows - 1) /
                        kernels::flash_decode_tile(c.head_dim).key_rows;
  // The split count an H200 (132 SMs, 3 blocks an SM at head dim 128) would choose, and the
  // extremes around it.
  const int64_t chunks = kernels::decode_heads(c.q_heads / c.kv_heads, max_query_len, kernels::kDecodeRows).chunks;
  const int64_t chosen = kernels::decode_splits(static_cast<int64_t>(c.seqs.size()), c.kv_heads * chunks, tiles,
                                                3 * 132, kernels::kMaxDecodeSplits, 1 << 20);
  for (int64_t splits : {int64_t{1}, int64_t{3}, chosen, kernels::kMaxDecodeSplits}) {
    SCOPED_TRACE(testing::Message() << splits << " splits");
    expect_close(model_paged_decode(c, splits), want, "decode");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DecodeScheduleModel,
    ::testing::Values(PrefillShape{{{1, 1}}, 64, 1, 1, 16}, PrefillShape{{{1, 17}}, 80, 4, 1, 16},
                      PrefillShape{{{1, 4097}}, 128, 8, 1, 32}, PrefillShape{{{1, 1000}}, 256, 4, 1, 16},
                      PrefillShape{{{1, 127}, {1, 1}, {1, 1000}, {1, 64}}, 128, 32, 8, 16},
                      PrefillShape{{{2, 130}, {4, 33}, {1, 1}}, 96, 4, 1, 32},
                      PrefillShape{{{1, 4097}, {1, 700}, {1, 3}}, 128, 32, 8, 16, 1000},
                      PrefillShape{{{1, 2000}, {3, 90}}, 64, 4, 1, 32, 65},
                      PrefillShape{{{1, 1000}, {2, 70}}, 160, 16, 4, 16},
                      PrefillShape{{{1, 500}}, 256, 8, 1, 16, 1},
                      // Groups past a tile's 16 rows, in chunks of heads: MQA's 32 (2 of 16)
                      // and Falcon-7B's 71 (4 of 15 and one of 11); 4 tokens of a group of 8
                      // (2 of 4); 3 tokens of 7 (4 and 3) in a window; 16 tokens of one head.
                      PrefillShape{{{1, 1000}}, 64, 32, 1, 16},
                      PrefillShape{{{1, 4097}, {1, 33}}, 64, 71, 1, 32},
                      PrefillShape{{{4, 200}, {2, 33}, {1, 5}}, 128, 32, 4, 16},
                      PrefillShape{{{3, 90}, {1, 2000}}, 80, 14, 2, 16, 65},
                      PrefillShape{{{16, 300}, {5, 5}}, 96, 4, 4, 32}));

// A serving step: three decodes, then prefill chunks with a one-token chunk among them
// (the prefill kernel's, not a leading decode), at GQA 4 and 7, pages of 16 and 32, with
// and without a window; unsplit and split 16 ways.
TEST(AttentionScheduleModel, MixedBatchCutAfterItsDecodesMatchesReference) {
  const std::vector<Sequence> step = {{1, 100}, {1, 513}, {1, 17}, {37, 80}, {1, 64}, {5, 300}};
  for (const PrefillShape& shape : {PrefillShape{step, 128, 8, 2, 16}, PrefillShape{step, 64, 14, 2, 32},
                                    PrefillShape{step, 128, 8, 2, 16, 100}, PrefillShape{step, 64, 14, 2, 32, 100}}) {
    SCOPED_TRACE(testing::Message() << shape);
    PagedCase c{.seqs = shape.seqs, .q_heads = shape.q_heads, .kv_heads = shape.kv_heads,
                .head_dim = shape.head_dim, .block_size = shape.block_size, .window = shape.window};
    c.build();
    const std::vector<float> want = c.reference();
    for (int64_t splits : {1, 16}) {
      expect_close(model_mixed_batch(c, 3, splits, PrefillKernel::sm80), want, "decodes, then sm_80 prefill");
      expect_close(model_mixed_batch(c, 3, splits, PrefillKernel::sm90), want, "decodes, then sm_90 prefill");
    }
  }
}

struct DenseShape {
  int64_t batch, tokens, kv_tokens, head_dim, q_heads, kv_heads;
};

std::ostream& operator<<(std::ostream& os, const DenseShape& s) {
  return os << "batch " << s.batch << ", " << s.tokens << " queries over " << s.kv_tokens << " keys, d" << s.head_dim
            << " " << s.q_heads << "/" << s.kv_heads << " heads";
}

class DenseAttentionScheduleModel : public ::testing::TestWithParam<DenseShape> {};

TEST_P(DenseAttentionScheduleModel, TilesMatchReference) {
  const DenseShape& shape = GetParam();
  DenseCase c{.batch = shape.batch, .tokens = shape.tokens, .kv_tokens = shape.kv_tokens, .q_heads = shape.q_heads,
              .kv_heads = shape.kv_heads, .head_dim = shape.head_dim};
  c.build();
  const std::vector<float> want = c.reference();  // zeros without keys
  expect_close(model_dense_prefill(c, PrefillKernel::sm80), want, "sm_80 dense");
  // The Hopper kernel where an H100 or H200 runs it (head dims of 64-column panels).
  const kernels::AttentionShape on_hopper{.tensor_core_dtype = true, .compute_capability = 90,
                                          .head_dim = c.head_dim, .q_heads = c.q_heads, .kv_heads = c.kv_heads,
                                          .sm90a_built = true};
  if (kernels::select_attention_kernel(on_hopper) == kernels::AttentionKernel::flash_prefill_sm90) {
    expect_close(model_dense_prefill(c, PrefillKernel::sm90), want, "sm_90 dense");
  }
}

// The dense op is non-causal (DiT blocks, encoders, cross-attention; CLIP's causal text
// encoder runs paged), so its only mask is a key tile's tail past kv_tokens. Lengths 1, 17,
// 127, 1000 and 4097 of queries and keys (off every tile: 1000 leaves 104 rows of a
// 128-row tile and 40 keys of a 64-key one, 4097 one row or key), cross-attention over 77
// keys and keys outnumbering queries, no keys at all; head dims 64 to 256 and the
// zero-padded 40 and 72; GQA 1, 2, 4 and 8; one sequence and several, so that the Hopper
// kernel's tail keys are another sequence's or past the tensor.
INSTANTIATE_TEST_SUITE_P(
    Shapes, DenseAttentionScheduleModel,
    ::testing::Values(DenseShape{1, 1, 1, 64, 1, 1}, DenseShape{3, 17, 17, 80, 4, 1}, DenseShape{2, 127, 127, 96, 8, 1},
                      DenseShape{1, 1000, 1000, 128, 1, 1}, DenseShape{2, 1000, 77, 64, 8, 2},
                      DenseShape{1, 4097, 77, 128, 4, 4}, DenseShape{3, 17, 4097, 256, 4, 1},
                      DenseShape{1, 127, 1000, 256, 8, 1}, DenseShape{1, 1, 4097, 160, 8, 1},
                      DenseShape{4, 77, 77, 160, 4, 4}, DenseShape{2, 1000, 17, 96, 4, 1},
                      DenseShape{1, 127, 1, 80, 8, 8},
                      // Stable Diffusion 1.x's 40 at 64, DiT-XL's 72 at 80.
                      DenseShape{1, 4097, 77, 40, 8, 1}, DenseShape{2, 1000, 1000, 72, 1, 1},
                      // No keys: zeros, never NaN.
                      DenseShape{2, 17, 0, 64, 8, 1}, DenseShape{1, 127, 0, 256, 4, 4}, DenseShape{2, 3, 0, 80, 4, 2},
                      // The first dense shapes: 77 tokens, 100 over 77, 5 over 1000.
                      DenseShape{2, 77, 77, 80, 4, 2}, DenseShape{2, 100, 77, 80, 4, 2},
                      DenseShape{2, 5, 1000, 80, 4, 2}));

TEST(AttentionSchedule, SplitsCoverEveryTileOnce) {
  for (const TileSpan all : {TileSpan{0, 1}, TileSpan{0, 17}, TileSpan{3, 64}, TileSpan{5, 5}}) {
    for (int64_t splits : {1, 2, 3, 16, 64}) {
      std::vector<int> seen(static_cast<size_t>(all.last), 0);
      for (int64_t s = 0; s < splits; ++s) {
        const TileSpan mine = kernels::split_tiles(all, s, splits);
        ASSERT_LE(mine.first, mine.last);
        for (int64_t t = mine.first; t < mine.last; ++t) ++seen[t];
      }
      for (int64_t t = 0; t < all.last; ++t) EXPECT_EQ(seen[t], t >= all.first ? 1 : 0) << "tile " << t;
    }
  }
}

TEST(AttentionSchedule, DecodeSplitsFillTheGpuWithinLimits) {
  // Batch 1, 8 KV heads, a 1k context (16 tiles of 64): 16 splits, 128 blocks.
  EXPECT_EQ(kernels::decode_splits(1, 8, 16, 264, 64, 1 << 20), 16);
  // Enough (sequence, head) pairs for the GPU already: no split.
  EXPECT_EQ(kernels::decode_splits(64, 8, 1000, 264, 64, 1 << 20), 1);
  // Capped by the workspace and by the maximum.
  EXPECT_EQ(kernels::decode_splits(1, 1, 1000, 264, 64, 5), 5);
  EXPECT_EQ(kernels::decode_splits(1, 1, 1000, 264, 64, 1 << 20), 64);
  EXPECT_EQ(kernels::decode_splits(1, 1, 1000, 264, 64, 0), 1);
}

TEST(AttentionSchedule, DecodeHeadsFitATileInTheFewestEvenChunks) {
  using Heads = std::pair<int64_t, int64_t>;  // per block, chunks
  auto heads = [](int64_t group, int64_t max_query_len) {
    const kernels::DecodeHeads h = kernels::decode_heads(group, max_query_len, kernels::kDecodeRows);
    return Heads(h.per_block, h.chunks);
  };
  EXPECT_EQ(heads(4, 1), Heads(4, 1));    // Llama 3: the whole group
  EXPECT_EQ(heads(16, 1), Heads(16, 1));
  EXPECT_EQ(heads(32, 1), Heads(16, 2));  // MQA
  EXPECT_EQ(heads(20, 1), Heads(10, 2));  // even, not 16 and 4
  EXPECT_EQ(heads(71, 1), Heads(15, 5));  // Falcon-7B: 4 x 15 and 11
  EXPECT_EQ(heads(4, 5), Heads(2, 2));    // 5 tokens: 3 heads fit, 2 + 2
  EXPECT_EQ(heads(7, 3), Heads(4, 2));    // 4 + 3
  EXPECT_EQ(heads(1, 16), Heads(1, 1));
  EXPECT_EQ(heads(8, 16), Heads(1, 8));
  for (int64_t group = 1; group <= 128; ++group) {  // rows fit, and no chunk is empty
    for (int64_t len = 1; len <= kernels::kDecodeRows; ++len) {
      const auto [per_block, chunks] = heads(group, len);
      ASSERT_LE(per_block * len, kernels::kDecodeRows) << group << " " << len;
      ASSERT_GE(per_block * chunks, group) << group << " " << len;
      ASSERT_LT((chunks - 1) * per_block, group) << group << " " << len;
      ASSERT_EQ(chunks, (group + kernels::kDecodeRows / len - 1) / (kernels::kDecodeRows / len)) << group << " " << len;
    }
  }
}

// Every tile fits the 99 KiB a block may opt into on sm_86 and sm_89 (the sm_80 binary runs
// there), the smallest of the GPUs the kernels are selected for.
TEST(AttentionKernelSelection, EveryTileFitsTheSmallestSharedMemory) {
  constexpr int64_t kSm86OptIn = 101376;
  for (int64_t width : {64, 80, 96, 128, 160, 256}) {
    EXPECT_LE(kernels::flash_prefill_tile(width).prefill_smem_bytes(), kSm86OptIn) << "prefill " << width;
    EXPECT_LE(kernels::flash_decode_tile(width).prefill_smem_bytes(), kSm86OptIn) << "decode " << width;
  }
}

// The Hopper kernel's tiles fit the 227 KiB a block may opt into on sm_90, with each
// schedule's stages and the barriers its kernel declares statically (at most 7 mbarriers).
TEST(AttentionKernelSelection, HopperTilesFitSharedMemoryAtEachSchedulesStages) {
  constexpr int64_t kSm90OptIn = 232448, kStaticBarriers = 7 * 8;
  for (int64_t width : {64, 128, 256}) {
    const kernels::Sm90Tile tile = kernels::sm90_prefill_tile(width);
    ASSERT_EQ(tile.head_dim, width);
    EXPECT_GE(tile.stages, 2) << width;
    EXPECT_LE(tile.smem_bytes(tile.stages) + kStaticBarriers, kSm90OptIn) << "warp-specialized " << width;
    EXPECT_LE(tile.smem_bytes(2) + kStaticBarriers, kSm90OptIn) << "unspecialized " << width;
  }
}

TEST(AttentionKernelSelection, HeadDimsRunAtTheNextTileWidth) {
  const std::pair<int64_t, int64_t> widths[] = {{8, 64},    {40, 64},   {64, 64},   {72, 80},  {80, 80},
                                                {88, 96},   {112, 128}, {128, 128}, {136, 160}, {160, 160},
                                                {168, 256}, {256, 256}, {264, 0},   {36, 0},   {0, 0}};
  for (const auto& [head_dim, width] : widths) {
    EXPECT_EQ(kernels::flash_tile_width(head_dim), width) << head_dim;
    if (width != 0) EXPECT_EQ(kernels::flash_prefill_tile(width).head_dim, width) << width;
  }
}

TEST(AttentionKernelSelection, AnswersSupportAndKernel) {
  using kernels::AttentionKernel;
  const kernels::AttentionShape base{.tensor_core_dtype = true, .compute_capability = 90, .head_dim = 128,
                                     .q_heads = 32, .kv_heads = 8, .paged = true, .max_query_len = 1};
  EXPECT_EQ(kernels::select_attention_kernel(base), AttentionKernel::flash_decode);
  auto with = [&](auto change) {
    kernels::AttentionShape s = base;
    change(s);
    return kernels::select_attention_kernel(s);
  };
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 17; }), AttentionKernel::flash_prefill);  // past a tile's rows
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 16; }), AttentionKernel::flash_decode);   // 4 chunks of a head
  // Decodes before 5-token chunks: the group of 4 would take 2 chunks for every sequence, so
  // the prefill kernel takes the chunks and hands the decodes to the decode kernel; before
  // 4-token chunks the group fits one block, and the decode kernel takes the batch whole.
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 5, s.seqs = 4, s.leading_decodes = 2; }),
            AttentionKernel::flash_prefill);
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 4, s.seqs = 4, s.leading_decodes = 2; }),
            AttentionKernel::flash_decode);
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 5, s.seqs = 4; }), AttentionKernel::flash_decode);  // no decodes
  EXPECT_EQ(with([](auto& s) { s.seqs = 65536; }), AttentionKernel::flash_prefill);  // past the decode grid's z
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 4; }), AttentionKernel::flash_decode);
  EXPECT_EQ(with([](auto& s) { s.max_query_len = 0; }), AttentionKernel::flash_prefill);  // unknown
  EXPECT_EQ(with([](auto& s) { s.paged = false, s.compute_capability = 80; }), AttentionKernel::flash_prefill);
  // Hopper: wgmma for prompts when the pages tile its 128 keys and the pool's extent is known.
  auto hopper = [&](auto change) {
    return with([&](auto& s) {
      s.compute_capability = 90, s.max_query_len = 100, s.block_size = 16, s.cache_extent_known = true,
      s.sm90a_built = true;
      change(s);
    });
  };
  EXPECT_EQ(hopper([](auto&) {}), AttentionKernel::flash_prefill_sm90);
  EXPECT_EQ(hopper([](auto& s) { s.paged = false, s.block_size = 0, s.cache_extent_known = false; }),
            AttentionKernel::flash_prefill_sm90);
  EXPECT_EQ(hopper([](auto& s) { s.max_query_len = 1; }), AttentionKernel::flash_decode);
  EXPECT_EQ(hopper([](auto& s) { s.cache_extent_known = false; }), AttentionKernel::flash_prefill);
  EXPECT_EQ(hopper([](auto& s) { s.block_size = 48; }), AttentionKernel::flash_prefill);  // 128 % 48
  EXPECT_EQ(hopper([](auto& s) { s.block_size = 4; }), AttentionKernel::flash_prefill);   // under a swizzle atom
  EXPECT_EQ(hopper([](auto& s) { s.sm90a_built = false; }), AttentionKernel::flash_prefill);
  EXPECT_EQ(hopper([](auto& s) { s.head_dim = 96; }), AttentionKernel::flash_prefill);    // not 64-column panels
  EXPECT_EQ(hopper([](auto& s) { s.compute_capability = 100; }), AttentionKernel::flash_prefill);  // no wgmma
  for (int64_t d : {40, 72, 160}) {  // no Hopper tile of these widths: the sm_80 query tiles
    EXPECT_EQ(hopper([d](auto& s) { s.head_dim = d; }), AttentionKernel::flash_prefill) << d;
  }
  EXPECT_EQ(with([](auto& s) { s.tensor_core_dtype = false; }), AttentionKernel::warp);
  EXPECT_EQ(with([](auto& s) { s.compute_capability = 75; }), AttentionKernel::warp);
  // Narrower head dims run zero-padded to the next tile (query tiles only); others exactly.
  EXPECT_EQ(with([](auto& s) { s.head_dim = 72; }), AttentionKernel::flash_prefill);  // DiT-XL, at 80
  EXPECT_EQ(with([](auto& s) { s.head_dim = 40; }), AttentionKernel::flash_prefill);  // SD 1.x, at 64
  EXPECT_EQ(with([](auto& s) { s.head_dim = 160; }), AttentionKernel::flash_decode);
  EXPECT_EQ(with([](auto& s) { s.head_dim = 36; }), AttentionKernel::warp);  // not 16-byte rows
  EXPECT_EQ(with([](auto& s) { s.head_dim = 320; }), AttentionKernel::warp);
  EXPECT_EQ(with([](auto& s) { s.vectors_aligned = false; }), AttentionKernel::warp);  // a view 2 bytes in
  EXPECT_EQ(with([](auto& s) { s.q_heads = s.kv_heads = 70000; }), AttentionKernel::warp);  // past the grid's y
  EXPECT_EQ(with([](auto& s) { s.q_heads = s.kv_heads = 300000; }), AttentionKernel::unsupported);
  EXPECT_EQ(with([](auto& s) { s.head_dim = 512; }), AttentionKernel::warp);  // the VAE's single head
  EXPECT_EQ(with([](auto& s) { s.head_dim = 513; }), AttentionKernel::unsupported);
  EXPECT_EQ(with([](auto& s) { s.kv_heads = 5; }), AttentionKernel::unsupported);
  EXPECT_EQ(with([](auto& s) { s.q_heads = 8, s.kv_heads = 8; }), AttentionKernel::flash_decode);
  EXPECT_EQ(with([](auto& s) { s.q_heads = 64, s.kv_heads = 2; }), AttentionKernel::flash_decode);  // 2 chunks of 16
}

}  // namespace
}  // namespace genrt
