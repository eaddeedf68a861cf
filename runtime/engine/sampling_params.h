#pragma once
// What a request samples its tokens with. The filters run in the order of transformers'
// and vLLM's samplers: penalties and logit biases (kernels/ref/penalties.h), temperature,
// top-k, top-p, min-p, then a draw from the renormalized distribution (the algorithm:
// kernels/ref/sampling.h). Temperature 0 is greedy.

#include <cstdint>
#include <utility>
#include <vector>

namespace genrt {

// The most logit biases a request may carry (OpenAI's limit).
inline constexpr int64_t kMaxLogitBias = 300;

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens already in the context
  // OpenAI's, in [-2, 2]; 0: off. A token generated c > 0 times so far loses
  // presence_penalty + c * frequency_penalty from its logit.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;                // the draws' Philox key: the same tokens on the CPU and the GPU
  // OpenAI's logit_bias: (token id, bias in [-100, 100]) added to the logit, each id once.
  std::vector<std::pair<int32_t, float>> logit_bias;

  // Throws genrt::Error naming the first parameter out of range (logit bias ids are checked
  // against the vocabulary by whoever knows it).
  void validate() const;
};

}  // namespace genrt
