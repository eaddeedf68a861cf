#pragma once
// Turns one row of logits into the next token. The filters run in the order of
// transformers' and vLLM's samplers: repetition penalty, temperature, top-k, top-p,
// min-p, then a draw from the renormalized distribution. Temperature 0 is greedy.

#include <cstdint>
#include <random>
#include <span>

namespace genrt {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens already in the context
  uint64_t seed = 0;

  // Throws genrt::Error naming the first parameter out of range.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. `logits` is modified (penalty, temperature, filters).
  // `context` holds the prompt and the tokens generated so far.
  int32_t sample(std::span<float> logits, std::span<const int32_t> context);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;  // mt19937_64's output is fixed by the standard: same seed, same draws
};

}  // namespace genrt
