#pragma once
// Chat formatting for the common model families, tool calls included.
//
// tokenizer_config.json carries a Jinja `chat_template`. genrt does not run Jinja: it
// recognizes which family's format a template produces (by the markers only that
// format uses) and renders that format natively. The five formats are fixed protocols
// the models were trained on; a native renderer is exact for them (checked against
// transformers' own renderer in tests/data/chat_templates.json) and far smaller than a
// Jinja interpreter. A template genrt does not recognize is an error that names
// --chat-template, which picks a format by name.
//
// Three formats define tools (OpenAI's function tools, rendered into the prompt) and tool
// calls (the assistant's, and the tool results sent back): llama3.1 (Llama 3.1's JSON
// calls), chatml (Qwen2.5's <tool_call> tags, as Hermes models use them) and mistral-v3
// (Mistral v0.3's [AVAILABLE_TOOLS] / [TOOL_CALLS]). runtime/tokenizer/tool_call_syntax.h
// reads the calls back out of what a model writes.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace genrt {

enum class ChatFormat { llama2, llama3, llama31, chatml, mistral, mistral_v3, gemma };

// A function call the assistant made, as OpenAI's `tool_calls` entries carry it.
struct ToolCall {
  std::string id;
  std::string name;
  nlohmann::ordered_json arguments;  // an object (templates write it with `tojson`)
};

struct ChatMessage {
  std::string role;  // system, user, assistant, tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: the call this result answers
};

struct ChatTemplate {
  ChatFormat format = ChatFormat::chatml;
  std::string bos_token;  // text of the tokenizer's BOS / EOS, as the template uses them
  std::string eos_token;
  std::optional<std::string> default_system;  // ChatML templates that add one (Qwen2)
  // The template renders tools and tool calls (always for llama3.1 and mistral-v3; for a
  // ChatML template, when it writes <tool_call>).
  bool tools = false;

  // `tools` are OpenAI tool objects ({"type": "function", "function": {...}}). Throws
  // genrt::Error for conversations the family's template refuses (roles that do not
  // alternate, a system message where none is allowed, tools it cannot render), with the
  // template's message.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                     std::span<const nlohmann::ordered_json> tools = {}) const;
  // The tokens that end an assistant turn (added to the stop tokens when chatting):
  // llama3.1's turn that calls a tool may end with <|eom_id|>.
  std::vector<std::string> ends_of_turn() const;
};

std::vector<std::string> chat_format_names();
// "llama2", "llama3", "llama3.1", "chatml", "mistral", "mistral-v3", "gemma"; throws for
// anything else.
ChatFormat parse_chat_format(std::string_view name);
std::string_view chat_format_name(ChatFormat format);
// Whether the format has tools and tool calls (llama3.1, chatml, mistral-v3).
bool format_has_tools(ChatFormat format);
// The format a Jinja chat template produces, or nullopt when genrt does not know it.
std::optional<ChatTemplate> detect_chat_template(std::string_view jinja, std::string bos, std::string eos);

}  // namespace genrt
