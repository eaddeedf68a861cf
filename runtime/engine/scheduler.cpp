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
  std::vector<int32_t> context;  // prompt + generated tokens the host has
  int64_t prompt_tokens = 0;     // the context's first tokens, which the step reading the prompt computes
  int64_t generated = 0;
  int64_t computed = 0;  // leading context tokens whose keys and values are in the cache
  // Tokens launched steps sample for it that the host does not have yet (0, 1, or 2 when
  // a step is launched before the previous one is collected); the latest is row
  // `sampled_row` of the latest launched step's sampled ids.
  int64_t in_flight = 0;
  int64_t sampled_row = -1;
  int64_t launched_rows = 0;  // rows of launched steps not collected yet: it must outlive them
  int64_t preemptions = 0;    // a launched step's blocks are no longer its after one
  BlockTable blocks;
  std::optional<FinishReason> finished;
  bool admitted = false;  // at least once
  std::optional<grammar::GrammarMatcher> grammar;  // where its text is in the request's grammar

  // An encoder-decoder's context is its prompt (the encoder's input), then the decoder's start.
  Sequence(SequenceRequest r, const ModelSpec& spec) : request(std::move(r)), context(request.prompt) {
    if (spec.decoder_start_token_id) context.push_back(*spec.decoder_start_token_id);
    prompt_tokens = std::ssize(context);
    if (!request.grammar) return;
    std::vector<int32_t> end_tokens = spec.eos_token_ids;
    end_tokens.insert(end_tokens.end(), request.stop_token_ids.begin(), request.stop_token_ids.end());
    grammar.emplace(request.grammar, std::move(end_tokens));
  }
  int64_t length() const { return std::ssize(context) + in_flight; }
  int64_t pending() const { return length() - computed; }
  // Its sampling reads its context on the host (the penalties over it, the grammar's mask
  // after its last token).
  bool samples_from_context() const {
    const SamplingParams& p = request.sampling;
    return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f ||
           request.grammar != nullptr;
  }
};

// A launched step: its rows' sequences, what each computed, and its sampling on the way.
struct BatchScheduler::Launched {
  struct Row {
    Sequence* seq;
    int64_t computed;     // the sequence's computed tokens once this step's are written
    int64_t preemptions;  // the sequence's preemptions when launched
    bool samples;         // its token is the sequence's next
  };
  std::vector<Row> rows;
  LaunchedSampling sampling;
};

BatchScheduler::BatchScheduler(const CausalLM& model, KvCache& cache, SchedulerConfig config)
    : model_(model), cache_(cache), config_(config) {
  GENRT_CHECK(config.max_batch_tokens > 0 && config.max_running > 0,
              "scheduler: max_batch_tokens and max_running must be positive");
}

BatchScheduler::~BatchScheduler() {
  if (launched_) {
    try {
      collect_sampling(launched_->sampling);  // the device is done with what it writes
    } catch (const std::exception& e) {
      spdlog::error("scheduler: the last step failed: {}", e.what());
    }
    for (const Launched::Row& row : launched_->rows) --row.seq->launched_rows;
  }
  for (auto& seq : running_) {
    if (seq) finish(*seq, FinishReason::cancelled);
  }
  for (auto& seq : waiting_) finish(*seq, FinishReason::cancelled);
}

void BatchScheduler::validate(const SequenceRequest& r) const {
  const ModelSpec& spec = model_.spec();
  GENRT_CHECK(!r.prompt.empty(), "the prompt is empty");
  // An encoder-decoder's context starts with the decoder's start token after the prompt.
  const auto prompt_tokens = static_cast<int64_t>(r.prompt.size()) + (spec.decoder_start_token_id ? 1 : 0);
  GENRT_CHECK(prompt_tokens < spec.context_length, "the prompt has {} tokens, but the model's context is {} tokens",
              prompt_tokens, spec.context_length);
  for (int32_t id : r.prompt) {
    GENRT_CHECK(id >= 0 && id < spec.vocab_size, "prompt token id {} is outside the vocabulary [0, {})", id,
                spec.vocab_size);
  }
  GENRT_CHECK(r.max_new_tokens >= 0, "max tokens must be >= 0, got {}", r.max_new_tokens);
  GENRT_CHECK(!spec.decoder_start_token_id || prompt_tokens <= config_.max_batch_tokens,
              "the prompt has {} tokens, but an encoder-decoder reads its prompt in one step of at most {} tokens "
              "(--max-batch-tokens)",
              prompt_tokens, config_.max_batch_tokens);
  r.sampling.validate();
  for (const auto& [id, bias] : r.sampling.logit_bias) {
    GENRT_CHECK(id < spec.vocab_size, "logit bias token id {} is outside the vocabulary [0, {})", id, spec.vocab_size);
  }
  if (r.grammar) {
    // The grammar reads a first token as it spells mid-text; an encoder-decoder's first
    // token starts a text (a SentencePiece piece then loses its space).
    GENRT_CHECK(!spec.decoder_start_token_id, "a grammar (response_format) with an encoder-decoder is not supported yet");
    GENRT_CHECK(r.grammar->vocabulary().size() == spec.vocab_size,
                "the grammar is over a vocabulary of {} tokens, but the model has {}", r.grammar->vocabulary().size(),
                spec.vocab_size);
    GENRT_CHECK(!r.ignore_eos, "ignore_eos cannot be combined with a grammar, which ends the text where it is complete");
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
  auto seq = std::make_unique<Sequence>(std::move(r), model_.spec());
  seq->request.max_new_tokens = std::min(seq->request.max_new_tokens, model_.spec().context_length - seq->prompt_tokens);
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
  ++seq->preemptions;
  ++totals_.preemptions;
  spdlog::debug("preempted a sequence of {} tokens: the KV cache is full", seq->context.size());
  waiting_.push_front(std::move(seq));
}

bool BatchScheduler::ensure_blocks(size_t index, int64_t tokens) {
  Sequence& seq = *running_[index];
  while (!cache_.reserve(seq.blocks, tokens)) {
    // Preempt the newest sequence admitted after this one; those are not planned yet.
    size_t victim = running_.size();
    while (victim-- > index + 1 && (!running_[victim] || running_[victim]->finished)) {
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
    if (!seq || seq->finished) continue;  // a finished one waiting for its last step holds no blocks
    const std::vector<uint64_t>& keys = seq->blocks.hashes;  // beyond `offered`: reserved, not computed yet
    if (std::find(keys.begin() + std::min<int64_t>(seq->blocks.offered, std::ssize(keys)), keys.end(), block_key) !=
        keys.end()) {
      return true;
    }
  }
  return false;
}

bool BatchScheduler::admit(Sequence& seq) {
  const int64_t length = seq.length();
  int64_t shared = 0;
  if (prefix_caching()) {
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
  if (prefix_caching()) {
    totals_.prefix_cache_queries += length;
    totals_.prefix_cache_hits += seq.computed;
  }
  if (!seq.admitted && seq.request.on_admitted) seq.request.on_admitted(seq.computed);
  seq.admitted = true;
  return true;
}

void BatchScheduler::remove_finished() {
  // A finished sequence with a row in a launched step stays until that step is collected.
  std::erase_if(running_, [](const auto& s) { return !s || (s->finished && s->launched_rows == 0); });
  std::erase_if(waiting_, [](const auto& s) { return s->finished && s->launched_rows == 0; });
}

void BatchScheduler::deliver(Sequence& seq, const SampledToken& sampled) {
  const int32_t token = sampled.id;
  if (seq.grammar) seq.grammar->accept(token);  // throws for a token it refuses: the request ends
  seq.context.push_back(token);
  ++seq.generated;
  const GeneratedToken event{token, sampled.logprobs ? &*sampled.logprobs : nullptr};
  const auto& eos = model_.spec().eos_token_ids;
  const auto& stop = seq.request.stop_token_ids;
  const bool is_stop = std::find(eos.begin(), eos.end(), token) != eos.end() ||
                       std::find(stop.begin(), stop.end(), token) != stop.end();
  if (seq.request.on_token && !seq.request.on_token(event)) {
    finish(seq, FinishReason::cancelled);
  } else if ((is_stop && !seq.request.ignore_eos) || (seq.grammar && seq.grammar->finished())) {
    finish(seq, FinishReason::stop);
  } else if (seq.generated >= seq.request.max_new_tokens) {
    finish(seq, FinishReason::length);
  }
}

std::span<const int32_t> BatchScheduler::penalized_context(const Sequence& seq) const {
  // An encoder-decoder's repetition penalty reads the decoder's tokens (its start and what
  // it generated), as transformers' generate does, not the encoder's input.
  if (model_.spec().decoder_start_token_id) return std::span(seq.context).subspan(static_cast<size_t>(seq.prompt_tokens - 1));
  return seq.context;
}

bool BatchScheduler::prefix_caching() const {
  // Every encoder position depends on the whole input: no prefix's blocks are its own.
  return config_.prefix_caching && !model_.spec().decoder_start_token_id;
}

int64_t BatchScheduler::chunk_tokens(const Sequence& seq, int64_t budget) const {
  const int64_t n = std::min(seq.pending(), budget);
  // An encoder-decoder's encoder reads its whole input in one step: the prompt's first
  // chunk holds all of it and the decoder's start, or waits for a step with room.
  if (model_.spec().decoder_start_token_id && seq.computed < seq.prompt_tokens && n < seq.prompt_tokens - seq.computed) {
    return 0;
  }
  return n;
}

bool BatchScheduler::asynchronous() const { return config_.async_scheduling && model_.takes_sampled_ids(); }

bool BatchScheduler::can_pipeline() const {
  if (!asynchronous()) return false;
  return std::none_of(launched_->rows.begin(), launched_->rows.end(), [](const Launched::Row& row) {
    return row.samples && !row.seq->finished && row.seq->samples_from_context();
  });
}

BatchScheduler::Plan BatchScheduler::plan_step() {
  Plan plan;
  int64_t budget = config_.max_batch_tokens;
  // A sequence whose token in flight is its last is done once that token arrives.
  const auto has_next = [](const Sequence& s) { return s.generated + s.in_flight < s.request.max_new_tokens; };
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {  // decodes first
    Sequence* seq = running_[i].get();
    if (!seq || seq->finished || seq->pending() != 1 || !has_next(*seq)) continue;
    if (!ensure_blocks(i, seq->length())) continue;
    plan.emplace_back(seq, 1);
    --budget;
  }
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {  // prompts being read
    Sequence* seq = running_[i].get();
    if (!seq || seq->finished || seq->pending() <= 1) continue;
    if (const int64_t n = chunk_tokens(*seq, budget); n > 0) {
      plan.emplace_back(seq, n);
      budget -= n;
    }
  }
  while (budget > 0 && !waiting_.empty() && static_cast<int64_t>(running_.size()) < config_.max_running) {
    Sequence& seq = *waiting_.front();
    // A preempted sequence's last token first comes back; an encoder-decoder's prompt may need a step with more room.
    if (seq.in_flight > 0 || chunk_tokens(seq, budget) == 0 || !admit(seq)) break;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    plan.emplace_back(&seq, chunk_tokens(seq, budget));
    budget -= plan.back().second;
  }
  std::erase_if(plan, [](const auto& p) { return p.first->finished.has_value(); });
  return plan;
}

std::unique_ptr<BatchScheduler::Launched> BatchScheduler::launch(const Plan& plan, const Launched* previous) {
  int64_t prefill = 0;  // all but the decodes: a generated token's first and only pass
  ForwardBatch batch;
  for (const auto& [seq, n] : plan) {
    prefill += seq->pending() == 1 && seq->generated + seq->in_flight > 0 ? 0 : n;
    // Shared blocks are full and computed: the positions a step writes are never in one.
    GENRT_CHECK(cache_.writable(seq->blocks, seq->computed, seq->computed + n),
                "scheduler: a step would write positions [{}, {}) into a KV block it does not hold alone",
                seq->computed, seq->computed + n);
    batch.sequences.push_back({.first_token = static_cast<int64_t>(batch.tokens.size()),
                               .n_tokens = n,
                               .start_pos = seq->computed,
                               .blocks = &seq->blocks,
                               .prompt_tokens = seq->prompt_tokens});
    if (seq->in_flight > 0) {  // a decode of the token the launched step samples for it
      GENRT_CHECK(previous != nullptr && n == 1, "scheduler: a token in flight without its launched step");
      batch.from_sampled.resize(batch.tokens.size(), -1);
      batch.from_sampled.push_back(static_cast<int32_t>(seq->sampled_row));
      batch.tokens.push_back(0);
      continue;
    }
    batch.tokens.insert(batch.tokens.end(), seq->context.begin() + seq->computed,
                        seq->context.begin() + seq->computed + n);
  }
  if (!batch.from_sampled.empty()) {
    batch.from_sampled.resize(batch.tokens.size(), -1);
    batch.sampled = previous->sampling.ids;
  }
  RowSampling still_reading;  // a row whose prompt goes on next step: the cheapest draw, discarded
  still_reading.params.temperature = 0.0f;
  std::vector<RowSampling> rows;
  for (const auto& [seq, n] : plan) {
    if (seq->pending() > n) {
      rows.push_back(still_reading);
      continue;
    }
    // its tokens before this one, delivered or in flight
    const int64_t drawn = seq->generated + seq->in_flight;
    rows.push_back({.params = seq->request.sampling,
                    .draws = static_cast<uint64_t>(drawn),
                    .context = penalized_context(*seq),
                    .top_logprobs = seq->request.top_logprobs,
                    .allowed_tokens = seq->grammar ? seq->grammar->allowed_tokens(seq->request.max_new_tokens - drawn)
                                                   : std::span<const uint32_t>{}});
  }
  DeviceRuntime* runtime = model_.device_runtime();
  if (model_.draws_in_step()) batch.draw = step_draw(rows, runtime);
  const Tensor logits = model_.forward(batch, cache_, LogitsFor::last_token);
  auto launched = std::make_unique<Launched>(
      Launched{.sampling = launch_sampling(logits, rows, runtime, batch.draw ? batch.draw->ids : Tensor())});
  // Only once the step is launched: one that throws leaves every sequence as it was, to be
  // planned again, rather than computed but never sampled.
  totals_.prefill_tokens += prefill;
  for (size_t row = 0; row < plan.size(); ++row) {
    Sequence& seq = *plan[row].first;
    const bool samples = seq.pending() == plan[row].second;
    seq.computed += plan[row].second;
    ++seq.launched_rows;
    if (samples) {
      ++seq.in_flight;
      seq.sampled_row = static_cast<int64_t>(row);
    }
    launched->rows.push_back(
        {.seq = &seq, .computed = seq.computed, .preemptions = seq.preemptions, .samples = samples});
  }
  if (previous != nullptr) ++totals_.overlapped_steps;
  return launched;
}

void BatchScheduler::collect(std::unique_ptr<Launched> launched) {
  // The rows let go of their sequences first, so whatever happens below leaves the counts
  // right; a failed wait fails the step (the device is gone).
  for (const Launched::Row& row : launched->rows) {
    --row.seq->launched_rows;
    if (row.samples && --row.seq->in_flight == 0) row.seq->sampled_row = -1;
  }
  const std::vector<SampledToken> sampled = collect_sampling(launched->sampling);
  const int64_t window = model_.spec().attention_window;
  for (size_t i = 0; i < launched->rows.size(); ++i) {
    const Launched::Row& row = launched->rows[i];
    Sequence& seq = *row.seq;
    if (seq.finished) continue;  // before this step came back: its blocks are no longer its
    // The blocks the step computed first, so that a sequence its token finishes leaves
    // them cached; not after a preemption, which gave them back.
    if (seq.preemptions == row.preemptions) {
      if (prefix_caching()) cache_.cache_computed(seq.blocks, seq.context, row.computed);
      // Later queries sit at positions >= computed, so no layer reads a key before
      // computed - window + 1 again: blocks wholly before it go back to the pool.
      if (window > 0) cache_.release_before(seq.blocks, row.computed - window + 1);
    }
    if (!row.samples) continue;
    try {
      deliver(seq, sampled[i]);
    } catch (const std::exception& e) {  // a callback's failure ends its own request only
      spdlog::error("scheduler: delivering a token failed: {}", e.what());
      finish(seq, FinishReason::cancelled);
    }
  }
}

void BatchScheduler::step() {
  for (auto& seq : running_) {
    if (seq && seq->request.cancelled && *seq->request.cancelled) finish(*seq, FinishReason::cancelled);
  }
  for (auto& seq : waiting_) {
    if (seq->request.cancelled && *seq->request.cancelled) finish(*seq, FinishReason::cancelled);
  }
  // Synchronously, the launched step's tokens come back before the next step is planned;
  // asynchronously, the next step is launched first (its decodes taking the launched step's
  // sampled ids) and the host waits for the launched step's tokens while the device runs it.
  if (launched_ && !can_pipeline()) collect(std::move(launched_));
  remove_finished();
  const Plan plan = plan_step();
  std::unique_ptr<Launched> previous = std::move(launched_);
  try {
    if (!plan.empty()) launched_ = launch(plan, previous.get());
  } catch (...) {
    if (previous) collect(std::move(previous));  // what the previous step sampled is delivered first
    throw;
  }
  if (previous) collect(std::move(previous));
  if (launched_ && !asynchronous()) collect(std::move(launched_));
  remove_finished();
}

}  // namespace genrt
