#pragma once
// OpenAI's function tools in chat requests: `tools`, `tool_choice` and
// `parallel_tool_calls` read and checked, the grammar that makes a model call a tool
// (tool_choice "required" or a named function: the arguments then always follow the
// function's parameter schema), and the calls of a reply in the response's shape.

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/server/openai_api.h"
#include "runtime/server/request_json.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tool_call_syntax.h"

namespace genrt {

// OpenAI's rule for the names of functions and response formats: 1 to 64 letters, digits,
// '_' or '-'.
bool is_function_name(std::string_view name);

// The request's tools; nullopt when it has none. Throws ApiError (400) naming the field for
// malformed tools, a tool_choice naming no tool, or a tool_choice other than "none" without tools.
std::optional<ChatTools> parse_chat_tools(const RequestJson& body);

// messages[index].tool_calls (OpenAI's shape: arguments as JSON text holding an object).
std::vector<ToolCall> message_tool_calls(const RequestJson& calls, size_t index);

// The grammar of a reply that calls a tool in `format`: one of the tools ("required", one
// or, when parallel, several calls) or the named one. Throws ApiError (400) naming `tools`
// when a parameter schema uses what genrt's JSON Schema subset lacks.
std::string tool_call_gbnf(ChatFormat format, const ChatTools& tools);

// A fresh call id: Mistral's nine letters and digits (its template refuses any other when
// the call comes back), else "call_" and 24 of them, as OpenAI's look.
std::string tool_call_id(ChatFormat format, std::mt19937_64& rng);

// Whether a reply may make `calls`: each names a function of the request, as many as
// parallel_tool_calls allows, and a strict function's arguments follow its parameters. A
// reply whose calls may not be made is content.
bool calls_allowed(const ChatTools& tools, const std::vector<ToolCall>& calls);

// A finished choice of a request with tools (params.tool_format): its text split into the
// content and the calls, each given an id; a choice that calls a tool finishes with
// "tool_calls".
void read_tool_calls(const CompletionParams& params, ChoiceResult& choice, std::mt19937_64& rng);

// A streamed reply of a request with tools: the text that is surely content goes out as it
// comes; from where a call may start, the text is held back until the reply is complete.
class ToolCallStream {
 public:
  // `params` of a request with tools (params.tool_format), which must outlive the stream.
  explicit ToolCallStream(const CompletionParams& params)
      : params_(&params), reply_(params.reply_prefix), sent_(params.reply_prefix.size()) {}
  // The reply's next piece of text; returns the content that can be sent now.
  std::string push(std::string_view text);
  // The reply is complete: the content not sent yet, and the calls (ids given).
  AssistantReply finish(std::mt19937_64& rng);

 private:
  const CompletionParams* params_;
  std::string reply_;  // the reply prefix (not content), then the reply
  size_t sent_;        // bytes of reply_ sent as content, or not to be sent
};

// `calls` as a message's `tool_calls`, or (with_index) as a stream delta's.
ResponseJson tool_calls_json(const std::vector<ToolCall>& calls, bool with_index);

}  // namespace genrt
