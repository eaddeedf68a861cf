#pragma once
// Causal attention over the paged KV cache for a batch of sequences, each with any number
// of new query tokens: a whole prompt (prefill), a chunk of one, or a single token
// (decode), in one launch. Same semantics as kernels/ref/attention.h per sequence.
//
// The launcher picks the kernel (select_attention_kernel, kernels/attention_kernels.h):
// query tiles on tensor cores, split-KV decode when every sequence has a few new tokens,
// the warp kernel for fp32 and head dims the tensor-core kernels lack. Callers fill
// PagedAttentionLaunch and pick nothing else.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/attention_kernels.h"
#include "kernels/ref/relative_position.h"

namespace genrt::kernels {

template <class T>
struct PagedAttentionLaunch {
  const T* q = nullptr;                  // [tokens, q_heads, head_dim], sequences packed
  T* out = nullptr;                      // [tokens, q_heads, head_dim]
  const T* k_cache = nullptr;            // [blocks, block_size, kv_heads, head_dim]
  const T* v_cache = nullptr;            // [blocks, block_size, kv_heads, head_dim]
  const int32_t* block_tables = nullptr; // [seqs, max_blocks_per_seq]
  const int32_t* query_start = nullptr;  // [seqs + 1]: sequence s owns tokens [query_start[s], query_start[s + 1])
  const int32_t* context_lens = nullptr; // [seqs]: positions cached, the new tokens included
  int64_t seqs = 0;
  int64_t tokens = 0;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t block_size = 0;
  int64_t max_blocks_per_seq = 0;
  float scale = 0.0f;
  // Sliding window (HF transformers' sliding_window): with W > 0 the query at position i
  // attends the keys at positions j with i - W < j <= i, and block-table entries of blocks
  // wholly before that are never read (they may name blocks back in the pool); 0: no
  // window, every j <= i.
  int64_t window = 0;
  // T5's relative position bias (its table on the device), added to the scores by the key's
  // position less the query's, bucketed by bias_starts (ref::relative_bucket_starts): only
  // the warp kernel takes one. No table: none.
  ref::RelativePositionBias bias;
  ref::RelativeBucketStarts bias_starts;
  // Host-side facts about the batch that choose the kernel: the most new tokens of one
  // sequence (0 if unknown: no split-KV decode) and the longest context (sizes the splits).
  int64_t max_query_len = 0;
  int64_t max_context_len = 0;
  // How many of the first sequences bring one new token each (the scheduler puts a step's
  // decodes before its prefill chunks). When the batch also holds longer chunks, those
  // sequences run in the split-KV decode kernel and the rest in the prefill kernel. The
  // longest context among them sizes their splits (0 if unknown: max_context_len).
  int64_t leading_decodes = 0;
  int64_t leading_decodes_max_context_len = 0;
  // Device memory for the split-KV decode's partial results; with too little for two
  // splits the decode runs unsplit. See split_workspace_bytes().
  void* split_workspace = nullptr;
  int64_t split_workspace_bytes = 0;
  // Blocks in the caches' pool (their first dimension): the Hopper kernel's TMA descriptors
  // need the extent; 0 keeps it off.
  int64_t cache_blocks = 0;
  // Kernels for at most this compute capability (0: the device's): tests and the bench
  // lower it to run the sm_80 kernels on a Hopper.
  int max_compute_capability = 0;
  // The Hopper kernel's schedule: tests and the bench also run the unspecialized one.
  Sm90Schedule hopper_schedule = Sm90Schedule::warp_specialized;
};

// The split workspace that lets a decode of `tokens` new tokens split `splits` ways.
inline int64_t split_workspace_bytes(int64_t splits, int64_t tokens, int64_t q_heads, int64_t head_dim) {
  return splits * tokens * q_heads * (head_dim + 1) * static_cast<int64_t>(sizeof(float));
}

// T is float, __half or __nv_bfloat16; head_dim up to 512 (kMaxWarpAttentionHeadDim). The
// new tokens of sequence s sit at positions context_lens[s] - n_new ... context_lens[s] - 1; each attends to every
// position up to its own, within `window` of it. Query head h reads KV head h / (q_heads / kv_heads).
template <class T>
cudaError_t launch_paged_attention(const PagedAttentionLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
