// Non-causal attention on the GPU against the CPU reference: self-attention within
// equal-length sequences and cross-attention over keys of another length, through the
// tensor-core kernel (bf16, f16; head dims between its tiles zero-padded) and the warp kernel
// (f32, and head dims 320 and 512).
// Skips without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/dense_attention.cuh"
#include "kernels/ref/dense_attention.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "tests/gpu/attention_kernel_passes.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

using Case = std::tuple<DType, int64_t /*batch*/, int64_t /*tokens*/, int64_t /*head_dim*/, int64_t /*kv_heads*/,
                        int64_t /*kv_tokens, 0 for self-attention*/, int64_t /*q_heads*/>;

class DenseAttentionGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(DType dtype, int64_t batch, int64_t tokens, int64_t head_dim, int64_t kv_heads, int64_t kv_tokens,
           int64_t q_heads) {
    const int64_t q_n = batch * tokens * q_heads * head_dim, kv_n = batch * kv_tokens * kv_heads * head_dim;
    const std::vector<float> q = pattern(q_n, 1.0f, 1, dtype), k = pattern(kv_n, 1.0f, 2, dtype),
                             v = pattern(kv_n, 1.0f, 3, dtype);
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    DeviceBuffer d_q(q, dtype), d_k(k, dtype), d_v(v, dtype), d_out(std::vector<float>(q_n), dtype);
    std::vector<float> expected(q_n);
    ref::dense_attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = expected.data(), .batch = batch,
                          .tokens = tokens, .kv_tokens = kv_tokens, .n_heads = q_heads, .n_kv_heads = kv_heads, .head_dim = head_dim,
                          .scale = scale});
    // As paged attention: convex combinations of V, fp32 accumulation, one rounding.
    const double tol = dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1e-2;
    kernels::DenseAttentionLaunch<T> launch{.q = d_q.get<T>(), .k = d_k.get<T>(), .v = d_v.get<T>(),
                                                  .out = d_out.get<T>(), .batch = batch, .tokens = tokens,
                                                  .kv_tokens = kv_tokens, .q_heads = q_heads, .kv_heads = kv_heads, .head_dim = head_dim,
                                                  .scale = scale};
    // Every kernel the device has for the case (attention_kernel_passes.h).
    for (const test::AttentionKernelPass& pass : test::kAttentionKernelPasses) {
      SCOPED_TRACE(pass.name);
      launch.max_compute_capability = pass.max_compute_capability;
      launch.hopper_schedule = pass.hopper_schedule;
      ASSERT_EQ(cudaMemset(d_out.get<void>(), 0xff, q_n * dtype_size(dtype)), cudaSuccess);  // NaN
      ASSERT_EQ(kernels::launch_dense_attention(launch, nullptr), cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      const std::vector<float> got = d_out.read();
      for (int64_t i = 0; i < q_n; ++i) {
        ASSERT_LE(std::abs(got[i] - expected[i]), tol * (1 + std::abs(expected[i]))) << "element " << i;
      }
    }
  }
};

TEST_P(DenseAttentionGpu, MatchesReference) {
  const auto [dtype, batch, tokens, head_dim, kv_heads, kv_tokens, q_heads] = GetParam();
  with_storage_type(dtype, [&]<class T>() {
    run<T>(dtype, batch, tokens, head_dim, kv_heads, kv_tokens ? kv_tokens : tokens, q_heads);
  });
}

// DiT-like token counts (16 = 4x4 patches, 256 = 16x16) and a ragged 77 (CLIP), batch 1
// and 3, head dims 64/72 (DiT-XL: the 80 tile zero-padded)/80/128, MHA and GQA.
INSTANTIATE_TEST_SUITE_P(Shapes, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f32), ::testing::Values<int64_t>(1, 3),
                                            ::testing::Values<int64_t>(16, 77, 256),
                                            ::testing::Values<int64_t>(64, 72, 80, 128),
                                            ::testing::Values<int64_t>(4, 2), ::testing::Values<int64_t>(0),
                                            ::testing::Values<int64_t>(4)));
// Cross-attention: queries over 77 text tokens (as in a UNet) and fewer queries than keys,
// head dims 64, 96 and 256.
INSTANTIATE_TEST_SUITE_P(Cross, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::f16, DType::bf16), ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(5, 1000),
                                            ::testing::Values<int64_t>(64, 96, 256), ::testing::Values<int64_t>(4),
                                            ::testing::Values<int64_t>(77, 1000), ::testing::Values<int64_t>(4)));

// Head dims between the tensor-core tiles, zero-padded to the next (40 at 64: SD 1.x's
// outer UNet level; 160 exactly: its inner ones), self-attention and cross-attention over
// 77 text tokens, ragged token counts.
INSTANTIATE_TEST_SUITE_P(Padded, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16), ::testing::Values<int64_t>(1, 2),
                                            ::testing::Values<int64_t>(77, 1000), ::testing::Values<int64_t>(40, 160),
                                            ::testing::Values<int64_t>(4), ::testing::Values<int64_t>(0, 77),
                                            ::testing::Values<int64_t>(4)));

// The VAE mid block's single head of 512 features over its pixels (the warp kernel, 16
// features a lane: one busy warp of a block's four), and 4 query heads over one; ragged.
INSTANTIATE_TEST_SUITE_P(Wide, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(1), ::testing::Values<int64_t>(77, 1000),
                                            ::testing::Values<int64_t>(320, 512), ::testing::Values<int64_t>(1),
                                            ::testing::Values<int64_t>(0), ::testing::Values<int64_t>(1, 4)));

// Beyond the kernel's head dims the op entry names the limit before any launch.
TEST(DenseAttentionGpuEntry, NamesTheHeadDimLimit) {
  GENRT_REQUIRE_GPU();
  const Tensor q = Tensor::zeros({1, 4, 2, 520}, DType::bf16, Device::cuda);
  Tensor out = Tensor::zeros({1, 4, 2, 520}, DType::bf16, Device::cuda);
  EXPECT_ERROR(ops::dense_attention(q, q, q, 1.0f, out),
               "dense_attention on the GPU supports head_dim from 1 to 512, got 520");
}

}  // namespace
}  // namespace genrt
