#include "kernels/ref/token_logprobs.h"

#include <algorithm>
#include <vector>

namespace genrt::ref {

void token_logprobs(const TokenLogprobsArgs& a) {
  std::vector<int32_t> ids;
  for (int64_t r = 0; r < a.rows_n; ++r) {
    const float* logits = a.logits + static_cast<int64_t>(a.rows[r]) * a.vocab;
    float max_logit = -INFINITY;
    for (int64_t i = 0; i < a.vocab; ++i) max_logit = fmaxf(max_logit, logits[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < a.vocab; ++i) sum += softmax_term(logits[i], max_logit);
    const float log_z = log_normalizer(max_logit, sum);
    a.logprob[r] = logits[a.chosen[a.rows[r]]] - log_z;
    if (a.top_n == 0) continue;

    ids.clear();
    for (int32_t i = 0; i < a.vocab; ++i) {
      if (logits[i] == logits[i]) ids.push_back(i);
    }
    const auto n = static_cast<size_t>(std::min<int64_t>(a.top_n, static_cast<int64_t>(ids.size())));
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                      [&](int32_t x, int32_t y) { return ranks_before(logits[x], x, logits[y], y); });
    for (int64_t k = 0; k < a.top_n; ++k) {
      const bool there = static_cast<size_t>(k) < n;
      a.top_ids[r * a.top_n + k] = there ? ids[k] : -1;
      a.top_logprobs[r * a.top_n + k] = there ? logits[ids[k]] - log_z : -INFINITY;
    }
  }
}

}  // namespace genrt::ref
