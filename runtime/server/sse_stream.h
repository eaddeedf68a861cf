#pragma once
// A streamed completion (stream: true) as Server-Sent Events: a chat stream opens each
// choice with the assistant's role, then every choice event is a chunk, then the usage
// chunk (when asked for) and `data: [DONE]`. With tools, text that may be a tool call is
// held back; the calls go out in one chunk when the reply is complete.

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/server/chat_tools.h"
#include "runtime/server/completion_job.h"
#include "runtime/server/openai_api.h"

namespace httplib {
class DataSink;
}

namespace genrt {

class SseStream {
 public:
  SseStream(std::shared_ptr<CompletionJob> job, CompletionParams params, ResponseIdentity identity);

  // httplib's chunked content provider: writes what is ready to `sink`, waiting briefly for
  // the next event. False ends the response early: the client went away, and the job is
  // cancelled.
  bool write_next(httplib::DataSink& sink);

 private:
  bool send(httplib::DataSink& sink, const ResponseJson& chunk);
  void finish(httplib::DataSink& sink);

  std::shared_ptr<CompletionJob> job_;
  CompletionParams params_;
  ResponseIdentity identity_;
  bool opened_;                              // chat choices have been sent their role
  std::vector<ToolCallStream> tool_calls_;   // per choice, when the request has tools
  std::mt19937_64 rng_{std::random_device{}()};  // tool call ids
  std::vector<int64_t> completion_tokens_;  // per choice, for the usage chunk
};

}  // namespace genrt
