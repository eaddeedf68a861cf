// The benchmark's in-process GPU peers compute what genrt's ops compute: cuBLAS against
// the CPU GEMM, cuDNN's SDPA against the CPU attention on genrt's own layouts (dense rows,
// and the paged cache with each sequence's blocks in a row) -- so a ratio_vs_peer compares
// like with like. Skip without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench/harness/cuda_peers.h"
#include "kernels/ref/dense_attention.h"
#include "kernels/ref/matmul.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/core/max_rel_diff.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

#ifdef GENRT_HAVE_CUDNN_SDPA
#include "bench/harness/cudnn_sdpa_peer.h"
#endif

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

// The peers run on the current CudaContext's stream: the default stream here.
class BenchPeersGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
  CudaScope scope_{context_};
  static inline const CudaContext context_{};
};

Tensor device_view(const DeviceBuffer& b, Shape shape, DType dtype) {
  return Tensor::view_of(b.get<void>(), std::move(shape), dtype, nullptr, Device::cuda);
}

TEST_F(BenchPeersGpu, CublasLinearMatchesTheCpuGemm) {
  const int64_t m = 37, n = 96, k = 80;
  const std::vector<float> x = pattern(m * k, 0.5f, 1, DType::bf16), w = pattern(n * k, 0.5f, 2, DType::bf16);
  DeviceBuffer dx(x, DType::bf16), dw(w, DType::bf16), dy(std::vector<float>(m * n), DType::bf16);
  Tensor y = device_view(dy, {m, n}, DType::bf16);
  bench::cublas_linear(device_view(dx, {m, k}, DType::bf16), device_view(dw, {n, k}, DType::bf16), y);
  std::vector<float> expected(m * n);
  ref::matmul(x.data(), w.data(), nullptr, expected.data(), m, n, k);
  const std::vector<float> got = dy.read();
  EXPECT_LE(max_rel_diff(got.data(), expected.data(), expected.size()), 1e-2);  // one bf16 rounding
}

#ifdef GENRT_HAVE_CUDNN_SDPA
TEST_F(BenchPeersGpu, CudnnSdpaMatchesTheCpuAttentionOnGenrtsDenseLayout) {
  const int64_t b = 2, s = 100, h = 4, kv = 2, d = 64;
  const std::vector<float> q = pattern(b * s * h * d, 1.0f, 3, DType::bf16);
  const std::vector<float> k = pattern(b * s * kv * d, 1.0f, 4, DType::bf16), v = pattern(b * s * kv * d, 1.0f, 5, DType::bf16);
  DeviceBuffer dq(q, DType::bf16), dk(k, DType::bf16), dv(v, DType::bf16), dout(std::vector<float>(q.size()), DType::bf16);
  const float scale = 0.125f;
  bench::CudnnSdpa sdpa({.batch = b, .heads = h, .kv_heads = kv, .seq = s, .head_dim = d, .causal = false,
                         .scale = scale, .q_stride = {s * h * d, d, h * d, 1}, .kv_stride = {s * kv * d, d, kv * d, 1}},
                        DType::bf16);
  sdpa.run(dq.get<void>(), dk.get<void>(), dv.get<void>(), dout.get<void>());
  std::vector<float> expected(q.size());
  ref::dense_attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = expected.data(), .batch = b, .tokens = s,
                        .kv_tokens = s, .n_heads = h, .n_kv_heads = kv, .head_dim = d, .scale = scale});
  const std::vector<float> got = dout.read();
  EXPECT_LE(max_rel_diff(got.data(), expected.data(), expected.size()), 2e-2);
}
#endif

TEST(BenchPeersWithoutGpu, CudnnPeerSaysWhyItCannotRun) {
#ifdef GENRT_HAVE_CUDNN_SDPA
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the tests above cover the peer";
  EXPECT_ERROR(bench::CudnnSdpa({.batch = 1, .heads = 1, .kv_heads = 1, .seq = 16, .head_dim = 64}, DType::bf16),
               "cuDNN SDPA peer: ");
#else
  GTEST_SKIP() << "this build has no cuDNN peer (no cudnn-frontend headers)";
#endif
}

}  // namespace
}  // namespace genrt
