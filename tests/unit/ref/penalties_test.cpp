// The CPU reference of the penalties on seen tokens.

#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref/penalties.h"

namespace genrt::ref {
namespace {

TEST(RefPenalties, RepetitionDividesPositiveAndMultipliesNegativeSeenLogits) {
  // Row 0 has seen tokens 0 and 2 (token 2 listed twice: once is what counts); row 1 has
  // no penalty; row 2 has seen token 1 with penalty 2.
  const std::vector<float> logits = {2.0f, 1.0f, -0.5f, 3.0f, 3.0f, 3.0f, 0.0f, -1.0f, 4.0f};
  const std::vector<PenaltyRow> rows = {{.repetition = 4.0f, .begin = 0, .end = 3},
                                        {.repetition = 1.0f, .begin = 3, .end = 3},
                                        {.repetition = 2.0f, .begin = 3, .end = 4}};
  const std::vector<int32_t> tokens = {0, 2, 2, 1};
  std::vector<float> out(logits.size(), -99.0f);
  apply_penalties({.logits = logits.data(),
                   .out = out.data(),
                   .params = rows.data(),
                   .tokens = tokens.data(),
                   .rows = 3,
                   .vocab = 3,
                   .n_tokens = 4});
  EXPECT_EQ(out, (std::vector<float>{0.5f, 1.0f, -2.0f, 3.0f, 3.0f, 3.0f, 0.0f, -2.0f, 4.0f}));
}

}  // namespace
}  // namespace genrt::ref
