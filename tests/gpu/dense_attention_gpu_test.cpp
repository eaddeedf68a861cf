// Non-causal attention on the GPU against the CPU reference: self-attention within
// equal-length sequences and cross-attention over keys of another length, through the
// tensor-core kernels (bf16, f16: the Hopper one at head dims 64, 128 and 256, the sm_80
// one at every tile, head dims between its tiles zero-padded) and the warp kernel (f32, and
// head dims 320 and 512). Query and key lengths 1 to 4097, head dims 40 to 512, GQA 1, 2, 4
// and 8, batches of 1 to 3, and sequences without keys (zeros). The op has no causal mode,
// mask or window (causal attention is paged_attention's, tested in
// paged_attention_gpu_test.cpp), so its only rows that see no key are those of an empty key
// sequence. Skips without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/dense_attention.cuh"
#include "kernels/ref/dense_attention.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "runtime/core/max_rel_diff.h"
#include "tests/gpu/attention_kernel_passes.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

// kv_tokens of a self-attention case: as many keys as queries (0 is a case of no keys).
constexpr int64_t kSelf = -1;

using Case = std::tuple<DType, int64_t /*batch*/, int64_t /*tokens*/, int64_t /*head_dim*/, int64_t /*kv_heads*/,
                        int64_t /*kv_tokens, kSelf for self-attention*/, int64_t /*q_heads*/>;

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
    // As paged attention: convex combinations of V, fp32 accumulation, one rounding. Without
    // keys the output is zeros exactly (kernels/ref/dense_attention.h), not merely small.
    const double tol = kv_tokens == 0 ? 0.0 : dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1e-2;
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
        // Fails on NaN (the memset's, or the kernel's), which no <= holds for.
        ASSERT_LE(std::abs(got[i] - expected[i]), tol * (1 + std::abs(expected[i])))
            << "element " << i << ": got " << got[i] << ", want " << expected[i];
      }
    }
  }
};

TEST_P(DenseAttentionGpu, MatchesReference) {
  const auto [dtype, batch, tokens, head_dim, kv_heads, kv_tokens, q_heads] = GetParam();
  with_storage_type(dtype, [&]<class T>() {
    run<T>(dtype, batch, tokens, head_dim, kv_heads, kv_tokens == kSelf ? tokens : kv_tokens, q_heads);
  });
}

// DiT-like token counts (16 = 4x4 patches, 256 = 16x16) and a ragged 77 (CLIP), batch 1
// and 3, head dims 64/72 (DiT-XL: the 80 tile zero-padded)/80/128, MHA and GQA.
INSTANTIATE_TEST_SUITE_P(Shapes, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f32), ::testing::Values<int64_t>(1, 3),
                                            ::testing::Values<int64_t>(16, 77, 256),
                                            ::testing::Values<int64_t>(64, 72, 80, 128),
                                            ::testing::Values<int64_t>(4, 2), ::testing::Values<int64_t>(kSelf),
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
                                            ::testing::Values<int64_t>(4), ::testing::Values<int64_t>(kSelf, 77),
                                            ::testing::Values<int64_t>(4)));

// The VAE mid block's single head of 512 features over its pixels (the warp kernel, 16
// features a lane: one busy warp of a block's four), and 4 query heads over one; ragged.
INSTANTIATE_TEST_SUITE_P(Wide, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(1), ::testing::Values<int64_t>(77, 1000),
                                            ::testing::Values<int64_t>(320, 512), ::testing::Values<int64_t>(1),
                                            ::testing::Values<int64_t>(kSelf), ::testing::Values<int64_t>(1, 4)));

// The tables below are pruned to keep the file's CPU reference (most of its run time, about
// a billion multiply-adds a second and core) to some 7e9 multiply-adds beyond the tables
// above: each axis has every value somewhere, not every combination.
//
// Lengths off every tile: 1, 17 and 127 queries (one short of the Hopper kernel's 128-row
// tile, a full and a 63-row tile of the sm_80 kernel's 64) over 1, 17, 127, 1000 and 4097
// keys (one past a whole number of every key tile), head dims 64 and 256 (key tiles of 128
// and 64 on Hopper, of 64 and 32 on sm_80), 4 query heads over one KV head, batch 2, so
// that a Hopper key tile past a sequence's last key holds the next sequence's keys (masked).
INSTANTIATE_TEST_SUITE_P(Lengths, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16), ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(1, 17, 127), ::testing::Values<int64_t>(64, 256),
                                            ::testing::Values<int64_t>(1),
                                            ::testing::Values<int64_t>(1, 17, 127, 1000, 4097),
                                            ::testing::Values<int64_t>(4)));

// Every tensor-core head dim (64, 128 and 256 on Hopper's kernel, 80, 96 and 160 on sm_80's
// alone) at GQA 1, 4 and 8 over 2 KV heads (query head h reads KV head h / group), 127
// tokens, batch 2.
INSTANTIATE_TEST_SUITE_P(HeadsGqa, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::f16, DType::bf16), ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(127),
                                            ::testing::Values<int64_t>(64, 80, 96, 128, 160, 256),
                                            ::testing::Values<int64_t>(2), ::testing::Values<int64_t>(kSelf),
                                            ::testing::Values<int64_t>(2, 8, 16)));

// Long sequences, one case each: 4097 tokens of self-attention (batch 1, 33 Hopper key tiles,
// the last of one key); 4097 queries over 77 text keys (d160, GQA 8), over one key, and in
// the warp kernel (f32); 17 and 1 queries over 4097 keys (d256 GQA 4, batch 3; d128 GQA 8);
// 1000 queries over 127 keys (d80, GQA 8).
INSTANTIATE_TEST_SUITE_P(Long, DenseAttentionGpu,
                         ::testing::Values(Case{DType::bf16, 1, 4097, 128, 1, kSelf, 1},
                                           Case{DType::f16, 1, 4097, 160, 1, 77, 8},
                                           Case{DType::f16, 2, 4097, 96, 2, 1, 8},
                                           Case{DType::f32, 2, 4097, 64, 1, 17, 4},
                                           Case{DType::bf16, 3, 17, 256, 2, 4097, 8},
                                           Case{DType::f16, 2, 1, 128, 2, 4097, 16},
                                           Case{DType::bf16, 2, 1000, 80, 2, 127, 16}));

// No keys (kv_tokens 0, which the op entry accepts): every row sees none, and the output is
// zeros, never the NaN the buffer held before. The tensor-core dtypes at head dim 64 (the
// Hopper launcher hands these to the sm_80 kernel: no keys for TMA to describe) and 96, the
// warp kernel at 512 and for f32; one query and 127, GQA 4.
INSTANTIATE_TEST_SUITE_P(ZeroKeys, DenseAttentionGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(2), ::testing::Values<int64_t>(1, 127),
                                            ::testing::Values<int64_t>(64, 96, 512), ::testing::Values<int64_t>(2),
                                            ::testing::Values<int64_t>(0), ::testing::Values<int64_t>(8)));

// The op entry without keys: k and v [2, 0, 2, 64] pass its checks and the output is zeros.
TEST(DenseAttentionGpuEntry, WithoutKeysGivesZeros) {
  GENRT_REQUIRE_GPU();
  const int64_t batch = 2, tokens = 127, q_heads = 8, kv_heads = 2, head_dim = 64;
  const int64_t n = batch * tokens * q_heads * head_dim;
  DeviceBuffer d_q(pattern(n, 1.0f, 1, DType::bf16), DType::bf16), d_out(std::vector<float>(n, NAN), DType::bf16);
  const Tensor kv = Tensor::zeros({batch, 0, kv_heads, head_dim}, DType::bf16, Device::cuda);
  {
    const CudaContext context{};
    const CudaScope scope(context);
    const Tensor q =
        Tensor::view_of(d_q.get<void>(), {batch, tokens, q_heads, head_dim}, DType::bf16, nullptr, Device::cuda);
    Tensor out = Tensor::view_of(d_out.get<void>(), q.shape(), DType::bf16, nullptr, Device::cuda);
    ops::dense_attention(q, kv, kv, 1.0f / 8, out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  const std::vector<float> got = d_out.read();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], 0.0f) << "element " << i;  // NaN != 0
}

// A key tile running past a sequence's keys holds the next sequence's values (the Hopper
// kernel loads whole tiles): a NaN among them must not reach this sequence, whose masked
// scores weigh them 0 (0 * NaN is NaN). 100 keys leave 28 or 92 stale rows in the last tile.
TEST(DenseAttentionGpuEntry, ANonFiniteValueStaysInItsSequence) {
  GENRT_REQUIRE_GPU();
  for (const int64_t head_dim : {64, 128, 256}) {
    const int64_t batch = 2, tokens = 100, heads = 2;
    const int64_t n = batch * tokens * heads * head_dim, per_sequence = n / batch;
    const std::vector<float> q = pattern(n, 1.0f, 1, DType::bf16), k = pattern(n, 1.0f, 2, DType::bf16);
    std::vector<float> v = pattern(n, 1.0f, 3, DType::bf16);
    std::fill(v.begin() + per_sequence, v.end(), NAN);  // the second sequence's values
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    std::vector<float> want(per_sequence);
    ref::dense_attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = want.data(), .batch = 1,
                          .tokens = tokens, .kv_tokens = tokens, .n_heads = heads, .n_kv_heads = heads,
                          .head_dim = head_dim, .scale = scale});
    DeviceBuffer d_q(q, DType::bf16), d_k(k, DType::bf16), d_v(v, DType::bf16), d_out(std::vector<float>(n), DType::bf16);
    {
      const CudaContext context{};
      const CudaScope scope(context);
      const auto view = [&](const DeviceBuffer& b) {
        return Tensor::view_of(b.get<void>(), {batch, tokens, heads, head_dim}, DType::bf16,
                               nullptr, Device::cuda);
      };
      Tensor out = view(d_out);
      ops::dense_attention(view(d_q), view(d_k), view(d_v), scale, out);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    }
    const std::vector<float> got = d_out.read();
    EXPECT_LE(max_rel_diff(got.data(), want.data(), static_cast<size_t>(per_sequence)), 1e-2)
        << "head dim " << head_dim;  // NaN fails max_rel_diff
  }
}

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
