// Elementwise activations on the GPU against the CPU references. Skip without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/activations.cuh"
#include "kernels/ref/activations.h"
#include "runtime/backend/cuda/storage_type.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

using Case = std::tuple<DType, ref::Activation, int64_t /*n*/>;

class ActivationGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(DType dtype, ref::Activation op, int64_t n) {
    // The gated ops read rows of 2 * cols: n / cols rows of a fused projection.
    const bool fused = ref::is_gated(op);
    const int64_t cols = fused ? std::min<int64_t>(n, 5632) : 0, rows = fused ? (n + cols - 1) / cols : 1;
    if (fused) n = rows * cols;
    const std::vector<float> x = pattern(fused ? 2 * n : n, 6.0f, 1, dtype), up = pattern(n, 2.0f, 2, dtype);
    const bool binary = ref::takes_up(op);
    DeviceBuffer d_x(x, dtype), d_up(up, dtype), d_out(std::vector<float>(n), dtype);
    const ref::ActivationArgs<T> args{.op = op,
                                      .x = d_x.get<T>(),
                                      .up = binary ? d_up.get<T>() : nullptr,
                                      .out = d_out.get<T>(),
                                      .n = n,
                                      .cols = cols};
    ASSERT_EQ(kernels::launch_activation(args, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<float> expected(n);
    ref::activation({.op = op,
                     .x = x.data(),
                     .up = binary ? up.data() : nullptr,
                     .out = expected.data(),
                     .n = n,
                     .cols = cols});
    // The same fp32 formula; device expf / erff / tanhf within a few ulp of libm's, one
    // rounding to T.
    const double tol = dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1e-2;
    const std::vector<float> got = d_out.read();
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << i;
  }
};

TEST_P(ActivationGpu, MatchesReference) {
  const auto [dtype, op, n] = GetParam();
  with_storage_type(dtype, [&]<class T>() { run<T>(dtype, op, n); });
}

INSTANTIATE_TEST_SUITE_P(Shapes, ActivationGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values(ref::Activation::swiglu, ref::Activation::silu,
                                                              ref::Activation::gelu_erf,
                                                              ref::Activation::gelu_tanh,
                                                              ref::Activation::gelu_quick,
                                                              ref::Activation::add, ref::Activation::relu,
                                                              ref::Activation::geglu),
                                            ::testing::Values<int64_t>(1, 1000, 5632 * 3 + 7)));

TEST(ActivationGpuLaunch, BinaryOpsNeedUpAndOnlyThey) {
  float dummy = 0;
  EXPECT_EQ(kernels::launch_activation<float>(
                {.op = ref::Activation::swiglu, .x = &dummy, .up = &dummy, .out = &dummy, .n = 1, .cols = 1}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_activation<float>({.op = ref::Activation::swiglu, .x = &dummy, .out = &dummy, .n = 3,
                                               .cols = 2},
                                              nullptr),
            cudaErrorInvalidValue);  // n not a whole number of rows
  EXPECT_EQ(kernels::launch_activation<float>(
                {.op = ref::Activation::silu, .x = &dummy, .up = &dummy, .out = &dummy, .n = 1}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_activation<float>({.op = ref::Activation::add, .x = &dummy, .out = &dummy, .n = 1},
                                              nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace genrt
