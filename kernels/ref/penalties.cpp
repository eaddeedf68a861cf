#include "kernels/ref/penalties.h"

#include <algorithm>

namespace genrt::ref {

void apply_penalties(const PenaltyArgs& a) {
  std::copy_n(a.logits, a.rows * a.vocab, a.out);
  for (int64_t r = 0; r < a.rows; ++r) {
    const PenaltyRow& p = a.params[r];
    const float* in = a.logits + r * a.vocab;
    float* out = a.out + r * a.vocab;
    for (int32_t e = p.begin; e < p.end; ++e) out[a.tokens[e].id] = penalized(in[a.tokens[e].id], p, a.tokens[e]);
  }
}

}  // namespace genrt::ref
