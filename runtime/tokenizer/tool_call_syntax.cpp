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

// Text, then `<tool_call>{...}</tool_call>` blocks; blanks between them are dropped and
// any other text after the first call is kept as content.
std::optional<AssistantReply> parse_hermes(std::string_view text) {
  const size_t first = text.find(kHermesOpen);
  if (first == std::string_view::npos) return std::nullopt;
  AssistantReply reply{.content = strip_text(text.substr(0, first)), .calls = {}};
  std::string_view rest = text.substr(first);
  while (rest.starts_with(kHermesOpen)) {
    auto object = leading_json(skip_blanks(rest.substr(kHermesOpen.size())));
    if (!object) return std::nullopt;
    auto call = call_from_json(object->first);
    if (!call) return std::nullopt;
    reply.calls.push_back(std::move(*call));
    rest = skip_blanks(object->second);
    if (rest.starts_with(kHermesClose)) rest = skip_blanks(rest.substr(kHermesClose.size()));  // a cut-off reply may lack it
  }
  if (!rest.empty()) reply.content += (reply.content.empty() ? "" : "\n") + std::string(rest);
  return reply;
}

// The whole reply: calls joined by ';', after an optional <|python_tag|>.
std::optional<AssistantReply> parse_llama_json(std::string_view text) {
  std::string_view rest = skip_blanks(text);
  if (rest.starts_with(kPythonTag)) rest = skip_blanks(rest.substr(kPythonTag.size()));
  AssistantReply reply;
  while (true) {
    auto object = leading_json(rest);
    if (!object) return std::nullopt;
    auto call = call_from_json(object->first);
    if (!call) return std::nullopt;
    reply.calls.push_back(std::move(*call));
    rest = skip_blanks(object->second);
    if (rest.empty()) return reply;
    if (rest[0] != ';') return std::nullopt;
    rest = skip_blanks(rest.substr(1));
  }
}

// Text, then [TOOL_CALLS] and a JSON list of calls (or one call).
std::optional<AssistantReply> parse_mistral(std::string_view text) {
  const size_t at = text.find(kMistralCalls);
  if (at == std::string_view::npos) return std::nullopt;
  AssistantReply reply{.content = strip_text(text.substr(0, at)), .calls = {}};
  auto calls = leading_json(skip_blanks(text.substr(at + kMistralCalls.size())));
  if (!calls || !skip_blanks(calls->second).empty()) return std::nullopt;
  for (const json& v : calls->first.is_array() ? calls->first : json::array({calls->first})) {
    auto call = call_from_json(v);
    if (!call) return std::nullopt;
    reply.calls.push_back(std::move(*call));
  }
  return reply;
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
