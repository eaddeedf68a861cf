#include "runtime/tokenizer/chat_template.h"

#include <fmt/ranges.h>

#include "runtime/core/error.h"
#include "runtime/tokenizer/tool_chat_formats.h"

namespace genrt {

namespace {

constexpr const char* kAlternate = "Conversation roles must alternate user/assistant/user/assistant/...";

// The roles after an optional leading system message must go user, assistant, user, ...
void check_alternation(std::span<const ChatMessage> messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    GENRT_CHECK((messages[i].role == "user") == (i % 2 == 0), "{}", kAlternate);
  }
}

std::string render_llama3(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt) {
  std::string out = messages.empty() ? "" : t.bos_token;
  for (const ChatMessage& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip_text(m.content) + "<|eot_id|>";
  }
  if (generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_llama2(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  std::optional<std::string> system;
  if (!messages.empty() && messages[0].role == "system") {
    system = messages[0].content;
    messages = messages.subspan(1);
  }
  check_alternation(messages);
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const std::string content =
        i == 0 && system ? "<<SYS>>\n" + *system + "\n<</SYS>>\n\n" + m.content : m.content;
    if (m.role == "user") {
      out += t.bos_token + "[INST] " + strip_text(content) + " [/INST]";
    } else if (m.role == "assistant") {
      out += " " + strip_text(content) + " " + t.eos_token;
    }
  }
  return out;
}

std::string render_mistral(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  check_alternation(messages);
  std::string out = t.bos_token;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      out += "[INST] " + m.content + " [/INST]";
    } else if (m.role == "assistant") {
      out += m.content + t.eos_token;
    } else {
      fail("Only user and assistant roles are supported!");
    }
  }
  return out;
}

std::string render_gemma(const ChatTemplate& t, std::span<const ChatMessage> messages, bool generation_prompt) {
  GENRT_CHECK(messages.empty() || messages[0].role != "system", "System role not supported");
  check_alternation(messages);
  std::string out = t.bos_token;
  for (const ChatMessage& m : messages) {
    const std::string role = m.role == "assistant" ? "model" : m.role;
    out += "<start_of_turn>" + role + "\n" + strip_text(m.content) + "<end_of_turn>\n";
  }
  if (generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 std::span<const nlohmann::ordered_json> tool_list) const {
  // Tool results are messages like any other to a template without tools (it writes their
  // role as it finds it); tools and calls it has no way to write.
  const bool calls = std::any_of(messages.begin(), messages.end(), [](const ChatMessage& m) { return !m.tool_calls.empty(); });
  if (!tools && (!tool_list.empty() || calls)) {
    fail("the {} chat template defines no tools or tool calls (templates that do: llama3.1, chatml with <tool_call>, "
         "mistral-v3)",
         chat_format_name(format));
  }
  switch (format) {
    case ChatFormat::llama3: return render_llama3(*this, messages, add_generation_prompt);
    case ChatFormat::llama31: return render_llama31(*this, messages, add_generation_prompt, tool_list);
    case ChatFormat::chatml: return render_chatml(*this, messages, add_generation_prompt, tool_list);
    case ChatFormat::mistral_v3: return render_mistral_v3(*this, messages, tool_list);
    case ChatFormat::llama2: return render_llama2(*this, messages);
    case ChatFormat::mistral: return render_mistral(*this, messages);
    case ChatFormat::gemma: return render_gemma(*this, messages, add_generation_prompt);
  }
  fail("unknown chat format");
}

std::vector<std::string> ChatTemplate::ends_of_turn() const {
  switch (format) {
    case ChatFormat::llama3: return {"<|eot_id|>"};
    case ChatFormat::llama31: return {"<|eot_id|>", "<|eom_id|>"};
    case ChatFormat::chatml: return {"<|im_end|>"};
    case ChatFormat::gemma: return {"<end_of_turn>"};
    case ChatFormat::llama2:
    case ChatFormat::mistral:
    case ChatFormat::mistral_v3: return {eos_token};
  }
  return {eos_token};
}

constexpr ChatFormat kFormats[] = {ChatFormat::llama2,  ChatFormat::llama3,     ChatFormat::llama31, ChatFormat::chatml,
                                   ChatFormat::mistral, ChatFormat::mistral_v3, ChatFormat::gemma};

std::vector<std::string> chat_format_names() {
  std::vector<std::string> names;
  for (ChatFormat f : kFormats) names.emplace_back(chat_format_name(f));
  return names;
}

std::string_view chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::llama2: return "llama2";
    case ChatFormat::llama3: return "llama3";
    case ChatFormat::llama31: return "llama3.1";
    case ChatFormat::chatml: return "chatml";
    case ChatFormat::mistral: return "mistral";
    case ChatFormat::mistral_v3: return "mistral-v3";
    case ChatFormat::gemma: return "gemma";
  }
  return "?";
}

bool format_has_tools(ChatFormat format) {
  return format == ChatFormat::llama31 || format == ChatFormat::chatml || format == ChatFormat::mistral_v3;
}

ChatFormat parse_chat_format(std::string_view name) {
  for (ChatFormat f : kFormats) {
    if (chat_format_name(f) == name) return f;
  }
  fail("unknown chat template '{}': expected one of {}", name, fmt::join(chat_format_names(), ", "));
}

std::optional<ChatTemplate> detect_chat_template(std::string_view jinja, std::string bos, std::string eos) {
  auto has = [&](std::string_view marker) { return jinja.find(marker) != std::string_view::npos; };
  ChatTemplate t{.bos_token = std::move(bos), .eos_token = std::move(eos), .default_system = {}};
  if (has("<|start_header_id|>") && has("Cutting Knowledge Date")) {
    // Llama 3.1's (and 3.3's) template dates the prompt 26 Jul 2024; later ones write the
    // day's date, and differ in their tool prompts: not recognized (--chat-template llama3.1
    // still renders them the 3.1 way).
    if (has("strftime_now")) return std::nullopt;
    t.format = ChatFormat::llama31;
  } else if (has("<|start_header_id|>") && has("<|eot_id|>")) {
    t.format = ChatFormat::llama3;
  } else if (has("<|im_start|>")) {
    t.format = ChatFormat::chatml;
    // Qwen2-style templates write a default system turn when the conversation has none:
    // a literal '<|im_start|>system\n...<|im_end|>' (the newline real or escaped). Qwen2.5's
    // first writes the tools' system turn, from parts, so every such marker is tried.
    const std::string_view marker = "<|im_start|>system";
    for (size_t at = jinja.find(marker); at != std::string_view::npos && !t.default_system; at = jinja.find(marker, at + 1)) {
      size_t begin = at + marker.size();
      begin += jinja.substr(begin, 1) == "\n" ? 1 : jinja.substr(begin, 2) == "\\n" ? 2 : 0;
      const size_t end = jinja.find("<|im_end|>", begin);
      if (end != std::string_view::npos && jinja.substr(begin, end - begin).find_first_of("{}'\"+") == std::string_view::npos) {
        t.default_system = std::string(jinja.substr(begin, end - begin));
      }
    }
  } else if (has("<start_of_turn>")) {
    t.format = ChatFormat::gemma;
  } else if (has("[AVAILABLE_TOOLS]") || has("[TOOL_CALLS]") || has("[SYSTEM_PROMPT]")) {
    // Mistral's later templates (Nemo, Large 2407, Small 3) lay tools and ids out otherwise:
    // only v0.3's is recognized, by its user turn and its tool results.
    if (!has(R"("[INST] " + message["content"] + "[/INST]")") || !has(R"('[TOOL_RESULTS] {"content": ')")) {
      return std::nullopt;
    }
    t.format = ChatFormat::mistral_v3;
  } else if (has("[INST]") && has("<<SYS>>")) {
    t.format = ChatFormat::llama2;
  } else if (has("[INST]")) {
    t.format = ChatFormat::mistral;
  } else {
    return std::nullopt;
  }
  // ChatML tools are Qwen2.5's prompt: a template that writes no such prompt (none, or
  // another model's, such as Hermes 2 Pro's) gets no tools rather than the wrong prompt.
  t.tools = format_has_tools(t.format) &&
            (t.format != ChatFormat::chatml || (has("<tool_call>") && has("# Tools") && has("<tools>")));
  return t;
}

}  // namespace genrt
