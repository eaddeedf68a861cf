// The fused adaLN kernel against the CPU reference. Skips, saying why, without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/modulated_layernorm.cuh"
#include "kernels/ref/modulated_layernorm.h"
#include "runtime/core/device.h"
#include "runtime/core/dtype.h"

namespace genrt {
namespace {

// A device copy of host fp32 values in dtype D (or nothing for an empty vector).
class DeviceBuffer {
 public:
  DeviceBuffer(const std::vector<float>& values, DType dtype) : dtype_(dtype), n_(values.size()) {
    if (values.empty()) return;
    std::vector<char> bytes(n_ * dtype_size(dtype));
    convert_from_f32(values.data(), bytes.data(), dtype, n_);
    EXPECT_EQ(cudaMalloc(&ptr_, bytes.size()), cudaSuccess);
    cudaMemcpy(ptr_, bytes.data(), bytes.size(), cudaMemcpyHostToDevice);
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  template <class T>
  T* get() const { return static_cast<T*>(ptr_); }
  std::vector<float> read() const {
    std::vector<char> bytes(n_ * dtype_size(dtype_));
    cudaMemcpy(bytes.data(), ptr_, bytes.size(), cudaMemcpyDeviceToHost);
    std::vector<float> out(n_);
    convert_to_f32(bytes.data(), dtype_, out.data(), n_);
    return out;
  }

 private:
  void* ptr_ = nullptr;
  DType dtype_;
  size_t n_;
};

// Values that dtype represents exactly, so the reference sees the kernel's inputs.
std::vector<float> pattern(size_t n, float scale, int salt, DType dtype) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i) + salt) + 0.1f * salt;
  std::vector<char> bytes(n * dtype_size(dtype));
  convert_from_f32(v.data(), bytes.data(), dtype, n);
  convert_to_f32(bytes.data(), dtype, v.data(), n);
  return v;
}

using Case = std::tuple<DType, int64_t /*dim*/, int64_t /*groups*/, int64_t /*rows per group*/, bool /*gated add*/>;

class ModulatedLayerNormGpu : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "GPU test skipped: " << cuda_unavailable_reason();
  }

  template <class T>
  void run(DType dtype, int64_t dim, int64_t groups, int64_t per_group, bool gated) {
    const int64_t rows = groups * per_group;
    const size_t n = rows * dim, m = groups * dim;
    std::vector<float> residual = pattern(n, 3.0f, 1, dtype), x = gated ? pattern(n, 1.0f, 2, dtype) : std::vector<float>{};
    const std::vector<float> gate = gated ? pattern(m, 0.8f, 3, dtype) : std::vector<float>{};
    const std::vector<float> shift = pattern(m, 0.5f, 4, dtype), scale = pattern(m, 0.7f, 5, dtype);
    DeviceBuffer d_residual(residual, dtype), d_x(x, dtype), d_gate(gate, dtype), d_shift(shift, dtype),
        d_scale(scale, dtype), d_out(std::vector<float>(n), dtype);
    kernels::ModulatedNormLaunch<T> launch{.x = gated ? d_x.get<T>() : nullptr,
                                           .gate = gated ? d_gate.get<T>() : nullptr,
                                           .residual = d_residual.get<T>(),
                                           .shift = d_shift.get<T>(),
                                           .scale = d_scale.get<T>(),
                                           .out = d_out.get<T>(),
                                           .rows = rows,
                                           .dim = dim,
                                           .rows_per_group = per_group,
                                           .eps = 1e-6f};
    ASSERT_EQ(kernels::launch_modulated_layernorm(launch, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    std::vector<float> expected(n);
    ref::modulated_layernorm({.x = gated ? x.data() : nullptr, .gate = gated ? gate.data() : nullptr,
                              .residual = residual.data(), .shift = shift.data(), .scale = scale.data(),
                              .out = expected.data(), .rows = rows, .dim = dim, .rows_per_group = per_group,
                              .eps = 1e-6f});
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

TEST_P(ModulatedLayerNormGpu, MatchesReference) {
  const auto [dtype, dim, groups, per_group, gated] = GetParam();
  switch (dtype) {
    case DType::f32: run<float>(dtype, dim, groups, per_group, gated); break;
    case DType::f16: run<__half>(dtype, dim, groups, per_group, gated); break;
    case DType::bf16: run<__nv_bfloat16>(dtype, dim, groups, per_group, gated); break;
    default: FAIL() << "unexpected dtype";
  }
}

// Widths: head-dim multiples 64/80/128, DiT-XL's 1152, and 1000 (not a multiple of 8: the
// scalar path). One sample of one token, and 3 samples of 17 tokens (groups of rows).
INSTANTIATE_TEST_SUITE_P(Shapes, ModulatedLayerNormGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Values<int64_t>(64, 80, 128, 1000, 1152),
                                            ::testing::Values<int64_t>(1, 3), ::testing::Values<int64_t>(1, 17),
                                            ::testing::Bool()));

TEST(ModulatedLayerNormGpuLaunch, RejectsImpossibleShapes) {
  kernels::ModulatedNormLaunch<float> launch{.rows = 1, .dim = kernels::kMaxModulatedNormDim + 1, .rows_per_group = 1};
  EXPECT_EQ(kernels::launch_modulated_layernorm(launch, nullptr), cudaErrorInvalidValue);
  launch.dim = 64;
  launch.rows_per_group = 0;
  EXPECT_EQ(kernels::launch_modulated_layernorm(launch, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace genrt
