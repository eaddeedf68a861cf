#include "runtime/tokenizer/tool_call_syntax.h"

#include <optional>

#include "runtime/tokenizer/tool_chat_formats.h"

namespace genrt {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralCalls = "[TOOL_CALLS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kBlanks = " \t\n\r";

std::string_view skip_blanks(std::string_view s) {
  const size_t begin = s.find_first_not_of(kBlanks);
  return begin == std::string_view::npos ? std::string_view() : s.substr(begin);
}

// The JSON object or array `s` starts with, and the text after it; nullopt when `s` does
// not start with a complete one (the end is found by matching brackets outside strings,
// then nlohmann parses it).
std::optional<std::pair<json, std::string_view>> leading_json(std::string_view s) {
  if (s.empty() || (s[0] != '{' && s[0] != '[')) return std::nullopt;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if ((c == '}' || c == ']') && --depth == 0) {
      json value = json::parse(s.substr(0, i + 1), nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) return std::nullopt;
      return std::pair{std::move(value), s.substr(i + 1)};
    }
  }
  return std::nullopt;
}

// {"name": NAME, ARGUMENTS_KEY: {...}}, with Llama's "parameters" or everyone's "arguments".
std::optional<ToolCall> call_from_json(const json& v) {
  if (!v.is_object() || !v.contains("name") || !v["name"].is_string()) return std::nullopt;
  for (const char* key : {"arguments", "parameters"}) {
    if (const auto it = v.find(key); it != v.end() && it->is_object()) {
      return ToolCall{.id = {}, .name = v["name"].get<std::string>(), .arguments = *it};
    }
  }
  return std::nullopt;
}

// The reply's text before the first call (at `calls_begin`; its trailing blanks dropped)
// and after it, as content.
AssistantReply reply_with_calls(std::string_view text, size_t calls_begin, std::vector<ToolCall> calls,
                                std::string text_after) {
  std::string content(text.substr(0, calls_begin));
  content.erase(content.find_last_not_of(" \t\n\r\f\v") + 1);  // the blank before a call is the format's
  if (!text_after.empty()) content += (content.empty() ? "" : "\n") + text_after;
  return {.content = std::move(content), .calls = std::move(calls), .calls_begin = calls_begin,
          .text_after = std::move(text_after)};
}

// Text, then `<tool_call>{...}</tool_call>` blocks, with or without text between them
// (kept as content); a reply cut off may lack the last closing tag.
std::optional<AssistantReply> parse_hermes(std::string_view text) {
  const size_t first = text.find(kHermesOpen);
  if (first == std::string_view::npos) return std::nullopt;
  std::vector<ToolCall> calls;
  std::string after;
  std::string_view rest = text.substr(first);
  while (!rest.empty()) {
    const size_t open = rest.find(kHermesOpen);
    if (const std::string between = strip_text(rest.substr(0, open)); !between.empty()) {
      after += (after.empty() ? "" : "\n") + between;
    }
    if (open == std::string_view::npos) break;
    auto object = leading_json(skip_blanks(rest.substr(open + kHermesOpen.size())));
    if (!object) return std::nullopt;
    auto call = call_from_json(object->first);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
    rest = skip_blanks(object->second);
    if (rest.starts_with(kHermesClose)) rest = rest.substr(kHermesClose.size());
  }
  return reply_with_calls(text, first, std::move(calls), std::move(after));
}

// The whole reply: calls joined by ';', after an optional <|python_tag|>.
std::optional<AssistantReply> parse_llama_json(std::string_view text) {
  std::string_view rest = skip_blanks(text);
  if (rest.starts_with(kPythonTag)) rest = skip_blanks(rest.substr(kPythonTag.size()));
  std::vector<ToolCall> calls;
  while (true) {
    auto object = leading_json(rest);
    if (!object) return std::nullopt;
    auto call = call_from_json(object->first);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
    rest = skip_blanks(object->second);
    if (rest.empty()) return reply_with_calls(text, 0, std::move(calls), "");
    if (rest[0] != ';') return std::nullopt;
    rest = skip_blanks(rest.substr(1));
  }
}

// Text, then [TOOL_CALLS] and a JSON list of calls (or one call).
std::optional<AssistantReply> parse_mistral(std::string_view text) {
  const size_t at = text.find(kMistralCalls);
  if (at == std::string_view::npos) return std::nullopt;
  auto list = leading_json(skip_blanks(text.substr(at + kMistralCalls.size())));
  if (!list || !skip_blanks(list->second).empty()) return std::nullopt;
  std::vector<ToolCall> calls;
  for (const json& v : list->first.is_array() ? list->first : json::array({list->first})) {
    auto call = call_from_json(v);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  return reply_with_calls(text, at, std::move(calls), "");
}

// Where `marker` starts in `text`, or where a prefix of it ends `text` (the marker may be
// arriving); text.size() when neither.
size_t marker_start(std::string_view text, std::string_view marker) {
  if (const size_t at = text.find(marker); at != std::string_view::npos) return at;
  for (size_t n = std::min(marker.size() - 1, text.size()); n > 0; --n) {
    if (text.ends_with(marker.substr(0, n))) return text.size() - n;
  }
  return text.size();
}

}  // namespace

AssistantReply parse_tool_calls(ChatFormat format, std::string_view text) {
  std::optional<AssistantReply> reply;
  if (format == ChatFormat::chatml) reply = parse_hermes(text);
  if (format == ChatFormat::llama31) reply = parse_llama_json(text);
  if (format == ChatFormat::mistral_v3) reply = parse_mistral(text);
  return reply ? std::move(*reply) : AssistantReply{.content = std::string(text), .calls = {}};
}

size_t content_before_tool_calls(ChatFormat format, std::string_view text) {
  switch (format) {
    case ChatFormat::chatml: return marker_start(text, kHermesOpen);
    case ChatFormat::mistral_v3: return marker_start(text, kMistralCalls);
    case ChatFormat::llama31: {
      // A call is the whole reply: held back while it may be one.
      const std::string_view start = skip_blanks(text);
      const bool may_be_call = start.empty() || start[0] == '{' || start.starts_with(kPythonTag) ||
                               kPythonTag.starts_with(start);
      return may_be_call ? 0 : text.size();
    }
    default: return text.size();
  }
}

std::vector<std::string_view> tool_call_markers(ChatFormat format) {
  if (format == ChatFormat::llama31) return {kPythonTag};
  if (format == ChatFormat::mistral_v3) return {kMistralCalls};
  return {};
}

ToolCallShape tool_call_shape(ChatFormat format) {
  switch (format) {
    case ChatFormat::chatml:
      return {.prompt_suffix = "",
              .open = "",
              .call_open = "<tool_call>\n{\"name\": \"",
              .arguments_key = "\", \"arguments\": ",
              .call_close = "}\n</tool_call>",
              .separator = "\n",
              .close = ""};
    case ChatFormat::llama31:
      return {.prompt_suffix = "",
              .open = "",
              .call_open = "{\"name\": \"",
              .arguments_key = "\", \"parameters\": ",
              .call_close = "}",
              .separator = "",  // the template takes one call a turn
              .close = ""};
    case ChatFormat::mistral_v3:
      return {.prompt_suffix = kMistralCalls,
              .open = " [",
              .call_open = "{\"name\": \"",
              .arguments_key = "\", \"arguments\": ",
              .call_close = "}",
              .separator = ", ",
              .close = "]"};
    default: return {};
  }
}

}  // namespace genrt
