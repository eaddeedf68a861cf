// Sampling on the GPU: its filters keep what the CPU sampler keeps, its draws follow the
// kept distribution, and a seed repeats. Skips without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ref/philox.h"
#include "kernels/sampling.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;

// `rows` copies of one logit row; every row draws from its own Philox stream.
std::vector<int32_t> sample_rows(const std::vector<float>& row, int64_t rows, kernels::SamplingLaunch launch) {
  std::vector<float> logits;
  for (int64_t r = 0; r < rows; ++r) logits.insert(logits.end(), row.begin(), row.end());
  DeviceBuffer d_logits(logits, DType::f32);
  std::vector<int32_t> out(rows, -1);
  DeviceBuffer d_out(out.data(), out.size() * 4);
  launch.logits = d_logits.get<float>();
  launch.out = d_out.get<int32_t>();
  launch.rows = rows;
  launch.vocab = static_cast<int64_t>(row.size());
  EXPECT_EQ(kernels::launch_sampling(launch, nullptr), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(out.data(), d_out.get<int32_t>(), out.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

// A 1000-token row with a known head: token 7 (p = .32), 3 (.20), 500 (.12), 999 (.07),
// then a flat tail of 996 tokens holding .29.
std::vector<float> test_row() {
  std::vector<float> row(1000, -4.0f);
  row[7] = 3.0f, row[3] = 2.5f, row[500] = 2.0f, row[999] = 1.5f;
  return row;
}

std::vector<double> probabilities(const std::vector<float>& row) {
  std::vector<double> p(row.size());
  const double m = *std::max_element(row.begin(), row.end());
  for (size_t i = 0; i < row.size(); ++i) p[i] = std::exp(row[i] - m);
  const double z = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= z;
  return p;
}

class SamplingGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_F(SamplingGpu, TopKKeepsTheKMostLikelyInProportion) {
  const std::vector<float> row = test_row();
  const auto tokens = sample_rows(row, 20000, {.temperature = 1.0f, .top_k = 3, .seed = 1});
  std::vector<int> counts(row.size());
  for (int32_t t : tokens) ++counts.at(t);
  EXPECT_EQ(counts[7] + counts[3] + counts[500], 20000);
  const auto p = probabilities(row);
  const double kept = p[7] + p[3] + p[500];
  for (int t : {7, 3, 500}) {
    // Binomial standard deviation of a 20000-draw frequency is below 0.0035: allow 5 of them.
    EXPECT_NEAR(counts[t] / 20000.0, p[t] / kept, 0.0175) << "token " << t;
  }
}

TEST_F(SamplingGpu, TopPAndMinPCutTheTail) {
  const std::vector<float> row = test_row();
  const auto p = probabilities(row);
  // top_p 0.5: tokens 7 (.32) and 3 (.20) reach it; 500 is cut.
  ASSERT_GT(p[7] + p[3], 0.5);
  ASSERT_LT(p[7], 0.5);
  for (int32_t t : sample_rows(row, 5000, {.temperature = 1.0f, .top_p = 0.5f, .seed = 2})) {
    EXPECT_TRUE(t == 7 || t == 3) << t;
  }
  // min_p 0.3: keeps tokens at least 0.3 x p(7): 7, 3 and 500 (p ratio .37); 999 (.22) is cut.
  ASSERT_GT(p[500] / p[7], 0.3);
  ASSERT_LT(p[999] / p[7], 0.3);
  for (int32_t t : sample_rows(row, 5000, {.temperature = 1.0f, .min_p = 0.3f, .seed = 3})) {
    EXPECT_TRUE(t == 7 || t == 3 || t == 500) << t;
  }
}

TEST_F(SamplingGpu, SeedAndStepRepeatAndLowTemperatureIsGreedy) {
  const std::vector<float> row = test_row();
  const kernels::SamplingLaunch launch{.temperature = 1.0f, .seed = 42, .step = 9};
  EXPECT_EQ(sample_rows(row, 64, launch), sample_rows(row, 64, launch));
  kernels::SamplingLaunch next = launch;
  next.step = 10;
  EXPECT_NE(sample_rows(row, 64, launch), sample_rows(row, 64, next));
  for (int32_t t : sample_rows(row, 256, {.temperature = 0.01f, .seed = 5})) EXPECT_EQ(t, 7);
}

// Seed 1, step 27392119 draws 0xffffffe4 for row 0: u = v / 2^32 rounds to 1.0f, at the
// kept mass (found by searching Philox on the CPU). The search must end on the one kept
// token, here in the last non-empty chunk of a vocabulary smaller than the block.
TEST_F(SamplingGpu, DrawRoundedUpToTheKeptMassStaysOnAKeptToken) {
  constexpr uint64_t kSeed = 1, kStep = 27392119;
  const ref::Philox4 r = ref::philox4x32_10({{static_cast<uint32_t>(kStep), 0u, 0u, 0u}}, kSeed);
  ASSERT_EQ(static_cast<float>(static_cast<double>(r.v[0]) * 0x1.0p-32), 1.0f);
  std::vector<float> row(100, 0.0f);
  row[57] = 5.0f;
  const auto tokens = sample_rows(row, 1, {.temperature = 1.0f, .top_k = 1, .seed = kSeed, .step = kStep});
  EXPECT_EQ(tokens[0], 57);
}

// min_p = 1 keeps exactly the top token at any temperature: its weight must be exactly 1,
// not exp of a fused multiply-add's rounding error (found by review; at temperature 0.7
// the kernel returned token 0). A NaN logit is never drawn and does not switch top-p off.
TEST_F(SamplingGpu, MinPOneKeepsTheTopTokenAndNaNIsNeverDrawn) {
  std::vector<float> row(1000, 0.0f);
  row[3] = 10.0f;
  for (float temperature : {1.0f, 0.7f, 0.3f, 1.9f}) {
    for (int32_t t : sample_rows(row, 64, {.temperature = temperature, .min_p = 1.0f, .seed = 4})) {
      EXPECT_EQ(t, 3) << "temperature " << temperature;
    }
  }
  std::vector<float> with_nan = test_row();
  with_nan[10] = std::nanf("");
  for (int32_t t : sample_rows(with_nan, 2000, {.temperature = 1.0f, .top_p = 0.5f, .seed = 6})) {
    EXPECT_TRUE(t == 7 || t == 3) << t;
  }
}

TEST(SamplingGpuLaunch, RejectsBadParameters) {
  EXPECT_EQ(kernels::launch_sampling({.rows = 1, .vocab = 10, .temperature = 0.0f}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_sampling({.rows = 1, .vocab = 10, .top_p = 0.0f}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_sampling({.rows = 1, .vocab = 10, .min_p = 2.0f}, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace genrt
