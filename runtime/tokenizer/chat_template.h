#pragma once
// Chat formatting for the common model families.
//
// tokenizer_config.json carries a Jinja `chat_template`. genrt does not run Jinja: it
// recognizes which family's format a template produces (by the markers only that
// format uses) and renders that format natively. The five formats are fixed protocols
// the models were trained on; a native renderer is exact for them (checked against
// transformers' own renderer in tests/data/chat_templates.json) and far smaller than a
// Jinja interpreter. A template genrt does not recognize is an error that names
// --chat-template, which picks a format by name.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace genrt {

enum class ChatFormat { llama2, llama3, chatml, mistral, gemma };

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct ChatTemplate {
  ChatFormat format = ChatFormat::chatml;
  std::string bos_token;  // text of the tokenizer's BOS / EOS, as the template uses them
  std::string eos_token;
  std::optional<std::string> default_system;  // ChatML templates that add one (Qwen2)

  // Throws genrt::Error for conversations the family's template refuses (roles that do
  // not alternate, a system message where none is allowed), with the template's message.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  // The token that ends an assistant turn (added to the stop tokens when chatting).
  std::string end_of_turn() const;
};

std::vector<std::string> chat_format_names();
// "llama2", "llama3", "chatml", "mistral", "gemma"; throws for anything else.
ChatFormat parse_chat_format(std::string_view name);
std::string_view chat_format_name(ChatFormat format);
// The format a Jinja chat template produces, or nullopt when genrt does not know it.
std::optional<ChatTemplate> detect_chat_template(std::string_view jinja, std::string bos, std::string eos);

}  // namespace genrt
