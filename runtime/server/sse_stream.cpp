#include "runtime/server/sse_stream.h"

#include <httplib.h>

#include <chrono>
#include <numeric>
#include <string>

namespace genrt {

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(50);  // how often a waiting stream checks its client
}  // namespace

SseStream::SseStream(std::shared_ptr<CompletionJob> job, CompletionParams params, ResponseIdentity identity)
    : job_(std::move(job)),
      params_(std::move(params)),
      identity_(std::move(identity)),
      opened_(params_.endpoint != Endpoint::chat),
      completion_tokens_(params_.prompts.size() * static_cast<size_t>(params_.n), 0) {
  if (params_.tool_format) tool_calls_.assign(completion_tokens_.size(), ToolCallStream(params_));
}

bool SseStream::write_next(httplib::DataSink& sink) {
  if (!opened_) {
    ChunkChoice opening;
    opening.role = true;
    for (opening.index = 0; opening.index < completion_tokens_.size(); ++opening.index) {
      if (!send(sink, chunk_json(params_, identity_, opening))) return false;
    }
    opened_ = true;
  }
  if (job_->done()) {
    finish(sink);
    return true;
  }
  std::optional<ChoiceEvent> event = job_->next(kPollInterval);
  if (!event) {
    if (sink.is_writable()) return true;  // nothing new yet
    job_->cancel();                        // the client went away: stop generating for it
    return false;
  }
  completion_tokens_[event->index] = event->tokens;
  std::vector<ToolCall> calls;
  if (!tool_calls_.empty()) {
    ToolCallStream& reply = tool_calls_[event->index];
    event->text = reply.push(event->text);
    if (event->finish_reason) {
      AssistantReply rest = reply.finish(rng_);
      event->text += rest.content;
      calls = std::move(rest.calls);
      if (!calls.empty() && event->finish_reason == "stop") event->finish_reason = "tool_calls";
    }
  }
  if (event->text.empty() && event->logprobs.empty() && !event->finish_reason) return true;
  if (!calls.empty()) {
    // The text and logprobs first, then the calls, then the finish.
    const bool text = !event->text.empty() || !event->logprobs.empty();
    if (text && !send(sink, chunk_json(params_, identity_,
                                       {.index = event->index, .text = std::move(event->text), .logprobs = std::move(event->logprobs)}))) {
      return false;
    }
    if (!send(sink, chunk_json(params_, identity_, {.index = event->index, .tool_calls = std::move(calls)}))) return false;
    return send(sink, chunk_json(params_, identity_, {.index = event->index, .finish_reason = event->finish_reason}));
  }
  return send(sink, chunk_json(params_, identity_,
                               {.index = event->index,
                                .text = std::move(event->text),
                                .logprobs = std::move(event->logprobs),
                                .finish_reason = std::move(event->finish_reason)}));
}

// One event; a failed write means the client went away, so generating for it stops.
bool SseStream::send(httplib::DataSink& sink, const ResponseJson& chunk) {
  const std::string line = "data: " + dump_json(chunk) + "\n\n";
  if (sink.write(line.data(), line.size())) return true;
  job_->cancel();
  return false;
}

void SseStream::finish(httplib::DataSink& sink) {
  if (params_.include_usage) {
    const int64_t total = std::accumulate(completion_tokens_.begin(), completion_tokens_.end(), int64_t{0});
    send(sink, usage_chunk_json(params_, identity_, total, job_->cached_prompt_tokens()));
  }
  const std::string done = "data: [DONE]\n\n";
  sink.write(done.data(), done.size());
  sink.done();
}

}  // namespace genrt
