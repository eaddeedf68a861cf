#pragma once
// Log-probabilities for OpenAI-style `logprobs`: the chosen token's and the k most likely
// tokens', from the model's raw distribution (before temperature and filters, as OpenAI
// and vLLM report them).

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace genrt {

struct TokenLogprobs {
  float logprob = 0;                          // of the chosen token
  std::vector<std::pair<int32_t, float>> top;  // the k most likely, most likely first
};

TokenLogprobs compute_logprobs(std::span<const float> logits, int32_t chosen, int64_t top_k);

}  // namespace genrt
