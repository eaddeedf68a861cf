#include "runtime/models/causal_lm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/sampling_ops.h"

namespace genrt {

KvCacheShape ModelSpec::kv_cache_shape(int64_t blocks, int64_t block_size) const {
  return {.layers = num_layers, .blocks = blocks, .block_size = block_size, .kv_heads = num_kv_heads, .head_dim = head_dim};
}

PagedBatch make_paged_batch(const ForwardBatch& batch, int64_t block_size, int64_t context_length,
                            int64_t table_width) {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  const auto n_seqs = static_cast<int64_t>(batch.sequences.size());
  GENRT_CHECK(n_tokens > 0 && n_seqs > 0, "forward: empty batch");
  int64_t max_blocks = 1;
  for (const SequenceChunk& seq : batch.sequences) {
    GENRT_CHECK(seq.blocks != nullptr, "forward: a sequence without a block table");
    max_blocks = std::max(max_blocks, seq.blocks->used);
  }
  if (table_width > 0) {
    GENRT_CHECK(max_blocks <= table_width, "forward: a block table of {} blocks is wider than the step's {}",
                max_blocks, table_width);
    max_blocks = table_width;
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
    if (p.leading_decodes == s && seq.n_tokens == 1) {
      ++p.leading_decodes;
      p.leading_decodes_max_context_len = std::max(p.leading_decodes_max_context_len, end);
    }
  }
  GENRT_CHECK(covered == n_tokens, "forward: sequences cover {} of {} tokens", covered, n_tokens);
  return p;
}

ForwardBatch pad_decode_batch(const ForwardBatch& batch, int64_t rows, const BlockTable& padding) {
  GENRT_CHECK(is_decode_step(batch) && std::ssize(batch.sequences) <= rows,
              "pad_decode_batch: {} tokens of {} sequences are not a decode step of at most {} rows",
              batch.tokens.size(), batch.sequences.size(), rows);
  GENRT_CHECK(padding.used > 0, "pad_decode_batch: the padding table has no block");
  ForwardBatch padded = batch;
  padded.draw.reset();
  for (auto row = std::ssize(batch.sequences); row < rows; ++row) {
    padded.tokens.push_back(0);
    padded.sequences.push_back({.first_token = row, .n_tokens = 1, .start_pos = 0, .blocks = &padding});
    if (!batch.from_sampled.empty()) padded.from_sampled.push_back(-1);
  }
  return padded;
}

bool is_decode_step(const ForwardBatch& batch) {
  return batch.tokens.size() == batch.sequences.size() &&
         std::all_of(batch.sequences.begin(), batch.sequences.end(), [](const SequenceChunk& s) { return s.n_tokens == 1; });
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
  if (batch.from_sampled.empty()) return;
  GENRT_CHECK(batch.from_sampled.size() == batch.tokens.size() && batch.sampled.defined(),
              "forward: {} sampled-id sources for {} tokens{}", batch.from_sampled.size(), batch.tokens.size(),
              batch.sampled.defined() ? "" : " and no sampled ids");
  for (int32_t row : batch.from_sampled) {
    GENRT_CHECK(row >= -1 && row < batch.sampled.numel(), "forward: token from sampled row {} of {}", row,
                batch.sampled.numel());
  }
}

void capture_decode_graphs(const CausalLM& model, KvCache& cache) {
  const std::vector<int64_t> sizes = model.graph_batch_sizes();
  if (sizes.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  for (const int64_t rows : sizes) {
    // A step of padding rows only: it writes nothing but the padding block. A model that
    // draws in its steps has a second graph per bucket, the one that draws.
    ForwardBatch padding = pad_decode_batch({}, rows, cache.padding_table());
    model.forward(padding, cache, LogitsFor::last_token);
    if (model.draws_in_step()) {
      const std::vector<ops::SamplingRow> greedy(static_cast<size_t>(rows), {.temperature = 0.0f});
      padding.draw = {.params = ops::sampling_rows(greedy), .ids = model.device_runtime()->sampled_ids(rows)};
      model.forward(padding, cache, LogitsFor::last_token);
    }
  }
  spdlog::info("{}: {} decode CUDA graphs (batch {} to {}) ready in {:.2f} s", model.spec().architecture,
               model.captured_graphs(), sizes.front(), sizes.back(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace genrt
