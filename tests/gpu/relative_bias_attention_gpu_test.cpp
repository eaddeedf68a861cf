// T5's relative position bias in the GPU attention kernels against the CPU reference: the
// encoder's bidirectional buckets in dense attention and the decoder's causal ones in
// paged attention, unscaled scores as T5 has them, lengths past max_distance (the last,
// shared bucket) and head dim 64 (T5's) and 80, in every storage type. A bias sends any
// dtype to the warp kernel, which buckets from the host's bucket starts. Skips without a
// device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dense_attention.cuh"
#include "kernels/paged_attention.cuh"
#include "kernels/ref/attention.h"
#include "kernels/ref/dense_attention.h"
#include "runtime/backend/cuda/storage_type.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

constexpr int64_t kBuckets = 32, kMaxDistance = 128;

// As in the other attention tests: convex combinations of V, fp32 accumulation, one rounding.
double tolerance(DType dtype) { return dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1e-2; }

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, DType dtype) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_LE(std::abs(got[i] - want[i]), tolerance(dtype) * (1 + std::abs(want[i])))
        << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
}

class RelativeBiasGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// The encoder: every token of a 200-token input (past max_distance both ways) attends every
// other, batch of 2, 8 heads.
TEST_P(RelativeBiasGpu, EncoderDenseAttentionMatchesTheReference) {
  const DType dtype = GetParam();
  for (int64_t head_dim : {64, 80}) {
    SCOPED_TRACE("head_dim " + std::to_string(head_dim));
    const int64_t batch = 2, tokens = 200, heads = 8, n = batch * tokens * heads * head_dim;
    const std::vector<float> q = pattern(n, 1.0f, 1, dtype), k = pattern(n, 1.0f, 2, dtype),
                             v = pattern(n, 1.0f, 3, dtype), table = pattern(kBuckets * heads, 2.0f, 4, DType::f32);
    const ref::RelativePositionBias host_bias{
        .table = table.data(), .num_buckets = kBuckets, .max_distance = kMaxDistance, .bidirectional = true};
    std::vector<float> want(n);
    ref::dense_attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = want.data(), .batch = batch,
                          .tokens = tokens, .kv_tokens = tokens, .n_heads = heads, .n_kv_heads = heads,
                          .head_dim = head_dim, .scale = 1.0f, .bias = host_bias});
    DeviceBuffer d_q(q, dtype), d_k(k, dtype), d_v(v, dtype), d_out(std::vector<float>(n, NAN), dtype),
        d_table(table, DType::f32);
    ref::RelativePositionBias device_bias = host_bias;
    device_bias.table = d_table.get<float>();
    with_storage_type(dtype, [&]<class T>() {
      const kernels::DenseAttentionLaunch<T> launch{.q = d_q.get<T>(), .k = d_k.get<T>(), .v = d_v.get<T>(),
                                                    .out = d_out.get<T>(), .batch = batch, .tokens = tokens,
                                                    .kv_tokens = tokens, .q_heads = heads, .kv_heads = heads,
                                                    .head_dim = head_dim, .scale = 1.0f, .bias = device_bias,
                                                    .bias_starts = ref::relative_bucket_starts(kBuckets, kMaxDistance,
                                                                                               true)};
      ASSERT_EQ(kernels::launch_dense_attention(launch, nullptr), cudaSuccess);
    });
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_near_all(d_out.read(), want, dtype);
  }
}

// The decoder: one batch of a first token, a decode step at position 299 (past
// max_distance) and a 20-token chunk after 20 cached positions, each sequence's pages in
// reverse order in the pool.
TEST_P(RelativeBiasGpu, DecoderPagedAttentionMatchesTheReference) {
  const DType dtype = GetParam();
  const int64_t heads = 8, head_dim = 64, block_size = 16, row = heads * head_dim;
  const std::vector<int32_t> n_new = {1, 1, 20}, context = {1, 300, 40};
  std::vector<int32_t> query_start = {0};
  int64_t max_blocks = 0, blocks = 0;
  for (size_t s = 0; s < n_new.size(); ++s) {
    query_start.push_back(query_start.back() + n_new[s]);
    max_blocks = std::max<int64_t>(max_blocks, (context[s] + block_size - 1) / block_size);
    blocks += (context[s] + block_size - 1) / block_size;
  }
  std::vector<int32_t> tables(n_new.size() * max_blocks, 0);
  int32_t next = static_cast<int32_t>(blocks);
  for (size_t s = 0; s < n_new.size(); ++s) {
    for (int64_t b = 0; b < (context[s] + block_size - 1) / block_size; ++b) tables[s * max_blocks + b] = --next;
  }
  const int64_t tokens = query_start.back(), slots = blocks * block_size;
  const std::vector<float> q = pattern(tokens * row, 1.0f, 5, dtype), k = pattern(slots * row, 1.0f, 6, dtype),
                           v = pattern(slots * row, 1.0f, 7, dtype),
                           table = pattern(kBuckets * heads, 2.0f, 8, DType::f32);
  const ref::RelativePositionBias host_bias{
      .table = table.data(), .num_buckets = kBuckets, .max_distance = kMaxDistance, .bidirectional = false};
  std::vector<float> want(tokens * row);
  for (size_t s = 0; s < n_new.size(); ++s) {
    ref::attention({.q = q.data() + query_start[s] * row,
                    .k_cache = k.data(),
                    .v_cache = v.data(),
                    .block_table = tables.data() + s * max_blocks,
                    .out = want.data() + query_start[s] * row,
                    .tokens = n_new[s],
                    .q_start = context[s] - n_new[s],
                    .n_heads = heads,
                    .n_kv_heads = heads,
                    .head_dim = head_dim,
                    .block_size = block_size,
                    .scale = 1.0f,
                    .window = 0,
                    .bias = host_bias});
  }
  DeviceBuffer d_q(q, dtype), d_k(k, dtype), d_v(v, dtype), d_out(std::vector<float>(tokens * row, NAN), dtype),
      d_table(table, DType::f32), d_tables(tables.data(), tables.size() * 4),
      d_start(query_start.data(), query_start.size() * 4), d_lens(context.data(), context.size() * 4);
  ref::RelativePositionBias device_bias = host_bias;
  device_bias.table = d_table.get<float>();
  with_storage_type(dtype, [&]<class T>() {
    const kernels::PagedAttentionLaunch<T> launch{.q = d_q.get<T>(),
                                                  .out = d_out.get<T>(),
                                                  .k_cache = d_k.get<T>(),
                                                  .v_cache = d_v.get<T>(),
                                                  .block_tables = d_tables.get<int32_t>(),
                                                  .query_start = d_start.get<int32_t>(),
                                                  .context_lens = d_lens.get<int32_t>(),
                                                  .seqs = static_cast<int64_t>(n_new.size()),
                                                  .tokens = tokens,
                                                  .q_heads = heads,
                                                  .kv_heads = heads,
                                                  .head_dim = head_dim,
                                                  .block_size = block_size,
                                                  .max_blocks_per_seq = max_blocks,
                                                  .scale = 1.0f,
                                                  .window = 0,
                                                  .bias = device_bias,
                                                  .bias_starts = ref::relative_bucket_starts(kBuckets, kMaxDistance, false),
                                                  .max_query_len = 20,
                                                  .max_context_len = 300,
                                                  .cache_blocks = blocks};
    ASSERT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaSuccess);
  });
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  expect_near_all(d_out.read(), want, dtype);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RelativeBiasGpu, ::testing::Values(DType::f32, DType::bf16, DType::f16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace genrt
