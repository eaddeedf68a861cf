#pragma once
#include <cstdint>

#include "kernels/ref/relative_position.h"

namespace genrt::ref {

// Full (non-causal) multi-head attention within each sequence of a batch: every query
// attends to every key of its own sequence, as in a DiT block or a CLIP-style encoder
// without a mask (kv_tokens == tokens), or in cross-attention (the keys of the text the
// queries attend to). Query head h reads KV head h / (n_heads / n_kv_heads). Without keys
// the output is zeros.
struct DenseAttentionArgs {
  const float* q = nullptr;  // [batch, tokens, n_heads, head_dim]
  const float* k = nullptr;  // [batch, kv_tokens, n_kv_heads, head_dim]
  const float* v = nullptr;  // [batch, kv_tokens, n_kv_heads, head_dim]
  float* out = nullptr;      // [batch, tokens, n_heads, head_dim]
  int64_t batch = 0;
  int64_t tokens = 0;
  int64_t kv_tokens = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  float scale = 0.0f;  // usually 1 / sqrt(head_dim)
  RelativePositionBias bias;  // added to the scores, positions counted within each sequence (T5's encoder)
};

void dense_attention(const DenseAttentionArgs& args);

}  // namespace genrt::ref
