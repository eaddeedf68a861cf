#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"
#include "kernels/ref/relative_position.h"

namespace genrt::ref {

// Causal attention of one sequence's new queries over its paged KV cache.
//
// The cache is a pool of blocks of `block_size` token slots; the sequence's token at
// position p lives in block block_table[p / block_size], slot p % block_size. Query t
// sits at position i = q_start + t and attends to positions 0 ..= i, which must already be
// written; with a sliding window W > 0 only to the positions j with i - W < j <= i (the
// semantics of HF transformers' sliding_window), and block-table entries of blocks wholly
// before every query's window are never read. Query head h reads KV head
// h / (n_heads / n_kv_heads) (GQA).
struct AttentionArgs {
  const float* q = nullptr;              // [tokens, n_heads, head_dim]
  const float* k_cache = nullptr;        // [blocks, block_size, n_kv_heads, head_dim]
  const float* v_cache = nullptr;        // [blocks, block_size, n_kv_heads, head_dim]
  const int32_t* block_table = nullptr;  // [ceil((q_start + tokens) / block_size)]
  float* out = nullptr;                  // [tokens, n_heads, head_dim]
  int64_t tokens = 0;
  int64_t q_start = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t block_size = 0;
  float scale = 0.0f;  // usually 1 / sqrt(head_dim)
  int64_t window = 0;  // W > 0: query i attends keys j with i - W < j <= i; 0: all j <= i
  RelativePositionBias bias;  // added to the scores (T5's decoder); no table: none
};

// The first key position query position `position` attends to with `window` (see
// AttentionArgs::window); host and device code alike.
GENRT_HOST_DEVICE inline int64_t first_attended_position(int64_t position, int64_t window) {
  return window > 0 && position >= window ? position - window + 1 : 0;
}

void attention(const AttentionArgs& args);

}  // namespace genrt::ref
