// Rotary embedding fused with the paged KV-cache write of a fused q/k/v projection's rows,
// against the CPU references of rope and kv_cache_write on the split rows. Skips, saying
// why, without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/ref/kv_cache_write.h"
#include "kernels/ref/rope.h"
#include "kernels/rope_kv_write.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

// The rows of a fused projection qkv [tokens, q_row + 2 kv_row] split into q, k, v.
struct SplitRows {
  std::vector<float> q, k, v;
};
SplitRows split_rows(const std::vector<float>& qkv, int64_t tokens, int64_t q_row, int64_t kv_row) {
  SplitRows parts;
  for (int64_t t = 0; t < tokens; ++t) {
    const auto row = qkv.begin() + t * (q_row + 2 * kv_row);
    parts.q.insert(parts.q.end(), row, row + q_row);
    parts.k.insert(parts.k.end(), row + q_row, row + q_row + kv_row);
    parts.v.insert(parts.v.end(), row + q_row + kv_row, row + q_row + 2 * kv_row);
  }
  return parts;
}

using Case = std::tuple<DType, int64_t /*head_dim*/, int64_t /*q_heads*/, int64_t /*kv_heads*/, ref::RopeLayout>;

class RopeKvWriteGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(DType dtype, int64_t head_dim, int64_t q_heads, int64_t kv_heads, ref::RopeLayout layout) {
    // Two sequences in one launch: 5 new tokens at positions 0..4 and 19 at 30..48 (a
    // prefill chunk crossing block boundaries), in a pool of 8 blocks of 16 given out of order.
    constexpr int64_t kBlockSize = 16, kBlocks = 8;
    const std::vector<int32_t> table_a = {6}, table_b = {2, 0, 5, 7};
    std::vector<int32_t> positions, slots;
    for (int32_t p = 0; p < 5; ++p) positions.push_back(p), slots.push_back(table_a[p / 16] * 16 + p % 16);
    for (int32_t p = 30; p < 49; ++p) positions.push_back(p), slots.push_back(table_b[p / 16] * 16 + p % 16);
    const auto tokens = static_cast<int64_t>(positions.size());
    const int64_t q_row = q_heads * head_dim, kv_row = kv_heads * head_dim, cache_n = kBlocks * kBlockSize * kv_row;
    std::vector<float> inv_freq(head_dim / 2);
    for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq[i] = std::pow(10000.0f, -2.0f * i / head_dim);

    const std::vector<float> qkv = pattern(tokens * (q_row + 2 * kv_row), 1.0f, 1, dtype);
    DeviceBuffer d_qkv(qkv, dtype), d_q(std::vector<float>(tokens * q_row), dtype),
        d_kc(std::vector<float>(cache_n), dtype), d_vc(std::vector<float>(cache_n), dtype),
        d_pos(positions.data(), positions.size() * 4), d_slots(slots.data(), slots.size() * 4),
        d_freq(inv_freq, DType::f32);
    const kernels::RopeKvLaunch<T> launch{.qkv = d_qkv.get<T>(),
                                          .q = d_q.get<T>(),
                                          .k_cache = d_kc.get<T>(),
                                          .v_cache = d_vc.get<T>(),
                                          .positions = d_pos.get<int32_t>(),
                                          .slots = d_slots.get<int32_t>(),
                                          .inv_freq = d_freq.get<float>(),
                                          .tokens = tokens,
                                          .q_heads = q_heads,
                                          .kv_heads = kv_heads,
                                          .head_dim = head_dim,
                                          .layout = layout};
    ASSERT_EQ(kernels::launch_rope_kv_write(launch, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    SplitRows want = split_rows(qkv, tokens, q_row, kv_row);
    ref::rope(want.q.data(), positions.data(), inv_freq.data(), tokens, q_heads, head_dim, layout);
    ref::rope(want.k.data(), positions.data(), inv_freq.data(), tokens, kv_heads, head_dim, layout);
    std::vector<float> k_cache(cache_n), v_cache(cache_n);
    ref::kv_cache_write({.k = want.k.data(), .v = want.v.data(), .slots = slots.data(), .k_cache = k_cache.data(),
                         .v_cache = v_cache.data(), .tokens = tokens, .row = kv_row});
    // One rounding of an fp32 rotation of exact inputs; sincosf within 2 ulp of libm's.
    const double tol = dtype == DType::f32 ? 2e-5 : dtype == DType::f16 ? 2e-3 : 1e-2;
    const std::vector<float> got_q = d_q.read(), got_k = d_kc.read(), got_v = d_vc.read();
    for (size_t i = 0; i < want.q.size(); ++i) {
      ASSERT_NEAR(got_q[i], want.q[i], tol * (1 + std::abs(want.q[i]))) << "q " << i;
    }
    for (int64_t i = 0; i < cache_n; ++i) {
      ASSERT_NEAR(got_k[i], k_cache[i], tol * (1 + std::abs(k_cache[i]))) << "k cache " << i;
      ASSERT_EQ(got_v[i], v_cache[i]) << "v cache " << i;  // a copy
    }
  }
};

TEST_P(RopeKvWriteGpu, MatchesReference) {
  const auto [dtype, head_dim, q_heads, kv_heads, layout] = GetParam();
  with_storage_type(dtype, [&]<class T>() { run<T>(dtype, head_dim, q_heads, kv_heads, layout); });
}

// Head dims 64/80/128; MHA, GQA 4:1 and 8:1; both pair layouts.
INSTANTIATE_TEST_SUITE_P(Shapes, RopeKvWriteGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(64, 80, 128),
                                            ::testing::Values<int64_t>(8), ::testing::Values<int64_t>(8, 2, 1),
                                            ::testing::Values(ref::RopeLayout::rotate_half,
                                                              ref::RopeLayout::interleaved)));

// Without inv_freq the kernel splits the rows as they are (GPT-2): queries copied to q,
// keys and values into their slots.
TEST(RopeKvWriteGpuPlain, CopiesQueriesKeysAndValues) {
  GENRT_REQUIRE_GPU();
  const int64_t tokens = 3, q_row = 4 * 64, kv_row = 2 * 64, cache_n = 4 * 16 * kv_row;
  const std::vector<int32_t> slots = {17, 3, 40};
  const std::vector<float> qkv = pattern(tokens * (q_row + 2 * kv_row), 1.0f, 1, DType::bf16);
  DeviceBuffer d_qkv(qkv, DType::bf16), d_q(std::vector<float>(tokens * q_row), DType::bf16),
      d_kc(std::vector<float>(cache_n), DType::bf16), d_vc(std::vector<float>(cache_n), DType::bf16),
      d_slots(slots.data(), slots.size() * 4);
  const kernels::RopeKvLaunch<__nv_bfloat16> launch{.qkv = d_qkv.get<__nv_bfloat16>(),
                                                    .q = d_q.get<__nv_bfloat16>(),
                                                    .k_cache = d_kc.get<__nv_bfloat16>(),
                                                    .v_cache = d_vc.get<__nv_bfloat16>(),
                                                    .slots = d_slots.get<int32_t>(),
                                                    .tokens = tokens,
                                                    .q_heads = 4,
                                                    .kv_heads = 2,
                                                    .head_dim = 64};
  ASSERT_EQ(kernels::launch_rope_kv_write(launch, nullptr), cudaSuccess);
  const SplitRows want = split_rows(qkv, tokens, q_row, kv_row);
  std::vector<float> k_cache(cache_n), v_cache(cache_n);
  ref::kv_cache_write({.k = want.k.data(), .v = want.v.data(), .slots = slots.data(), .k_cache = k_cache.data(),
                       .v_cache = v_cache.data(), .tokens = tokens, .row = kv_row});
  EXPECT_EQ(d_q.read(), want.q);
  EXPECT_EQ(d_kc.read(), k_cache);
  EXPECT_EQ(d_vc.read(), v_cache);
}

TEST(RopeKvWriteGpuLaunch, RejectsOddHeadDimWhenRotatingAndMissingBuffers) {
  float dummy = 1.0f;
  const kernels::RopeKvLaunch<float> odd{.qkv = &dummy, .q = &dummy, .inv_freq = &dummy, .tokens = 1, .q_heads = 1,
                                         .kv_heads = 1, .head_dim = 65};
  EXPECT_EQ(kernels::launch_rope_kv_write(odd, nullptr), cudaErrorInvalidValue);
  const kernels::RopeKvLaunch<float> no_q{.qkv = &dummy, .tokens = 1, .q_heads = 1, .kv_heads = 1, .head_dim = 64};
  EXPECT_EQ(kernels::launch_rope_kv_write(no_q, nullptr), cudaErrorInvalidValue);
  // Rows of keys and values only have no queries to rotate with them.
  const kernels::RopeKvLaunch<float> rotating_kv{.qkv = &dummy, .inv_freq = &dummy, .tokens = 1, .q_heads = 0,
                                                 .kv_heads = 1, .head_dim = 64};
  EXPECT_EQ(kernels::launch_rope_kv_write(rotating_kv, nullptr), cudaErrorInvalidValue);
}

// An encoder-decoder's cross-attention rows [tokens, keys | values] through the op entry
// (the rope kernel with no query heads): written at their slots, untouched elsewhere.
TEST(KvCacheWriteGpu, WritesKeysAndValuesAtTheirSlots) {
  GENRT_REQUIRE_GPU();
  const int64_t tokens = 20, kv_heads = 8, head_dim = 64, row = kv_heads * head_dim, block_size = 16, blocks = 3;
  const int64_t cache_n = blocks * block_size * row;
  std::vector<int32_t> positions, slots;
  const int32_t table[2] = {2, 0};
  for (int32_t p = 0; p < tokens; ++p) positions.push_back(p), slots.push_back(table[p / 16] * 16 + p % 16);
  const int32_t query_start[2] = {0, static_cast<int32_t>(tokens)}, context_lens[1] = {static_cast<int32_t>(tokens)};
  const std::vector<float> kv = pattern(tokens * 2 * row, 1.0f, 4, DType::bf16);
  DeviceBuffer d_kv(kv, DType::bf16), d_kc(std::vector<float>(cache_n, 7.0f), DType::bf16),
      d_vc(std::vector<float>(cache_n, 7.0f), DType::bf16), d_pos(positions.data(), positions.size() * 4),
      d_slots(slots.data(), slots.size() * 4), d_start(query_start, 8), d_lens(context_lens, 4), d_table(table, 8);
  const auto view = [](const DeviceBuffer& b, Shape shape, DType dtype) {
    return Tensor::view_of(b.get<void>(), std::move(shape), dtype, nullptr, Device::cuda);
  };
  Tensor k_cache = view(d_kc, {blocks, block_size, kv_heads, head_dim}, DType::bf16);
  Tensor v_cache = view(d_vc, {blocks, block_size, kv_heads, head_dim}, DType::bf16);
  const PagedBatch batch{.positions = view(d_pos, {tokens}, DType::i32),
                         .slots = view(d_slots, {tokens}, DType::i32),
                         .query_start = view(d_start, {2}, DType::i32),
                         .context_lens = view(d_lens, {1}, DType::i32),
                         .block_tables = view(d_table, {1, 2}, DType::i32),
                         .block_size = block_size};
  const CudaContext context{};
  const CudaScope scope(context);
  ops::kv_cache_write(view(d_kv, {tokens, 2 * row}, DType::bf16), batch, k_cache, v_cache);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> k, v, expected_k(cache_n, 7.0f), expected_v(cache_n, 7.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    k.insert(k.end(), kv.begin() + t * 2 * row, kv.begin() + t * 2 * row + row);
    v.insert(v.end(), kv.begin() + t * 2 * row + row, kv.begin() + (t + 1) * 2 * row);
  }
  ref::kv_cache_write({.k = k.data(), .v = v.data(), .slots = slots.data(), .k_cache = expected_k.data(),
                       .v_cache = expected_v.data(), .tokens = tokens, .row = row});
  EXPECT_EQ(d_kc.read(), expected_k);
  EXPECT_EQ(d_vc.read(), expected_v);
}

// Through the op entry: the fused rotation names its even head dim before any launch; the
// plain split takes an odd one.
TEST(RopeKvWriteGpuEntry, OddHeadDimIsAClearErrorOnlyWhenRotating) {
  GENRT_REQUIRE_GPU();
  const int64_t head_dim = 65, q_row = 2 * head_dim, kv_row = 2 * head_dim, cache_n = 4 * kv_row;
  const std::vector<float> qkv = pattern(q_row + 2 * kv_row, 1.0f, 1, DType::bf16);
  const int32_t positions[1] = {2}, slots[1] = {2}, query_start[2] = {0, 1}, context_lens[1] = {3}, table[1] = {0};
  DeviceBuffer d_qkv(qkv, DType::bf16), d_q(std::vector<float>(q_row), DType::bf16),
      d_kc(std::vector<float>(cache_n), DType::bf16), d_vc(std::vector<float>(cache_n), DType::bf16),
      d_pos(positions, 4), d_slots(slots, 4), d_start(query_start, 8), d_lens(context_lens, 4), d_table(table, 4);
  const auto view = [](const DeviceBuffer& b, Shape shape, DType dtype) {
    return Tensor::view_of(b.get<void>(), std::move(shape), dtype, nullptr, Device::cuda);
  };
  const Tensor t_qkv = view(d_qkv, {1, q_row + 2 * kv_row}, DType::bf16);
  Tensor t_q = view(d_q, {1, 2, head_dim}, DType::bf16);
  Tensor k_cache = view(d_kc, {1, 4, 2, head_dim}, DType::bf16), v_cache = view(d_vc, {1, 4, 2, head_dim}, DType::bf16);
  const PagedBatch batch{.positions = view(d_pos, {1}, DType::i32),
                         .slots = view(d_slots, {1}, DType::i32),
                         .query_start = view(d_start, {2}, DType::i32),
                         .context_lens = view(d_lens, {1}, DType::i32),
                         .block_tables = view(d_table, {1, 1}, DType::i32),
                         .block_size = 4};
  const Tensor inv_freq = Tensor::zeros({head_dim / 2}, DType::f32, Device::cuda);
  EXPECT_ERROR(ops::qkv_cache_write(t_qkv, batch, inv_freq, ref::RopeLayout::rotate_half, t_q, k_cache, v_cache),
               "qkv_cache_write: head_dim 65 must be even");

  const CudaContext context{};
  const CudaScope scope(context);
  ops::qkv_cache_write(t_qkv, batch, Tensor(), ref::RopeLayout::rotate_half, t_q, k_cache, v_cache);
  const SplitRows want = split_rows(qkv, 1, q_row, kv_row);
  std::vector<float> expected_k(cache_n), expected_v(cache_n);
  ref::kv_cache_write({.k = want.k.data(), .v = want.v.data(), .slots = slots, .k_cache = expected_k.data(),
                       .v_cache = expected_v.data(), .tokens = 1, .row = kv_row});
  EXPECT_EQ(d_q.read(), want.q);
  EXPECT_EQ(d_kc.read(), expected_k);
  EXPECT_EQ(d_vc.read(), expected_v);
}

}  // namespace
}  // namespace genrt
