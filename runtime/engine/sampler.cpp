#include "runtime/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ref/argmax.h"
#include "kernels/ref/softmax.h"
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

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  params_.validate();
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> context) {
  const auto vocab = static_cast<int64_t>(logits.size());
  GENRT_CHECK(vocab > 0, "sample: empty logits");
  if (params_.repetition_penalty != 1.0f) {
    // CTRL-style, as transformers applies it: shrink positive logits, grow negative ones.
    std::vector<bool> seen(static_cast<size_t>(vocab), false);
    for (int32_t id : context) {
      if (id < 0 || id >= vocab || seen[id]) continue;
      seen[id] = true;
      logits[id] = logits[id] > 0 ? logits[id] / params_.repetition_penalty
                                  : logits[id] * params_.repetition_penalty;
    }
  }
  if (params_.temperature == 0.0f) {
    return static_cast<int32_t>(ref::argmax(logits.data(), vocab));
  }

  for (float& l : logits) l /= params_.temperature;
  ref::softmax(logits.data(), 1, vocab);
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  // Descending probability; ties broken by id so the order is fully determined.
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });

  size_t keep = order.size();
  if (params_.top_k > 0) keep = std::min<size_t>(keep, static_cast<size_t>(params_.top_k));
  if (params_.top_p < 1.0f) {
    // The smallest prefix whose mass reaches top_p (always at least one token).
    double mass = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      mass += logits[order[i]];
      if (mass >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const float threshold = params_.min_p * logits[order[0]];
    size_t i = 1;
    while (i < keep && logits[order[i]] >= threshold) ++i;
    keep = i;
  }

  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) total += logits[order[i]];
  // A uniform double in [0, 1) from the top 53 bits: the same on every platform, unlike
  // std::uniform_real_distribution.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += logits[order[i]];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

}  // namespace genrt
