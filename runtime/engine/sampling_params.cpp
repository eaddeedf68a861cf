#include "runtime/engine/sampling_params.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"

namespace genrt {

void SamplingParams::validate() const {
  GENRT_CHECK(std::isfinite(temperature) && temperature >= 0.0f,
              "temperature must be >= 0, got {}", temperature);
  GENRT_CHECK(top_k >= 0, "top_k must be >= 0 (0 disables it), got {}", top_k);
  GENRT_CHECK(top_p > 0.0f && top_p <= 1.0f, "top_p must be in (0, 1], got {}", top_p);
  GENRT_CHECK(min_p >= 0.0f && min_p <= 1.0f, "min_p must be in [0, 1], got {}", min_p);
  GENRT_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0.0f,
              "repetition_penalty must be > 0, got {}", repetition_penalty);
  GENRT_CHECK(presence_penalty >= -2.0f && presence_penalty <= 2.0f, "presence_penalty must be in [-2, 2], got {}",
              presence_penalty);
  GENRT_CHECK(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f, "frequency_penalty must be in [-2, 2], got {}",
              frequency_penalty);
  GENRT_CHECK(static_cast<int64_t>(logit_bias.size()) <= kMaxLogitBias, "at most {} logit biases, got {}",
              kMaxLogitBias, logit_bias.size());
  std::vector<int32_t> ids;
  for (const auto& [id, bias] : logit_bias) {
    GENRT_CHECK(id >= 0, "logit bias token id {} is negative", id);
    GENRT_CHECK(bias >= -100.0f && bias <= 100.0f, "the logit bias of token {} must be in [-100, 100], got {}", id,
                bias);
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  const auto twice = std::adjacent_find(ids.begin(), ids.end());
  GENRT_CHECK(twice == ids.end(), "token {} has two logit biases", twice == ids.end() ? 0 : *twice);
}

}  // namespace genrt
