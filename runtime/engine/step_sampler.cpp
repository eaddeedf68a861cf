#include "runtime/engine/step_sampler.h"

#include <algorithm>
#include <array>
#include <limits>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/sampling_ops.h"

namespace genrt {

static_assert(kMaxTopLogprobs == ops::kMaxTopLogprobs);
static_assert(kMaxLogitBias == ops::kMaxLogitBias);

namespace {

ops::SamplingRow sampling_row(const RowSampling& row) {
  const SamplingParams& p = row.params;
  return {.temperature = p.temperature,
          .top_k = static_cast<int32_t>(std::min<int64_t>(p.top_k, std::numeric_limits<int32_t>::max())),
          .top_p = p.top_p,
          .min_p = p.min_p,
          .seed = p.seed,
          .step = row.draws};
}

// The tokens a row's penalties and biases touch, by increasing id, each once.
std::vector<ops::PenaltyToken> penalty_tokens(const RowSampling& row) {
  const SamplingParams& p = row.params;
  std::vector<ops::PenaltyToken> listed;  // one entry per occurrence, merged below
  if (p.repetition_penalty != 1.0f) {
    for (int32_t id : row.context) listed.push_back({.id = id, .in_context = 1});
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    for (int32_t id : row.context.last(static_cast<size_t>(row.draws))) listed.push_back({.id = id, .generated = 1});
  }
  for (const auto& [id, bias] : p.logit_bias) listed.push_back({.id = id, .bias = bias});
  std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<ops::PenaltyToken> merged;
  for (const ops::PenaltyToken& t : listed) {
    if (merged.empty() || merged.back().id != t.id) {
      merged.push_back(t);
      continue;
    }
    ops::PenaltyToken& m = merged.back();
    m.in_context |= t.in_context;
    m.generated += t.generated;
    m.bias += t.bias;  // an id has one bias (SamplingParams::validate): only one entry has it
  }
  return merged;
}

// Each row's tokens as a range of one list; empty when no row has a penalty or a bias.
ops::PenaltyTable penalties(std::span<const RowSampling> rows, int64_t vocab) {
  std::vector<ops::PenaltyRow> table(rows.size());
  std::vector<ops::PenaltyToken> tokens;
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::vector<ops::PenaltyToken> row_tokens = penalty_tokens(rows[r]);
    if (row_tokens.empty()) continue;
    const SamplingParams& p = rows[r].params;
    table[r] = {.repetition = p.repetition_penalty,
                .presence = p.presence_penalty,
                .frequency = p.frequency_penalty,
                .begin = static_cast<int32_t>(tokens.size()),
                .end = static_cast<int32_t>(tokens.size() + row_tokens.size())};
    tokens.insert(tokens.end(), row_tokens.begin(), row_tokens.end());
  }
  if (tokens.empty()) return {};
  return ops::penalty_table(table, tokens, vocab);
}

// Each row's token mask, every bit set for an unconstrained row; undefined when no row is
// constrained.
Tensor token_masks(std::span<const RowSampling> rows, int64_t vocab) {
  const bool any = std::any_of(rows.begin(), rows.end(), [](const RowSampling& r) { return !r.allowed_tokens.empty(); });
  if (!any) return {};
  const int64_t words = ops::token_mask_words(vocab);
  Tensor masks = Tensor::zeros({static_cast<int64_t>(rows.size()), words}, DType::i32);
  auto* bits = static_cast<uint32_t*>(masks.raw());
  for (size_t r = 0; r < rows.size(); ++r) {
    uint32_t* row = bits + static_cast<int64_t>(r) * words;
    const std::span<const uint32_t> allowed = rows[r].allowed_tokens;
    if (allowed.empty()) {
      std::fill_n(row, words, ~uint32_t{0});
      continue;
    }
    GENRT_CHECK(static_cast<int64_t>(allowed.size()) == words, "sample_step: row {}'s token mask has {} words for {} tokens",
                r, allowed.size(), vocab);
    std::copy(allowed.begin(), allowed.end(), row);
    // Bits past the vocabulary mean nothing; a row that allows no token would be drawn
    // from uniformly (every logit -inf ties with the maximum).
    if (vocab % 32 != 0) row[words - 1] &= (uint32_t{1} << (vocab % 32)) - 1;
    GENRT_CHECK(std::any_of(row, row + words, [](uint32_t w) { return w != 0; }),
                "sample_step: row {}'s token mask allows no token", r);
  }
  return masks;
}

// Whether a row's draw takes more than its SamplingRow: penalties, biases or a token mask.
bool filters_logits(const RowSampling& row) {
  const SamplingParams& p = row.params;
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f ||
         !p.logit_bias.empty() || !row.allowed_tokens.empty();
}

Tensor sampling_params(std::span<const RowSampling> rows) {
  std::vector<ops::SamplingRow> params;
  for (const RowSampling& row : rows) params.push_back(sampling_row(row));
  return ops::sampling_rows(params);
}

}  // namespace

std::optional<ForwardBatch::Draw> step_draw(std::span<const RowSampling> rows, DeviceRuntime* runtime) {
  if (std::ranges::any_of(rows, filters_logits)) return std::nullopt;
  const auto n = std::ssize(rows);
  return ForwardBatch::Draw{.params = sampling_params(rows),
                            .ids = runtime != nullptr ? runtime->sampled_ids(n) : Tensor::zeros({n}, DType::i32)};
}

LaunchedSampling launch_sampling(const Tensor& logits, std::span<const RowSampling> rows, DeviceRuntime* runtime,
                                 const Tensor& drawn) {
  GENRT_CHECK(logits.rank() == 2 && logits.dim(0) == static_cast<int64_t>(rows.size()),
              "sample_step: logits {} for {} rows", shape_string(logits.shape()), rows.size());
  GENRT_CHECK(!drawn.defined() || (drawn.numel() == logits.dim(0) && std::ranges::none_of(rows, filters_logits)),
              "sample_step: {} ids drawn in the step for {} rows, or a row whose draw filters its logits",
              drawn.defined() ? drawn.numel() : 0, rows.size());
  const int64_t n = logits.dim(0), vocab = logits.dim(1);
  // Everything below is budgeted in the model's workspace by ops::sampling_workspace_bytes.
  std::optional<DeviceRuntime::ContextScope> scope;
  if (runtime != nullptr) scope.emplace(*runtime);
  const auto on_device = [&](const Tensor& host) { return runtime != nullptr ? runtime->upload(host) : host; };
  const auto scratch = [&](const Shape& shape, DType dtype) {
    return runtime != nullptr ? runtime->scratch(shape, dtype) : Tensor::zeros(shape, dtype);
  };

  Tensor ids = drawn;
  if (!ids.defined()) {
    // Penalties and masks go to a copy: the logprobs are the raw logits'.
    Tensor penalized = logits;
    if (const ops::PenaltyTable table = penalties(rows, vocab); table.rows.defined()) {
      penalized = scratch(logits.shape(), DType::f32);
      ops::apply_penalties(logits, on_device(table.rows), on_device(table.tokens), penalized);
    }
    if (const Tensor masks = token_masks(rows, vocab); masks.defined()) {
      Tensor masked = penalized.raw() == logits.raw() ? scratch(logits.shape(), DType::f32) : penalized;
      ops::mask_tokens(penalized, on_device(masks), masked);
      penalized = masked;
    }
    ids = runtime != nullptr ? runtime->sampled_ids(n) : Tensor::zeros({n}, DType::i32);
    ops::sample(penalized, on_device(sampling_params(rows)), ids);
  }

  std::vector<int32_t> asking;
  int64_t top_n = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].top_logprobs < 0) continue;
    GENRT_CHECK(rows[r].top_logprobs <= kMaxTopLogprobs, "sample_step: row {} asks for {} top logprobs, at most {}",
                r, rows[r].top_logprobs, kMaxTopLogprobs);
    asking.push_back(static_cast<int32_t>(r));
    top_n = std::max(top_n, rows[r].top_logprobs);
  }
  const auto m = static_cast<int64_t>(asking.size());
  Tensor logprob, top_ids, top_logprobs;
  if (m > 0) {
    Tensor requests = Tensor::zeros({m}, DType::i32);
    std::copy(asking.begin(), asking.end(), requests.data<int32_t>());
    logprob = scratch({m}, DType::f32);
    if (top_n > 0) {
      top_ids = scratch({m, top_n}, DType::i32);
      top_logprobs = scratch({m, top_n}, DType::f32);
    }
    ops::token_logprobs(logits, ids, on_device(requests), logprob, top_ids, top_logprobs);
  }

  LaunchedSampling launched{.ids = ids, .runtime = runtime, .asking = asking, .top_n = top_n};
  for (const int32_t r : asking) launched.top_logprobs.push_back(rows[r].top_logprobs);
  const std::array<Tensor, 4> results{ids, logprob, top_ids, top_logprobs};
  if (runtime != nullptr) {
    launched.read_back = runtime->read_back_async(results, "the sampling ops");
  } else {
    launched.read_back.host.assign(results.begin(), results.end());
  }
  return launched;
}

std::vector<SampledToken> collect_sampling(const LaunchedSampling& launched) {
  // On the GPU the step's one synchronization: ids and logprobs back through pinned memory.
  if (launched.runtime != nullptr) launched.runtime->wait(launched.read_back, "the sampling ops");
  const std::vector<Tensor>& host = launched.read_back.host;
  const Tensor &host_ids = host[0], &host_logprob = host[1], &host_top_ids = host[2], &host_top_logprobs = host[3];
  std::vector<SampledToken> out(static_cast<size_t>(host_ids.numel()));
  for (size_t r = 0; r < out.size(); ++r) out[r].id = host_ids.data<int32_t>()[r];
  const int64_t top_n = launched.top_n;
  for (size_t i = 0; i < launched.asking.size(); ++i) {
    TokenLogprobs& lp = out[launched.asking[i]].logprobs.emplace();
    lp.logprob = host_logprob.data<float>()[i];
    for (int64_t k = 0; k < launched.top_logprobs[i]; ++k) {
      const int32_t id = host_top_ids.data<int32_t>()[static_cast<int64_t>(i) * top_n + k];
      if (id >= 0) lp.top.emplace_back(id, host_top_logprobs.data<float>()[static_cast<int64_t>(i) * top_n + k]);
    }
  }
  return out;
}

std::vector<SampledToken> sample_step(const Tensor& logits, std::span<const RowSampling> rows,
                                      DeviceRuntime* runtime) {
  return collect_sampling(launch_sampling(logits, rows, runtime));
}

}  // namespace genrt
