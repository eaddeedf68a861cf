#pragma once
// Continuous batching over the paged KV cache.
//
// Every step() is one forward pass over: one decode token of each running sequence,
// then prefill chunks of sequences still reading their prompt and of newly admitted
// ones, within a token budget, so that a long prompt is read over several steps and
// never stalls everyone's next token. A waiting request is admitted (first come, first
// served) only when the pool has blocks for its prompt. When a running sequence needs a
// block and none is free, the most recently admitted sequence is preempted: its blocks
// are freed and it goes back to the front of the queue, to recompute its context later.
// The oldest sequence therefore always makes progress. When every layer of the model has a
// sliding window, blocks that fall wholly out of it go back to the pool after each step.
//
// Single-threaded: the serving engine drives it from one thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/engine/sampling_params.h"
#include "runtime/engine/step_sampler.h"
#include "runtime/memory/kv_cache.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

enum class FinishReason { stop, length, cancelled };
const char* finish_reason_name(FinishReason reason);

struct GeneratedToken {
  int32_t id = 0;
  const TokenLogprobs* logprobs = nullptr;  // when the request asked for them
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  int64_t max_new_tokens = 256;  // clamped to the context left after the prompt
  SamplingParams sampling;
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;  // in addition to the model's EOS tokens
  int64_t top_logprobs = -1;            // -1: no logprobs; k in [0, 20]: the chosen token's and the top k
  // Called on the scheduler's thread. on_token returns false to stop the sequence
  // (finish reason `cancelled`); on_finish is called exactly once.
  std::function<bool(const GeneratedToken&)> on_token;
  std::function<void(FinishReason)> on_finish;
  // Set from any thread to stop the sequence at the next step.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct SchedulerConfig {
  int64_t max_batch_tokens = 512;  // tokens per forward pass: decodes plus prefill chunks
  int64_t max_running = 256;       // sequences in the running set at once
};

struct SchedulerCounts {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t preemptions = 0;  // since start
};

class BatchScheduler {
 public:
  BatchScheduler(const CausalLM& model, KvCache& cache, SchedulerConfig config);
  ~BatchScheduler();  // finishes (cancelled) and frees whatever is still queued or running
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Validates the request (non-empty prompt inside the vocabulary and the context,
  // sampling parameters and logprobs, prompt + max tokens within what the KV pool can ever
  // hold) and queues it. Throws genrt::Error naming the problem; nothing is queued then.
  void submit(SequenceRequest request);
  // The checks of submit() without queuing; reads only immutable state, so any thread
  // may call it while another steps the scheduler.
  void validate(const SequenceRequest& request) const;

  bool idle() const { return running_.empty() && waiting_.empty(); }
  // Runs one forward pass (if there is work) and delivers its tokens.
  void step();
  SchedulerCounts counts() const;

 private:
  struct Sequence;
  // Grows running_[index]'s block table to `tokens` positions, preempting newer
  // sequences as needed; false when it had to preempt running_[index] itself.
  bool ensure_blocks(size_t index, int64_t tokens);
  void preempt(std::unique_ptr<Sequence>& seq);
  void finish(Sequence& seq, FinishReason reason);
  void remove_finished();
  void deliver(Sequence& seq, const SampledToken& token);

  const CausalLM& model_;
  KvCache& cache_;
  SchedulerConfig config_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  std::deque<std::unique_ptr<Sequence>> waiting_;
  int64_t preemptions_ = 0;
};

}  // namespace genrt
