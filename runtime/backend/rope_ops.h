#pragma once
// Op entries of rotary embedding and the paged KV-cache write, alone or fused (one kernel
// on the GPU: kernels/rope_kv_write.cuh).

#include "kernels/ref/rope.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// In-place rotary embedding of x [tokens, heads, head_dim] at positions [tokens].
void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout);

// Writes k, v [tokens, kv_heads, head_dim] into their cache slots (batch.slots).
//   k_cache, v_cache [blocks, block_size, kv_heads, head_dim]
void kv_cache_write(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache);

// Rotary embedding fused with the cache write: q [tokens, heads, head_dim] is rotated in
// place; k is rotated into its cache slots (k itself may be clobbered) and v copied there.
void rope_kv_write(Tensor& q, Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache);

}  // namespace genrt::ops
