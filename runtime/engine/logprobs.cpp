#include "runtime/engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace genrt {

TokenLogprobs compute_logprobs(std::span<const float> logits, int32_t chosen, int64_t top_k) {
  // log_softmax(x)_i = x_i - max - log(sum exp(x - max)), in double for the sum.
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max_logit));
  const auto log_z = static_cast<float>(max_logit + std::log(sum));

  TokenLogprobs out;
  out.logprob = logits[chosen] - log_z;
  const auto k = static_cast<size_t>(std::clamp<int64_t>(top_k, 0, static_cast<int64_t>(logits.size())));
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (size_t i = 0; i < k; ++i) out.top.emplace_back(ids[i], logits[ids[i]] - log_z);
  return out;
}

}  // namespace genrt
