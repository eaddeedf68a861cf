#pragma once
// Op entries: the one layer that sees both tensors and kernels. Each entry checks the
// shapes, dtypes and devices of its tensors, then runs the CPU reference (and, with the
// CUDA backend, the kernel launcher). Models call only these.

#include <cstdint>

#include "kernels/ref/activations.h"
#include "kernels/ref/rope.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// out[i] = table[ids[i]]; every id must be inside the table.   table [vocab, dim], ids [n]
void embedding(const Tensor& table, const Tensor& ids, Tensor& out);

// out = rmsnorm(x) * weight                                     x, out [rows, dim]
void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out);
// residual += x; out = rmsnorm(residual) * weight
void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps, Tensor& out);

// out = layernorm(x) * weight + bias (weight/bias may be undefined: no affine)
void layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);
// residual += x; out = layernorm(residual) * weight + bias
void add_layernorm(const Tensor& x, Tensor& residual, const Tensor& weight, const Tensor& bias,
                   float eps, Tensor& out);

// adaLN (DiT): residual += gate * x, then out = layernorm(residual) * (1 + scale) + shift,
// without affine weights. Rows are grouped by sample: residual, x, out [batch * tokens, dim];
// gate, shift, scale [batch, dim] apply to their sample's tokens. x and gate may be
// undefined (nothing to add; gate 1). See ref::NormArgs.
void modulated_layernorm(const Tensor& x, const Tensor& gate, Tensor& residual,
                         const Tensor& shift, const Tensor& scale, float eps, Tensor& out);

// out = x @ weight^T + bias (bias may be undefined)     x [m, k], weight [n, k], out [m, n]
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

// In-place rotary embedding of x [tokens, heads, head_dim] at positions [tokens].
void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout);

// out = silu(gate) * up, elementwise over equal shapes.
void swiglu(const Tensor& gate, const Tensor& up, Tensor& out);
// `gelu` is Activation::gelu_erf or gelu_tanh.
void gelu(const Tensor& x, Tensor& out, ref::Activation gelu);
void silu(const Tensor& x, Tensor& out);
// out = a + b elementwise over equal shapes; out may alias a or b.
void add(const Tensor& a, const Tensor& b, Tensor& out);

// Writes k, v [tokens, kv_heads, head_dim] into their cache slots (batch.slots).
//   k_cache, v_cache [blocks, block_size, kv_heads, head_dim]
void kv_cache_write(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache);

// Rotary embedding fused with the cache write: q [tokens, heads, head_dim] is rotated in
// place; k is rotated into its cache slots (k itself may be clobbered) and v copied there.
void rope_kv_write(Tensor& q, Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache);

// Causal GQA attention of every sequence's new queries q [tokens, heads, head_dim] over its
// cached keys and values (see kernels/paged_attention.cuh). out like q.
void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, Tensor& out);

// Non-causal attention within each sequence: q, out [batch, tokens, heads, head_dim];
// k, v [batch, tokens, kv_heads, head_dim].
void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out);

// Row-wise softmax in place over the last dimension.
void softmax(Tensor& x);

}  // namespace genrt::ops
