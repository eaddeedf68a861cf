#include "bench/harness/paged_inputs.h"

namespace genrt::bench {

size_t add_paged_inputs(const PagedLayout& l, std::vector<InputSpec>& inputs) {
  std::vector<int32_t> positions, slots, query_start = {0}, context_lens, block_tables;
  for (int64_t s = 0; s < l.seqs; ++s) {
    const int64_t first_block = s * l.blocks_per_seq();
    for (int64_t p = l.context - l.new_tokens; p < l.context; ++p) {
      positions.push_back(static_cast<int32_t>(p));
      slots.push_back(static_cast<int32_t>((first_block + p / kBenchBlockSize) * kBenchBlockSize + p % kBenchBlockSize));
    }
    query_start.push_back(static_cast<int32_t>((s + 1) * l.new_tokens));
    context_lens.push_back(static_cast<int32_t>(l.context));
    for (int64_t b = 0; b < l.blocks_per_seq(); ++b) block_tables.push_back(static_cast<int32_t>(first_block + b));
  }
  const size_t first = inputs.size();
  using Kind = InputSpec::Kind;
  inputs.push_back({.shape = {l.tokens()}, .kind = Kind::ids, .ids = positions});
  inputs.push_back({.shape = {l.tokens()}, .kind = Kind::ids, .ids = slots});
  inputs.push_back({.shape = {l.seqs + 1}, .kind = Kind::ids, .ids = query_start});
  inputs.push_back({.shape = {l.seqs}, .kind = Kind::ids, .ids = context_lens});
  inputs.push_back({.shape = {l.seqs, l.blocks_per_seq()}, .kind = Kind::ids, .ids = block_tables});
  return first;
}

PagedBatch paged_batch(const std::vector<Tensor>& t, size_t first, const PagedLayout& layout) {
  return {.positions = t[first],
          .slots = t[first + 1],
          .query_start = t[first + 2],
          .context_lens = t[first + 3],
          .block_tables = t[first + 4],
          .block_size = kBenchBlockSize,
          .max_query_len = layout.new_tokens,
          .max_context_len = layout.context};
}

}  // namespace genrt::bench
