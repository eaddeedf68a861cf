#pragma once
// One forward step's sampling, on the model's device: each row's penalties and logit
// biases, its draw and the logprobs its request asked for run as op entries on the logits where the
// forward left them (runtime/backend/sampling_ops.h). On the GPU the logits stay there:
// only the chosen ids and the requested logprobs come back to the host.

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/tensor.h"
#include "runtime/engine/sampling_params.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

// Log-probabilities for OpenAI-style `logprobs`, from the model's raw distribution (before
// penalties, temperature and filters, as OpenAI and vLLM report them).
struct TokenLogprobs {
  float logprob = 0;                           // of the chosen token
  std::vector<std::pair<int32_t, float>> top;  // the k most likely, most likely first
};

// The most top logprobs a token may ask for (OpenAI's limit).
constexpr int64_t kMaxTopLogprobs = 20;

// What one logits row is sampled with.
struct RowSampling {
  SamplingParams params;
  uint64_t draws = 0;                // tokens its sequence drew before: this draw's Philox step
  // Its sequence's tokens, which the repetition penalty discourages; the last `draws` of
  // them are the generated ones, which the presence and frequency penalties count.
  std::span<const int32_t> context;
  int64_t top_logprobs = -1;         // -1: none; k in [0, kMaxTopLogprobs]: the chosen token's and the top k
  // Constrained decoding: the tokens it may draw, a bit per token (bit t % 32 of word
  // t / 32; runtime/grammar/token_grammar.h); empty: every token. Applied after the
  // penalties and biases, so no bias brings back a token the grammar leaves out.
  std::span<const uint32_t> allowed_tokens;
};

struct SampledToken {
  int32_t id = 0;
  std::optional<TokenLogprobs> logprobs;  // when the row asked for them
};

// A step's sampling, launched: its ids on the model's device (`ids`, which the next step
// may take as its input ids before they reach the host) and its results on their way to
// the host.
struct LaunchedSampling {
  Tensor ids;  // [rows] i32
  DeviceRuntime* runtime = nullptr;
  // ids, logprob, top ids, top logprobs: on the GPU on their way to pinned memory, on the
  // CPU the tensors themselves
  DeviceRuntime::ReadBack read_back;
  std::vector<int32_t> asking;        // the rows that asked for logprobs
  std::vector<int64_t> top_logprobs;  // each asking row's k
  int64_t top_n = 0;
};

// The draw of a step whose rows take nothing but their SamplingRow (no penalty, logit bias
// or token mask), for the forward step to take in (ForwardBatch::draw): on the GPU its ids
// go to the runtime's sampled ids. Unset when a row needs more: the whole draw then runs
// in launch_sampling, after the forward.
std::optional<ForwardBatch::Draw> step_draw(std::span<const RowSampling> rows, DeviceRuntime* runtime);

// Launches the sampling of a token for each row of logits [rows, vocab] (f32, as the model's
// forward returned them: on the device of `runtime`, the model's DeviceRuntime, or on the
// host when it is null). On the GPU the ids go to the runtime's sampled-ids buffer. `drawn`:
// the ids of a step_draw() that the forward step drew, leaving the requested logprobs and
// the read-back; undefined: the draw too.
LaunchedSampling launch_sampling(const Tensor& logits, std::span<const RowSampling> rows, DeviceRuntime* runtime,
                                 const Tensor& drawn = {});
// Waits for a launched sampling's results (the step's one synchronization on the GPU).
std::vector<SampledToken> collect_sampling(const LaunchedSampling& launched);
// Both at once.
std::vector<SampledToken> sample_step(const Tensor& logits, std::span<const RowSampling> rows,
                                      DeviceRuntime* runtime);

}  // namespace genrt
