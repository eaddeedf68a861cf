#pragma once
// Rotary embedding fused with the KV-cache write (see kernels/ref/rope.h and
// kv_cache_write.h), reading the output of one fused q/k/v projection: queries are rotated
// into their own buffer, keys are rotated on their way into their cache slots and values
// copied beside them, so the projection's output is read once and K never makes a second
// trip through memory.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/ref/rope.h"

namespace genrt::kernels {

template <class T>
struct RopeKvLaunch {
  // [tokens, (q_heads + 2 kv_heads) * head_dim]: each token's query heads, key heads, value heads
  const T* qkv = nullptr;
  T* q = nullptr;                  // [tokens, q_heads, head_dim]: the queries, rotated
  T* k_cache = nullptr;            // [blocks, block_size, kv_heads, head_dim]
  T* v_cache = nullptr;            // [blocks, block_size, kv_heads, head_dim]
  const int32_t* positions = nullptr;  // [tokens]
  const int32_t* slots = nullptr;  // [tokens]: block * block_size + offset in the cache
  const float* inv_freq = nullptr; // [head_dim / 2], or nullptr: no rotation (queries and keys copied)
  // 0 (q may be null, inv_freq must be null): rows of keys and values only, [tokens, 2 kv_heads *
  // head_dim], as an encoder-decoder's cross-attention writes them
  int64_t tokens = 0;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  ref::RopeLayout layout = ref::RopeLayout::rotate_half;
};

// T is float, __half or __nv_bfloat16; head_dim even, and at most 512, when rotating. Angles are fp32
// position * inv_freq like transformers; the rotation is computed in fp32 and rounded once.
template <class T>
cudaError_t launch_rope_kv_write(const RopeKvLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
