// The sampling op entries' checks: clear errors for tensors and parameters that do not fit.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/backend/sampling_ops.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(SamplingOps, RejectMismatchedTensorsAndParameters) {
  const Tensor logits = Tensor::zeros({2, 5}, DType::f32);
  const std::vector<ops::SamplingRow> two(2);
  const Tensor rows = ops::sampling_rows(two);
  Tensor ids = Tensor::zeros({2}, DType::i32);
  EXPECT_ERROR(ops::sample(logits, ops::sampling_rows(std::vector<ops::SamplingRow>(3)), ids),
               "sample: rows has shape [3, 8], expected [2, 8]");
  Tensor wrong_ids = Tensor::zeros({2}, DType::f32);
  EXPECT_ERROR(ops::sample(logits, rows, wrong_ids), "sample: ids is f32 on cpu, expected i32 on cpu");
  EXPECT_ERROR(ops::sampling_rows(std::vector<ops::SamplingRow>{{}, {.top_k = -1}}),
               "sample: row 1: top_k must be >= 0");
  EXPECT_ERROR(ops::sample(Tensor::zeros({2, 5}, DType::i32), rows, ids), "sample: logits is i32");

  const std::vector<ops::PenaltyRow> penalties = {{.repetition = 2.0f, .begin = 0, .end = 1}, {}};
  using Tokens = std::vector<ops::PenaltyToken>;
  EXPECT_ERROR(ops::penalty_table(penalties, Tokens{{.id = 5}}, 5),
               "apply_penalties: token 5 is outside the vocabulary [0, 5)");
  EXPECT_ERROR(ops::penalty_table(penalties, Tokens{}, 5),
               "apply_penalties: row 0: tokens [0, 1) are not inside the 0 listed");
  const std::vector<ops::PenaltyRow> pair = {{.begin = 0, .end = 2}, {}};
  EXPECT_ERROR(ops::penalty_table(pair, Tokens{{.id = 3}, {.id = 3}}, 5),
               "apply_penalties: row 0: token 3 is out of increasing id order");
  EXPECT_ERROR(ops::penalty_table(pair, Tokens{{.id = 1}, {.id = 3, .generated = -1}}, 5),
               "apply_penalties: row 0: token 3 has count -1");
  EXPECT_ERROR(ops::penalty_table(std::vector<ops::PenaltyRow>{{.presence = NAN}, {}}, Tokens{}, 5),
               "apply_penalties: row 0: presence and frequency penalties must be finite");
  const ops::PenaltyTable table = ops::penalty_table(penalties, Tokens{{.id = 3}}, 5);
  Tensor same = logits;
  EXPECT_ERROR(ops::apply_penalties(logits, table.rows, table.tokens, same), "out must not alias logits");

  Tensor logprob = Tensor::zeros({1}, DType::f32), top_ids = Tensor::zeros({1, 21}, DType::i32);
  Tensor top_logprobs = Tensor::zeros({1, 21}, DType::f32);
  Tensor requests = Tensor::zeros({1}, DType::i32);
  EXPECT_ERROR(ops::token_logprobs(logits, ids, requests, logprob, top_ids, top_logprobs),
               "token_logprobs: at most 20 top logprobs, not 21");
  requests.data<int32_t>()[0] = 2;
  Tensor no_top;
  EXPECT_ERROR(ops::token_logprobs(logits, ids, requests, logprob, no_top, no_top),
               "token_logprobs: row 2 is outside the 2 logits rows");
}

}  // namespace
}  // namespace genrt
