#pragma once
// What a request samples its tokens with. The filters run in the order of transformers'
// and vLLM's samplers: repetition penalty, temperature, top-k, top-p, min-p, then a draw
// from the renormalized distribution (the algorithm: kernels/ref/sampling.h). Temperature
// 0 is greedy.

#include <cstdint>

namespace genrt {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens already in the context
  uint64_t seed = 0;                // the draws' Philox key: the same tokens on the CPU and the GPU

  // Throws genrt::Error naming the first parameter out of range.
  void validate() const;
};

}  // namespace genrt
