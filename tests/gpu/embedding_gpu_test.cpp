// The CUDA embedding gather against the CPU reference. Skips, saying why, without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <vector>

#include "kernels/embedding.cuh"
#include "kernels/ref/embedding.h"
#include "kernels/ref/sampled_ids.h"
#include "kernels/sampled_ids.cuh"
#include "runtime/core/device.h"
#include "runtime/core/dtype.h"
#include "runtime/core/error.h"
#include "runtime/core/tensor.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

class EmbeddingGpu : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "GPU test skipped: " << cuda_unavailable_reason();
  }
};

// Gather is a copy: bf16 output must equal the reference's input rows bit for bit.
TEST_P(EmbeddingGpu, MatchesReferenceExactlyInBf16) {
  const auto [n, dim] = GetParam();
  const int64_t vocab = 37;
  std::vector<float> table(vocab * dim);
  for (size_t i = 0; i < table.size(); ++i) table[i] = bf16_to_f32(f32_to_bf16(0.01f * static_cast<float>(i % 997) - 3.0f));
  std::vector<int32_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 7 + 3) % vocab);
  std::vector<float> expected(n * dim);
  ref::embedding(table.data(), ids.data(), expected.data(), n, dim);

  std::vector<uint16_t> table_bf16(table.size());
  convert_from_f32(table.data(), table_bf16.data(), DType::bf16, table.size());
  __nv_bfloat16 *d_table = nullptr, *d_out = nullptr;
  int32_t* d_ids = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_table), table_bf16.size() * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_out), n * dim * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_ids), n * 4), cudaSuccess);
  cudaMemcpy(d_table, table_bf16.data(), table_bf16.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(d_ids, ids.data(), n * 4, cudaMemcpyHostToDevice);
  ASSERT_EQ(kernels::launch_embedding(d_table, d_ids, d_out, n, dim, vocab, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<uint16_t> out(n * dim);
  cudaMemcpy(out.data(), d_out, out.size() * 2, cudaMemcpyDeviceToHost);
  cudaFree(d_table);
  cudaFree(d_out);
  cudaFree(d_ids);
  for (int64_t i = 0; i < n * dim; ++i) ASSERT_EQ(bf16_to_f32(out[i]), expected[i]) << "element " << i;
}

// dims: 16-byte rows (vectorized path) and odd widths (scalar path); n = 1 and ragged.
INSTANTIATE_TEST_SUITE_P(Shapes, EmbeddingGpu,
                         ::testing::Combine(::testing::Values<int64_t>(1, 17, 300),
                                            ::testing::Values<int64_t>(64, 80, 128, 4097)));

}  // namespace
}  // namespace genrt

namespace genrt {
namespace {

// Out of device memory is an error that names the request, and the process stays usable.
TEST(DeviceMemory, OutOfMemoryIsAClearErrorAndRecoverable) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "GPU test skipped: " << cuda_unavailable_reason();
  try {
    (void)Tensor::zeros({int64_t{1} << 48}, DType::f32, Device::cuda);  // 1 PiB
    FAIL() << "a 1 PiB allocation succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot allocate 1125899906842624 bytes on cuda"), std::string::npos) << e.what();
  }
  const Tensor small = Tensor::zeros({1024}, DType::f32, Device::cuda);
  EXPECT_EQ(small.device(), Device::cuda);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the failed cudaMalloc left no sticky error
}

// Asynchronous scheduling's input ids: the previous step's sampled ids where a token
// says so, its own id elsewhere; exact, over more tokens than one block of threads.
TEST(SampledIdsGpu, TakesThePreviousStepsIdsWhereTold) {
  GENRT_REQUIRE_GPU();
  const int64_t n = 1000, rows = 300;
  std::vector<int32_t> sampled(rows), from(n), ids(n);
  for (int64_t r = 0; r < rows; ++r) sampled[r] = static_cast<int32_t>(5000 + 7 * r);
  for (int64_t t = 0; t < n; ++t) {
    from[t] = t % 3 == 0 ? static_cast<int32_t>((t * 13) % rows) : -1;
    ids[t] = static_cast<int32_t>(t);
  }
  test::DeviceBuffer d_sampled(sampled.data(), rows * 4), d_from(from.data(), n * 4), d_ids(ids.data(), n * 4);
  ASSERT_EQ(kernels::launch_take_sampled_ids(d_sampled.get<int32_t>(), d_from.get<int32_t>(), d_ids.get<int32_t>(), n,
                                             nullptr),
            cudaSuccess);
  ref::take_sampled_ids(sampled.data(), from.data(), ids.data(), n);
  std::vector<int32_t> got(n);
  ASSERT_EQ(cudaMemcpy(got.data(), d_ids.get<int32_t>(), n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(got, ids);
  EXPECT_EQ(kernels::launch_take_sampled_ids(nullptr, d_from.get<int32_t>(), d_ids.get<int32_t>(), n, nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace genrt
