#include "kernels/ref/token_mask.h"

namespace genrt::ref {

void mask_tokens(const TokenMaskArgs& a) {
  for (int64_t r = 0; r < a.rows; ++r) {
    const uint32_t* allowed = a.allowed + r * a.words;
    for (int64_t t = 0; t < a.vocab; ++t) a.out[r * a.vocab + t] = masked_logit(a.logits[r * a.vocab + t], allowed, t);
  }
}

}  // namespace genrt::ref
