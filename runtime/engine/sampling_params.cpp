#include "runtime/engine/sampling_params.h"

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
}

}  // namespace genrt
