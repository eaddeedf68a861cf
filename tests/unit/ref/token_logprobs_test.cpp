// The CPU reference of the requested logprobs: log_softmax of the raw logits at the chosen
// token and at the most likely ones.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref/token_logprobs.h"

namespace genrt::ref {
namespace {

struct Logprobs {
  std::vector<float> logprob;
  std::vector<int32_t> top_ids;
  std::vector<float> top_logprobs;
};

Logprobs run(const std::vector<float>& logits, int64_t vocab, const std::vector<int32_t>& chosen,
             const std::vector<int32_t>& rows, int64_t top_n) {
  Logprobs out{std::vector<float>(rows.size()), std::vector<int32_t>(rows.size() * top_n),
               std::vector<float>(rows.size() * top_n)};
  token_logprobs({.logits = logits.data(),
                  .chosen = chosen.data(),
                  .rows = rows.data(),
                  .logprob = out.logprob.data(),
                  .top_ids = out.top_ids.data(),
                  .top_logprobs = out.top_logprobs.data(),
                  .rows_n = static_cast<int64_t>(rows.size()),
                  .logit_rows = static_cast<int64_t>(chosen.size()),
                  .vocab = vocab,
                  .top_n = top_n});
  return out;
}

TEST(RefTokenLogprobs, MatchLogSoftmaxOfTheRequestedRows) {
  // Row 0 is not requested; row 1 holds probabilities [1/8, 3/8, 4/8].
  const std::vector<float> logits = {5.0f, 5.0f, 5.0f, std::log(1.0f), std::log(3.0f), std::log(4.0f)};
  const Logprobs lp = run(logits, 3, {0, 1}, {1}, 2);
  EXPECT_NEAR(lp.logprob[0], std::log(3.0f / 8), 1e-6);
  EXPECT_EQ(lp.top_ids, (std::vector<int32_t>{2, 1}));
  EXPECT_NEAR(lp.top_logprobs[0], std::log(0.5f), 1e-6);
  EXPECT_NEAR(lp.top_logprobs[1], std::log(3.0f / 8), 1e-6);
}

TEST(RefTokenLogprobs, TiesByIdNaNLeftOutAndShortRowsPadded) {
  const std::vector<float> logits = {1.0f, NAN, 2.0f, 1.0f};
  const Logprobs lp = run(logits, 4, {0}, {0}, 5);
  EXPECT_EQ(lp.top_ids, (std::vector<int32_t>{2, 0, 3, -1, -1}));
  // NaN has probability 0: the rest normalize among themselves.
  const float log_z = 2.0f + std::log(1.0f + 2.0f * std::exp(-1.0f));
  EXPECT_NEAR(lp.logprob[0], 1.0f - log_z, 1e-6);
  EXPECT_NEAR(lp.top_logprobs[0], 2.0f - log_z, 1e-6);
  EXPECT_EQ(lp.top_logprobs[3], -INFINITY);
}

}  // namespace
}  // namespace genrt::ref
