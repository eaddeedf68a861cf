// Chat formats against transformers' Jinja renderer (tools/golden/chat_templates.py):
// genrt recognizes each family's template and renders the same text, or refuses the
// same conversations.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/tokenizer/chat_template.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

// A golden message as genrt's: tool calls carry their arguments as objects, as the
// server passes them after parsing OpenAI's JSON text.
ChatMessage golden_message(const nlohmann::ordered_json& m) {
  const auto content = m.find("content");
  ChatMessage message{.role = m.at("role"),
                      .content = content == m.end() || content->is_null() ? "" : content->get<std::string>(),
                      .tool_calls = {},
                      .tool_call_id = m.value("tool_call_id", "")};
  for (const auto& call : m.value("tool_calls", nlohmann::ordered_json::array())) {
    message.tool_calls.push_back({call.at("id"), call.at("function").at("name"), call.at("function").at("arguments")});
  }
  return message;
}

TEST(ChatTemplate, EveryGoldenRenderingMatchesTransformers) {
  // Read ordered: tools and arguments keep the key order the templates wrote them in.
  const auto golden = nlohmann::ordered_json::parse(std::ifstream(test::data_dir() / "chat_templates.json"));
  const std::map<std::string, std::string> format_of_family = {{"chatml_plain", "chatml"}, {"qwen2.5", "chatml"}};
  int checked = 0;
  for (const auto& c : golden.at("cases")) {
    const std::string family = c.at("family");
    const auto bos_eos = golden.at("bos_eos").at(family);
    const auto t = detect_chat_template(golden.at("templates").at(family).get<std::string>(), bos_eos[0], bos_eos[1]);
    ASSERT_TRUE(t.has_value()) << family;
    EXPECT_EQ(chat_format_name(t->format), format_of_family.contains(family) ? format_of_family.at(family) : family);
    std::vector<ChatMessage> messages;
    for (const auto& m : c.at("messages")) messages.push_back(golden_message(m));
    std::vector<nlohmann::ordered_json> tools;
    if (!c.at("tools").is_null()) tools.assign(c.at("tools").begin(), c.at("tools").end());
    const bool generation_prompt = c.at("add_generation_prompt");
    SCOPED_TRACE(family + " case " + std::to_string(checked));
    if (c.at("error").is_null()) {
      EXPECT_EQ(t->render(messages, generation_prompt, tools), c.at("rendered").get<std::string>());
    } else {
      EXPECT_ERROR(t->render(messages, generation_prompt, tools), c.at("error").get<std::string>());
    }
    ++checked;
  }
  EXPECT_EQ(checked, 108);
}

TEST(ChatTemplate, ToolTemplatesAreRecognizedWithTheirDefaults) {
  const auto golden = read_json_file(test::data_dir() / "chat_templates.json");
  const auto qwen = detect_chat_template(golden["templates"]["qwen2.5"].get<std::string>(), "", "<|im_end|>");
  EXPECT_EQ(qwen->default_system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_TRUE(qwen->tools);
  for (const char* family : {"llama3.1", "mistral-v3"}) {
    EXPECT_TRUE(detect_chat_template(golden["templates"][family].get<std::string>(), "", "")->tools) << family;
  }
  // Later Llama and Mistral templates, which lay tools out otherwise, are not taken for
  // these; nor is a ChatML template with another tool prompt.
  std::string llama32 = golden["templates"]["llama3.1"].get<std::string>() + "{{ strftime_now(\"%d %b %Y\") }}";
  EXPECT_FALSE(detect_chat_template(llama32, "", "").has_value());
  EXPECT_FALSE(detect_chat_template("{{ '[AVAILABLE_TOOLS]' }}[INST]{{ m }}[/INST][TOOL_CALLS]", "", "").has_value());
  EXPECT_FALSE(detect_chat_template("<|im_start|>{{ m }}<tool_call>{{ c }}</tool_call>", "", "")->tools);
  for (const char* family : {"chatml", "chatml_plain", "llama3", "llama2", "mistral", "gemma"}) {
    const auto t = detect_chat_template(golden["templates"][family].get<std::string>(), "", "");
    EXPECT_FALSE(t->tools) << family;
    const std::vector<ChatMessage> messages = {{.role = "user", .content = "x", .tool_calls = {}, .tool_call_id = {}}};
    const std::vector<nlohmann::ordered_json> tools = {{{"type", "function"}, {"function", {{"name", "f"}}}}};
    EXPECT_ERROR(t->render(messages, true, tools), "chat template defines no tools or tool calls");
  }
}

TEST(ChatTemplate, DefaultSystemPromptOnlyWhenTheTemplateHasOne) {
  const auto golden = read_json_file(test::data_dir() / "chat_templates.json");
  EXPECT_EQ(detect_chat_template(golden["templates"]["chatml"].get<std::string>(), "", "")->default_system,
            "You are a helpful assistant.");
  EXPECT_FALSE(detect_chat_template(golden["templates"]["chatml_plain"].get<std::string>(), "", "")->default_system);
}

TEST(ChatTemplate, UnknownTemplatesAndNames) {
  EXPECT_FALSE(detect_chat_template("{{ messages[0]['content'] }}", "", "").has_value());
  EXPECT_EQ(parse_chat_format("gemma"), ChatFormat::gemma);
  EXPECT_ERROR(parse_chat_format("vicuna"), "unknown chat template 'vicuna': expected one of llama2, llama3, llama3.1, chatml, mistral, "
                                          "mistral-v3, gemma");
}

}  // namespace
}  // namespace genrt
