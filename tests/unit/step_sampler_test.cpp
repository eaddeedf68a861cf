// The engine's sampling of a step on the CPU (the GPU runs the same ops: see
// tests/gpu/sampling_gpu_test.cpp): parameters per row, the repetition penalty, and
// logprobs from the raw logits, and OpenAI's presence and frequency penalties and logit bias.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "runtime/backend/sampling_ops.h"
#include "runtime/engine/step_sampler.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

Tensor logits_of(const std::vector<std::vector<float>>& rows) {
  Tensor t = Tensor::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, DType::f32);
  float* out = t.data<float>();
  for (const auto& row : rows) out = std::copy(row.begin(), row.end(), out);
  return t;
}

SampledToken sample_one(const std::vector<float>& row, const RowSampling& r) {
  return sample_step(logits_of({row}), {&r, 1}, nullptr)[0];
}

float log_softmax(const std::vector<float>& row, size_t i) {
  double z = 0.0;
  for (float l : row) z += std::exp(static_cast<double>(l));
  return static_cast<float>(row[i] - std::log(z));
}

TEST(StepSampler, GreedyPicksArgmax) {
  EXPECT_EQ(sample_one({0.1f, 3.0f, -1.0f, 2.9f}, {.params = {.temperature = 0}}).id, 1);
}

TEST(StepSampler, SeedAndDrawCountFixTheToken) {
  const std::vector<float> row = {0.0f, 1.0f, 2.0f, 0.0f, 1.0f, 2.0f, 0.0f, 1.0f, 2.0f, 0.0f};
  std::map<int32_t, int> seen;
  for (uint64_t draws = 0; draws < 50; ++draws) {
    const RowSampling r{.params = {.temperature = 1.0f, .seed = 42}, .draws = draws};
    const int32_t id = sample_one(row, r).id;
    ASSERT_EQ(sample_one(row, r).id, id);
    ++seen[id];
  }
  EXPECT_GT(seen.size(), 3u);  // successive draws of one seed are a stream
}

TEST(StepSampler, TopKOneIsGreedy) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(sample_one({1, 4, 2, 3}, {.params = {.temperature = 5.0f, .top_k = 1, .seed = seed}}).id, 1);
  }
}

TEST(StepSampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  // Token 0 (logit 2.0) is in the context: 2.0 / 4 = 0.5 < 1.0, so greedy picks token 1.
  const std::vector<int32_t> seen = {0, 0};
  EXPECT_EQ(sample_one({2.0f, 1.0f, -1.0f}, {.params = {.temperature = 0, .repetition_penalty = 4.0f}, .context = seen})
                .id,
            1);
  // A negative logit in the context gets more negative: -0.5 * 4 = -2 < -1.5.
  EXPECT_EQ(sample_one({-0.5f, -1.5f}, {.params = {.temperature = 0, .repetition_penalty = 4.0f}, .context = seen}).id,
            1);
}

TEST(StepSampler, RowsOfOneBatchKeepTheirOwnParameters) {
  const std::vector<float> row = {2.0f, 1.0f, -1.0f};
  const std::vector<int32_t> seen = {0};
  const std::vector<RowSampling> rows = {{.params = {.temperature = 0, .repetition_penalty = 4.0f}, .context = seen},
                                         {.params = {.temperature = 0}, .context = seen},
                                         {.params = {.temperature = 1.0f, .seed = 3}, .draws = 5}};
  const Tensor logits = logits_of({row, row, row});
  const auto got = sample_step(logits, rows, nullptr);
  EXPECT_EQ(got[0].id, 1);
  EXPECT_EQ(got[1].id, 0);
  EXPECT_EQ(got[2].id, sample_one(row, rows[2]).id);
  EXPECT_EQ(logits.data<float>()[0], 2.0f);  // the penalty worked on a copy
}

// OpenAI's presence and frequency penalties and logit bias, after the repetition penalty,
// computed directly on a vocabulary of 6 for 64 random settings in one batch: greedy picks
// the argmax of the directly penalized logits.
TEST(StepSampler, PenaltiesAndBiasesMatchADirectComputation) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> logit(-3, 3), penalty(-2, 2), bias(-5, 5);
  const std::vector<int32_t> context = {0, 2, 1, 1, 3, 1};  // the prompt {0, 2}, then four generated
  const uint64_t generated = 4;
  std::vector<std::vector<float>> logits;
  std::vector<RowSampling> rows;
  std::vector<int32_t> want;
  for (int i = 0; i < 64; ++i) {
    std::vector<float> row(6);
    for (float& l : row) l = logit(rng);
    SamplingParams p{.temperature = 0, .repetition_penalty = i % 2 ? 1.5f : 1.0f};
    p.presence_penalty = penalty(rng);
    p.frequency_penalty = penalty(rng);
    p.logit_bias = {{i % 6, bias(rng)}, {(i + 3) % 6, bias(rng)}};
    std::vector<float> direct = row;
    for (int32_t j = 0; j < 6; ++j) {
      float& l = direct[static_cast<size_t>(j)];
      if (std::count(context.begin(), context.end(), j) > 0) l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
      const auto c = static_cast<float>(std::count(context.end() - generated, context.end(), j));
      l -= c * p.frequency_penalty + (c > 0 ? p.presence_penalty : 0.0f);
      for (const auto& [id, b] : p.logit_bias) l += id == j ? b : 0.0f;
    }
    want.push_back(static_cast<int32_t>(std::max_element(direct.begin(), direct.end()) - direct.begin()));
    logits.push_back(row);
    rows.push_back({.params = p, .draws = generated, .context = context});
  }
  const std::vector<SampledToken> got = sample_step(logits_of(logits), rows, nullptr);
  int changed = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i]) << "setting " << i;
    changed += want[i] != std::max_element(logits[i].begin(), logits[i].end()) - logits[i].begin();
  }
  EXPECT_GT(changed, 16);  // the penalties and biases move many choices
}

TEST(StepSampler, ALogitBiasOfAHundredMakesItsTokenTheGreedyChoice) {
  const std::vector<float> row = {5.0f, -2.0f, 9.0f};
  SamplingParams p{.temperature = 0};
  p.logit_bias = {{1, 100.0f}};
  EXPECT_EQ(sample_one(row, {.params = p}).id, 1);
  p.logit_bias = {{2, -100.0f}};
  EXPECT_EQ(sample_one(row, {.params = p}).id, 0);
}

// Logprobs are the raw distribution's: the penalty moves the draw, not the logprobs; and
// the chosen token has its own logprob even outside the top k.
TEST(StepSampler, LogprobsComeFromTheRawLogits) {
  const std::vector<float> row = {2.0f, 1.0f, -1.0f};
  const std::vector<int32_t> seen = {0};
  const SampledToken t = sample_one(row, {.params = {.temperature = 0, .repetition_penalty = 4.0f},
                                          .context = seen,
                                          .top_logprobs = 1});
  ASSERT_EQ(t.id, 1);
  ASSERT_TRUE(t.logprobs);
  EXPECT_NEAR(t.logprobs->logprob, log_softmax(row, 1), 1e-6);
  ASSERT_EQ(t.logprobs->top.size(), 1u);
  EXPECT_EQ(t.logprobs->top[0].first, 0);
  EXPECT_NEAR(t.logprobs->top[0].second, log_softmax(row, 0), 1e-6);

  const SampledToken none = sample_one(row, {.params = {.temperature = 0}, .top_logprobs = 0});
  ASSERT_TRUE(none.logprobs);
  EXPECT_TRUE(none.logprobs->top.empty());
  EXPECT_NEAR(none.logprobs->logprob, log_softmax(row, 0), 1e-6);
  EXPECT_FALSE(sample_one(row, {.params = {.temperature = 0}}).logprobs);
}

// A token mask after the penalties: a bias of +100 does not bring back a token the mask
// leaves out, sampling at any temperature draws only allowed tokens, and the logprobs stay
// the raw distribution's. Rows without a mask in the same step are untouched.
TEST(StepSampler, TokenMasksLeaveOnlyAllowedTokensWhateverTheBiases) {
  std::vector<float> row(70);
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>((i * 7) % 11);
  std::vector<uint32_t> allowed(3, 0);                 // 70 tokens: 3 words
  for (const int t : {4, 33, 40}) allowed[t / 32] |= 1u << (t % 32);  // logits 6, 0 and 5
  SamplingParams biased{.temperature = 0};
  biased.logit_bias = {{5, 100.0f}};
  const SampledToken greedy = sample_one(row, {.params = biased, .top_logprobs = 0, .allowed_tokens = allowed});
  EXPECT_EQ(greedy.id, 4);
  EXPECT_NEAR(greedy.logprobs->logprob, log_softmax(row, 4), 1e-5);
  for (uint64_t seed = 0; seed < 30; ++seed) {
    const int32_t id = sample_one(row, {.params = {.temperature = 2.0f, .seed = seed}, .allowed_tokens = allowed}).id;
    EXPECT_TRUE(id == 4 || id == 33 || id == 40) << id;
  }
  const std::vector<RowSampling> rows = {{.params = {.temperature = 0}, .allowed_tokens = allowed},
                                         {.params = {.temperature = 0}}};
  const std::vector<SampledToken> both = sample_step(logits_of({row, row}), rows, nullptr);
  EXPECT_EQ(both[0].id, 4);
  EXPECT_EQ(both[1].id, static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
  EXPECT_ERROR(sample_one(row, {.allowed_tokens = std::span(allowed).first(2)}), "row 0's token mask has 2 words for 70 tokens");
  const std::vector<uint32_t> past_the_end = {0, 0, 1u << 6};  // token 70: not in the vocabulary
  EXPECT_ERROR(sample_one(row, {.allowed_tokens = past_the_end}), "row 0's token mask allows no token");
}

// A step's draw for the forward step to take in (ForwardBatch::draw): only for rows that
// need nothing but their SamplingRow; launch_sampling then refuses rows that filter logits.
TEST(StepSampler, AStepTakesInTheDrawOnlyOfRowsThatFilterNoLogits) {
  const std::vector<RowSampling> plain = {
      {.params = {.temperature = 0.7f, .top_k = 3, .top_p = 0.9f, .min_p = 0.1f, .seed = 1}, .draws = 4, .top_logprobs = 2},
      {.params = {.temperature = 0}}};
  const std::optional<ForwardBatch::Draw> draw = step_draw(plain, nullptr);
  ASSERT_TRUE(draw.has_value());
  EXPECT_EQ(draw->params.shape(), (Shape{2, ops::kSamplingRowWords}));
  EXPECT_EQ(draw->ids.shape(), Shape{2});
  const std::vector<int32_t> seen = {0};
  const std::vector<uint32_t> mask = {0b11};
  SamplingParams biased;
  biased.logit_bias = {{1, 2.0f}};
  const Tensor logits = logits_of({{1.0f, 2.0f}, {1.0f, 2.0f}});
  for (const RowSampling& filtering : {RowSampling{.params = {.repetition_penalty = 1.1f}, .context = seen},
                                       RowSampling{.params = {.presence_penalty = 0.5f}},
                                       RowSampling{.params = {.frequency_penalty = -0.5f}}, RowSampling{.params = biased},
                                       RowSampling{.allowed_tokens = mask}}) {
    const std::vector<RowSampling> rows = {plain[1], filtering};
    EXPECT_FALSE(step_draw(rows, nullptr).has_value());
    EXPECT_ERROR(launch_sampling(logits, rows, nullptr, Tensor::zeros({2}, DType::i32)),
                 "sample_step: 2 ids drawn in the step for 2 rows, or a row whose draw filters its logits");
  }
  EXPECT_ERROR(launch_sampling(logits, plain, nullptr, Tensor::zeros({3}, DType::i32)),
               "sample_step: 3 ids drawn in the step for 2 rows");
}

// Ids the step drew are the step's tokens: the sampler draws no others, and the logprobs
// asked for are those of the drawn ids.
TEST(StepSampler, IdsDrawnInTheStepAreKeptAndGetTheirLogprobs) {
  const std::vector<float> row = {0.5f, 2.0f, -1.0f, 1.5f};
  const std::vector<RowSampling> rows = {{.params = {.temperature = 0}, .top_logprobs = 1}, {.params = {.temperature = 0}}};
  Tensor drawn = Tensor::zeros({2}, DType::i32);
  drawn.data<int32_t>()[0] = 3;  // not the greedy choice: the sampler must not draw again
  drawn.data<int32_t>()[1] = 2;
  const std::vector<SampledToken> got =
      collect_sampling(launch_sampling(logits_of({row, row}), rows, nullptr, drawn));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 3);
  EXPECT_EQ(got[1].id, 2);
  ASSERT_TRUE(got[0].logprobs.has_value());
  EXPECT_NEAR(got[0].logprobs->logprob, log_softmax(row, 3), 1e-5);
  ASSERT_EQ(got[0].logprobs->top.size(), 1u);
  EXPECT_EQ(got[0].logprobs->top[0].first, 1);
  EXPECT_FALSE(got[1].logprobs.has_value());
}

TEST(StepSampler, RejectsBadParameters) {
  EXPECT_ERROR(SamplingParams{.temperature = -1}.validate(), "temperature must be >= 0, got -1");
  EXPECT_ERROR(SamplingParams{.top_k = -2}.validate(), "top_k must be >= 0");
  EXPECT_ERROR(SamplingParams{.top_p = 0}.validate(), "top_p must be in (0, 1], got 0");
  EXPECT_ERROR(SamplingParams{.top_p = 1.5f}.validate(), "top_p must be in (0, 1]");
  EXPECT_ERROR(SamplingParams{.min_p = 2}.validate(), "min_p must be in [0, 1]");
  EXPECT_ERROR(SamplingParams{.repetition_penalty = 0}.validate(), "repetition_penalty must be > 0");
  EXPECT_ERROR(SamplingParams{.presence_penalty = 2.5f}.validate(), "presence_penalty must be in [-2, 2], got 2.5");
  EXPECT_ERROR(SamplingParams{.frequency_penalty = NAN}.validate(), "frequency_penalty must be in [-2, 2]");
  SamplingParams biased;
  biased.logit_bias = {{3, 1.0f}, {4, -101.0f}};
  EXPECT_ERROR(biased.validate(), "the logit bias of token 4 must be in [-100, 100], got -101");
  biased.logit_bias = {{3, 1.0f}, {3, 2.0f}};
  EXPECT_ERROR(biased.validate(), "token 3 has two logit biases");
  biased.logit_bias.assign(301, {0, 0.0f});
  EXPECT_ERROR(biased.validate(), "at most 300 logit biases, got 301");
  EXPECT_ERROR(sample_one({1.0f, 2.0f}, {.params = {.top_p = 0}}), "sample: row 0: top_p must be in (0, 1], got 0");
  EXPECT_ERROR(sample_one({1.0f, 2.0f}, {.top_logprobs = 21}), "asks for 21 top logprobs, at most 20");
}

}  // namespace
}  // namespace genrt
