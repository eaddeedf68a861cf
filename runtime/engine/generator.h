#pragma once
// Runs a fixed set of generation requests to completion on the batch scheduler, for the
// command line and tests: all are submitted at once and stepped until every one is done.

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "runtime/engine/scheduler.h"

namespace genrt {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, BOS included if the model wants one
  int64_t max_new_tokens = 256;
  SamplingParams sampling;
  bool ignore_eos = false;              // keep going past the model's end-of-sequence tokens
  std::vector<int32_t> stop_token_ids{};  // more tokens that end this request (a chat turn's end)
  std::shared_ptr<grammar::TokenGrammar> grammar{};  // constrained decoding (SequenceRequest::grammar)
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated tokens only; a final EOS is included
  FinishReason finish_reason = FinishReason::length;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double ttft_ms = 0;       // start to the first generated token (of the first request to get one)
  double decode_ms = 0;     // first generated token to the last
  double tokens_per_s = 0;  // decode throughput: tokens after each request's first / decode time
};

// Called with (request index, token) for each generated token; return false to stop
// that request (finish reason `cancelled`).
using TokenCallback = std::function<bool(size_t request, int32_t token)>;

// Blocks of `block_size` tokens enough to run `requests` at once (prompt + max tokens + 1).
int64_t kv_blocks_needed(std::span<const GenerationRequest> requests, int64_t block_size);

class Generator {
 public:
  Generator(const CausalLM& model, KvCache& cache, SchedulerConfig config = {});

  // Every request is validated before any work (BatchScheduler::submit); errors name the
  // request's index.
  std::vector<GenerationResult> generate(std::span<const GenerationRequest> requests, const TokenCallback& on_token,
                                         GenerationStats* stats = nullptr);

 private:
  const CausalLM& model_;
  KvCache& cache_;
  SchedulerConfig config_;
};

}  // namespace genrt
