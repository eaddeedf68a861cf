#pragma once
// Constrained decoding's token masks on the logits, before sampling: a token whose bit is
// clear cannot be drawn. Each row's mask is a bit per token, bit t % 32 of word t / 32
// (runtime/grammar/token_grammar.h makes them); a row that allows everything has all bits
// set. The CPU reference and the kernel (kernels/token_mask.cu) share the per-token rule.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct TokenMaskArgs {
  const float* logits = nullptr;     // [rows, vocab]
  const uint32_t* allowed = nullptr;  // [rows, words]: words >= ceil(vocab / 32)
  float* out = nullptr;              // [rows, vocab]; may be logits itself
  int64_t rows = 0;
  int64_t vocab = 0;
  int64_t words = 0;
};

// out = logits where allowed, -inf elsewhere.
void mask_tokens(const TokenMaskArgs& args);

GENRT_HOST_DEVICE inline float masked_logit(float logit, const uint32_t* allowed_row, int64_t token) {
  return (allowed_row[token >> 5] >> (token & 31)) & 1u ? logit : -INFINITY;
}

}  // namespace genrt::ref
