#include "runtime/models/blocks/attention.h"

#include <cmath>

namespace genrt::blocks {

namespace {

float attention_scale(const AttentionHeads& h) { return 1.0f / std::sqrt(static_cast<float>(h.head_dim)); }

// The projections write [rows, heads * head_dim] views of the [rows, heads, head_dim]
// buffers: queries from x, keys and values from context.
void project_qkv(const AttentionProjections& w, const Tensor& x, const Tensor& context, AttentionBuffers& buf) {
  const auto rows = [](const Tensor& t) { return t.reshape({t.dim(0), t.dim(1) * t.dim(2)}); };
  Tensor q = rows(buf.q), k = rows(buf.k), v = rows(buf.v);
  GENRT_CHECK(q.dim(0) == x.dim(0) && k.dim(0) == context.dim(0) && v.dim(0) == context.dim(0),
              "attention: buffers of {} query and {} key rows for {} and {} rows", q.dim(0), k.dim(0), x.dim(0),
              context.dim(0));
  w.q(x, q);
  w.k(context, k);
  w.v(context, v);
}

// The output projection of attn [tokens, heads, head_dim].
void project_out(const Linear& out_proj, const Tensor& attn, Tensor& out) {
  out_proj(attn.reshape({attn.dim(0), attn.dim(1) * attn.dim(2)}), out);
}

}  // namespace

void paged_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Rotary* rotary,
                          const Tensor& x, const PagedBatch& batch, LayerCache cache, PagedAttentionBuffers& buf,
                          Tensor& out) {
  w.qkv(x, buf.qkv);
  ops::qkv_cache_write(buf.qkv, batch, rotary != nullptr ? rotary->inv_freq : Tensor(),
                       rotary != nullptr ? rotary->layout : ref::RopeLayout::rotate_half, buf.q, cache.keys,
                       cache.values);
  ops::paged_attention(buf.q, cache.keys, cache.values, batch, attention_scale(h), cache.window, buf.attn);
  project_out(w.out, buf.attn, out);
}

void dense_self_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x, int64_t batch,
                          AttentionBuffers& buf, Tensor& out) {
  dense_cross_attention(w, h, x, x, batch, buf, out);
}

void dense_cross_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const Tensor& context, int64_t batch, AttentionBuffers& buf, Tensor& out) {
  project_qkv(w, x, context, buf);
  auto per_sample = [&](const Tensor& t) { return t.reshape({batch, t.dim(0) / batch, t.dim(1), t.dim(2)}); };
  Tensor attn = per_sample(buf.attn);
  ops::dense_attention(per_sample(buf.q), per_sample(buf.k), per_sample(buf.v), attention_scale(h), attn);
  project_out(w.out, buf.attn, out);
}

PagedBatch samples_as_blocks(int64_t samples, int64_t tokens) {
  PagedBatch batch{.positions = Tensor::zeros({samples * tokens}, DType::i32),
                   .slots = Tensor::zeros({samples * tokens}, DType::i32),
                   .query_start = Tensor::zeros({samples + 1}, DType::i32),
                   .context_lens = Tensor::zeros({samples}, DType::i32),
                   .block_tables = Tensor::zeros({samples, 1}, DType::i32),
                   .block_size = tokens,
                   .max_query_len = tokens,
                   .max_context_len = tokens};
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t t = 0; t < tokens; ++t) {
      batch.positions.data<int32_t>()[s * tokens + t] = static_cast<int32_t>(t);
      batch.slots.data<int32_t>()[s * tokens + t] = static_cast<int32_t>(s * tokens + t);
    }
    batch.query_start.data<int32_t>()[s + 1] = static_cast<int32_t>((s + 1) * tokens);
    batch.context_lens.data<int32_t>()[s] = static_cast<int32_t>(tokens);
    batch.block_tables.data<int32_t>()[s] = static_cast<int32_t>(s);
  }
  return batch;
}

void causal_self_attention(const AttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const PagedBatch& batch, AttentionBuffers& buf, Tensor& out) {
  project_qkv(w, x, x, buf);
  auto as_blocks = [&](const Tensor& t) { return t.reshape({batch.seqs(), batch.block_size, t.dim(1), t.dim(2)}); };
  ops::paged_attention(buf.q, as_blocks(buf.k), as_blocks(buf.v), batch, attention_scale(h), 0, buf.attn);
  project_out(w.out, buf.attn, out);
}

}  // namespace genrt::blocks
