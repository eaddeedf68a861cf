#include "runtime/server/completion_job.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>

#include "runtime/engine/stop_strings.h"
#include "runtime/tokenizer/stream_decoder.h"

namespace genrt {

namespace {
using Clock = std::chrono::steady_clock;
}

struct CompletionJob::Shared {
  struct Choice {
    StreamDecoder decoder;
    StopStringMatcher stops;
    size_t text_offset = 0;
    int64_t tokens = 0;
    bool stopped_by_string = false;
    Clock::time_point last_token;
    int64_t cached_tokens = 0;  // prompt tokens found in the prefix cache
  };

  const Tokenizer& tokenizer;
  std::shared_ptr<ServerMetrics> metrics;
  Clock::time_point start = Clock::now();
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::vector<Choice> choices;

  std::mutex mutex;
  std::condition_variable ready;
  std::deque<ChoiceEvent> events;
  size_t finished = 0;

  Shared(const Tokenizer& t, std::shared_ptr<ServerMetrics> m) : tokenizer(t), metrics(std::move(m)) {}

  void push(ChoiceEvent event) {
    {
      std::lock_guard lock(mutex);
      finished += event.finish_reason.has_value();
      events.push_back(std::move(event));
    }
    ready.notify_all();
  }

  LogprobToken logprob_token(int32_t id, float logprob) const {
    return {id, tokenizer.decode(std::vector<int32_t>{id}, /*skip_special=*/false), logprob};
  }

  // Engine thread: one generated token of choice `index`. False stops the sequence.
  bool on_token(size_t index, const GeneratedToken& token) {
    Choice& c = choices[index];
    const auto now = Clock::now();
    if (c.tokens++ == 0) {
      metrics->time_to_first_token(std::chrono::duration<double>(now - start).count());
    } else {
      metrics->inter_token_latency(std::chrono::duration<double>(now - c.last_token).count());
    }
    c.last_token = now;
    metrics->tokens_generated(1);
    const StopStringMatcher::Result r = c.stops.push(c.decoder.push(token.id));
    ChoiceEvent event{.index = index, .text = r.text, .logprobs = {}, .finish_reason = {}, .tokens = c.tokens};
    if (token.logprobs != nullptr) {
      TokenLogprobEntry entry{logprob_token(token.id, token.logprobs->logprob), c.text_offset, {}};
      for (const auto& [id, lp] : token.logprobs->top) entry.top.push_back(logprob_token(id, lp));
      event.logprobs.push_back(std::move(entry));
    }
    c.text_offset += r.text.size();
    c.stopped_by_string = r.stopped;
    push(std::move(event));
    return !r.stopped && !*cancelled;
  }

  // Engine thread: choice `index` is over.
  void on_finish(size_t index, FinishReason reason) {
    Choice& c = choices[index];
    std::string tail;
    if (!c.stopped_by_string) {
      const StopStringMatcher::Result r = c.stops.push(c.decoder.finish());
      c.stopped_by_string = r.stopped;
      tail = r.stopped ? r.text : r.text + c.stops.finish();
    }
    if (reason == FinishReason::cancelled && !c.stopped_by_string) metrics->sequence_cancelled();
    // A sequence ended by a stop string reports `stop` (the scheduler saw a cancel).
    const char* finish = c.stopped_by_string || reason == FinishReason::stop ? "stop" : "length";
    push({.index = index, .text = tail, .logprobs = {}, .finish_reason = finish, .tokens = c.tokens});
  }
};

CompletionJob::CompletionJob(ServingEngine& engine, const CompletionParams& p, std::shared_ptr<ServerMetrics> metrics)
    : shared_(std::make_shared<Shared>(engine.tokenizer(), std::move(metrics))), n_(p.n) {
  // Choice i completes prompt i / n: each prompt's n choices follow one another.
  std::vector<const Prompt*> prompt_of;
  for (const Prompt& prompt : p.prompts) {
    for (int64_t j = 0; j < p.n; ++j) {
      prompt_of.push_back(&prompt);
      shared_->choices.push_back({StreamDecoder(engine.tokenizer(), engine.model().spec().text_context(prompt.ids), p.text_specials), StopStringMatcher(p.stop),
                                  0, 0, false, {}, 0});
    }
    shared_->metrics->prompt_tokens(static_cast<int64_t>(prompt.ids.size()));
  }
  std::shared_ptr<grammar::TokenGrammar> grammar;
  if (!p.grammar.empty()) {
    try {
      grammar = engine.grammar(p.grammar);
    } catch (const Error& e) {
      throw ApiError(400, e.what(), "invalid_request_error", p.tool_format ? "tools" : "response_format");
    }
  }
  for (size_t index = 0; index < prompt_of.size(); ++index) {
    if (p.echo) {
      shared_->choices[index].text_offset = prompt_of[index]->text.size();
      shared_->push({.index = index, .text = prompt_of[index]->text, .logprobs = {}, .finish_reason = {}, .tokens = 0});
    }
    SamplingParams sampling = p.sampling;
    sampling.seed = p.seed ? *p.seed + index : std::random_device{}();
    std::shared_ptr<Shared> shared = shared_;
    SequenceRequest request{.prompt = prompt_of[index]->ids,
                            .max_new_tokens = p.max_tokens,
                            .sampling = std::move(sampling),
                            .ignore_eos = p.ignore_eos,
                            .stop_token_ids = p.stop_token_ids,
                            .top_logprobs = p.top_logprobs,
                            .grammar = grammar,
                            .on_token = [shared, index](const GeneratedToken& t) { return shared->on_token(index, t); },
                            .on_finish = [shared, index](FinishReason r) { shared->on_finish(index, r); },
                            .on_admitted =
                                [shared, index](int64_t cached) {
                                  std::lock_guard lock(shared->mutex);
                                  shared->choices[index].cached_tokens = cached;
                                },
                            .cancelled = shared_->cancelled};
    try {
      engine.submit(std::move(request));
    } catch (const QueueFull& e) {
      cancel();
      throw ApiError(429, e.what(), "rate_limit_exceeded");
    } catch (const Error& e) {
      cancel();
      throw ApiError(400, e.what());
    }
  }
}

CompletionJob::~CompletionJob() { cancel(); }

int64_t CompletionJob::cached_prompt_tokens() const {
  std::lock_guard lock(shared_->mutex);
  int64_t cached = 0;  // each prompt counted once in usage: its first choice's
  for (size_t i = 0; i < shared_->choices.size(); i += static_cast<size_t>(n_)) cached += shared_->choices[i].cached_tokens;
  return cached;
}

void CompletionJob::cancel() { *shared_->cancelled = true; }

bool CompletionJob::done() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->finished == shared_->choices.size() && shared_->events.empty();
}

std::optional<ChoiceEvent> CompletionJob::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mutex);
  if (!shared_->ready.wait_for(lock, timeout, [&] { return !shared_->events.empty(); })) return std::nullopt;
  ChoiceEvent event = std::move(shared_->events.front());
  shared_->events.pop_front();
  return event;
}

std::vector<ChoiceResult> CompletionJob::collect() {
  std::vector<ChoiceResult> results(shared_->choices.size());
  while (!done()) {
    auto event = next(std::chrono::milliseconds(100));
    if (!event) continue;
    ChoiceResult& r = results[event->index];
    r.text += event->text;
    r.tokens = event->tokens;
    for (auto& lp : event->logprobs) r.logprobs.push_back(std::move(lp));
    if (event->finish_reason) r.finish_reason = *event->finish_reason;
  }
  return results;
}

}  // namespace genrt
