#pragma once
// The paged-KV-cache metadata of a benchmark case as op-case inputs: `seqs` sequences each
// with `new_tokens` new tokens at the end of a `context`-token context, their blocks laid
// out one sequence after another.

#include <cstdint>
#include <vector>

#include "bench/harness/op_case.h"
#include "runtime/backend/paged_batch.h"

namespace genrt::bench {

inline constexpr int64_t kBenchBlockSize = 16;

struct PagedLayout {
  int64_t seqs = 1;
  int64_t new_tokens = 1;
  int64_t context = 1;

  int64_t blocks_per_seq() const { return (context + kBenchBlockSize - 1) / kBenchBlockSize; }
  int64_t blocks() const { return seqs * blocks_per_seq(); }
  int64_t tokens() const { return seqs * new_tokens; }
};

// Appends the five metadata inputs (positions, slots, query_start, context_lens,
// block_tables) to `inputs`; returns the index of the first.
size_t add_paged_inputs(const PagedLayout& layout, std::vector<InputSpec>& inputs);

// The PagedBatch of `layout` over tensors[first..first + 4].
PagedBatch paged_batch(const std::vector<Tensor>& tensors, size_t first, const PagedLayout& layout);

}  // namespace genrt::bench
