#pragma once
// The OpenAI request and response shapes for /v1/completions and /v1/chat/completions:
// parsing and validating a request body into generation parameters (openai_api.cpp), and
// building the response objects and stream chunks (openai_response.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/engine/sampling_params.h"
#include "runtime/server/completion_prompts.h"
#include "runtime/server/request_json.h"
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

// A 400 naming the request field `param`.
[[noreturn]] void bad_request(const std::string& param, const std::string& message);

// An optional request field of JSON kind T (bool, an integer, a floating-point type or
// std::string); present with another kind, a 400 naming it: "'name' must be EXPECTED, not
// VALUE" when `expected` says what it must be, else "'name' has the wrong type: VALUE".
template <class T>
std::optional<T> request_field(const RequestJson& body, const char* name, const char* expected = nullptr) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  bool ok;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    ok = it->is_number_integer();
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = it->is_number();
  } else {
    ok = it->is_string();
  }
  if (!ok) {
    bad_request(name, expected != nullptr ? "'" + std::string(name) + "' must be " + expected + ", not " + it->dump()
                                          : "'" + std::string(name) + "' has the wrong type: " + it->dump());
  }
  return it->get<T>();
}

// A response body: keys stay in the order they are written (OpenAI's field order; a
// completion's top logprobs most likely first).
using ResponseJson = nlohmann::ordered_json;

// JSON text with any invalid UTF-8 (a client's bytes echoed in a message) as U+FFFD, so
// that no input can make a response fail to serialize.
std::string dump_json(const nlohmann::json& value);
std::string dump_json(const ResponseJson& value);

// The JSON of a request body. Throws ApiError (400) naming the byte offset of the first
// invalid UTF-8, or saying where the JSON is malformed.
RequestJson parse_request_body(std::string_view body);

enum class Endpoint { completions, chat };

struct ApiContext {
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: chat completions are refused
  std::string model_name;
  int64_t context_length = 0;
  int64_t vocab_size = 0;  // the model's: logit_bias ids must be inside it
};

// A chat request's tools (runtime/server/chat_tools.h reads them).
struct ChatTools {
  enum class Choice { none, automatic, required, named };
  std::vector<nlohmann::ordered_json> tools;  // OpenAI tool objects, as the prompt renders them
  Choice choice = Choice::automatic;
  std::string function;  // Choice::named: the one to call
  bool parallel = true;  // parallel_tool_calls: a reply may make several calls
  // Per tool: the grammar its arguments follow when the function is strict, else empty.
  std::vector<std::string> strict_arguments;
};

struct CompletionParams {
  Endpoint endpoint = Endpoint::completions;
  std::vector<Prompt> prompts;  // chat: one; completions: one or more, each with n choices
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
  bool echo = false;           // completions: each choice's text starts with its prompt's
  // Structured output (response_format) or a required tool call: the GBNF grammar every
  // choice's text follows (runtime/grammar/); empty: none.
  std::string grammar;
  // Chat with tools (tool_choice other than "none"): replies are read for tool calls in this
  // format (runtime/tokenizer/tool_call_syntax.h).
  std::optional<ChatFormat> tool_format;
  ChatTools tools;  // with tool_format: what a reply's calls are checked against
  // Written into the prompt after the assistant's turn opens and read as each reply's start
  // (mistral-v3's [TOOL_CALLS] when a call is required).
  std::string reply_prefix;
  // Special tokens decoded as text (the call markers of llama3.1 and mistral-v3, which are
  // special tokens); the others spell nothing.
  std::vector<int32_t> text_specials;
};

// Throws ApiError (400) naming the field for wrong types, out-of-range values, prompts
// that do not fit the context, fields OpenAI's API does not have (but for genrt's
// extensions) and fields genrt does not implement.
CompletionParams parse_completion_request(const RequestJson& body, Endpoint endpoint, const ApiContext& ctx);

// A token in logprobs: its raw bytes, which need not be UTF-8 by themselves (a
// byte-fallback token's one byte, part of a character).
struct LogprobToken {
  int32_t id = 0;
  std::string bytes;
  float logprob = 0;
};

// One generated token's logprobs, written in the endpoint's shape by logprobs_json.
struct TokenLogprobEntry {
  LogprobToken token;             // the chosen one
  size_t text_offset = 0;         // where the token's text starts in the choice's text
  std::vector<LogprobToken> top;  // the most likely, most likely first
};

struct ChoiceResult {
  std::string text;                 // with tool calls: the text before them
  std::vector<ToolCall> tool_calls;
  std::vector<TokenLogprobEntry> logprobs;
  std::string finish_reason;  // stop, length, tool_calls
  int64_t tokens = 0;
};

// What a response and every chunk of a stream carry about themselves.
struct ResponseIdentity {
  std::string id;       // cmpl-..., chatcmpl-...
  int64_t created = 0;  // Unix time
  std::string model;
};

// One choice's part of a stream chunk: the assistant role, a piece of text, tool calls, or
// its finish.
struct ChunkChoice {
  size_t index = 0;
  bool role = false;                         // chat: opens the choice as the assistant's
  std::optional<std::string> text;           // none: the chunk has no text (a role chunk)
  std::vector<ToolCall> tool_calls;          // chat: the reply's calls, once it is complete
  std::vector<TokenLogprobEntry> logprobs;   // the new tokens', when the request asked
  std::optional<std::string> finish_reason;  // on the choice's last chunk: stop, length, tool_calls
};

// Chat: OpenAI's `content` list; a token's `token` is its text (U+FFFD where its bytes are
// not UTF-8) and `bytes` its raw bytes. Completions: OpenAI's legacy `tokens`,
// `token_logprobs`, `top_logprobs` (per token a dict from token to logprob, most likely
// first) and `text_offset`; a token whose bytes are not UTF-8 is written as OpenAI writes
// one, `bytes:\xNN...`, and a token whose text another top token already has as
// `token_id:N`, so that every dict holds exactly the top tokens asked for.
ResponseJson logprobs_json(Endpoint endpoint, const std::vector<TokenLogprobEntry>& entries);
// `cached_tokens`: the prompt tokens served from the prefix cache (usage's
// prompt_tokens_details.cached_tokens).
ResponseJson response_json(const CompletionParams& p, const ResponseIdentity& identity,
                             const std::vector<ChoiceResult>& choices, int64_t cached_tokens);
ResponseJson chunk_json(const CompletionParams& p, const ResponseIdentity& identity, const ChunkChoice& choice);
// A stream's last chunk when the request asked for usage (stream_options.include_usage):
// no choices, the token counts.
ResponseJson usage_chunk_json(const CompletionParams& p, const ResponseIdentity& identity, int64_t completion_tokens,
                                int64_t cached_tokens);

}  // namespace genrt
