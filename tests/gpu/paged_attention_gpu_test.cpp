// Paged causal attention for a mixed batch (a one-token context, a decode step, a prefill
// chunk) in one launch, with and without a sliding window, against the CPU reference run
// per sequence. Skips without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/paged_attention.cuh"
#include "kernels/ref/attention.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

using Case =
    std::tuple<DType, int64_t /*head_dim*/, int64_t /*q_heads*/, int64_t /*kv_heads*/, int64_t /*window*/>;

struct Sequence {
  int64_t n_new;
  int64_t context;  // positions cached after the step, the new ones included
  std::vector<int32_t> blocks;
};

class PagedAttentionGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(DType dtype, int64_t head_dim, int64_t q_heads, int64_t kv_heads, int64_t window) {
    // Block kPoison holds NaN keys and values: it stands for the blocks a window gave back
    // to the pool, which attention must never read.
    constexpr int64_t kBlockSize = 16, kBlocks = 13, kMaxBlocks = 4, kPoison = 12;
    // The first token of a sequence (batch of one position), a decode step at position 36,
    // and a 20-token prefill chunk at positions 13..32 (not a multiple of the block size).
    std::vector<Sequence> seqs = {{1, 1, {9}}, {1, 37, {3, 11, 0}}, {20, 33, {5, 1, 7}}};
    std::vector<int32_t> query_start = {0}, context_lens, tables(seqs.size() * kMaxBlocks, 0);
    for (size_t s = 0; s < seqs.size(); ++s) {
      const int64_t first_read = ref::first_attended_position(seqs[s].context - seqs[s].n_new, window);
      std::fill_n(seqs[s].blocks.begin(), first_read / kBlockSize, static_cast<int32_t>(kPoison));
      query_start.push_back(query_start.back() + static_cast<int32_t>(seqs[s].n_new));
      context_lens.push_back(static_cast<int32_t>(seqs[s].context));
      std::copy(seqs[s].blocks.begin(), seqs[s].blocks.end(), tables.begin() + s * kMaxBlocks);
    }
    const int64_t tokens = query_start.back(), kv_row = kv_heads * head_dim, q_row = q_heads * head_dim;
    const std::vector<float> q = pattern(tokens * q_row, 1.0f, 1, dtype);
    std::vector<float> k_cache = pattern(kBlocks * kBlockSize * kv_row, 1.0f, 2, dtype);
    std::vector<float> v_cache = pattern(kBlocks * kBlockSize * kv_row, 1.0f, 3, dtype);
    for (auto* cache : {&k_cache, &v_cache}) {
      std::fill(cache->begin() + kPoison * kBlockSize * kv_row, cache->end(), NAN);
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    DeviceBuffer d_q(q, dtype), d_out(std::vector<float>(tokens * q_row), dtype), d_k(k_cache, dtype),
        d_v(v_cache, dtype), d_tables(tables.data(), tables.size() * 4),
        d_start(query_start.data(), query_start.size() * 4), d_lens(context_lens.data(), context_lens.size() * 4);
    const kernels::PagedAttentionLaunch<T> launch{.q = d_q.get<T>(),
                                                  .out = d_out.get<T>(),
                                                  .k_cache = d_k.get<T>(),
                                                  .v_cache = d_v.get<T>(),
                                                  .block_tables = d_tables.get<int32_t>(),
                                                  .query_start = d_start.get<int32_t>(),
                                                  .context_lens = d_lens.get<int32_t>(),
                                                  .seqs = static_cast<int64_t>(seqs.size()),
                                                  .tokens = tokens,
                                                  .q_heads = q_heads,
                                                  .kv_heads = kv_heads,
                                                  .head_dim = head_dim,
                                                  .block_size = kBlockSize,
                                                  .max_blocks_per_seq = kMaxBlocks,
                                                  .scale = scale,
                                                  .window = window};
    ASSERT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    std::vector<float> expected(tokens * q_row);
    for (size_t s = 0; s < seqs.size(); ++s) {
      ref::attention({.q = q.data() + query_start[s] * q_row,
                      .k_cache = k_cache.data(),
                      .v_cache = v_cache.data(),
                      .block_table = seqs[s].blocks.data(),
                      .out = expected.data() + query_start[s] * q_row,
                      .tokens = seqs[s].n_new,
                      .q_start = seqs[s].context - seqs[s].n_new,
                      .n_heads = q_heads,
                      .n_kv_heads = kv_heads,
                      .head_dim = head_dim,
                      .block_size = kBlockSize,
                      .scale = scale,
                      .window = window});
    }
    // Outputs are convex combinations of V rows (|v| <= 1.3): fp32 accumulation, __expf
    // (2 ulp), then one rounding to T. ASSERT_NEAR fails on NaN (a poisoned block read).
    const double tol = dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1e-2;
    const std::vector<float> got = d_out.read();
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << "element " << i << " (token "
                                                                          << i / q_row << ")";
    }
  }
};

TEST_P(PagedAttentionGpu, MixedBatchMatchesReference) {
  const auto [dtype, head_dim, q_heads, kv_heads, window] = GetParam();
  with_storage_type(dtype, [&]<class T>() { run<T>(dtype, head_dim, q_heads, kv_heads, window); });
}

// Head dims 64/80/128/256; 6 query heads (not a multiple of the 4 warps of a block) over
// 6, 3 or 1 KV heads (MHA, GQA 2:1, MQA), and 8 over 2 (GQA 4:1).
INSTANTIATE_TEST_SUITE_P(Shapes, PagedAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(64, 80, 128, 256),
                                            ::testing::Values<int64_t>(6), ::testing::Values<int64_t>(6, 3, 1),
                                            ::testing::Values<int64_t>(0)));
INSTANTIATE_TEST_SUITE_P(Gqa4, PagedAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16), ::testing::Values<int64_t>(64, 128),
                                            ::testing::Values<int64_t>(8), ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(0)));
// Sliding windows: 1 (each query sees only itself), 5 (the decode step's window starts
// exactly at its block 2: blocks 0 and 1 poisoned), 16 and 17 (windows starting mid-block,
// block 0 poisoned) and 40 (wider than every context: no effect). Each query of the prefill
// chunk has its own first key.
INSTANTIATE_TEST_SUITE_P(Windows, PagedAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f32),
                                            ::testing::Values<int64_t>(64, 128), ::testing::Values<int64_t>(8),
                                            ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(1, 5, 16, 17, 40)));

TEST(PagedAttentionGpuLaunch, RejectsImpossibleShapes) {
  kernels::PagedAttentionLaunch<float> launch{.seqs = 1, .tokens = 1, .q_heads = 6, .kv_heads = 4, .head_dim = 64,
                                              .block_size = 16};
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);  // 6 % 4
  launch.kv_heads = 2;
  launch.head_dim = 512;
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
  launch.head_dim = 64;
  launch.q_heads = launch.kv_heads = 4 * 65536;  // more head blocks than the grid's y axis holds
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
  launch.q_heads = launch.kv_heads = 4;
  launch.window = -1;
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
}

// Beyond the kernel's head dims the op entry names the limit before any launch.
TEST(PagedAttentionGpuEntry, NamesTheHeadDimLimit) {
  GENRT_REQUIRE_GPU();
  const int64_t head_dim = 320;
  const Tensor q = Tensor::zeros({1, 2, head_dim}, DType::bf16, Device::cuda);
  const Tensor cache = Tensor::zeros({1, 16, 2, head_dim}, DType::bf16, Device::cuda);
  Tensor out = Tensor::zeros({1, 2, head_dim}, DType::bf16, Device::cuda);
  const PagedBatch batch{.positions = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .slots = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .query_start = Tensor::zeros({2}, DType::i32, Device::cuda),
                         .context_lens = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .block_tables = Tensor::zeros({1, 1}, DType::i32, Device::cuda),
                         .block_size = 16};
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out),
               "paged_attention on the GPU supports head_dim from 1 to 256, got 320");
}

}  // namespace
}  // namespace genrt
