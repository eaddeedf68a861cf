#pragma once
// One OpenAI completion request in flight: n sequences of each prompt in the engine, turned into
// text events (streaming detokenization, stop strings, logprobs) on the engine thread
// and handed to the HTTP thread through a queue.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/server/metrics.h"
#include "runtime/server/openai_api.h"
#include "runtime/server/serving_engine.h"

namespace genrt {

struct ChoiceEvent {
  size_t index = 0;
  std::string text;  // new text of the choice (may be empty)
  std::vector<TokenLogprobEntry> logprobs;
  std::optional<std::string> finish_reason;  // on the choice's last event: stop or length
  int64_t tokens = 0;                        // the choice's generated tokens so far
};

class CompletionJob {
 public:
  // Submits n sequences of each prompt (an echoed prompt is each choice's first event).
  // Throws ApiError: 400 for a request the engine refuses,
  // 429 when the queue is full.
  CompletionJob(ServingEngine& engine, const CompletionParams& params, std::shared_ptr<ServerMetrics> metrics);
  ~CompletionJob();  // cancels whatever is still generating
  CompletionJob(const CompletionJob&) = delete;
  CompletionJob& operator=(const CompletionJob&) = delete;

  // The next event, waiting at most `timeout`; nullopt if none came.
  std::optional<ChoiceEvent> next(std::chrono::milliseconds timeout);
  // Every choice has finished and all its events have been taken.
  bool done() const;
  // Stops all choices (the client went away); their blocks are freed within one step.
  void cancel();
  // Runs to completion and gathers each choice's text, logprobs and finish reason.
  std::vector<ChoiceResult> collect();
  // The prompt tokens found in the prefix cache, each prompt's counted once (by its first
  // choice), as usage reports them; final once done().
  int64_t cached_prompt_tokens() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;  // also held by the engine callbacks
  int64_t n_;                       // choices per prompt
};

}  // namespace genrt
