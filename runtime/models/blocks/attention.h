#pragma once
// The attention block shared by the model graphs: q, k and v projections of the input,
// attention, and the output projection. Decoders attend causally over the paged KV cache
// (with rotary positions, or positions already added to the input), their q, k and v
// projections fused into one GEMM; the DiT attends within each sample, non-causally;
// CLIP's text encoder within each sample, causally. Biases come with the projections
// (Linear::bias).

#include <cstdint>

#include "kernels/ref/rope.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/models/blocks/linear.h"

namespace genrt::blocks {

struct AttentionProjections {
  const Linear& q;
  const Linear& k;
  const Linear& v;
  const Linear& out;
};

struct AttentionHeads {
  int64_t heads = 0;
  int64_t kv_heads = 0;  // < heads: grouped-query attention
  int64_t head_dim = 0;
};

// A step's buffers of attention within the step: q and attn [tokens, heads, head_dim], k
// and v [tokens, kv_heads, head_dim].
struct AttentionBuffers {
  Tensor q, k, v, attn;
};

template <class Alloc>
AttentionBuffers allocate_attention_buffers(int64_t tokens, const AttentionHeads& h, DType dtype, Alloc& alloc) {
  return {.q = alloc({tokens, h.heads, h.head_dim}, dtype),
          .k = alloc({tokens, h.kv_heads, h.head_dim}, dtype),
          .v = alloc({tokens, h.kv_heads, h.head_dim}, dtype),
          .attn = alloc({tokens, h.heads, h.head_dim}, dtype)};
}

// A step's buffers of attention over the paged cache: qkv [tokens, (heads + 2 kv_heads) *
// head_dim] as the fused projection writes it, q and attn [tokens, heads, head_dim] (keys
// and values go straight from qkv into the cache).
struct PagedAttentionBuffers {
  Tensor qkv, q, attn;
};

template <class Alloc>
PagedAttentionBuffers allocate_paged_attention_buffers(int64_t tokens, const AttentionHeads& h, DType dtype,
                                                       Alloc& alloc) {
  return {.qkv = alloc({tokens, (h.heads + 2 * h.kv_heads) * h.head_dim}, dtype),
          .q = alloc({tokens, h.heads, h.head_dim}, dtype),
          .attn = alloc({tokens, h.heads, h.head_dim}, dtype)};
}

// The q, k and v projections as one layer (qkv: their output features one after another,
// see Linear::name_fused_weights) and the output projection.
struct FusedAttentionProjections {
  const Linear& qkv;
  const Linear& out;
};

// Rotary positions: inverse frequencies [head_dim / 2] (f32) and how dimensions pair.
struct Rotary {
  const Tensor& inv_freq;
  ref::RopeLayout layout;
};

// The KV-cache pools of one layer, and how far back the layer reads them.
struct LayerCache {
  Tensor& keys;
  Tensor& values;
  int64_t window = 0;  // sliding window (see ops::paged_attention); 0: none
};

// out = out_proj(attention) of x [tokens, hidden]: the new tokens' keys and values (rotated
// when `rotary` is given, as are the queries) are written into the layer's cache, then
// every sequence's queries attend causally over its cached positions (the last
// cache.window of them, when the layer has a window).
void paged_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Rotary* rotary,
                          const Tensor& x, const PagedBatch& batch, LayerCache cache, PagedAttentionBuffers& buf,
                          Tensor& out);

// out = out_proj(attention) of x [batch * tokens, hidden], each sample's tokens attending
// to all of that sample's tokens.
void dense_self_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x, int64_t batch,
                          AttentionBuffers& buf, Tensor& out);

// The same with keys and values projected from context [batch * context_tokens,
// context_dim] (the UNet's cross-attention to the text), buf.k and buf.v holding
// [batch * context_tokens, kv_heads, head_dim].
void dense_cross_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const Tensor& context, int64_t batch, AttentionBuffers& buf, Tensor& out);

// The host tensors of a PagedBatch that makes each of `samples` sequences of `tokens` one
// block of its own: sequence s's keys and values are rows [s * tokens, (s + 1) * tokens) of
// the k and v buffers, which then are a paged cache of blocks of `tokens` slots as the
// projections write them. Positions run 0..tokens-1 in every sequence.
PagedBatch samples_as_blocks(int64_t samples, int64_t tokens);

// out = out_proj(attention) of x [samples * tokens, hidden], each sample's tokens attending
// causally to that sample's tokens (CLIP's text encoder): paged attention over the step's
// own keys and values, `batch` being samples_as_blocks(samples, tokens) on x's device, so no
// cache is written and the GPU runs the paged attention kernels as they are.
void causal_self_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const PagedBatch& batch, AttentionBuffers& buf, Tensor& out);

}  // namespace genrt::blocks
