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
// Asynchronous scheduling: a step is planned and launched before the previous step's
// tokens reach the host, its decode rows taking their input ids from that step's sampled
// ids on the device; then the host waits for the previous step's tokens and delivers them
// while the device runs the new step. A sequence that finished (its end token, a stop,
// a cancel) at step n has one wasted row in step n + 1, whose token is never delivered; a
// sequence whose sampling needs its context on the host (repetition, presence or frequency
// penalties, a grammar's token mask) makes the step wait for the previous one first. Each sequence's tokens are
// those of synchronous scheduling: only when steps run, not what they compute, changes
// (but for a sequence cancelled from another thread, whose last token in flight is
// dropped).
//
// Prefix caching: each full block a sequence computes is offered to the KV cache's prefix
// cache (runtime/memory/block_pool.h). At admission a sequence shares the cached blocks of
// its context's leading full blocks (never the block of its last token, whose logits it
// needs) and computes only the rest. A sequence whose next prefix block another running
// sequence is computing right now waits for it rather than compute it twice, and keeps
// later arrivals waiting behind it. Cached blocks no sequence holds are evicted, least
// recently used first, before anything is preempted.
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
#include "runtime/grammar/token_grammar.h"
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
  // Constrained decoding: the grammar the generated text follows, over the model's
  // vocabulary; null: none. Each draw is masked to the tokens that keep the text a prefix
  // of a sentence which the tokens left can finish (runtime/grammar/token_grammar.h); the
  // model's EOS and the stop tokens are allowed where the text is a sentence, and the
  // sequence stops (reason `stop`) once nothing may follow.
  std::shared_ptr<grammar::TokenGrammar> grammar;
  // Called on the scheduler's thread. on_token returns false to stop the sequence
  // (finish reason `cancelled`); on_finish is called exactly once.
  std::function<bool(const GeneratedToken&)> on_token;
  std::function<void(FinishReason)> on_finish;
  // Called once, when the sequence is first admitted: its prompt tokens found in the prefix
  // cache, whose keys and values it did not compute.
  std::function<void(int64_t cached_tokens)> on_admitted;
  // Set from any thread to stop the sequence at the next step.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct SchedulerConfig {
  int64_t max_batch_tokens = 512;  // tokens per forward pass: decodes plus prefill chunks
  int64_t max_running = 256;       // sequences in the running set at once
  bool prefix_caching = true;      // share computed blocks of common prefixes
  // Plan and launch each step before the previous one's tokens are back (for models that
  // take sampled ids; see above).
  bool async_scheduling = true;
};

struct SchedulerCounts {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t preemptions = 0;  // since start
  // Since start, over admissions: context tokens looked up in the prefix cache, and found.
  int64_t prefix_cache_queries = 0;
  int64_t prefix_cache_hits = 0;
  // Since start: context tokens computed outside decodes (prompt chunks, and contexts
  // recomputed after a preemption).
  int64_t prefill_tokens = 0;
  // Since start: steps launched before the previous step's tokens were back.
  int64_t overlapped_steps = 0;
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

  bool idle() const { return running_.empty() && waiting_.empty() && !launched_; }
  // Runs one forward pass (if there is work) and delivers the tokens of the last one that
  // has not delivered them: its own, or with asynchronous scheduling the previous step's.
  void step();
  SchedulerCounts counts() const;

 private:
  struct Sequence;
  struct Launched;
  // (sequence, new tokens) in batch order.
  using Plan = std::vector<std::pair<Sequence*, int64_t>>;
  Plan plan_step();
  // Runs `plan`'s forward pass, its decodes of tokens still in flight taking `previous`'s
  // sampled ids, and launches its sampling; on success the sequences count what it computes.
  std::unique_ptr<Launched> launch(const Plan& plan, const Launched* previous);
  // Waits for a launched step's tokens and delivers them.
  void collect(std::unique_ptr<Launched> launched);
  // Whether steps are launched before the previous one is collected (the config asks and
  // the model takes sampled ids), and whether the next one may be now.
  bool asynchronous() const;
  // The tokens the repetition penalty reads: the context, or an encoder-decoder's decoder part.
  std::span<const int32_t> penalized_context(const Sequence& seq) const;
  // Prefix caching, unless the model is an encoder-decoder.
  bool prefix_caching() const;
  // The tokens of `seq` a step with `budget` tokens left reads; 0: it must wait.
  int64_t chunk_tokens(const Sequence& seq, int64_t budget) const;
  bool can_pipeline() const;
  // Grows running_[index]'s block table to `tokens` positions, preempting newer
  // sequences as needed; false when it had to preempt running_[index] itself.
  bool ensure_blocks(size_t index, int64_t tokens);
  // Gives `seq` blocks for its context and first new token, sharing its cached prefix;
  // false, holding nothing, when the pool is short or a running sequence is computing the
  // next block of its prefix.
  bool admit(Sequence& seq);
  bool being_computed(uint64_t block_key) const;
  void preempt(std::unique_ptr<Sequence>& seq);
  void finish(Sequence& seq, FinishReason reason);
  void remove_finished();
  void deliver(Sequence& seq, const SampledToken& token);

  const CausalLM& model_;
  KvCache& cache_;
  SchedulerConfig config_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::unique_ptr<Launched> launched_;  // the step whose tokens are not delivered yet
  SchedulerCounts totals_;  // the counters since start
};

}  // namespace genrt
