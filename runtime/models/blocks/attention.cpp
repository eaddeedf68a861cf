#include "runtime/models/blocks/attention.h"

#include <cmath>

namespace genrt::blocks {

namespace {

float attention_scale(const AttentionHeads& h) { return 1.0f / std::sqrt(static_cast<float>(h.head_dim)); }

// The fused projection of x into its `count` parts [count, rows, heads, head_dim], one GEMM.
void project_parts(const Linear& fused, const Tensor& x, const Tensor& parts, int64_t count) {
  GENRT_CHECK(parts.rank() == 4 && parts.dim(0) == count && parts.dim(1) == x.dim(0),
              "attention: parts {} for {} parts of {} rows", shape_string(parts.shape()), count, x.dim(0));
  Tensor out = parts.reshape({parts.dim(0), parts.dim(1), parts.dim(2) * parts.dim(3)});
  ops::linear_parts(x, fused.weight, fused.bias, out);
}

// Attention within each of `batch` samples: q [batch * tokens, heads, head_dim], k and v
// [batch * kv_tokens, heads, head_dim].
void attend_per_sample(const AttentionHeads& h, const Tensor& q, const Tensor& k, const Tensor& v, int64_t batch,
                       Tensor& attn) {
  auto per_sample = [&](const Tensor& t) { return t.reshape({batch, t.dim(0) / batch, t.dim(1), t.dim(2)}); };
  Tensor out = per_sample(attn);
  ops::dense_attention(per_sample(q), per_sample(k), per_sample(v), attention_scale(h), out);
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

void dense_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Tensor& x, int64_t batch,
                          AttentionBuffers& buf, Tensor& out) {
  project_parts(w.qkv, x, buf.parts, 3);
  attend_per_sample(h, buf.parts.select(0), buf.parts.select(1), buf.parts.select(2), batch, buf.attn);
  project_out(w.out, buf.attn, out);
}

void dense_cross_attention(const CrossAttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const Tensor& context, int64_t batch, AttentionBuffers& buf, Tensor& out) {
  Tensor q = buf.q.reshape({buf.q.dim(0), buf.q.dim(1) * buf.q.dim(2)});
  w.q(x, q);
  project_parts(w.kv, context, buf.parts, 2);
  attend_per_sample(h, buf.q, buf.parts.select(0), buf.parts.select(1), batch, buf.attn);
  project_out(w.out, buf.attn, out);
}

Tensor attention_parts(const Tensor& flat, int64_t n, int64_t rows, const AttentionHeads& h) {
  const int64_t numel = n * rows * h.heads * h.head_dim;
  GENRT_CHECK(flat.rank() == 1 && flat.numel() >= numel, "attention: a buffer of {} elements for {} parts of {} rows",
              flat.numel(), n, rows);
  return flat.slice(0, numel).reshape({n, rows, h.heads, h.head_dim});
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

void causal_self_attention(const FusedAttentionProjections& w, const AttentionHeads& h, const Tensor& x,
                           const PagedBatch& batch, AttentionBuffers& buf, Tensor& out) {
  project_parts(w.qkv, x, buf.parts, 3);
  auto as_blocks = [&](const Tensor& t) { return t.reshape({batch.seqs(), batch.block_size, t.dim(1), t.dim(2)}); };
  ops::paged_attention(buf.parts.select(0), as_blocks(buf.parts.select(1)), as_blocks(buf.parts.select(2)), batch,
                       attention_scale(h), 0, buf.attn);
  project_out(w.out, buf.attn, out);
}

}  // namespace genrt::blocks
