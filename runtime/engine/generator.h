#pragma once
// Runs a set of generation requests together: one batched prefill of all prompts, then
// batched decode steps of every unfinished sequence, each step a single forward call.
// (Continuous batching with admission and preemption comes with the serving engine.)

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "runtime/engine/sampler.h"
#include "runtime/memory/kv_cache.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, BOS included if the model wants one
  int64_t max_new_tokens = 256;
  SamplingParams sampling;
  bool ignore_eos = false;      // keep going past the model's end-of-sequence tokens
  std::vector<int32_t> stop_token_ids;  // more tokens that end this request (a chat turn's end)
};

enum class FinishReason { stop, length, cancelled };
const char* finish_reason_name(FinishReason reason);

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated tokens only; a final EOS is included
  FinishReason finish_reason = FinishReason::length;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double ttft_ms = 0;       // start to the first generated token (the prefill)
  double decode_ms = 0;     // first generated token to the last
  double tokens_per_s = 0;  // decode throughput: tokens after the first / decode time
};

// Called with (request index, token) for each generated token; return false to stop
// that request (finish reason `cancelled`).
using TokenCallback = std::function<bool(size_t request, int32_t token)>;

// Blocks of `block_size` tokens needed to run `requests` at once (prompt + max tokens).
int64_t kv_blocks_needed(std::span<const GenerationRequest> requests, int64_t block_size);

class Generator {
 public:
  Generator(const CausalLM& model, KvCache& cache);

  // Validates every request first (non-empty prompt inside the vocabulary and context,
  // sampling parameters, KV blocks available), so a bad request fails before any work.
  // max_new_tokens is clamped to the context left after the prompt.
  std::vector<GenerationResult> generate(std::span<const GenerationRequest> requests,
                                         const TokenCallback& on_token,
                                         GenerationStats* stats = nullptr);

 private:
  const CausalLM& model_;
  KvCache& cache_;
};

}  // namespace genrt
