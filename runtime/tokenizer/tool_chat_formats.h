#pragma once
// The chat formats that define tools (chat_template.h), one renderer each, as their
// templates write them: Llama 3.1 (tools in the first user turn), ChatML (Qwen2.5's tool
// system prompt) and Mistral v0.3.

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/chat_template.h"

namespace genrt {

// Python's str.strip() / Jinja's trim (ASCII whitespace).
std::string strip_text(std::string_view s);

std::string render_llama31(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt,
                           std::span<const nlohmann::ordered_json> tools);
std::string render_chatml(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt,
                          std::span<const nlohmann::ordered_json> tools);
std::string render_mistral_v3(const ChatTemplate& t, std::span<const ChatMessage> messages,
                              std::span<const nlohmann::ordered_json> tools);

}  // namespace genrt
