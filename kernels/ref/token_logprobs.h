#pragma once
// Log-probabilities for OpenAI-style `logprobs`, from the model's raw logits (before
// penalties, temperature and filters, as OpenAI and vLLM report them): for each requested
// row, the chosen token's log_softmax and the top_n most likely tokens with theirs.
//
//   log_softmax(l)_i = l_i - log_z,  log_z = max + log(sum_j exp(l_j - max))
//
// with the sum in fp64 and NaN logits left out (probability 0, never in the top). The top
// tokens come most likely first, the lower id first on ties. The GPU kernel
// (kernels/token_logprobs.cu) adds the sum in another order: its values agree with these
// to a rounding of log_z, its token ids exactly.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct TokenLogprobsArgs {
  const float* logits = nullptr;  // [logit_rows, vocab]
  const int32_t* chosen = nullptr;  // [logit_rows]: each logits row's drawn token
  const int32_t* rows = nullptr;    // [rows]: the logits row of each request
  float* logprob = nullptr;         // [rows]: the chosen token's
  int32_t* top_ids = nullptr;       // [rows, top_n]: -1 past the non-NaN tokens there are
  float* top_logprobs = nullptr;    // [rows, top_n]
  int64_t rows_n = 0;
  int64_t logit_rows = 0;
  int64_t vocab = 0;
  int64_t top_n = 0;  // 0: top_ids and top_logprobs are unused
};

void token_logprobs(const TokenLogprobsArgs& args);

// The most top tokens a row may ask for (OpenAI's limit); the kernel makes one pass over
// the row for each.
constexpr int64_t kMaxTopLogprobs = 20;

// Whether token a (logit la) ranks before token b (logit lb) among the most likely.
GENRT_HOST_DEVICE inline bool ranks_before(float la, int32_t a, float lb, int32_t b) {
  return la > lb || (la == lb && a < b);
}

// One logit's term of the normalizer's sum; NaN adds nothing.
GENRT_HOST_DEVICE inline double softmax_term(float logit, float max_logit) {
  return logit == logit ? exp(static_cast<double>(logit - max_logit)) : 0.0;
}

GENRT_HOST_DEVICE inline float log_normalizer(float max_logit, double sum) {
  return static_cast<float>(max_logit + log(sum));
}

}  // namespace genrt::ref
