#include "runtime/server/serving_engine.h"

#include <spdlog/spdlog.h>

#include <chrono>


namespace genrt {

namespace {
int64_t pool_blocks(const ModelSpec& spec, const EngineOptions& o) {
  const int64_t tokens = std::max(o.kv_cache_tokens, spec.context_length);
  return (tokens + o.block_size - 1) / o.block_size;
}
}  // namespace

ServingEngine::ServingEngine(std::unique_ptr<CausalLM> model, std::unique_ptr<Tokenizer> tokenizer,
                             EngineOptions options)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      options_(options),
      cache_(model_->make_kv_cache(pool_blocks(model_->spec(), options), options.block_size)),
      scheduler_(*model_, cache_, options.scheduler) {
  const KvCacheShape& shape = cache_.shape();
  const DType kv_dtype = cache_.keys(0).dtype();
  spdlog::info("KV cache: {} blocks x {} tokens = {} tokens, {:.1f} MiB ({}, {}), prefix caching {}", shape.blocks,
               shape.block_size, shape.blocks * shape.block_size,
               static_cast<double>(shape.blocks * shape.block_size * shape.bytes_per_token(kv_dtype)) / (1 << 20),
               dtype_name(kv_dtype), device_name(cache_.keys(0).device()),
               !options.scheduler.prefix_caching            ? "off"
               : model_->spec().decoder_start_token_id ? "off (an encoder-decoder)"
                                                       : "on");
  counts_.kv_blocks_total = counts_.kv_blocks_free = cache_.usable_blocks();
  // Every decode batch size's CUDA graph before the first request, not during it.
  capture_decode_graphs(*model_, cache_);
  thread_ = std::thread([this] { loop(); });
}

ServingEngine::~ServingEngine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (SequenceRequest& r : inbox_) {
    if (r.on_finish) r.on_finish(FinishReason::cancelled);
  }
}

void ServingEngine::submit(SequenceRequest request) {
  scheduler_.validate(request);  // reads only the model spec and pool shape: thread-safe
  {
    std::lock_guard lock(mutex_);
    GENRT_CHECK(!stopping_, "the server is shutting down");
    if (counts_.waiting + static_cast<int64_t>(inbox_.size()) >= options_.max_queue) {
      throw QueueFull(fmt::format("the server is at capacity ({} requests waiting); retry later", options_.max_queue));
    }
    inbox_.push_back(std::move(request));
  }
  wake_.notify_one();
}

std::shared_ptr<grammar::TokenGrammar> ServingEngine::grammar(const std::string& gbnf) {
  std::lock_guard lock(grammars_mutex_);
  const auto cached = std::find_if(grammars_.begin(), grammars_.end(), [&](const auto& g) { return g.first == gbnf; });
  if (cached != grammars_.end() && cached->second->state_count() < kMaxGrammarStates) {
    grammars_.splice(grammars_.begin(), grammars_, cached);
    return cached->second;
  }
  if (cached != grammars_.end()) grammars_.erase(cached);
  if (!vocabulary_) {
    const auto start = std::chrono::steady_clock::now();
    vocabulary_ = std::make_shared<const grammar::TokenVocabulary>(*tokenizer_, model_->spec().vocab_size);
    spdlog::info("structured output: read the vocabulary's {} tokens in {:.0f} ms", vocabulary_->size(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  grammars_.emplace_front(gbnf, grammar::TokenGrammar::from_gbnf(gbnf, vocabulary_));
  if (grammars_.size() > kCachedGrammars) grammars_.pop_back();
  return grammars_.front().second;
}

EngineCounts ServingEngine::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void ServingEngine::loop() {
  for (;;) {
    std::vector<SequenceRequest> arrived;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !scheduler_.idle(); });
      if (stopping_) return;  // ~BatchScheduler (via ~ServingEngine) cancels what remains
      arrived.swap(inbox_);
    }
    for (SequenceRequest& r : arrived) {
      try {
        scheduler_.submit(std::move(r));
      } catch (const Error& e) {  // validated already; a failure here is a bug, not bad input
        spdlog::error("engine: request refused after validation: {}", e.what());
      }
    }
    try {
      scheduler_.step();
    } catch (const std::exception& e) {
      spdlog::error("engine step failed: {}", e.what());
    }
    const SchedulerCounts c = scheduler_.counts();
    std::lock_guard lock(mutex_);
    counts_.running = c.running;
    counts_.waiting = c.waiting;
    counts_.preemptions = c.preemptions;
    counts_.prefix_cache_queries = c.prefix_cache_queries;
    counts_.prefix_cache_hits = c.prefix_cache_hits;
    counts_.prefill_tokens = c.prefill_tokens;
    counts_.kv_blocks_free = cache_.free_blocks();
    counts_.kv_blocks_cached = cache_.cached_free_blocks();
  }
}

}  // namespace genrt
