#pragma once
// How the tensor-core attention kernels cut their work, as plain functions that the kernels
// (flash_prefill.cu, flash_decode.cu) and their CPU schedule model
// (tests/unit/attention_schedule_test.cpp) both call: which keys a query sees, which key
// tiles a query tile visits and which of them need a per-element mask, which query tile of
// a variable-length batch a thread block owns, how a decode splits its keys, and how the
// splits' partial results merge. The indexing is proven on the CPU over awkward shapes;
// a GPU run only has the plumbing left to prove.

#include <cstdint>

#include "kernels/ref/attention.h"
#include "kernels/ref/host_device.h"

namespace genrt::kernels {

// Keys [begin, end) that the query at `position` attends to among `kv_len` keys. Causal:
// keys up to its own position; with a sliding window W > 0, only the W newest of those
// (HF transformers' rule: key j is seen iff position - W < j <= position). Non-causal:
// every key (windows apply to causal attention only).
struct KeySpan {
  int64_t begin = 0, end = 0;
};

GENRT_HOST_DEVICE inline KeySpan visible_keys(int64_t position, int64_t kv_len, bool causal, int64_t window) {
  if (!causal) return {0, kv_len};
  const int64_t end = position + 1 < kv_len ? position + 1 : kv_len;
  const int64_t begin = ref::first_attended_position(position, window);
  return {begin, end > begin ? end : begin};
}

GENRT_HOST_DEVICE inline bool key_visible(int64_t key, int64_t position, int64_t kv_len, bool causal, int64_t window) {
  const KeySpan span = visible_keys(position, kv_len, causal, window);
  return key >= span.begin && key < span.end;
}

// The key tiles [first, last) that a tile of consecutive queries at positions
// first_position..last_position visits (tiles of `tile_keys` keys from key 0): the union of
// what its rows see. Tiles wholly outside it are skipped, e.g. above the causal diagonal.
struct TileSpan {
  int64_t first = 0, last = 0;
};

GENRT_HOST_DEVICE inline TileSpan key_tiles(int64_t first_position, int64_t last_position, int64_t kv_len, bool causal,
                                           int64_t window, int64_t tile_keys) {
  const int64_t begin = visible_keys(first_position, kv_len, causal, window).begin;
  const int64_t end = visible_keys(last_position, kv_len, causal, window).end;
  if (end <= begin) return {0, 0};
  return {begin / tile_keys, (end + tile_keys - 1) / tile_keys};
}

// Whether some row of the query tile does not see some key of key tile `tile`, so that the
// scores need a per-element mask; false for the tiles every row sees whole (most of them).
GENRT_HOST_DEVICE inline bool tile_needs_mask(int64_t tile, int64_t first_position, int64_t last_position,
                                              int64_t kv_len, bool causal, int64_t window, int64_t tile_keys) {
  const int64_t key_begin = tile * tile_keys, key_end = key_begin + tile_keys;
  // Rows see [begin, end) with both bounds growing with the position: the first row has the
  // smallest end, the last row the largest begin.
  return key_end > visible_keys(first_position, kv_len, causal, window).end ||
         key_begin < visible_keys(last_position, kv_len, causal, window).begin;
}

// Query tiles of `tile_rows` rows that a sequence with `queries` new tokens takes.
GENRT_HOST_DEVICE inline int64_t query_tiles(int64_t queries, int64_t tile_rows) {
  return (queries + tile_rows - 1) / tile_rows;
}

// A grid over every query tile of a variable-length batch: at most this many blocks, since
// the sum over sequences of ceil(n_s / rows) is at most (tokens + seqs * (rows - 1)) / rows.
// Blocks past the last tile exit at once.
GENRT_HOST_DEVICE inline int64_t query_tile_grid(int64_t tokens, int64_t seqs, int64_t tile_rows) {
  return (tokens + seqs * (tile_rows - 1)) / tile_rows;
}

// Key tiles [first, last) of split `split` out of `splits` for a decode whose keys span the
// tiles in `all`: consecutive runs of equal length (the last ones may be short or empty).
GENRT_HOST_DEVICE inline TileSpan split_tiles(TileSpan all, int64_t split, int64_t splits) {
  const int64_t per_split = (all.last - all.first + splits - 1) / splits;
  const int64_t first = all.first + split * per_split;
  const int64_t last = first + per_split < all.last ? first + per_split : all.last;
  return {first < all.last ? first : all.last, last};
}

// The query heads of a GQA group that one decode block serves, their rows (new tokens x
// heads) filling at most a tile of `tile_rows`: the whole group when its rows fit, else the
// fewest chunks that fit, of equal size but the last, each a block that reads the group's
// pages again (MQA models' groups of 32 to 71 heads take 2 to 5 reads a page, where the
// prefill kernel takes one per query head). `max_query_len` in [1, tile_rows].
struct DecodeHeads {
  int64_t per_block = 0;  // query heads a block serves
  int64_t chunks = 0;     // blocks per (split, KV head, sequence)
};

GENRT_HOST_DEVICE inline DecodeHeads decode_heads(int64_t group, int64_t max_query_len, int64_t tile_rows) {
  const int64_t fit = tile_rows / max_query_len;    // heads whose rows fit a tile
  const int64_t fewest = (group + fit - 1) / fit;   // chunks
  const int64_t per_block = (group + fewest - 1) / fewest;
  return {per_block, (group + per_block - 1) / per_block};
}

// Row r of a decode block serving chunk `chunk` of its group: the sequence's new token r /
// per_block and the group's query head chunk * per_block + r % per_block (a head past the
// group's end makes a padding row, as a token past the sequence's does).
struct DecodeRow {
  int64_t token = 0;  // among the sequence's new tokens
  int64_t head = 0;   // within the GQA group
};

GENRT_HOST_DEVICE inline DecodeRow decode_row(int r, int64_t chunk, DecodeHeads heads) {
  const int per_block = static_cast<int>(heads.per_block);  // at most a tile's rows: 32-bit division
  return {r / per_block, chunk * heads.per_block + r % per_block};
}

// How many splits a decode cuts each sequence's keys into: enough thread blocks, with the
// `head_blocks` blocks of each sequence (its KV heads times their head chunks), for
// `target_blocks` (a couple of waves over the SMs), but no more than the longest context
// has key tiles, `max_splits`, and what the partial-result workspace holds
// (`workspace_splits`). One split means no partials and no merge.
GENRT_HOST_DEVICE inline int64_t decode_splits(int64_t seqs, int64_t head_blocks, int64_t max_context_tiles,
                                               int64_t target_blocks, int64_t max_splits, int64_t workspace_splits) {
  const int64_t blocks = seqs * head_blocks;
  int64_t splits = (target_blocks + blocks - 1) / blocks;
  if (splits > max_context_tiles) splits = max_context_tiles;
  if (splits > max_splits) splits = max_splits;
  if (splits > workspace_splits) splits = workspace_splits;
  return splits > 1 ? splits : 1;
}

}  // namespace genrt::kernels
