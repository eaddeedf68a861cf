#pragma once
// Where the new tokens of a forward step go in the paged KV cache and what each attends
// to: built once per step from the batch's block tables and shared by every layer's
// attention (the arguments of kernels::PagedAttentionLaunch, as tensors). All i32, on the
// device of the activations.

#include <cstdint>

#include "runtime/core/tensor.h"

namespace genrt {

struct PagedBatch {
  Tensor positions;     // [tokens]: position of each new token
  Tensor slots;         // [tokens]: block * block_size + offset, its cache slot
  Tensor query_start;   // [seqs + 1]: sequence s owns tokens [query_start[s], query_start[s + 1])
  Tensor context_lens;  // [seqs]: positions cached once this step's tokens are written
  Tensor block_tables;  // [seqs, max_blocks]: each sequence's blocks, zero-padded
  int64_t block_size = 0;
  // Host-side summaries that choose the attention kernel (0 if unknown): the most new tokens
  // of one sequence (a decode step has 1), the longest context, how many of the first
  // sequences bring one new token each (a mixed step's decodes, which the scheduler puts
  // before its prefill chunks, and which the GPU then runs in the decode kernel), and the
  // longest context among those (which sizes their key splits; unknown: the longest of all).
  int64_t max_query_len = 0;
  int64_t max_context_len = 0;
  int64_t leading_decodes = 0;
  int64_t leading_decodes_max_context_len = 0;

  int64_t tokens() const { return positions.numel(); }
  int64_t seqs() const { return context_lens.numel(); }
};

}  // namespace genrt
