// The runtime's cuBLASLt GEMM (y = x w^T + bias) against the CPU reference matmul. Skips
// without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/ref/matmul.h"
#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/core/error.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

using Case = std::tuple<DType, int64_t /*m*/, int64_t /*n*/, int64_t /*k*/, bool /*bias*/>;

class CublasLtGemmGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(CublasLtGemmGpu, MatchesReference) {
  const auto [dtype, m, n, k, with_bias] = GetParam();
  const std::vector<float> x = pattern(m * k, 1.0f, 1, dtype), w = pattern(n * k, 0.05f, 2, dtype);
  const std::vector<float> bias = with_bias ? pattern(n, 0.5f, 3, dtype) : std::vector<float>{};
  DeviceBuffer d_x(x, dtype), d_w(w, dtype), d_bias(bias, dtype), d_y(std::vector<float>(m * n), dtype),
      d_workspace(std::vector<float>(CublasLtGemm::kWorkspaceBytes / 4), DType::f32);
  CublasLtGemm gemm(d_workspace.get<void>(), CublasLtGemm::kWorkspaceBytes);
  gemm.linear(d_x.get<void>(), d_w.get<void>(), with_bias ? d_bias.get<void>() : nullptr, d_y.get<void>(), m, n, k,
              dtype, dtype, nullptr);
  gemm.linear(d_x.get<void>(), d_w.get<void>(), with_bias ? d_bias.get<void>() : nullptr, d_y.get<void>(), m, n, k,
              dtype, dtype, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(gemm.cached_plans(), 1u);  // the second call reused the first's plan

  std::vector<float> expected(m * n);
  ref::matmul(x.data(), w.data(), with_bias ? bias.data() : nullptr, expected.data(), m, n, k);
  // Exact products of 16-bit inputs summed in fp32 (order differs: ~k * 2^-24 relative of
  // the sum of |terms|), then one rounding of the output: 2^-8 (bf16) or 2^-11 (fp16).
  const double tol = dtype == DType::bf16 ? 8e-3 : 1e-3;
  const std::vector<float> got = d_y.read();
  for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << i;
}

// m: decode (1), a ragged prefill (17), a full tile (128); n and k: head-sized and odd
// widths; with and without the bias epilogue.
INSTANTIATE_TEST_SUITE_P(Shapes, CublasLtGemmGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16),
                                            ::testing::Values<int64_t>(1, 17, 128),
                                            ::testing::Values<int64_t>(64, 80, 2048),
                                            ::testing::Values<int64_t>(128, 5632), ::testing::Bool()));

// The LM head: bf16 operands, fp32 logits.
TEST(CublasLtGemmGpuF32Out, Bf16OperandsToF32Logits) {
  GENRT_REQUIRE_GPU();
  const int64_t m = 3, n = 32000, k = 256;
  const std::vector<float> x = pattern(m * k, 1.0f, 1, DType::bf16), w = pattern(n * k, 0.05f, 2, DType::bf16);
  DeviceBuffer d_x(x, DType::bf16), d_w(w, DType::bf16), d_y(std::vector<float>(m * n), DType::f32),
      d_workspace(std::vector<float>(CublasLtGemm::kWorkspaceBytes / 4), DType::f32);
  CublasLtGemm gemm(d_workspace.get<void>(), CublasLtGemm::kWorkspaceBytes);
  gemm.linear(d_x.get<void>(), d_w.get<void>(), nullptr, d_y.get<void>(), m, n, k, DType::bf16, DType::f32, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> expected(m * n);
  ref::matmul(x.data(), w.data(), nullptr, expected.data(), m, n, k);
  const std::vector<float> got = d_y.read();
  for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(got[i], expected[i], 1e-4 * (1 + std::abs(expected[i]))) << i;
}

// A fused layer's parts, each into its own output (linear_parts: a strided batch, x shared):
// q, k and v of a DiT-XL block (m 512, 1152 features), a UNet cross-attention's k and v of
// 77 text rows, a VAE attention's q, k and v, each against the reference per part, and
// in one batched GEMM (one plan: the per-part fallback would make two).
TEST(CublasLtGemmGpuParts, EachPartMatchesItsReference) {
  GENRT_REQUIRE_GPU();
  struct Shape {
    DType dtype;
    int64_t parts, m, n, k;
    bool bias;
  };
  for (const Shape& s : {Shape{DType::bf16, 3, 512, 1152, 1152, true}, Shape{DType::f16, 2, 77, 320, 768, false},
                         Shape{DType::bf16, 3, 17, 512, 512, true}, Shape{DType::f16, 3, 1, 64, 128, true}}) {
    SCOPED_TRACE(testing::Message() << s.parts << " parts, m " << s.m << " n " << s.n << " k " << s.k);
    const std::vector<float> x = pattern(s.m * s.k, 1.0f, 1, s.dtype), w = pattern(s.parts * s.n * s.k, 0.05f, 2, s.dtype);
    const std::vector<float> bias = s.bias ? pattern(s.parts * s.n, 0.5f, 3, s.dtype) : std::vector<float>{};
    DeviceBuffer d_x(x, s.dtype), d_w(w, s.dtype), d_bias(bias, s.dtype),
        d_y(std::vector<float>(s.parts * s.m * s.n, NAN), s.dtype),
        d_workspace(std::vector<float>(CublasLtGemm::kWorkspaceBytes / 4), DType::f32);
    CublasLtGemm gemm(d_workspace.get<void>(), CublasLtGemm::kWorkspaceBytes);
    gemm.linear_parts(d_x.get<void>(), d_w.get<void>(), s.bias ? d_bias.get<void>() : nullptr, d_y.get<void>(),
                      s.parts, s.m, s.n, s.k, s.dtype, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(gemm.cached_plans(), 1u) << "the parts ran as separate GEMMs";
    const std::vector<float> got = d_y.read();
    const double tol = s.dtype == DType::bf16 ? 8e-3 : 1e-3;  // as MatchesReference
    for (int64_t p = 0; p < s.parts; ++p) {
      std::vector<float> expected(s.m * s.n);
      ref::matmul(x.data(), w.data() + p * s.n * s.k, s.bias ? bias.data() + p * s.n : nullptr, expected.data(), s.m,
                  s.n, s.k);
      for (int64_t i = 0; i < s.m * s.n; ++i) {
        ASSERT_NEAR(got[p * s.m * s.n + i], expected[i], tol * (1 + std::abs(expected[i]))) << "part " << p << ", " << i;
      }
    }
  }
}

TEST(CublasLtGemmGpuErrors, UnsupportedDtypeIsAClearError) {
  GENRT_REQUIRE_GPU();
  CublasLtGemm gemm(nullptr, 0);
  try {
    gemm.linear(nullptr, nullptr, nullptr, nullptr, 4, 4, 4, DType::f32, DType::f32, nullptr);
    FAIL() << "an f32 GEMM was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32 operands are not supported"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace genrt
