#pragma once
// Op entries of attention: causal over the paged KV cache, and dense within sequences.

#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// T5's relative position bias (kernels/ref/relative_position.h), added to the scores:
// table [num_buckets, heads] f32 on the op's device. An undefined table: no bias.
struct RelativeBias {
  Tensor table;
  int64_t num_buckets = 0;
  int64_t max_distance = 0;
  bool bidirectional = false;
};

// Causal GQA attention of every sequence's new queries q [tokens, heads, head_dim] over its
// cached keys and values (see kernels/paged_attention.cuh). With a sliding window W > 0
// (a layer's, HF transformers' sliding_window) the query at position i attends only the
// positions j with i - W < j <= i; 0 means no window. out like q.
void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, int64_t window, Tensor& out, const RelativeBias& bias = {});

// Non-causal attention within each sequence: q, out [batch, tokens, heads, head_dim];
// k, v [batch, kv_tokens, kv_heads, head_dim] (kv_tokens differs from tokens in
// cross-attention); with a bias, positions count from 0 within each sequence.
void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out,
                     const RelativeBias& bias = {});

}  // namespace genrt::ops
