#pragma once
// Penalties on the logits of tokens a sequence has already seen, before sampling. Each row
// names its tokens as a range of one shared token list; the rows' parameters and that list
// are the same bytes on the host and the device, and the per-token formula is shared by
// the CPU reference and the kernel (kernels/penalties.cu).
//
// Repetition penalty (CTRL, as transformers applies it): a seen token's positive logit is
// divided by the penalty, a negative one multiplied, so penalty > 1 discourages repeats.
// Presence/frequency penalties and logit biases would join as more PenaltyRow fields and
// per-token values (counts, biases) beside `tokens`.

#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct PenaltyRow {
  float repetition = 1.0f;  // > 0; 1: off
  int32_t begin = 0;        // the row's seen tokens are tokens[begin, end)
  int32_t end = 0;
};

struct PenaltyArgs {
  const float* logits = nullptr;     // [rows, vocab]
  float* out = nullptr;              // [rows, vocab]: the penalized logits
  const PenaltyRow* params = nullptr;  // [rows]
  const int32_t* tokens = nullptr;   // [n_tokens]: ids in [0, vocab); a token listed twice in a row counts once
  int64_t rows = 0;
  int64_t vocab = 0;
  int64_t n_tokens = 0;
};

// out = logits, with each row's seen tokens penalized (from the original logit, so a
// repeated entry changes nothing).
void apply_penalties(const PenaltyArgs& args);

GENRT_HOST_DEVICE inline float repetition_penalized(float logit, float penalty) {
  return logit > 0.0f ? logit / penalty : logit * penalty;
}

}  // namespace genrt::ref
