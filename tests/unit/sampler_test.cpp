#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "runtime/engine/sampler.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::vector<float> logits_of(std::vector<float> v) { return v; }

int32_t sample_once(const SamplingParams& p, std::vector<float> logits, std::vector<int32_t> context = {}) {
  Sampler s(p);
  return s.sample(logits, context);
}

TEST(Sampler, GreedyPicksArgmax) {
  EXPECT_EQ(sample_once({.temperature = 0}, {0.1f, 3.0f, -1.0f, 2.9f}), 1);
}

TEST(Sampler, SameSeedSameTokens) {
  const SamplingParams p{.temperature = 1.0f, .seed = 42};
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> la(10), lb(10);
    for (int j = 0; j < 10; ++j) la[j] = lb[j] = static_cast<float>(j % 3);
    ASSERT_EQ(a.sample(la, {}), b.sample(lb, {}));
  }
}

TEST(Sampler, TopKOneIsGreedy) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(sample_once({.temperature = 5.0f, .top_k = 1, .seed = seed}, {1, 4, 2, 3}), 1);
  }
}

TEST(Sampler, TopPKeepsTheSmallestSufficientPrefix) {
  // probabilities ~ [0.6439, 0.2369, 0.0871, 0.0321]: top_p 0.8 keeps tokens 0 and 1 only.
  std::map<int32_t, int> counts;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    ++counts[sample_once({.temperature = 1.0f, .top_p = 0.8f, .seed = seed}, {3, 2, 1, 0})];
  }
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u);
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], 40);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  // p = [0.6439, 0.2369, 0.0871, 0.0321]; min_p 0.2 keeps p >= 0.129: tokens 0 and 1.
  for (uint64_t seed = 0; seed < 200; ++seed) {
    EXPECT_LT(sample_once({.temperature = 1.0f, .min_p = 0.2f, .seed = seed}, {3, 2, 1, 0}), 2);
  }
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  // Token 0 (logit 2.0) is in the context: 2.0 / 4 = 0.5 < 1.0, so greedy picks token 1.
  EXPECT_EQ(sample_once({.temperature = 0, .repetition_penalty = 4.0f}, {2.0f, 1.0f, -1.0f}, {0}), 1);
  // A negative logit in the context gets more negative: -0.5 * 4 = -2 < -1.5.
  std::vector<float> l = {-0.5f, -1.5f};
  Sampler s({.temperature = 0, .repetition_penalty = 4.0f});
  EXPECT_EQ(s.sample(l, std::vector<int32_t>{0}), 1);
}

TEST(Sampler, DistributionFollowsTemperature) {
  // Two tokens with logits [ln 3, 0]: p = [3/4, 1/4] at temperature 1.
  int first = 0;
  Sampler s({.temperature = 1.0f, .seed = 7});
  for (int i = 0; i < 4000; ++i) {
    std::vector<float> l = {std::log(3.0f), 0.0f};
    first += s.sample(l, {}) == 0;
  }
  EXPECT_NEAR(first / 4000.0, 0.75, 0.03);
}

TEST(Sampler, RejectsBadParameters) {
  EXPECT_ERROR(Sampler({.temperature = -1}), "temperature must be >= 0, got -1");
  EXPECT_ERROR(Sampler({.top_k = -2}), "top_k must be >= 0");
  EXPECT_ERROR(Sampler({.top_p = 0}), "top_p must be in (0, 1], got 0");
  EXPECT_ERROR(Sampler({.top_p = 1.5f}), "top_p must be in (0, 1]");
  EXPECT_ERROR(Sampler({.min_p = 2}), "min_p must be in [0, 1]");
  EXPECT_ERROR(Sampler({.repetition_penalty = 0}), "repetition_penalty must be > 0");
}

}  // namespace
}  // namespace genrt
