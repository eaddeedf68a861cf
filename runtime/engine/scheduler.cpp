#include "runtime/engine/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace genrt {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
  }
  return "?";
}

struct BatchScheduler::Sequence {
  SequenceRequest request;
  std::vector<int32_t> context;  // prompt + generated tokens
  int64_t generated = 0;
  int64_t computed = 0;  // leading context tokens whose keys and values are in the cache
  BlockTable blocks;
  std::optional<FinishReason> finished;
  bool admitted = false;  // at least once

  explicit Sequence(SequenceRequest r) : request(std::move(r)), context(request.prompt) {}
  int64_t pending() const { return static_cast<int64_t>(context.size()) - computed; }
};

BatchScheduler::BatchScheduler(const CausalLM& model, KvCache& cache, SchedulerConfig config)
    : model_(model), cache_(cache), config_(config) {
  GENRT_CHECK(config.max_batch_tokens > 0 && config.max_running > 0,
              "scheduler: max_batch_tokens and max_running must be positive");
}

BatchScheduler::~BatchScheduler() {
  for (auto& seq : running_) finish(*seq, FinishReason::cancelled);
  for (auto& seq : waiting_) finish(*seq, FinishReason::cancelled);
}

void BatchScheduler::validate(const SequenceRequest& r) const {
  const ModelSpec& spec = model_.spec();
  const auto prompt_tokens = static_cast<int64_t>(r.prompt.size());
  GENRT_CHECK(prompt_tokens > 0, "the prompt is empty");
  GENRT_CHECK(prompt_tokens < spec.context_length, "the prompt has {} tokens, but the model's context is {} tokens",
              prompt_tokens, spec.context_length);
  for (int32_t id : r.prompt) {
    GENRT_CHECK(id >= 0 && id < spec.vocab_size, "prompt token id {} is outside the vocabulary [0, {})", id,
                spec.vocab_size);
  }
  GENRT_CHECK(r.max_new_tokens >= 0, "max tokens must be >= 0, got {}", r.max_new_tokens);
  r.sampling.validate();
  for (const auto& [id, bias] : r.sampling.logit_bias) {
    GENRT_CHECK(id < spec.vocab_size, "logit bias token id {} is outside the vocabulary [0, {})", id, spec.vocab_size);
  }
  GENRT_CHECK(r.top_logprobs >= -1 && r.top_logprobs <= kMaxTopLogprobs,
              "top logprobs must be in [0, {}] (or -1: none), got {}", kMaxTopLogprobs, r.top_logprobs);
  const int64_t max_new = std::min(r.max_new_tokens, spec.context_length - prompt_tokens);
  const int64_t blocks = cache_.blocks_for(prompt_tokens + max_new);
  GENRT_CHECK(blocks <= cache_.usable_blocks(),
              "{} prompt + {} new tokens need {} KV blocks of {} tokens, but the cache holds only {}", prompt_tokens,
              max_new, blocks, cache_.shape().block_size, cache_.usable_blocks());
}

void BatchScheduler::submit(SequenceRequest r) {
  validate(r);
  // Past the context there is nothing to generate into: stop there (finish reason length).
  r.max_new_tokens = std::min(r.max_new_tokens, model_.spec().context_length - static_cast<int64_t>(r.prompt.size()));
  auto seq = std::make_unique<Sequence>(std::move(r));
  if (seq->request.max_new_tokens == 0) {
    finish(*seq, FinishReason::length);
    return;
  }
  waiting_.push_back(std::move(seq));
}

SchedulerCounts BatchScheduler::counts() const {
  SchedulerCounts c = totals_;
  c.running = static_cast<int64_t>(running_.size());
  c.waiting = static_cast<int64_t>(waiting_.size());
  return c;
}

void BatchScheduler::finish(Sequence& seq, FinishReason reason) {
  if (seq.finished) return;
  seq.finished = reason;
  cache_.release(seq.blocks);
  if (seq.request.on_finish) seq.request.on_finish(reason);
}

void BatchScheduler::preempt(std::unique_ptr<Sequence>& seq) {
  cache_.release(seq->blocks);
  seq->computed = 0;  // its whole context is read again when it is readmitted
  ++totals_.preemptions;
  spdlog::debug("preempted a sequence of {} tokens: the KV cache is full", seq->context.size());
  waiting_.push_front(std::move(seq));
}

bool BatchScheduler::ensure_blocks(size_t index, int64_t tokens) {
  Sequence& seq = *running_[index];
  while (!cache_.reserve(seq.blocks, tokens)) {
    // Preempt the newest sequence admitted after this one; those are not planned yet.
    size_t victim = running_.size();
    while (victim-- > index + 1 && !running_[victim]) {
    }
    if (victim <= index) {
      preempt(running_[index]);  // nothing newer to evict: this one waits instead
      return false;
    }
    preempt(running_[victim]);  // leaves a null slot, compacted after the step
  }
  return true;
}

bool BatchScheduler::being_computed(uint64_t block_key) const {
  for (const auto& seq : running_) {
    if (!seq) continue;
    const std::vector<uint64_t>& keys = seq->blocks.hashes;  // beyond `offered`: reserved, not computed yet
    if (std::find(keys.begin() + std::min<int64_t>(seq->blocks.offered, std::ssize(keys)), keys.end(), block_key) !=
        keys.end()) {
      return true;
    }
  }
  return false;
}

bool BatchScheduler::admit(Sequence& seq) {
  const auto length = static_cast<int64_t>(seq.context.size());
  int64_t shared = 0;
  if (config_.prefix_caching) {
    shared = cache_.share_cached_prefix(seq.blocks, std::span(seq.context).first(length - 1));
    if (shared < std::ssize(seq.blocks.hashes) && being_computed(seq.blocks.hashes[shared])) {
      cache_.release(seq.blocks);
      return false;
    }
  }
  if (!cache_.reserve(seq.blocks, length + 1)) {
    cache_.release(seq.blocks);
    return false;
  }
  seq.computed = shared * cache_.shape().block_size;
  if (config_.prefix_caching) {
    totals_.prefix_cache_queries += length;
    totals_.prefix_cache_hits += seq.computed;
  }
  if (!seq.admitted && seq.request.on_admitted) seq.request.on_admitted(seq.computed);
  seq.admitted = true;
  return true;
}

void BatchScheduler::remove_finished() {
  std::erase_if(running_, [](const auto& s) { return !s || s->finished; });
  std::erase_if(waiting_, [](const auto& s) { return s->finished.has_value(); });
}

void BatchScheduler::deliver(Sequence& seq, const SampledToken& sampled) {
  const int32_t token = sampled.id;
  seq.context.push_back(token);
  ++seq.generated;
  const GeneratedToken event{token, sampled.logprobs ? &*sampled.logprobs : nullptr};
  const auto& eos = model_.spec().eos_token_ids;
  const auto& stop = seq.request.stop_token_ids;
  const bool is_stop = std::find(eos.begin(), eos.end(), token) != eos.end() ||
                       std::find(stop.begin(), stop.end(), token) != stop.end();
  if (seq.request.on_token && !seq.request.on_token(event)) {
    finish(seq, FinishReason::cancelled);
  } else if (is_stop && !seq.request.ignore_eos) {
    finish(seq, FinishReason::stop);
  } else if (seq.generated >= seq.request.max_new_tokens) {
    finish(seq, FinishReason::length);
  }
}

void BatchScheduler::step() {
  for (auto& seq : running_) {
    if (seq->request.cancelled && *seq->request.cancelled) finish(*seq, FinishReason::cancelled);
  }
  for (auto& seq : waiting_) {
    if (seq->request.cancelled && *seq->request.cancelled) finish(*seq, FinishReason::cancelled);
  }
  remove_finished();

  // Plan the step: (sequence, tokens to feed) in batch order.
  std::vector<std::pair<Sequence*, int64_t>> plan;
  int64_t budget = config_.max_batch_tokens;
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {  // decodes first
    if (!running_[i] || running_[i]->pending() != 1) continue;
    if (!ensure_blocks(i, static_cast<int64_t>(running_[i]->context.size()))) continue;
    plan.emplace_back(running_[i].get(), 1);
    --budget;
  }
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {  // prompts being read
    if (!running_[i] || running_[i]->pending() <= 1) continue;
    plan.emplace_back(running_[i].get(), std::min(running_[i]->pending(), budget));
    budget -= plan.back().second;
  }
  while (budget > 0 && !waiting_.empty() && static_cast<int64_t>(running_.size()) < config_.max_running) {
    Sequence& seq = *waiting_.front();
    if (!admit(seq)) break;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    plan.emplace_back(&seq, std::min(seq.pending(), budget));
    budget -= plan.back().second;
  }
  std::erase_if(plan, [](const auto& p) { return p.first->finished.has_value(); });
  if (plan.empty()) {
    remove_finished();
    return;
  }
  int64_t prefill = 0;  // all but the decodes: a generated token's first and only pass
  for (const auto& [seq, n] : plan) prefill += seq->pending() == 1 && seq->generated > 0 ? 0 : n;

  ForwardBatch batch;
  for (const auto& [seq, n] : plan) {
    // Shared blocks are full and computed: the positions a step writes are never in one.
    GENRT_CHECK(cache_.writable(seq->blocks, seq->computed, seq->computed + n),
                "scheduler: a step would write positions [{}, {}) into a KV block it does not hold alone",
                seq->computed, seq->computed + n);
    batch.sequences.push_back({.first_token = static_cast<int64_t>(batch.tokens.size()),
                               .n_tokens = n,
                               .start_pos = seq->computed,
                               .blocks = &seq->blocks});
    batch.tokens.insert(batch.tokens.end(), seq->context.begin() + seq->computed,
                        seq->context.begin() + seq->computed + n);
  }
  const Tensor logits = model_.forward(batch, cache_, LogitsFor::last_token);
  RowSampling still_reading;  // a row whose prompt goes on next step: the cheapest draw, discarded
  still_reading.params.temperature = 0.0f;
  std::vector<RowSampling> rows;
  for (const auto& [seq, n] : plan) {
    rows.push_back(seq->pending() > n ? still_reading
                                      : RowSampling{.params = seq->request.sampling,
                                                    .draws = static_cast<uint64_t>(seq->generated),
                                                    .context = seq->context,
                                                    .top_logprobs = seq->request.top_logprobs});
  }
  const std::vector<SampledToken> sampled = sample_step(logits, rows, model_.device_runtime());
  // Only once the step has succeeded: one that throws leaves every sequence as it was, to be
  // planned again, rather than computed but never sampled.
  totals_.prefill_tokens += prefill;
  const int64_t window = model_.spec().attention_window;
  for (auto& [seq, n] : plan) {
    seq->computed += n;
    if (config_.prefix_caching) cache_.cache_computed(seq->blocks, seq->context, seq->computed);
    // Later queries sit at positions >= computed, so no layer reads a key before
    // computed - window + 1 again: blocks wholly before it go back to the pool.
    if (window > 0) cache_.release_before(seq->blocks, seq->computed - window + 1);
  }
  for (size_t row = 0; row < plan.size(); ++row) {
    if (plan[row].first->pending() == 0) deliver(*plan[row].first, sampled[row]);
  }
  remove_finished();
}

}  // namespace genrt
