#pragma once
// Penalties and biases on the logits of the tokens a row names, before sampling. Each row
// names its tokens as a range of one shared list of PenaltyTokens; the rows' parameters and
// that list are the same bytes on the host and the device, and the per-token formula is
// shared by the CPU reference and the kernel (kernels/penalties.cu), both compiled without
// fused multiply-adds so that they agree bit for bit.
//
// For a token with logit l, in order:
// - repetition penalty (CTRL, as transformers applies it), if the token is in the context
//   (prompt or output): l / penalty if l > 0, else l * penalty, so penalty > 1 discourages
//   repeats;
// - OpenAI's presence and frequency penalties, for a token generated c > 0 times so far:
//   l - presence - c * frequency;
// - OpenAI's logit bias: l + bias.

#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct PenaltyRow {
  float repetition = 1.0f;  // > 0; 1: off
  float presence = 0.0f;    // 0: off
  float frequency = 0.0f;   // 0: off
  int32_t begin = 0;        // the row's tokens are tokens[begin, end), in increasing id order
  int32_t end = 0;
};

// A token of a row and what applies to it.
struct PenaltyToken {
  int32_t id = 0;         // in [0, vocab)
  int32_t in_context = 0;  // 1: the repetition penalty applies
  int32_t generated = 0;   // times generated so far (>= 0)
  float bias = 0.0f;
};

struct PenaltyArgs {
  const float* logits = nullptr;        // [rows, vocab]
  float* out = nullptr;                 // [rows, vocab]: the penalized logits
  const PenaltyRow* params = nullptr;   // [rows]
  const PenaltyToken* tokens = nullptr;  // [n_tokens]: each id at most once in a row
  int64_t rows = 0;
  int64_t vocab = 0;
  int64_t n_tokens = 0;
};

// out = logits, with each row's tokens penalized and biased.
void apply_penalties(const PenaltyArgs& args);

GENRT_HOST_DEVICE inline float repetition_penalized(float logit, float penalty) {
  return logit > 0.0f ? logit / penalty : logit * penalty;
}

GENRT_HOST_DEVICE inline float penalized(float logit, const PenaltyRow& row, const PenaltyToken& token) {
  float l = token.in_context != 0 ? repetition_penalized(logit, row.repetition) : logit;
  if (token.generated > 0) l = l - row.presence - static_cast<float>(token.generated) * row.frequency;
  return l + token.bias;
}

}  // namespace genrt::ref
