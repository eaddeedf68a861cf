#include "runtime/backend/ops.h"

#include "kernels/ref/add.h"
#include "kernels/ref/attention.h"
#include "kernels/ref/dense_attention.h"
#include "kernels/ref/embedding.h"
#include "kernels/ref/kv_cache_write.h"
#include "kernels/ref/layernorm.h"
#include "kernels/ref/matmul.h"
#include "kernels/ref/modulated_layernorm.h"
#include "kernels/ref/rmsnorm.h"
#include "kernels/ref/silu.h"
#include "kernels/ref/softmax.h"
#include "kernels/ref/swiglu.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

const float* optional_data(const Tensor& t, int64_t dim, const char* op, const char* name) {
  if (!t.defined()) return nullptr;
  expect_cpu(t, op, name);
  expect_shape(t, {dim}, op, name);
  return t.data<float>();
}

ref::NormArgs norm_args(const char* op, const Tensor& x, Tensor* residual, const Tensor& weight,
                        const Tensor& bias, float eps, Tensor& out) {
  expect_cpu(x, op, "x");
  GENRT_CHECK(x.rank() == 2, "{}: x must be [rows, dim], got {}", op, shape_string(x.shape()));
  expect_cpu(out, op, "out");
  expect_shape(out, x.shape(), op, "out");
  ref::NormArgs args;
  args.rows = x.dim(0);
  args.dim = x.dim(1);
  args.x = x.data<float>();
  args.out = out.data<float>();
  args.weight = optional_data(weight, args.dim, op, "weight");
  args.bias = optional_data(bias, args.dim, op, "bias");
  args.eps = eps;
  if (residual != nullptr) {
    expect_cpu(*residual, op, "residual");
    expect_shape(*residual, x.shape(), op, "residual");
    args.residual = residual->data<float>();
    args.sum_out = residual->data<float>();
  }
  return args;
}

// Checks a layer's K and V block pools: equal [blocks, block_size, kv_heads, head_dim].
void expect_kv_cache(const Tensor& k_cache, const Tensor& v_cache, const char* op) {
  expect_cpu(k_cache, op, "k_cache");
  expect_cpu(v_cache, op, "v_cache");
  GENRT_CHECK(k_cache.rank() == 4, "{}: cache must be [blocks, block_size, kv_heads, head_dim]", op);
  expect_shape(v_cache, k_cache.shape(), op, "v_cache");
}

// Checks the step's metadata against the cache: i32 host tensors of matching lengths,
// slots inside the pool, block tables naming pool blocks and covering every context.
void expect_paged_batch(const PagedBatch& b, const Tensor& k_cache, int64_t tokens, const char* op) {
  for (const auto& [t, name] : {std::pair{&b.positions, "positions"}, std::pair{&b.slots, "slots"},
                                std::pair{&b.query_start, "query_start"}, std::pair{&b.context_lens, "context_lens"},
                                std::pair{&b.block_tables, "block_tables"}}) {
    expect_cpu(*t, op, name, DType::i32);
  }
  const int64_t seqs = b.context_lens.numel(), pool_slots = k_cache.dim(0) * k_cache.dim(1);
  GENRT_CHECK(b.block_size == k_cache.dim(1), "{}: batch block size {} != cache block size {}", op, b.block_size,
              k_cache.dim(1));
  expect_shape(b.positions, {tokens}, op, "positions");
  expect_shape(b.slots, {tokens}, op, "slots");
  expect_shape(b.query_start, {seqs + 1}, op, "query_start");
  GENRT_CHECK(b.block_tables.rank() == 2 && b.block_tables.dim(0) == seqs, "{}: block_tables must be [{}, blocks]",
              op, seqs);
  for (int32_t slot : b.slots.span<int32_t>()) {
    GENRT_CHECK(slot >= 0 && slot < pool_slots, "{}: cache slot {} outside the pool of {}", op, slot, pool_slots);
  }
  const int32_t* start = b.query_start.data<int32_t>();
  GENRT_CHECK(start[0] == 0 && start[seqs] == tokens, "{}: query_start must run from 0 to {} tokens", op, tokens);
  for (int64_t s = 0; s < seqs; ++s) {
    const int64_t n_new = start[s + 1] - start[s], context = b.context_lens.data<int32_t>()[s];
    GENRT_CHECK(n_new > 0 && context >= n_new, "{}: sequence {} has {} new tokens in a context of {}", op, s, n_new,
                context);
    GENRT_CHECK(context <= b.block_tables.dim(1) * b.block_size,
                "{}: positions up to {} are not covered by the {} blocks of the block table", op, context,
                b.block_tables.dim(1));
    for (int64_t i = 0; i < (context + b.block_size - 1) / b.block_size; ++i) {
      const int32_t block = b.block_tables.data<int32_t>()[s * b.block_tables.dim(1) + i];
      GENRT_CHECK(block >= 0 && block < k_cache.dim(0), "{}: block id {} outside the pool of {}", op, block,
                  k_cache.dim(0));
    }
  }
}

}  // namespace

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  expect_cpu(table, "embedding", "table");
  expect_cpu(ids, "embedding", "ids", DType::i32);
  expect_cpu(out, "embedding", "out");
  GENRT_CHECK(table.rank() == 2, "embedding: table must be [vocab, dim]");
  const int64_t vocab = table.dim(0);
  const int64_t dim = table.dim(1);
  expect_shape(out, {ids.numel(), dim}, "embedding", "out");
  for (int32_t id : ids.span<int32_t>()) {
    GENRT_CHECK(id >= 0 && id < vocab, "token id {} is outside the vocabulary [0, {})", id, vocab);
  }
  ref::embedding(table.data<float>(), ids.data<int32_t>(), out.data<float>(), ids.numel(), dim);
}

void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  ref::rmsnorm(norm_args("rmsnorm", x, nullptr, weight, Tensor(), eps, out));
}

void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps, Tensor& out) {
  ref::rmsnorm(norm_args("add_rmsnorm", x, &residual, weight, Tensor(), eps, out));
}

void layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  ref::layernorm(norm_args("layernorm", x, nullptr, weight, bias, eps, out));
}

void add_layernorm(const Tensor& x, Tensor& residual, const Tensor& weight, const Tensor& bias,
                   float eps, Tensor& out) {
  ref::layernorm(norm_args("add_layernorm", x, &residual, weight, bias, eps, out));
}

void modulated_layernorm(const Tensor& x, const Tensor& gate, Tensor& residual,
                         const Tensor& shift, const Tensor& scale, float eps, Tensor& out) {
  const char* op = "modulated_layernorm";
  expect_cpu(residual, op, "residual");
  GENRT_CHECK(residual.rank() == 2, "{}: residual must be [rows, dim], got {}", op,
              shape_string(residual.shape()));
  expect_cpu(shift, op, "shift");
  GENRT_CHECK(shift.rank() == 2 && shift.dim(0) > 0 && residual.dim(0) % shift.dim(0) == 0,
              "{}: shift {} must be [groups, dim] with groups dividing the {} rows", op,
              shape_string(shift.shape()), residual.dim(0));
  const int64_t rows = residual.dim(0), dim = residual.dim(1), groups = shift.dim(0);
  expect_shape(shift, {groups, dim}, op, "shift");
  expect_cpu(scale, op, "scale");
  expect_shape(scale, {groups, dim}, op, "scale");
  expect_cpu(out, op, "out");
  expect_shape(out, residual.shape(), op, "out");
  GENRT_CHECK(out.raw() != residual.raw(), "{}: out must not alias residual", op);
  ref::ModulatedNormArgs args{.residual = residual.data<float>(),
                              .shift = shift.data<float>(),
                              .scale = scale.data<float>(),
                              .out = out.data<float>(),
                              .rows = rows,
                              .dim = dim,
                              .rows_per_group = rows / groups,
                              .eps = eps};
  if (x.defined()) {
    expect_cpu(x, op, "x");
    expect_shape(x, residual.shape(), op, "x");
    args.x = x.data<float>();
  }
  if (gate.defined()) {
    GENRT_CHECK(x.defined(), "{}: a gate without x", op);
    expect_cpu(gate, op, "gate");
    expect_shape(gate, {groups, dim}, op, "gate");
    args.gate = gate.data<float>();
  }
  ref::modulated_layernorm(args);
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  expect_cpu(x, "linear", "x");
  expect_cpu(weight, "linear", "weight");
  expect_cpu(out, "linear", "out");
  GENRT_CHECK(x.rank() == 2 && weight.rank() == 2,
              "linear: x {} and weight {} must both be 2-D", shape_string(x.shape()),
              shape_string(weight.shape()));
  const int64_t m = x.dim(0), k = x.dim(1), n = weight.dim(0);
  GENRT_CHECK(weight.dim(1) == k, "linear: x {} does not match weight {} (in_features)",
              shape_string(x.shape()), shape_string(weight.shape()));
  expect_shape(out, {m, n}, "linear", "out");
  ref::matmul(x.data<float>(), weight.data<float>(), optional_data(bias, n, "linear", "bias"),
              out.data<float>(), m, n, k);
}

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout) {
  expect_cpu(x, "rope", "x");
  expect_cpu(positions, "rope", "positions", DType::i32);
  expect_cpu(inv_freq, "rope", "inv_freq");
  GENRT_CHECK(x.rank() == 3, "rope: x must be [tokens, heads, head_dim], got {}",
              shape_string(x.shape()));
  const int64_t head_dim = x.dim(2);
  GENRT_CHECK(head_dim % 2 == 0, "rope: head_dim {} must be even", head_dim);
  expect_shape(positions, {x.dim(0)}, "rope", "positions");
  expect_shape(inv_freq, {head_dim / 2}, "rope", "inv_freq");
  ref::rope(x.data<float>(), positions.data<int32_t>(), inv_freq.data<float>(), x.dim(0),
            x.dim(1), head_dim, layout);
}

void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  expect_cpu(gate, "swiglu", "gate");
  expect_cpu(up, "swiglu", "up");
  expect_cpu(out, "swiglu", "out");
  expect_shape(up, gate.shape(), "swiglu", "up");
  expect_shape(out, gate.shape(), "swiglu", "out");
  ref::swiglu(gate.data<float>(), up.data<float>(), out.data<float>(), gate.numel());
}

void gelu(const Tensor& x, Tensor& out, ref::GeluApprox approx) {
  expect_cpu(x, "gelu", "x");
  expect_cpu(out, "gelu", "out");
  expect_shape(out, x.shape(), "gelu", "out");
  ref::gelu(x.data<float>(), out.data<float>(), x.numel(), approx);
}

void silu(const Tensor& x, Tensor& out) {
  expect_cpu(x, "silu", "x");
  expect_cpu(out, "silu", "out");
  expect_shape(out, x.shape(), "silu", "out");
  ref::silu(x.data<float>(), out.data<float>(), x.numel());
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  expect_cpu(a, "add", "a");
  expect_cpu(b, "add", "b");
  expect_cpu(out, "add", "out");
  expect_shape(b, a.shape(), "add", "b");
  expect_shape(out, a.shape(), "add", "out");
  ref::add(a.data<float>(), b.data<float>(), out.data<float>(), a.numel());
}

void kv_cache_write(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  const char* op = "kv_cache_write";
  expect_cpu(k, op, "k");
  expect_cpu(v, op, "v");
  expect_kv_cache(k_cache, v_cache, op);
  expect_shape(k, {k.dim(0), k_cache.dim(2), k_cache.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_paged_batch(batch, k_cache, k.dim(0), op);
  ref::kv_cache_write({.k = k.data<float>(),
                       .v = v.data<float>(),
                       .slots = batch.slots.data<int32_t>(),
                       .k_cache = k_cache.data<float>(),
                       .v_cache = v_cache.data<float>(),
                       .tokens = k.dim(0),
                       .row = k_cache.dim(2) * k_cache.dim(3)});
}

void rope_kv_write(Tensor& q, Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache) {
  GENRT_CHECK(q.rank() == 3 && q.dim(0) == k.dim(0), "rope_kv_write: q {} must be [tokens, heads, head_dim] like k {}",
              shape_string(q.shape()), shape_string(k.shape()));
  rope(q, batch.positions, inv_freq, layout);
  rope(k, batch.positions, inv_freq, layout);
  kv_cache_write(k, v, batch, k_cache, v_cache);
}

void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, Tensor& out) {
  const char* op = "paged_attention";
  expect_cpu(q, op, "q");
  expect_cpu(out, op, "out");
  expect_kv_cache(k_cache, v_cache, op);
  GENRT_CHECK(q.rank() == 3, "{}: q must be [tokens, heads, head_dim], got {}", op, shape_string(q.shape()));
  expect_shape(out, q.shape(), op, "out");
  const int64_t n_heads = q.dim(1), n_kv_heads = k_cache.dim(2), head_dim = q.dim(2);
  GENRT_CHECK(k_cache.dim(3) == head_dim, "{}: cache head_dim {} != q head_dim {}", op, k_cache.dim(3), head_dim);
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0,
              "{}: {} query heads are not a multiple of {} KV heads", op, n_heads, n_kv_heads);
  expect_paged_batch(batch, k_cache, q.dim(0), op);
  const int32_t* start = batch.query_start.data<int32_t>();
  const int64_t row = n_heads * head_dim;
  for (int64_t s = 0; s < batch.seqs(); ++s) {
    const int64_t n_new = start[s + 1] - start[s];
    ref::attention({.q = q.data<float>() + start[s] * row,
                    .k_cache = k_cache.data<float>(),
                    .v_cache = v_cache.data<float>(),
                    .block_table = batch.block_tables.data<int32_t>() + s * batch.block_tables.dim(1),
                    .out = out.data<float>() + start[s] * row,
                    .tokens = n_new,
                    .q_start = batch.context_lens.data<int32_t>()[s] - n_new,
                    .n_heads = n_heads,
                    .n_kv_heads = n_kv_heads,
                    .head_dim = head_dim,
                    .block_size = batch.block_size,
                    .scale = scale});
  }
}

void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out) {
  const char* op = "dense_attention";
  expect_cpu(q, op, "q");
  expect_cpu(k, op, "k");
  expect_cpu(v, op, "v");
  expect_cpu(out, op, "out");
  GENRT_CHECK(q.rank() == 4 && k.rank() == 4,
              "{}: q {} and k {} must be [batch, tokens, heads, head_dim]", op,
              shape_string(q.shape()), shape_string(k.shape()));
  const int64_t n_heads = q.dim(2), n_kv_heads = k.dim(2);
  expect_shape(k, {q.dim(0), q.dim(1), n_kv_heads, q.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_shape(out, q.shape(), op, "out");
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0,
              "{}: {} query heads are not a multiple of {} KV heads", op, n_heads, n_kv_heads);
  ref::dense_attention({.q = q.data<float>(),
                        .k = k.data<float>(),
                        .v = v.data<float>(),
                        .out = out.data<float>(),
                        .batch = q.dim(0),
                        .tokens = q.dim(1),
                        .n_heads = n_heads,
                        .n_kv_heads = n_kv_heads,
                        .head_dim = q.dim(3),
                        .scale = scale});
}

void softmax(Tensor& x) {
  expect_cpu(x, "softmax", "x");
  GENRT_CHECK(x.rank() >= 1 && x.dim(-1) > 0, "softmax: x must have a non-empty last dimension");
  ref::softmax(x.data<float>(), x.numel() / x.dim(-1), x.dim(-1));
}

}  // namespace genrt::ops
