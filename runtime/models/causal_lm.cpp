#include "runtime/models/causal_lm.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace genrt {

KvCacheShape ModelSpec::kv_cache_shape(int64_t blocks, int64_t block_size) const {
  return {.layers = num_layers, .blocks = blocks, .block_size = block_size, .kv_heads = num_kv_heads, .head_dim = head_dim};
}

PagedBatch make_paged_batch(const ForwardBatch& batch, int64_t block_size, int64_t context_length) {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  const auto n_seqs = static_cast<int64_t>(batch.sequences.size());
  GENRT_CHECK(n_tokens > 0 && n_seqs > 0, "forward: empty batch");
  int64_t max_blocks = 1;
  for (const SequenceChunk& seq : batch.sequences) {
    GENRT_CHECK(seq.blocks != nullptr, "forward: a sequence without a block table");
    max_blocks = std::max(max_blocks, seq.blocks->used);
  }
  PagedBatch p{.positions = Tensor::zeros({n_tokens}, DType::i32),
               .slots = Tensor::zeros({n_tokens}, DType::i32),
               .query_start = Tensor::zeros({n_seqs + 1}, DType::i32),
               .context_lens = Tensor::zeros({n_seqs}, DType::i32),
               .block_tables = Tensor::zeros({n_seqs, max_blocks}, DType::i32),
               .block_size = block_size};
  int64_t covered = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const SequenceChunk& seq = batch.sequences[s];
    GENRT_CHECK(seq.first_token == covered && seq.n_tokens > 0, "forward: sequences must tile the token list in order");
    const int64_t end = seq.start_pos + seq.n_tokens;
    GENRT_CHECK(end <= context_length, "forward: position {} is past the model's context of {} tokens", end - 1,
                context_length);
    GENRT_CHECK(end <= seq.blocks->used * block_size, "forward: positions up to {} are not covered by the {} blocks "
                "of the block table", end, seq.blocks->used);
    const int32_t* blocks = seq.blocks->ids.data<int32_t>();
    std::copy_n(blocks, seq.blocks->used, p.block_tables.data<int32_t>() + s * max_blocks);
    for (int64_t t = 0; t < seq.n_tokens; ++t) {
      const int64_t pos = seq.start_pos + t;
      p.positions.data<int32_t>()[covered + t] = static_cast<int32_t>(pos);
      p.slots.data<int32_t>()[covered + t] = static_cast<int32_t>(blocks[pos / block_size] * block_size + pos % block_size);
    }
    covered += seq.n_tokens;
    p.query_start.data<int32_t>()[s + 1] = static_cast<int32_t>(covered);
    p.context_lens.data<int32_t>()[s] = static_cast<int32_t>(end);
    p.max_query_len = std::max(p.max_query_len, seq.n_tokens);
    p.max_context_len = std::max(p.max_context_len, end);
  }
  GENRT_CHECK(covered == n_tokens, "forward: sequences cover {} of {} tokens", covered, n_tokens);
  return p;
}

Tensor batch_token_ids(const ForwardBatch& batch) {
  Tensor ids = Tensor::zeros({static_cast<int64_t>(batch.tokens.size())}, DType::i32);
  std::copy(batch.tokens.begin(), batch.tokens.end(), ids.data<int32_t>());
  return ids;
}

Tensor logit_rows(const ForwardBatch& batch, LogitsFor which) {
  std::vector<int32_t> rows;
  if (which == LogitsFor::all_tokens) {
    rows.resize(batch.tokens.size());
    std::iota(rows.begin(), rows.end(), 0);
  } else {
    for (const SequenceChunk& seq : batch.sequences) rows.push_back(static_cast<int32_t>(seq.first_token + seq.n_tokens - 1));
  }
  Tensor t = Tensor::zeros({static_cast<int64_t>(rows.size())}, DType::i32);
  std::copy(rows.begin(), rows.end(), t.data<int32_t>());
  return t;
}

void check_token_ids(const ForwardBatch& batch, int64_t vocab_size) {
  for (int32_t id : batch.tokens) {
    GENRT_CHECK(id >= 0 && id < vocab_size, "token id {} is outside the vocabulary [0, {})", id, vocab_size);
  }
}

}  // namespace genrt
