// The CPU reference of the penalties and logit biases, against the formulas written out.

#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref/penalties.h"

namespace genrt::ref {
namespace {

std::vector<float> penalize(const std::vector<float>& logits, int64_t vocab, const std::vector<PenaltyRow>& rows,
                            const std::vector<PenaltyToken>& tokens) {
  std::vector<float> out(logits.size(), -99.0f);
  apply_penalties({.logits = logits.data(),
                   .out = out.data(),
                   .params = rows.data(),
                   .tokens = tokens.data(),
                   .rows = static_cast<int64_t>(rows.size()),
                   .vocab = vocab,
                   .n_tokens = static_cast<int64_t>(tokens.size())});
  return out;
}

TEST(RefPenalties, RepetitionDividesPositiveAndMultipliesNegativeContextLogits) {
  // Row 0 has tokens 0 and 2 in its context; row 1 has no penalty; row 2 has token 1 with
  // penalty 2.
  const std::vector<float> logits = {2.0f, 1.0f, -0.5f, 3.0f, 3.0f, 3.0f, 0.0f, -1.0f, 4.0f};
  const std::vector<PenaltyRow> rows = {{.repetition = 4.0f, .begin = 0, .end = 2},
                                        {.repetition = 1.0f, .begin = 2, .end = 2},
                                        {.repetition = 2.0f, .begin = 2, .end = 3}};
  const std::vector<PenaltyToken> tokens = {{.id = 0, .in_context = 1}, {.id = 2, .in_context = 1},
                                            {.id = 1, .in_context = 1}};
  EXPECT_EQ(penalize(logits, 3, rows, tokens),
            (std::vector<float>{0.5f, 1.0f, -2.0f, 3.0f, 3.0f, 3.0f, 0.0f, -2.0f, 4.0f}));
}

// OpenAI's definition, mu[j] - c[j] * frequency - (c[j] > 0) * presence + bias[j], on a
// vocabulary of 5, after the repetition penalty of the tokens in the context.
TEST(RefPenalties, PresenceFrequencyAndBiasFollowOpenAisFormula) {
  const std::vector<float> logits = {1.5f, -0.25f, 2.0f, 0.75f, -3.0f};
  const PenaltyRow row{.repetition = 1.25f, .presence = 0.5f, .frequency = 0.375f, .begin = 0, .end = 4};
  const std::vector<PenaltyToken> tokens = {
      {.id = 0, .in_context = 1},                            // in the prompt only: repetition
      {.id = 1, .in_context = 1, .generated = 3},            // generated 3 times
      {.id = 3, .in_context = 1, .generated = 1, .bias = 2},  // generated once, biased
      {.id = 4, .bias = -100},                               // biased only
  };
  const std::vector<float> want = {1.5f / 1.25f, -0.25f * 1.25f - 0.5f - 3 * 0.375f, 2.0f,
                                   0.75f / 1.25f - 0.5f - 1 * 0.375f + 2.0f, -3.0f - 100.0f};
  EXPECT_EQ(penalize(logits, 5, {row}, tokens), want);
}

}  // namespace
}  // namespace genrt::ref
