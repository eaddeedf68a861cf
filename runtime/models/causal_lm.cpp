#include "runtime/models/causal_lm.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend/ops.h"

namespace genrt {

KvCacheShape ModelSpec::kv_cache_shape(int64_t blocks, int64_t block_size) const {
  return {.layers = num_layers, .blocks = blocks, .block_size = block_size, .kv_heads = num_kv_heads, .head_dim = head_dim};
}

Tensor batch_positions(const ForwardBatch& batch, int64_t context_length) {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  GENRT_CHECK(n_tokens > 0 && !batch.sequences.empty(), "forward: empty batch");
  Tensor positions = Tensor::zeros({n_tokens}, DType::i32);
  int64_t covered = 0;
  for (const SequenceChunk& seq : batch.sequences) {
    GENRT_CHECK(seq.first_token == covered && seq.n_tokens > 0, "forward: sequences must tile the token list in order");
    GENRT_CHECK(seq.start_pos + seq.n_tokens <= context_length,
                "forward: position {} is past the model's context of {} tokens", seq.start_pos + seq.n_tokens - 1,
                context_length);
    for (int64_t t = 0; t < seq.n_tokens; ++t) {
      positions.data<int32_t>()[seq.first_token + t] = static_cast<int32_t>(seq.start_pos + t);
    }
    covered += seq.n_tokens;
  }
  GENRT_CHECK(covered == n_tokens, "forward: sequences cover {} of {} tokens", covered, n_tokens);
  return positions;
}

Tensor batch_token_ids(const ForwardBatch& batch) {
  Tensor ids = Tensor::zeros({static_cast<int64_t>(batch.tokens.size())}, DType::i32);
  std::copy(batch.tokens.begin(), batch.tokens.end(), ids.data<int32_t>());
  return ids;
}

Tensor rows_for_logits(const Tensor& h, const ForwardBatch& batch, LogitsFor which) {
  if (which == LogitsFor::all_tokens) return h;
  const int64_t hidden = h.dim(1);
  Tensor rows = Tensor::zeros({static_cast<int64_t>(batch.sequences.size()), hidden}, DType::f32);
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const SequenceChunk& seq = batch.sequences[s];
    std::copy_n(h.select(seq.first_token + seq.n_tokens - 1).data<float>(), hidden,
                rows.select(static_cast<int64_t>(s)).data<float>());
  }
  return rows;
}

void paged_attention(const Tensor& q, const Tensor& k, const Tensor& v, const ForwardBatch& batch,
                     KvCache& cache, int64_t layer, Tensor& out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(q.dim(2)));
  for (const SequenceChunk& seq : batch.sequences) {
    const int64_t begin = seq.first_token, end = seq.first_token + seq.n_tokens;
    const Tensor table = seq.blocks->ids.slice(0, seq.blocks->used);
    ops::kv_cache_write(k.slice(begin, end), v.slice(begin, end), table, seq.start_pos, cache.keys(layer),
                        cache.values(layer));
    Tensor seq_out = out.slice(begin, end);
    ops::attention(q.slice(begin, end), cache.keys(layer), cache.values(layer), table, seq.start_pos, scale, seq_out);
  }
}

}  // namespace genrt
