#pragma once
// The attention block shared by the model graphs: q, k and v projections of the input,
// fused into one GEMM, attention, and the output projection. Decoders attend causally over
// the paged KV cache (with rotary positions, or positions already added to the input); the
// encoders and denoisers within each sample, non-causally (cross-attention: keys and
// values from a context); CLIP's text encoder within each sample, causally. Biases come
// with the projections (Linear::bias).

#include <cstdint>

#include "kernels/ref/rope.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/models/blocks/linear.h"

namespace genrt::blocks {

struct AttentionHeads {
  int64_t heads = 0;
  int64_t kv_heads = 0;  // < heads: grouped-query attention
  int64_t head_dim = 0;
};

// A step's buffers of attention within each sample (heads as many as KV heads): `parts`
// holds what the fused projection writes, one GEMM output after another (ops::linear_parts),
// [3, tokens, heads, head_dim] (q, k and v) for self-attention and [2, context tokens,
// heads, head_dim] (k and v) for cross-attention, whose queries q [tokens, heads,
// head_dim] are projected alone; attn [tokens, heads, head_dim].
struct AttentionBuffers {
  Tensor parts;
  Tensor q;  // cross-attention only
  Tensor attn;
};

// Self-attention's buffers.
template <class Alloc>
AttentionBuffers allocate_attention_buffers(int64_t tokens, const AttentionHeads& h, DType dtype, Alloc& alloc) {
  return {.parts = alloc({3, tokens, h.heads, h.head_dim}, dtype), .attn = alloc({tokens, h.heads, h.head_dim}, dtype)};
}

// `n` parts of `rows` rows of h.heads heads from the front of a flat buffer (a workspace
// sized for the largest step): [n, rows, heads, head_dim], each part contiguous.
Tensor attention_parts(const Tensor& flat, int64_t n, int64_t rows, const AttentionHeads& h);

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

// Cross-attention's: q of the input, k and v of the context as one layer (kv), the output.
struct CrossAttentionProjections {
  const Linear& q;
  const Linear& kv;
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
void dense_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Tensor& x, int64_t batch,
                          AttentionBuffers& buf, Tensor& out);

// The same with keys and values projected from context [batch * context_tokens,
// context_dim] (the UNet's cross-attention to the text) into buf.parts [2, batch *
// context_tokens, heads, head_dim], the queries into buf.q.
void dense_cross_attention(const CrossAttentionProjections& w, const AttentionHeads& h, const Tensor& x,
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
void causal_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const PagedBatch& batch, AttentionBuffers& buf, Tensor& out);

}  // namespace genrt::blocks
