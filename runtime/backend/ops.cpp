#include "runtime/backend/ops.h"

#include "kernels/ref/attention.h"
#include "kernels/ref/dense_attention.h"
#include "kernels/ref/embedding.h"
#include "kernels/ref/kv_cache_write.h"
#include "kernels/ref/matmul.h"
#include "kernels/ref/softmax.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

// An optional [dim] parameter (norm weight, bias): unless undefined, on the op's device.
void expect_optional_vector(const Tensor& t, int64_t dim, const Placement& where, const char* op, const char* name) {
  if (!t.defined()) return;
  expect_on(t, where, op, name);
  expect_shape(t, {dim}, op, name);
}

// The checked norm on either backend.
void run_norm([[maybe_unused]] const Placement& where, const NormOperands& operands) {
  GENRT_ON_CUDA(where, cuda_ops::norm(operands));
  ref::norm(norm_args<float>(operands));
}

// RMSNorm / LayerNorm with an optional residual add.
void row_norm(const char* op, ref::NormKind kind, const Tensor& x, Tensor* residual, const Tensor& weight,
              const Tensor& bias, float eps, Tensor& out) {
  const Placement where = placement_of(x, op, "x");
  GENRT_CHECK(x.rank() == 2, "{}: x must be [rows, dim], got {}", op, shape_string(x.shape()));
  expect_on(out, where, op, "out");
  expect_shape(out, x.shape(), op, "out");
  expect_optional_vector(weight, x.dim(1), where, op, "weight");
  expect_optional_vector(bias, x.dim(1), where, op, "bias");
  if (residual != nullptr) {
    expect_on(*residual, where, op, "residual");
    expect_shape(*residual, x.shape(), op, "residual");
    GENRT_CHECK(out.raw() != residual->raw(), "{}: out must not alias residual", op);
  }
  run_norm(where, {.kind = kind,
                   .x = residual != nullptr ? &x : nullptr,
                   .residual = residual != nullptr ? residual : &x,
                   .weight = &weight,
                   .bias = &bias,
                   .out = &out,
                   .eps = eps});
}

// Checks x, up (when op takes it) and out, then runs op on either backend.
void elementwise(const char* op_name, ref::Activation op, const Tensor& x, const char* x_name, const Tensor& up,
                 const char* up_name, Tensor& out) {
  const Placement where = placement_of(x, op_name, x_name);
  if (ref::takes_up(op)) {
    expect_on(up, where, op_name, up_name);
    expect_shape(up, x.shape(), op_name, up_name);
  }
  expect_on(out, where, op_name, "out");
  expect_shape(out, x.shape(), op_name, "out");
  GENRT_ON_CUDA(where, cuda_ops::activation(op, x, up, out));
  ref::activation(activation_args<float>(op, x, up, out));
}

// Checks a layer's K and V block pools: equal [blocks, block_size, kv_heads, head_dim].
void expect_kv_cache(const Tensor& k_cache, const Tensor& v_cache, const Placement& where, const char* op) {
  expect_on(k_cache, where, op, "k_cache");
  expect_on(v_cache, where, op, "v_cache");
  GENRT_CHECK(k_cache.rank() == 4, "{}: cache must be [blocks, block_size, kv_heads, head_dim]", op);
  expect_shape(v_cache, k_cache.shape(), op, "v_cache");
}

// Checks the step's metadata against the cache: i32 tensors on the op's device with
// matching lengths; on the CPU also their values (slots inside the pool, block tables
// naming pool blocks and covering every context). Device metadata is checked on the host
// before its upload (make_paged_batch).
void expect_paged_batch(const PagedBatch& b, const Tensor& k_cache, int64_t tokens, Device device, const char* op) {
  for (const auto& [t, name] : {std::pair{&b.positions, "positions"}, std::pair{&b.slots, "slots"},
                                std::pair{&b.query_start, "query_start"}, std::pair{&b.context_lens, "context_lens"},
                                std::pair{&b.block_tables, "block_tables"}}) {
    expect_on(*t, {device, DType::i32}, op, name);
  }
  const int64_t seqs = b.context_lens.numel(), pool_slots = k_cache.dim(0) * k_cache.dim(1);
  GENRT_CHECK(b.block_size == k_cache.dim(1), "{}: batch block size {} != cache block size {}", op, b.block_size,
              k_cache.dim(1));
  expect_shape(b.positions, {tokens}, op, "positions");
  expect_shape(b.slots, {tokens}, op, "slots");
  expect_shape(b.query_start, {seqs + 1}, op, "query_start");
  GENRT_CHECK(b.block_tables.rank() == 2 && b.block_tables.dim(0) == seqs, "{}: block_tables must be [{}, blocks]",
              op, seqs);
  if (device != Device::cpu) return;
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

// k, v [tokens, kv_heads, head_dim] matching the cache, with the step's metadata.
Placement expect_kv_rows(const Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& k_cache,
                         const Tensor& v_cache, const char* op) {
  const Placement where = placement_of(k, op, "k");
  expect_on(v, where, op, "v");
  expect_kv_cache(k_cache, v_cache, where, op);
  expect_shape(k, {k.dim(0), k_cache.dim(2), k_cache.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_paged_batch(batch, k_cache, k.dim(0), where.device, op);
  return where;
}

// The CPU reference of the cache write, on checked tensors.
void write_kv_rows(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  ref::kv_cache_write({.k = k.data<float>(),
                       .v = v.data<float>(),
                       .slots = batch.slots.data<int32_t>(),
                       .k_cache = k_cache.data<float>(),
                       .v_cache = v_cache.data<float>(),
                       .tokens = k.dim(0),
                       .row = k_cache.dim(2) * k_cache.dim(3)});
}

}  // namespace

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  const Placement where = placement_of(table, "embedding", "table");
  expect_on(ids, {where.device, DType::i32}, "embedding", "ids");
  expect_on(out, where, "embedding", "out");
  GENRT_CHECK(table.rank() == 2, "embedding: table must be [vocab, dim]");
  const int64_t vocab = table.dim(0), dim = table.dim(1);
  expect_shape(out, {ids.numel(), dim}, "embedding", "out");
  // Device ids were range-checked on the host before their upload; the kernel zeroes
  // rows of any id outside the table rather than reading out of bounds.
  GENRT_ON_CUDA(where, cuda_ops::embedding(table, ids, out));
  for (int32_t id : ids.span<int32_t>()) {
    GENRT_CHECK(id >= 0 && id < vocab, "token id {} is outside the vocabulary [0, {})", id, vocab);
  }
  ref::embedding(table.data<float>(), ids.data<int32_t>(), out.data<float>(), ids.numel(), dim);
}

void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  row_norm("rmsnorm", ref::NormKind::rms, x, nullptr, weight, Tensor(), eps, out);
}

void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps, Tensor& out) {
  row_norm("add_rmsnorm", ref::NormKind::rms, x, &residual, weight, Tensor(), eps, out);
}

void layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  row_norm("layernorm", ref::NormKind::layer, x, nullptr, weight, bias, eps, out);
}

void add_layernorm(const Tensor& x, Tensor& residual, const Tensor& weight, const Tensor& bias, float eps,
                   Tensor& out) {
  row_norm("add_layernorm", ref::NormKind::layer, x, &residual, weight, bias, eps, out);
}

void modulated_layernorm(const Tensor& x, const Tensor& gate, Tensor& residual, const Tensor& shift,
                         const Tensor& scale, float eps, Tensor& out) {
  const char* op = "modulated_layernorm";
  const Placement where = placement_of(residual, op, "residual");
  GENRT_CHECK(residual.rank() == 2, "{}: residual must be [rows, dim], got {}", op, shape_string(residual.shape()));
  expect_on(shift, where, op, "shift");
  GENRT_CHECK(shift.rank() == 2 && shift.dim(0) > 0 && residual.dim(0) % shift.dim(0) == 0,
              "{}: shift {} must be [groups, dim] with groups dividing the {} rows", op, shape_string(shift.shape()),
              residual.dim(0));
  const int64_t rows = residual.dim(0), dim = residual.dim(1), groups = shift.dim(0);
  expect_shape(shift, {groups, dim}, op, "shift");
  expect_on(scale, where, op, "scale");
  expect_shape(scale, {groups, dim}, op, "scale");
  expect_on(out, where, op, "out");
  expect_shape(out, residual.shape(), op, "out");
  GENRT_CHECK(out.raw() != residual.raw(), "{}: out must not alias residual", op);
  if (x.defined()) {
    expect_on(x, where, op, "x");
    expect_shape(x, residual.shape(), op, "x");
  }
  if (gate.defined()) {
    GENRT_CHECK(x.defined(), "{}: a gate without x", op);
    expect_on(gate, where, op, "gate");
    expect_shape(gate, {groups, dim}, op, "gate");
  }
  run_norm(where, {.kind = ref::NormKind::layer,
                   .x = &x,
                   .gate = &gate,
                   .residual = &residual,
                   .shift = &shift,
                   .scale = &scale,
                   .out = &out,
                   .rows_per_group = rows / groups,
                   .eps = eps});
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const Placement where = placement_of(x, "linear", "x");
  expect_on(weight, where, "linear", "weight");
  GENRT_CHECK(x.rank() == 2 && weight.rank() == 2, "linear: x {} and weight {} must both be 2-D",
              shape_string(x.shape()), shape_string(weight.shape()));
  const int64_t m = x.dim(0), k = x.dim(1), n = weight.dim(0);
  GENRT_CHECK(weight.dim(1) == k, "linear: x {} does not match weight {} (in_features)", shape_string(x.shape()),
              shape_string(weight.shape()));
  // On the GPU the output may be fp32 (logits) for 16-bit operands.
  const bool f32_out = where.device == Device::cuda && out.defined() && out.dtype() == DType::f32;
  expect_on(out, f32_out ? Placement{Device::cuda, DType::f32} : where, "linear", "out");
  expect_shape(out, {m, n}, "linear", "out");
  expect_optional_vector(bias, n, where, "linear", "bias");
  GENRT_ON_CUDA(where, cuda_ops::linear(x, weight, bias, out));
  ref::matmul(x.data<float>(), weight.data<float>(), data_or_null<float>(bias), out.data<float>(), m, n, k);
}

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout) {
  expect_cpu(x, "rope", "x");
  expect_cpu(positions, "rope", "positions", DType::i32);
  expect_cpu(inv_freq, "rope", "inv_freq");
  GENRT_CHECK(x.rank() == 3, "rope: x must be [tokens, heads, head_dim], got {}", shape_string(x.shape()));
  const int64_t head_dim = x.dim(2);
  GENRT_CHECK(head_dim % 2 == 0, "rope: head_dim {} must be even", head_dim);
  expect_shape(positions, {x.dim(0)}, "rope", "positions");
  expect_shape(inv_freq, {head_dim / 2}, "rope", "inv_freq");
  ref::rope(x.data<float>(), positions.data<int32_t>(), inv_freq.data<float>(), x.dim(0), x.dim(1), head_dim,
            layout);
}

void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  elementwise("swiglu", ref::Activation::swiglu, gate, "gate", up, "up", out);
}

void gelu(const Tensor& x, Tensor& out, ref::Activation gelu) {
  GENRT_CHECK(gelu == ref::Activation::gelu_erf || gelu == ref::Activation::gelu_tanh,
              "gelu: activation {} is not a GELU", static_cast<int>(gelu));
  elementwise("gelu", gelu, x, "x", Tensor(), "", out);
}

void silu(const Tensor& x, Tensor& out) { elementwise("silu", ref::Activation::silu, x, "x", Tensor(), "", out); }

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  elementwise("add", ref::Activation::add, a, "a", b, "b", out);
}

void kv_cache_write(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  [[maybe_unused]] const Placement where = expect_kv_rows(k, v, batch, k_cache, v_cache, "kv_cache_write");
  GENRT_ON_CUDA(where, cuda_ops::rope_kv_write(nullptr, k, v, batch, Tensor(), ref::RopeLayout::rotate_half,
                                               k_cache, v_cache));
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

void rope_kv_write(Tensor& q, Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache) {
  const char* op = "rope_kv_write";
  const Placement where = expect_kv_rows(k, v, batch, k_cache, v_cache, op);
  expect_on(q, where, op, "q");
  GENRT_CHECK(q.rank() == 3 && q.dim(0) == k.dim(0) && q.dim(2) == k.dim(2),
              "{}: q {} must be [tokens, heads, head_dim] like k {}", op, shape_string(q.shape()),
              shape_string(k.shape()));
  GENRT_CHECK(k.dim(2) % 2 == 0, "{}: head_dim {} must be even", op, k.dim(2));
  expect_on(inv_freq, {where.device, DType::f32}, op, "inv_freq");
  expect_shape(inv_freq, {k.dim(2) / 2}, op, "inv_freq");
  GENRT_ON_CUDA(where, cuda_ops::rope_kv_write(&q, k, v, batch, inv_freq, layout, k_cache, v_cache));
  // Everything is checked: run the references directly rather than re-checking through
  // the rope and kv_cache_write entries (this runs for every layer of every step).
  const int32_t* positions = batch.positions.data<int32_t>();
  ref::rope(q.data<float>(), positions, inv_freq.data<float>(), q.dim(0), q.dim(1), q.dim(2), layout);
  ref::rope(k.data<float>(), positions, inv_freq.data<float>(), k.dim(0), k.dim(1), k.dim(2), layout);
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, Tensor& out) {
  const char* op = "paged_attention";
  const Placement where = placement_of(q, op, "q");
  expect_on(out, where, op, "out");
  expect_kv_cache(k_cache, v_cache, where, op);
  GENRT_CHECK(q.rank() == 3, "{}: q must be [tokens, heads, head_dim], got {}", op, shape_string(q.shape()));
  expect_shape(out, q.shape(), op, "out");
  const int64_t n_heads = q.dim(1), n_kv_heads = k_cache.dim(2), head_dim = q.dim(2);
  GENRT_CHECK(k_cache.dim(3) == head_dim, "{}: cache head_dim {} != q head_dim {}", op, k_cache.dim(3), head_dim);
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "{}: {} query heads are not a multiple of {} KV heads",
              op, n_heads, n_kv_heads);
  expect_paged_batch(batch, k_cache, q.dim(0), where.device, op);
  GENRT_ON_CUDA(where, cuda_ops::paged_attention(q, k_cache, v_cache, batch, scale, out));
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
  const Placement where = placement_of(q, op, "q");
  expect_on(k, where, op, "k");
  expect_on(v, where, op, "v");
  expect_on(out, where, op, "out");
  GENRT_CHECK(q.rank() == 4 && k.rank() == 4, "{}: q {} and k {} must be [batch, tokens, heads, head_dim]", op,
              shape_string(q.shape()), shape_string(k.shape()));
  const int64_t n_heads = q.dim(2), n_kv_heads = k.dim(2);
  expect_shape(k, {q.dim(0), q.dim(1), n_kv_heads, q.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_shape(out, q.shape(), op, "out");
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "{}: {} query heads are not a multiple of {} KV heads",
              op, n_heads, n_kv_heads);
  GENRT_ON_CUDA(where, cuda_ops::dense_attention(q, k, v, scale, out));
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
