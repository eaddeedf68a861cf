#include "runtime/engine/generator.h"

#include <chrono>

namespace genrt {

int64_t kv_blocks_needed(std::span<const GenerationRequest> requests, int64_t block_size) {
  int64_t blocks = 0;
  for (const GenerationRequest& r : requests) {
    // One slot over prompt + max tokens: an encoder-decoder's context also holds the
    // decoder's start token, and admission reserves a slot past the context.
    const auto tokens = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens + 1;
    blocks += (tokens + block_size - 1) / block_size;
  }
  return blocks;
}

Generator::Generator(const CausalLM& model, KvCache& cache, SchedulerConfig config)
    : model_(model), cache_(cache), config_(config) {}

std::vector<GenerationResult> Generator::generate(std::span<const GenerationRequest> requests,
                                                  const TokenCallback& on_token, GenerationStats* stats) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::vector<GenerationResult> results(requests.size());
  std::optional<Clock::time_point> first_token;
  BatchScheduler scheduler(model_, cache_, config_);
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerationRequest& r = requests[i];
    SequenceRequest seq{.prompt = r.prompt,
                        .max_new_tokens = r.max_new_tokens,
                        .sampling = r.sampling,
                        .ignore_eos = r.ignore_eos,
                        .stop_token_ids = r.stop_token_ids,
                        .grammar = r.grammar,
                        .on_token =
                            [&, i](const GeneratedToken& token) {
                              if (!first_token) first_token = Clock::now();
                              results[i].tokens.push_back(token.id);
                              return on_token(i, token.id);
                            },
                        .on_finish = [&, i](FinishReason reason) { results[i].finish_reason = reason; },
                        .cancelled = nullptr};
    try {
      scheduler.submit(std::move(seq));
    } catch (const Error& e) {
      fail("request {}: {}", i, e.what());
    }
  }
  while (!scheduler.idle()) scheduler.step();

  if (stats != nullptr) {
    const auto end = Clock::now();
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    *stats = GenerationStats{};
    int64_t after_first = 0;  // tokens each request generated after its first
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto generated = static_cast<int64_t>(results[i].tokens.size());
      stats->prompt_tokens += static_cast<int64_t>(requests[i].prompt.size());
      stats->generated_tokens += generated;
      after_first += std::max<int64_t>(generated - 1, 0);
    }
    if (first_token) {
      stats->ttft_ms = ms(*first_token - start);
      stats->decode_ms = ms(end - *first_token);
      if (stats->decode_ms > 0 && after_first > 0) stats->tokens_per_s = after_first / (stats->decode_ms / 1000.0);
    }
  }
  return results;
}

}  // namespace genrt
