#pragma once
// Tool calls in what a model writes, per chat format (chat_template.h renders them into
// prompts; this reads them back out):
// - chatml: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`, after any text;
// - llama3.1: the whole reply is `{"name": ..., "parameters": {...}}` (several joined by
//   ";"), optionally after <|python_tag|>;
// - mistral-v3: `[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`, after any text.
// [TOOL_CALLS] and <|python_tag|> are special tokens: the text read must be decoded with
// special tokens kept.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/chat_template.h"

namespace genrt {

// A reply split into its text and its tool calls (their ids empty: the server names them).
struct AssistantReply {
  std::string content;  // the text before the calls (less trailing blanks), then any text after them
  std::vector<ToolCall> calls;
  size_t calls_begin = std::string::npos;  // where the first call starts in the text read; npos: no calls
  std::string text_after;                  // the text after the first call that no call holds
};

// Reads the calls out of `text`. A reply whose calls are not well-formed (JSON that does
// not parse, no name, arguments that are not an object) has none: all of it is content,
// so that nothing the model wrote is lost.
AssistantReply parse_tool_calls(ChatFormat format, std::string_view text);

// Streaming: how many bytes at the start of `text` (a reply so far) are content whatever
// comes next, i.e. end before anything that is or may become a tool call.
size_t content_before_tool_calls(ChatFormat format, std::string_view text);

// The special tokens a format's calls start with (<|python_tag|>, [TOOL_CALLS]): a reply
// must be decoded with them as text.
std::vector<std::string_view> tool_call_markers(ChatFormat format);

// How a format writes its calls, piece by piece: what a grammar that makes a model call a
// tool produces (runtime/server/tool_choice.h). A call is
// `call_open NAME arguments_key ARGUMENTS call_close`; several are joined by `separator`
// (empty: the format takes one call) between `open` and `close`. `prompt_suffix` is written
// into the prompt instead (a special token, which a grammar over text cannot produce).
struct ToolCallShape {
  std::string_view prompt_suffix;
  std::string_view open;
  std::string_view call_open;
  std::string_view arguments_key;
  std::string_view call_close;
  std::string_view separator;
  std::string_view close;
};
ToolCallShape tool_call_shape(ChatFormat format);

}  // namespace genrt
