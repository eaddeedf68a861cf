#pragma once
// Op entries of rotary embedding, and of the paged KV-cache write of a fused q/k/v
// projection's output with the rotation on the way (one kernel on the GPU:
// kernels/rope_kv_write.cuh).

#include "kernels/ref/rope.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// In-place rotary embedding of x [tokens, heads, head_dim] at positions [tokens].
void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout);

// Splits the output of one fused projection qkv [tokens, (heads + 2 kv_heads) * head_dim]
// (each token's query features, then its keys', then its values'): the queries go to
// q [tokens, heads, head_dim], the keys and values to their cache slots (batch.slots).
// With inv_freq defined ([head_dim / 2], f32) queries and keys are rotated at
// batch.positions on the way; undefined, they are copied as they are.
//   k_cache, v_cache [blocks, block_size, kv_heads, head_dim]
void qkv_cache_write(const Tensor& qkv, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                     Tensor& q, Tensor& k_cache, Tensor& v_cache);

// The same for keys and values alone: kv [tokens, 2 * kv_heads * head_dim], a fused k | v
// projection's output (an encoder-decoder's cross-attention keys and values of the encoder
// output), written to their cache slots unrotated.
void kv_cache_write(const Tensor& kv, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache);

}  // namespace genrt::ops
