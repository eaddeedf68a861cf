// The CPU reference of sampling (the GPU kernel's algorithm): what each filter keeps,
// greedy rows beside sampled ones, per-row streams, and the edges -- vocabularies that are
// not a multiple of the kernel's block, ties, NaN, top_k past the vocabulary, tiny top_p,
// min_p = 1. tests/gpu/sampling_gpu_test.cpp holds the kernel to these token for token.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "kernels/ref/argmax.h"
#include "kernels/ref/sampling.h"

namespace genrt::ref {
namespace {

// One row of logits per parameter set, all sampled in one batch.
std::vector<int32_t> sample_rows(const std::vector<std::vector<float>>& rows, const std::vector<SamplingRow>& params) {
  const auto vocab = static_cast<int64_t>(rows.at(0).size());
  std::vector<float> logits;
  for (const auto& row : rows) logits.insert(logits.end(), row.begin(), row.end());
  std::vector<int32_t> out(params.size(), -1);
  sample({.logits = logits.data(),
          .params = params.data(),
          .out = out.data(),
          .rows = static_cast<int64_t>(params.size()),
          .vocab = vocab});
  return out;
}

int32_t draw(const std::vector<float>& row, const SamplingRow& p) { return sample_rows({row}, {p})[0]; }

// Draws 0 .. n-1 of one seed.
std::map<int32_t, int> counts(const std::vector<float>& row, SamplingRow p, int n) {
  std::map<int32_t, int> seen;
  for (int i = 0; i < n; ++i) {
    p.step = static_cast<uint64_t>(i);
    ++seen[draw(row, p)];
  }
  return seen;
}

std::vector<double> probabilities(const std::vector<float>& row) {
  std::vector<double> p(row.size());
  double m = -INFINITY;
  for (float l : row) m = std::isnan(l) ? m : std::max(m, static_cast<double>(l));
  for (size_t i = 0; i < row.size(); ++i) p[i] = std::isnan(row[i]) ? 0.0 : std::exp(row[i] - m);
  const double z = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= z;
  return p;
}

// A 1000-token row (two tokens per chunk of the kernel's 512 threads, the last chunks
// empty) with a known head: token 7 (p = .32), 3 (.20), 500 (.12), 999 (.07), then a flat
// tail holding .29.
std::vector<float> test_row() {
  std::vector<float> row(1000, -4.0f);
  row[7] = 3.0f, row[3] = 2.5f, row[500] = 2.0f, row[999] = 1.5f;
  return row;
}

TEST(SamplingExp, WithinTwoUlpOfExpAndExactAtZero) {
  for (float x = -87.0f; x <= 0.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_NEAR(sampling_exp(x), want, want * 2.4e-7) << "x = " << x;
  }
  EXPECT_EQ(sampling_exp(0.0f), 1.0f);
  EXPECT_EQ(sampling_exp(-87.5f), 0.0f);
  EXPECT_EQ(sampling_exp(-INFINITY), 0.0f);
  EXPECT_EQ(sampling_exp(NAN), 0.0f);
}

TEST(RefSampling, TopKKeepsTheKMostLikelyInProportion) {
  const std::vector<float> row = test_row();
  const auto seen = counts(row, {.temperature = 1.0f, .top_k = 3, .seed = 1}, 4000);
  const auto p = probabilities(row);
  const double kept = p[7] + p[3] + p[500];
  int total = 0;
  for (const auto& [token, n] : seen) {
    ASSERT_TRUE(token == 7 || token == 3 || token == 500) << token;
    // The binomial standard deviation of a 4000-draw frequency is below 0.008: allow 5.
    EXPECT_NEAR(n / 4000.0, p[token] / kept, 0.04) << "token " << token;
    total += n;
  }
  EXPECT_EQ(total, 4000);
}

TEST(RefSampling, TopPKeepsTheSmallestSufficientPrefixAndMinPTheLikelyOnes) {
  const std::vector<float> row = test_row();
  const auto p = probabilities(row);
  ASSERT_GT(p[7] + p[3], 0.5);
  ASSERT_LT(p[7], 0.5);
  for (const auto& [token, n] : counts(row, {.temperature = 1.0f, .top_p = 0.5f, .seed = 2}, 1000)) {
    EXPECT_TRUE(token == 7 || token == 3) << token;
  }
  // min_p 0.3 keeps p >= 0.3 p(7): tokens 7, 3 and 500 (ratio .37), not 999 (.22).
  for (const auto& [token, n] : counts(row, {.temperature = 1.0f, .min_p = 0.3f, .seed = 3}, 1000)) {
    EXPECT_TRUE(token == 7 || token == 3 || token == 500) << token;
  }
}

TEST(RefSampling, TemperatureSetsTheDistribution) {
  // Logits [ln 3, 0]: p = [3/4, 1/4] at temperature 1, [9/10, 1/10] at temperature 0.5.
  const std::vector<float> row = {std::log(3.0f), 0.0f};
  EXPECT_NEAR(counts(row, {.temperature = 1.0f, .seed = 7}, 4000)[0] / 4000.0, 0.75, 0.03);
  EXPECT_NEAR(counts(row, {.temperature = 0.5f, .seed = 7}, 4000)[0] / 4000.0, 0.9, 0.03);
}

TEST(RefSampling, TopKAtOrPastTheVocabularyIsOff) {
  const std::vector<float> row = test_row();
  for (uint64_t step = 0; step < 200; ++step) {
    const int32_t off = draw(row, {.temperature = 1.0f, .seed = 9, .step = step});
    EXPECT_EQ(draw(row, {.temperature = 1.0f, .top_k = 1000, .seed = 9, .step = step}), off);
    EXPECT_EQ(draw(row, {.temperature = 1.0f, .top_k = 5000, .seed = 9, .step = step}), off);
  }
}

TEST(RefSampling, TopKOneTinyTopPAndMinPOneKeepOnlyTheTopToken) {
  std::vector<float> row = test_row();
  for (uint64_t step = 0; step < 100; ++step) {
    for (float temperature : {5.0f, 1.0f, 0.7f, 0.3f}) {
      EXPECT_EQ(draw(row, {.temperature = temperature, .top_k = 1, .seed = 4, .step = step}), 7);
      EXPECT_EQ(draw(row, {.temperature = temperature, .top_p = 1e-6f, .seed = 4, .step = step}), 7);
      EXPECT_EQ(draw(row, {.temperature = temperature, .min_p = 1.0f, .seed = 4, .step = step}), 7);
    }
  }
}

TEST(RefSampling, TiesAtAThresholdAreAllKept) {
  // Tokens 2 and 6 tie at the top: top_k 1 and min_p 1 keep both, about evenly.
  std::vector<float> row(9, 0.0f);
  row[2] = row[6] = 4.0f;
  for (const SamplingRow p : {SamplingRow{.top_k = 1, .seed = 5}, SamplingRow{.min_p = 1.0f, .seed = 5}}) {
    const auto seen = counts(row, p, 2000);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_NEAR(seen.at(2) / 2000.0, 0.5, 0.05);
  }
}

TEST(RefSampling, NaNLogitsAreNeverDrawnAndDoNotSwitchTopPOff) {
  std::vector<float> row = test_row();
  row[10] = NAN;
  row[600] = NAN;
  for (const auto& [token, n] : counts(row, {.temperature = 1.0f, .seed = 6}, 2000)) {
    EXPECT_TRUE(token != 10 && token != 600) << token;
  }
  for (const auto& [token, n] : counts(row, {.temperature = 1.0f, .top_p = 0.5f, .seed = 6}, 1000)) {
    EXPECT_TRUE(token == 7 || token == 3) << token;
  }
  // Nothing to draw from: token 0, as greedy gives.
  const std::vector<float> all_nan(700, NAN);
  EXPECT_EQ(draw(all_nan, {.temperature = 1.0f}), 0);
  EXPECT_EQ(draw(all_nan, {.temperature = 0.0f}), 0);
}

TEST(RefSampling, GreedyRowsBesideSampledRowsInOneBatch) {
  std::vector<float> ties(1000, 0.0f), with_nan(1000, 1.0f);
  ties[40] = ties[999] = 9.0f;
  with_nan[0] = NAN;
  with_nan[513] = 5.0f;
  const std::vector<float> all_nan(1000, NAN), sampled = test_row();
  const SamplingRow greedy{.temperature = 0.0f, .seed = 3};
  const SamplingRow hot{.temperature = 1.0f, .seed = 8, .step = 11};
  const auto got = sample_rows({ties, sampled, with_nan, all_nan, sampled}, {greedy, hot, greedy, greedy, greedy});
  EXPECT_EQ(got[0], 40);  // the first of a tie, like ref::argmax
  EXPECT_EQ(got[1], draw(sampled, hot));
  EXPECT_EQ(got[2], 513);
  EXPECT_EQ(got[3], 0);
  EXPECT_EQ(got[4], 7);
}

TEST(RefSampling, EachRowDrawsFromItsOwnSeedAndStep) {
  const std::vector<float> row = test_row();
  std::vector<SamplingRow> params;
  for (uint64_t seed = 0; seed < 64; ++seed) params.push_back({.temperature = 1.0f, .seed = seed, .step = 3});
  const auto by_seed = sample_rows(std::vector<std::vector<float>>(64, row), params);
  EXPECT_GT(std::set<int32_t>(by_seed.begin(), by_seed.end()).size(), 4u);  // independent streams
  // A row's draw depends on its seed and step only, not on its place in the batch.
  for (uint64_t seed = 0; seed < 64; ++seed) EXPECT_EQ(by_seed[seed], draw(row, params[seed])) << "seed " << seed;
  std::vector<int32_t> by_step;
  for (uint64_t step = 0; step < 64; ++step) by_step.push_back(draw(row, {.temperature = 1.0f, .seed = 0, .step = step}));
  EXPECT_GT(std::set<int32_t>(by_step.begin(), by_step.end()).size(), 4u);
}

TEST(RefSampling, AwkwardVocabulariesDrawOnlyKeptTokens) {
  for (int64_t vocab : {1, 7, 511, 512, 513, 1025, 32017}) {
    std::vector<float> row(static_cast<size_t>(vocab));
    for (int64_t i = 0; i < vocab; ++i) row[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
    const auto top = static_cast<int32_t>(argmax(row.data(), vocab));
    const int64_t k = std::min<int64_t>(5, vocab);
    std::vector<float> sorted = row;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    for (uint64_t step = 0; step < 50; ++step) {
      const int32_t t = draw(row, {.temperature = 0.9f, .top_k = static_cast<int32_t>(k), .seed = 2, .step = step});
      ASSERT_GE(t, 0);
      ASSERT_LT(t, vocab);
      EXPECT_GE(row[t], sorted[k - 1]) << "vocab " << vocab << " drew token " << t << " outside the top " << k;
      EXPECT_EQ(draw(row, {.temperature = 0.9f, .min_p = 1.0f, .seed = 2, .step = step}), top);
    }
  }
}

// Seed 1, step 27392119 draws 0xffffffe4: u = v / 2^32 rounds to 1.0f, at the kept mass.
// The walk must end on the one kept token, in the last non-empty chunk of a vocabulary
// smaller than the block.
TEST(RefSampling, DrawRoundedUpToTheKeptMassStaysOnAKeptToken) {
  ASSERT_EQ(sampling_draw_point(1, 27392119, 1.0f), 1.0f);
  std::vector<float> row(100, 0.0f);
  row[57] = 5.0f;
  EXPECT_EQ(draw(row, {.temperature = 1.0f, .top_k = 1, .seed = 1, .step = 27392119}), 57);
}

}  // namespace
}  // namespace genrt::ref
