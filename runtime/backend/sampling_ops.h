#pragma once
// Op entries of token sampling: penalties on seen tokens, the draw, and the logprobs a
// request asks for. Same contract as ops.h -- check, then run the kernel or the CPU
// reference -- with one algorithm on both devices (kernels/ref/penalties.h, sampling.h,
// token_logprobs.h), so a seed draws the same tokens on each. Logits are f32 everywhere.
//
// Per-row parameters travel as tensors holding their structs' bytes ([rows, words] i32),
// made and checked on the host by sampling_rows() and penalty_table(), then uploaded with
// the rest of a step's metadata: device copies are not read back to be checked again.

#include <cstdint>
#include <span>

#include "kernels/ref/penalties.h"
#include "kernels/ref/sampling.h"
#include "kernels/ref/token_logprobs.h"
#include "kernels/ref/token_mask.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

using SamplingRow = ref::SamplingRow;
using PenaltyRow = ref::PenaltyRow;
using PenaltyToken = ref::PenaltyToken;

using ref::kMaxTopLogprobs;

// The most logit biases a row may carry (OpenAI's limit), for the workspace bound.
constexpr int64_t kMaxLogitBias = 300;

// The rows as a host tensor [rows, kSamplingRowWords] i32; throws naming the first row
// and parameter out of range.
Tensor sampling_rows(std::span<const SamplingRow> rows);
constexpr int64_t kSamplingRowWords = sizeof(SamplingRow) / sizeof(int32_t);

// Each row's tokens as a range of one token list, as host tensors.
struct PenaltyTable {
  Tensor rows;    // [rows, words] i32: PenaltyRow
  Tensor tokens;  // [n, words] i32: PenaltyToken
};
// Throws naming the first row whose penalty or range is out of bounds, or token outside
// the vocabulary, out of increasing id order in its row or with a bad count or bias.
PenaltyTable penalty_table(std::span<const PenaltyRow> rows, std::span<const PenaltyToken> tokens, int64_t vocab);

// out = logits [rows, vocab] with each row's tokens penalized and biased; out must not
// alias logits. rows and tokens: a PenaltyTable on the logits' device.
void apply_penalties(const Tensor& logits, const Tensor& rows, const Tensor& tokens, Tensor& out);

// The words of a row's token mask: a bit per token (kernels/ref/token_mask.h).
constexpr int64_t token_mask_words(int64_t vocab) { return (vocab + 31) / 32; }

// out = logits [rows, vocab] (f32) with the tokens a row's mask leaves out at -inf;
// allowed: [rows, token_mask_words(vocab)] i32 holding the bits, on the logits' device;
// out may be logits itself.
void mask_tokens(const Tensor& logits, const Tensor& allowed, Tensor& out);

// ids [rows] (i32) = one token drawn from each row of logits [rows, vocab] under its
// parameters; rows: sampling_rows() on the logits' device.
void sample(const Tensor& logits, const Tensor& rows, Tensor& ids);

// For each request m, the log-probabilities of row rows[m] (i32) of logits: of its chosen
// token chosen[rows[m]] (chosen: sample()'s ids) into logprob [m] (f32), and of its top_n
// most likely tokens into top_ids [m, top_n] (i32, -1 past the non-NaN tokens) and
// top_logprobs [m, top_n] (f32), both undefined when no top tokens are wanted.
void token_logprobs(const Tensor& logits, const Tensor& chosen, const Tensor& rows, Tensor& logprob,
                    Tensor& top_ids, Tensor& top_logprobs);

// The most one step's sampling takes from a device workspace, for up to `rows` rows of
// `vocab` logits of sequences up to `context_length` tokens: its uploaded parameters
// (sampling rows, a penalty table listing every row's distinct context tokens and biased
// ones, token masks, the logprob requests) and its outputs (penalized logits, ids, logprobs of every row with
// kMaxTopLogprobs top tokens).
uint64_t sampling_workspace_bytes(int64_t rows, int64_t vocab, int64_t context_length);
// Of those, the uploaded parameters alone: what the step stages through pinned host memory.
uint64_t sampling_upload_bytes(int64_t rows, int64_t vocab, int64_t context_length);

}  // namespace genrt::ops
