#pragma once
#include <cstdint>

namespace genrt::ref {

// Causal attention of one sequence's new queries over its paged KV cache.
//
// The cache is a pool of blocks of `block_size` token slots; the sequence's token at
// position p lives in block block_table[p / block_size], slot p % block_size. Query t
// sits at position q_start + t and attends to positions 0 ..= q_start + t, which must
// already be written. Query head h reads KV head h / (n_heads / n_kv_heads) (GQA).
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
};

void attention(const AttentionArgs& args);

}  // namespace genrt::ref
