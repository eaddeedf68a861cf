// The row-normalization kernel (RMSNorm, LayerNorm, fused residual add, adaLN) against the
// CPU references. Skips, saying why, without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/norm.cuh"
#include "kernels/ref/norm.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

enum class Variant { rms, rms_add, layer_add_bias, adaln, adaln_gated };

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::rms: return "rms";
    case Variant::rms_add: return "rms_add";
    case Variant::layer_add_bias: return "layer_add_bias";
    case Variant::adaln: return "adaln";
    case Variant::adaln_gated: return "adaln_gated";
  }
  return "?";
}

using Case = std::tuple<DType, int64_t /*dim*/, int64_t /*groups*/, int64_t /*rows per group*/, Variant>;

// A macro argument cannot hold a structured binding's commas: the name maker lives here.
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const auto& [dtype, dim, groups, per_group, variant] = info.param;
  return std::string(dtype_name(dtype)) + "_" + std::to_string(dim) + "_" + std::to_string(groups) + "x" +
         std::to_string(per_group) + "_" + variant_name(variant);
}

class NormGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(DType dtype, int64_t dim, int64_t groups, int64_t per_group, Variant variant) {
    const int64_t rows = groups * per_group;
    const size_t n = rows * dim, m = groups * dim;
    const bool adaln = variant == Variant::adaln || variant == Variant::adaln_gated;
    const bool add = variant != Variant::rms && variant != Variant::adaln;
    const auto none = std::vector<float>{};
    std::vector<float> residual = pattern(n, 3.0f, 1, dtype);
    const std::vector<float> x = add ? pattern(n, 1.0f, 2, dtype) : none;
    const std::vector<float> gate = variant == Variant::adaln_gated ? pattern(m, 0.8f, 3, dtype) : none;
    const std::vector<float> shift = adaln ? pattern(m, 0.5f, 4, dtype) : none;
    const std::vector<float> scale = adaln ? pattern(m, 0.7f, 5, dtype) : none;
    const std::vector<float> weight = adaln ? none : pattern(dim, 0.9f, 6, dtype);
    const std::vector<float> bias = variant == Variant::layer_add_bias ? pattern(dim, 0.3f, 7, dtype) : none;
    DeviceBuffer d_residual(residual, dtype), d_x(x, dtype), d_gate(gate, dtype), d_shift(shift, dtype),
        d_scale(scale, dtype), d_weight(weight, dtype), d_bias(bias, dtype), d_out(std::vector<float>(n), dtype);
    auto ptr = [](const DeviceBuffer& b, const std::vector<float>& v) { return v.empty() ? nullptr : b.get<T>(); };
    const float eps = adaln ? 1e-6f : 1e-5f;
    const ref::NormKind kind =
        variant == Variant::rms || variant == Variant::rms_add ? ref::NormKind::rms : ref::NormKind::layer;
    const ref::NormArgs<T> args{.kind = kind,
                                .x = ptr(d_x, x),
                                .gate = ptr(d_gate, gate),
                                .residual = d_residual.get<T>(),
                                .weight = ptr(d_weight, weight),
                                .bias = ptr(d_bias, bias),
                                .shift = ptr(d_shift, shift),
                                .scale = ptr(d_scale, scale),
                                .out = d_out.get<T>(),
                                .rows = rows,
                                .dim = dim,
                                .rows_per_group = per_group,
                                .eps = eps};
    ASSERT_EQ(kernels::launch_norm(args, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    std::vector<float> expected(n);
    const auto data = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };
    ref::norm({.kind = kind,
               .x = data(x),
               .gate = data(gate),
               .residual = residual.data(),
               .weight = data(weight),
               .bias = data(bias),
               .shift = data(shift),
               .scale = data(scale),
               .out = expected.data(),
               .rows = rows,
               .dim = dim,
               .rows_per_group = per_group,
               .eps = eps});
    // Tolerance: the kernel rounds the new residual to T before normalizing it and rounds
    // the output once; in fp32 only summation order differs. Relative to 1 + |value|:
    // fp32 1e-5, fp16 2^-9, bf16 2^-6 (two roundings of 2^-8 each through the normalization).
    const double tol = dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 2e-3 : 1.6e-2;
    const std::vector<float> got = d_out.read(), got_residual = d_residual.read();
    for (size_t i = 0; i < n; ++i) {
      ASSERT_LE(std::abs(got[i] - expected[i]), tol * (1 + std::abs(expected[i]))) << "out element " << i;
      ASSERT_LE(std::abs(got_residual[i] - residual[i]), tol * (1 + std::abs(residual[i]))) << "residual " << i;
    }
  }
};

TEST_P(NormGpu, MatchesReference) {
  const auto [dtype, dim, groups, per_group, variant] = GetParam();
  with_storage_type(dtype, [&]<class T>() { run<T>(dtype, dim, groups, per_group, variant); });
}

// Widths: head-dim multiples 64/80/128, DiT-XL's 1152, and 1003 (not a multiple of 8: the
// scalar path). One row, and 3 samples of 17 tokens (groups of rows for adaLN).
INSTANTIATE_TEST_SUITE_P(Shapes, NormGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(64, 80, 128, 1003, 1152),
                                            ::testing::Values<int64_t>(1, 3), ::testing::Values<int64_t>(1, 17),
                                            ::testing::Values(Variant::rms, Variant::rms_add, Variant::layer_add_bias,
                                                              Variant::adaln, Variant::adaln_gated)),
                         case_name);

TEST(NormGpuLaunch, RejectsImpossibleShapes) {
  float dummy = 0;
  ref::NormArgs<float> launch{.residual = &dummy, .out = &dummy, .rows = 1, .dim = kernels::kMaxNormDim + 1};
  EXPECT_EQ(kernels::launch_norm(launch, nullptr), cudaErrorInvalidValue);
  launch.dim = 64;
  launch.rows_per_group = 0;
  EXPECT_EQ(kernels::launch_norm(launch, nullptr), cudaErrorInvalidValue);
  launch.rows_per_group = 1;
  launch.out = nullptr;
  EXPECT_EQ(kernels::launch_norm(launch, nullptr), cudaErrorInvalidValue);
}

// Rows wider than the kernel stages in shared memory: the op entry names the limit.
TEST(NormGpuEntry, NamesTheRowWidthLimit) {
  GENRT_REQUIRE_GPU();
  const int64_t dim = kernels::kMaxNormDim + 8;
  const Tensor x = Tensor::zeros({2, dim}, DType::bf16, Device::cuda);
  const Tensor weight = Tensor::zeros({dim}, DType::bf16, Device::cuda);
  Tensor out = Tensor::zeros({2, dim}, DType::bf16, Device::cuda);
  EXPECT_ERROR(ops::rmsnorm(x, weight, 1e-5f, out), "rmsnorm on the GPU supports rows of up to 8192 values, got 8200");
}

}  // namespace
}  // namespace genrt
