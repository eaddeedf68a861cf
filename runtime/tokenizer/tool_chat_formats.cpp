#include "runtime/tokenizer/tool_chat_formats.h"

#include "runtime/core/error.h"
#include "runtime/tokenizer/python_json.h"

namespace genrt {

std::string strip_text(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(ws);
  if (begin == std::string_view::npos) return "";
  return std::string(s.substr(begin, s.find_last_not_of(ws) - begin + 1));
}

namespace {

// Llama 3.1's template, with its defaults: tools in the first user message, no built-in
// tools, the date it was released with.
constexpr std::string_view kLlama31Date = "26 Jul 2024";
constexpr std::string_view kLlama31ToolInstruction =
    "Given the following functions, please respond with a JSON for a function call with its proper arguments that "
    "best answers the given prompt.\n\n"
    "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
    "Do not use variables.\n\n";

std::string llama3_header(std::string_view role) {
  return "<|start_header_id|>" + std::string(role) + "<|end_header_id|>\n\n";
}

}  // namespace

std::string render_llama31(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt,
                           std::span<const nlohmann::ordered_json> tools) {
  std::string system;
  if (!messages.empty() && messages[0].role == "system") {
    system = strip_text(messages[0].content);
    messages = messages.subspan(1);
  }
  std::string out = t.bos_token + llama3_header("system");
  if (!tools.empty()) out += "Environment: ipython\n";
  out += "Cutting Knowledge Date: December 2023\nToday Date: " + std::string(kLlama31Date) + "\n\n";
  out += system + "<|eot_id|>";
  if (!tools.empty()) {
    GENRT_CHECK(!messages.empty(), "Cannot put tools in the first user message when there's no first user message!");
    out += llama3_header("user") + std::string(kLlama31ToolInstruction);
    for (const auto& tool : tools) out += python_json(tool, 4) + "\n\n";
    out += strip_text(messages[0].content) + "<|eot_id|>";
    messages = messages.subspan(1);
  }
  for (const ChatMessage& m : messages) {
    if (!m.tool_calls.empty()) {
      GENRT_CHECK(m.tool_calls.size() == 1, "This model only supports single tool-calls at once!");
      const ToolCall& call = m.tool_calls[0];
      out += llama3_header("assistant") + "{\"name\": \"" + call.name + "\", \"parameters\": " +
             python_json(call.arguments) + "}<|eot_id|>";
    } else if (m.role == "tool" || m.role == "ipython") {
      // The template writes a string result with `tojson` too (a string is iterable).
      out += llama3_header("ipython") + python_json(m.content) + "<|eot_id|>";
    } else {
      out += llama3_header(m.role) + strip_text(m.content) + "<|eot_id|>";
    }
  }
  if (generation_prompt) out += llama3_header("assistant");
  return out;
}

std::string render_chatml(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt,
                          std::span<const nlohmann::ordered_json> tools) {
  const bool has_system = !messages.empty() && messages[0].role == "system";
  std::string out;
  if (!tools.empty()) {
    out += "<|im_start|>system\n" + (has_system ? messages[0].content : t.default_system.value_or(""));
    out += "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
           "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const auto& tool : tools) out += "\n" + python_json(tool);
    out += "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
           "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
           "<args-json-object>}\n</tool_call><|im_end|>\n";
    if (has_system) messages = messages.subspan(1);
  } else if (t.default_system && !has_system && !messages.empty()) {
    out += "<|im_start|>system\n" + *t.default_system + "<|im_end|>\n";
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "tool") {
      // Consecutive tool results share one user turn.
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      out += "<|im_start|>assistant";
      if (!m.content.empty()) out += "\n" + m.content;
      for (const ToolCall& call : m.tool_calls) {
        out += "\n<tool_call>\n{\"name\": \"" + call.name + "\", \"arguments\": " + python_json(call.arguments) +
               "}\n</tool_call>";
      }
      out += "<|im_end|>\n";
    } else {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
  }
  if (generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

namespace {

// Mistral's tool call ids: nine letters or digits.
void check_mistral_call_id(const std::string& id) {
  GENRT_CHECK(id.size() == 9, "Tool call IDs should be alphanumeric strings with length 9!");
}

// [AVAILABLE_TOOLS] as Mistral v0.3's template writes it: each function's fields but
// "return", strings written raw (unescaped) and other values as JSON.
std::string mistral_available_tools(std::span<const nlohmann::ordered_json> tools) {
  std::string out = "[AVAILABLE_TOOLS] [";
  for (size_t i = 0; i < tools.size(); ++i) {
    out += "{\"type\": \"function\", \"function\": {";
    bool first = true;
    for (const auto& [key, value] : tools[i].at("function").items()) {
      if (key == "return") continue;
      if (!first) out += ", ";
      first = false;
      out += "\"" + key + "\": " + (value.is_string() ? "\"" + value.get<std::string>() + "\"" : python_json(value));
    }
    out += i + 1 < tools.size() ? "}}, " : "}}]";
  }
  return out + "[/AVAILABLE_TOOLS]";
}

}  // namespace

std::string render_mistral_v3(const ChatTemplate& t, std::span<const ChatMessage> messages,
                              std::span<const nlohmann::ordered_json> tools) {
  std::optional<std::string> system;
  if (!messages.empty() && messages[0].role == "system") {
    system = messages[0].content;
    messages = messages.subspan(1);
  }
  // Users and assistants alternate, tool calls and results aside.
  size_t turn = 0;
  const ChatMessage* last_user = nullptr;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") last_user = &m;
    if (m.role == "tool" || !m.tool_calls.empty()) continue;
    GENRT_CHECK((m.role == "user") == (turn++ % 2 == 0),
                "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...");
  }
  std::string out = t.bos_token;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user") {
      // The template compares messages by value: any user turn equal to the last one gets the tools.
      if (!tools.empty() && m.content == last_user->content) out += mistral_available_tools(tools);
      const bool last = i + 1 == messages.size();
      out += "[INST] " + (last && system ? *system + "\n\n" + m.content : m.content) + "[/INST]";
    } else if (!m.tool_calls.empty()) {
      out += "[TOOL_CALLS] [";
      for (size_t c = 0; c < m.tool_calls.size(); ++c) {
        const ToolCall& call = m.tool_calls[c];
        const std::string function = python_json({{"name", call.name}, {"arguments", call.arguments}});
        check_mistral_call_id(call.id);
        out += function.substr(0, function.size() - 1) + ", \"id\": \"" + call.id + "\"}";
        out += c + 1 < m.tool_calls.size() ? ", " : "]" + t.eos_token;
      }
    } else if (m.role == "assistant") {
      out += " " + strip_text(m.content) + t.eos_token;
    } else if (m.role == "tool") {
      out += "[TOOL_RESULTS] {\"content\": " + m.content + ", ";
      check_mistral_call_id(m.tool_call_id);
      out += "\"call_id\": \"" + m.tool_call_id + "\"}[/TOOL_RESULTS]";
    } else {
      fail("Only user and assistant roles are supported, with the exception of an initial optional system message!");
    }
  }
  return out;
}

}  // namespace genrt
