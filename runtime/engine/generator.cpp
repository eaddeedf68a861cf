#include "runtime/engine/generator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace genrt {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
  }
  return "?";
}

int64_t kv_blocks_needed(std::span<const GenerationRequest> requests, int64_t block_size) {
  int64_t blocks = 0;
  for (const GenerationRequest& r : requests) {
    const auto tokens = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
    blocks += (tokens + block_size - 1) / block_size;
  }
  return blocks;
}

Generator::Generator(const CausalLM& model, KvCache& cache) : model_(model), cache_(cache) {}

namespace {

// One request in flight.
struct Sequence {
  std::vector<int32_t> context;  // prompt + generated
  int64_t prompt_tokens = 0;
  int64_t max_new_tokens = 0;
  BlockTable blocks;
  Sampler sampler;
  bool done = false;
};

}  // namespace

std::vector<GenerationResult> Generator::generate(std::span<const GenerationRequest> requests,
                                                  const TokenCallback& on_token,
                                                  GenerationStats* stats) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const ModelSpec& spec = model_.spec();
  const int64_t context = spec.context_length;

  std::vector<Sequence> seqs;
  seqs.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerationRequest& r = requests[i];
    const auto prompt_tokens = static_cast<int64_t>(r.prompt.size());
    GENRT_CHECK(prompt_tokens > 0, "request {}: the prompt is empty", i);
    GENRT_CHECK(prompt_tokens < context,
                "request {}: the prompt has {} tokens, but the model's context is {} tokens", i,
                prompt_tokens, context);
    for (int32_t id : r.prompt) {
      GENRT_CHECK(id >= 0 && id < spec.vocab_size,
                  "request {}: prompt token id {} is outside the vocabulary [0, {})", i, id,
                  spec.vocab_size);
    }
    GENRT_CHECK(r.max_new_tokens >= 0, "request {}: max tokens must be >= 0, got {}", i,
                r.max_new_tokens);
    r.sampling.validate();
    int64_t max_new = r.max_new_tokens;
    if (prompt_tokens + max_new > context) {
      max_new = context - prompt_tokens;
      spdlog::warn("request {}: max tokens {} clamped to {}, the context left after a {}-token prompt",
                   i, r.max_new_tokens, max_new, prompt_tokens);
    }
    seqs.push_back(Sequence{.context = r.prompt,
                            .prompt_tokens = prompt_tokens,
                            .max_new_tokens = max_new,
                            .blocks = {},
                            .sampler = Sampler(r.sampling),
                            .done = max_new == 0});
  }

  // Reserve every sequence's blocks up front: a fixed batch never runs out mid-way.
  for (size_t i = 0; i < seqs.size(); ++i) {
    Sequence& s = seqs[i];
    if (!cache_.reserve(s.blocks, s.prompt_tokens + s.max_new_tokens)) {
      for (Sequence& reserved : seqs) cache_.release(reserved.blocks);
      fail("request {}: the KV cache has {} free blocks of {} tokens, too few for {} prompt + {} "
           "new tokens",
           i, cache_.free_blocks(), cache_.shape().block_size, s.prompt_tokens, s.max_new_tokens);
    }
  }

  std::vector<GenerationResult> results(seqs.size());
  const auto& eos = spec.eos_token_ids;
  auto accept = [&](size_t i, int32_t token) {
    Sequence& s = seqs[i];
    s.context.push_back(token);
    results[i].tokens.push_back(token);
    const auto& stop = requests[i].stop_token_ids;
    const bool is_eos = std::find(eos.begin(), eos.end(), token) != eos.end() ||
                        std::find(stop.begin(), stop.end(), token) != stop.end();
    if (!on_token(i, token)) {
      s.done = true;
      results[i].finish_reason = FinishReason::cancelled;
    } else if (is_eos && !requests[i].ignore_eos) {
      s.done = true;
      results[i].finish_reason = FinishReason::stop;
    } else if (static_cast<int64_t>(results[i].tokens.size()) >= s.max_new_tokens) {
      s.done = true;
      results[i].finish_reason = FinishReason::length;
    }
  };

  // Each step feeds every live sequence the tokens it has not yet cached: the whole
  // prompt on the first step, then the one token sampled last.
  // Blocks go back to the pool however this ends, so a failed step cannot leak them.
  struct ReleaseBlocks {
    KvCache& cache;
    std::vector<Sequence>& seqs;
    ~ReleaseBlocks() {
      for (Sequence& s : seqs) cache.release(s.blocks);
    }
  } release_blocks{cache_, seqs};

  Clock::time_point first_token_time{};
  int64_t steps = 0;
  for (;;) {
    ForwardBatch batch;
    std::vector<size_t> live;
    for (size_t i = 0; i < seqs.size(); ++i) {
      Sequence& s = seqs[i];
      if (s.done) continue;
      const int64_t cached = steps == 0 ? 0 : static_cast<int64_t>(s.context.size()) - 1;
      const int64_t fresh = static_cast<int64_t>(s.context.size()) - cached;
      batch.sequences.push_back({.first_token = static_cast<int64_t>(batch.tokens.size()),
                                 .n_tokens = fresh,
                                 .start_pos = cached,
                                 .blocks = &s.blocks});
      batch.tokens.insert(batch.tokens.end(), s.context.begin() + cached, s.context.end());
      live.push_back(i);
    }
    if (live.empty()) break;
    Tensor logits = model_.forward(batch, cache_, LogitsFor::last_token);
    for (size_t row = 0; row < live.size(); ++row) {
      Sequence& s = seqs[live[row]];
      std::span<float> row_logits = logits.select(static_cast<int64_t>(row)).span<float>();
      accept(live[row], s.sampler.sample(row_logits, s.context));
    }
    if (steps++ == 0) first_token_time = Clock::now();
  }

  if (stats != nullptr) {
    const auto end = Clock::now();
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    *stats = GenerationStats{};
    int64_t after_first = 0;  // tokens each sequence generated after its first
    for (size_t i = 0; i < seqs.size(); ++i) {
      const auto generated = static_cast<int64_t>(results[i].tokens.size());
      stats->prompt_tokens += seqs[i].prompt_tokens;
      stats->generated_tokens += generated;
      after_first += std::max<int64_t>(generated - 1, 0);
    }
    if (steps > 0) {
      stats->ttft_ms = ms(first_token_time - start);
      stats->decode_ms = ms(end - first_token_time);
      if (stats->decode_ms > 0 && after_first > 0) {
        stats->tokens_per_s = after_first / (stats->decode_ms / 1000.0);
      }
    }
  }
  return results;
}

}  // namespace genrt
