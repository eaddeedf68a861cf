#include "runtime/backend/paged_batch_checks.h"

#include <utility>

#include "kernels/ref/attention.h"

namespace genrt::ops {

void expect_kv_cache(const Tensor& k_cache, const Tensor& v_cache, const Placement& where, const char* op) {
  expect_on(k_cache, where, op, "k_cache");
  expect_on(v_cache, where, op, "v_cache");
  GENRT_CHECK(k_cache.rank() == 4, "{}: cache must be [blocks, block_size, kv_heads, head_dim]", op);
  expect_shape(v_cache, k_cache.shape(), op, "v_cache");
}

void expect_paged_batch(const PagedBatch& b, const Tensor& k_cache, int64_t tokens, Device device, const char* op,
                        int64_t window) {
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
  GENRT_CHECK(b.leading_decodes >= 0 && b.leading_decodes <= seqs && b.leading_decodes <= tokens,
              "{}: {} leading decodes in a batch of {} sequences and {} tokens", op, b.leading_decodes, seqs, tokens);
  if (device != Device::cpu) return;
  for (int32_t slot : b.slots.span<int32_t>()) {
    GENRT_CHECK(slot >= 0 && slot < pool_slots, "{}: cache slot {} outside the pool of {}", op, slot, pool_slots);
  }
  const int32_t* start = b.query_start.data<int32_t>();
  GENRT_CHECK(start[0] == 0 && start[seqs] == tokens, "{}: query_start must run from 0 to {} tokens", op, tokens);
  GENRT_CHECK(start[b.leading_decodes] == b.leading_decodes, "{}: the first {} sequences are not one-token decodes", op,
              b.leading_decodes);
  for (int64_t s = 0; s < seqs; ++s) {
    const int64_t n_new = start[s + 1] - start[s], context = b.context_lens.data<int32_t>()[s];
    GENRT_CHECK(n_new > 0 && context >= n_new, "{}: sequence {} has {} new tokens in a context of {}", op, s, n_new,
                context);
    GENRT_CHECK(context <= b.block_tables.dim(1) * b.block_size,
                "{}: positions up to {} are not covered by the {} blocks of the block table", op, context,
                b.block_tables.dim(1));
    const int64_t first_read = ref::first_attended_position(context - n_new, window);
    for (int64_t i = first_read / b.block_size; i < (context + b.block_size - 1) / b.block_size; ++i) {
      const int32_t block = b.block_tables.data<int32_t>()[s * b.block_tables.dim(1) + i];
      GENRT_CHECK(block >= 0 && block < k_cache.dim(0), "{}: block id {} outside the pool of {}", op, block,
                  k_cache.dim(0));
    }
  }
}

}  // namespace genrt::ops
