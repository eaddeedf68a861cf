#pragma once
// The engine behind the server: one thread steps the batch scheduler while HTTP threads
// submit requests. Submissions are validated on the caller's thread (so a bad request
// fails its HTTP call, not the engine) and handed over through an inbox; token
// callbacks run on the engine thread.

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/engine/scheduler.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/memory/kv_cache.h"
#include "runtime/models/causal_lm.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

struct EngineOptions {
  SchedulerConfig scheduler;
  int64_t kv_cache_tokens = 0;  // token slots in the KV pool; at least one full context
  int64_t block_size = 16;
  int64_t max_queue = 256;      // waiting requests beyond this are refused (QueueFull)
};

// A snapshot for /metrics and /health.
struct EngineCounts {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_free = 0;    // free, or cached with no sequence holding them
  int64_t kv_blocks_cached = 0;  // of the free ones, those the prefix cache keeps
  int64_t preemptions = 0;
  int64_t prefix_cache_queries = 0;  // context tokens looked up at admission, since start
  int64_t prefix_cache_hits = 0;     // of those, found in the prefix cache
  int64_t prefill_tokens = 0;        // context tokens computed outside decodes, since start
};

// Thrown by submit() when the waiting queue is full.
class QueueFull : public Error {
 public:
  using Error::Error;
};

class ServingEngine {
 public:
  ServingEngine(std::unique_ptr<CausalLM> model, std::unique_ptr<Tokenizer> tokenizer, EngineOptions options);
  ~ServingEngine();  // stops the engine thread; queued and running requests finish as cancelled
  ServingEngine(const ServingEngine&) = delete;
  ServingEngine& operator=(const ServingEngine&) = delete;

  const CausalLM& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

  // Validates (throws genrt::Error with the reason, or QueueFull) and queues the request.
  void submit(SequenceRequest request);
  // The GBNF grammar over this model's vocabulary, for SequenceRequest::grammar. The
  // vocabulary is read once, at the first grammar; the last kCachedGrammars grammars are
  // kept, so that requests with the same schema share its states and token masks, until
  // one has reached kMaxGrammarStates states (deeply nested texts make new ones): the next
  // request starts it afresh, and the sequences still on the old one keep it. Throws
  // genrt::Error for a grammar that does not parse. Any thread.
  std::shared_ptr<grammar::TokenGrammar> grammar(const std::string& gbnf);
  static constexpr size_t kCachedGrammars = 16;
  static constexpr size_t kMaxGrammarStates = 100000;
  EngineCounts counts() const;

 private:
  void loop();

  std::unique_ptr<CausalLM> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::mutex grammars_mutex_;
  std::shared_ptr<const grammar::TokenVocabulary> vocabulary_;  // built at the first grammar
  std::list<std::pair<std::string, std::shared_ptr<grammar::TokenGrammar>>> grammars_;  // most recent first
  EngineOptions options_;
  KvCache cache_;
  BatchScheduler scheduler_;  // engine thread only, except submit()'s validation

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<SequenceRequest> inbox_;
  EngineCounts counts_;  // updated by the engine thread after each step
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace genrt
