#pragma once
// The OpenAI request and response shapes for /v1/completions and /v1/chat/completions:
// parsing and validating a request body into generation parameters, and building the
// response objects and stream chunks.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/engine/sampling_params.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

// An error the client caused (or capacity), with its HTTP status and OpenAI error type.
class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "")
      : Error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)) {}
  int status;
  std::string type;
  std::string param;
};

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param);

enum class Endpoint { completions, chat };

struct ApiContext {
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: chat completions are refused
  std::string model_name;
  int64_t context_length = 0;
};

struct CompletionParams {
  Endpoint endpoint = Endpoint::completions;
  std::vector<int32_t> prompt;
  int64_t max_tokens = 16;
  SamplingParams sampling;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;  // a chat turn's end token
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int64_t top_logprobs = -1;   // -1: no logprobs
  bool ignore_eos = false;     // vLLM's extension: generate max_tokens whatever the model says
};

// Throws ApiError (400) naming the field for wrong types, out-of-range values and prompts
// that do not fit the context.
CompletionParams parse_completion_request(const nlohmann::json& body, Endpoint endpoint, const ApiContext& ctx);

// One token's logprobs in the endpoint's shape; `text` is how the token reads.
struct TokenLogprobEntry {
  std::string text;
  size_t text_offset = 0;  // where the token's text starts in the choice's text
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

struct ChoiceResult {
  std::string text;
  std::vector<TokenLogprobEntry> logprobs;
  std::string finish_reason;  // stop, length
  int64_t tokens = 0;
};

nlohmann::json logprobs_json(Endpoint endpoint, const std::vector<TokenLogprobEntry>& entries);
nlohmann::json response_json(const CompletionParams& p, const std::string& id, int64_t created, const std::string& model,
                             const std::vector<ChoiceResult>& choices, int64_t prompt_tokens);
// One stream chunk: a piece of text (or the assistant role, or a finish) for one choice.
nlohmann::json chunk_json(const CompletionParams& p, const std::string& id, int64_t created, const std::string& model,
                          size_t index, const std::string* text, const std::vector<TokenLogprobEntry>& logprobs,
                          const std::string* finish_reason, bool role);
nlohmann::json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace genrt
