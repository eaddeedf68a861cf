// Chat formats against transformers' Jinja renderer (tools/golden/chat_templates.py):
// genrt recognizes each family's template and renders the same text, or refuses the
// same conversations.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/tokenizer/chat_template.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(ChatTemplate, EveryGoldenRenderingMatchesTransformers) {
  const auto golden = read_json_file(test::data_dir() / "chat_templates.json");
  int checked = 0;
  for (const auto& c : golden.at("cases")) {
    const std::string family = c.at("family");
    const auto bos_eos = golden.at("bos_eos").at(family);
    const auto t = detect_chat_template(golden.at("templates").at(family).get<std::string>(), bos_eos[0], bos_eos[1]);
    ASSERT_TRUE(t.has_value()) << family;
    EXPECT_EQ(chat_format_name(t->format), family == "chatml_plain" ? "chatml" : family);
    std::vector<ChatMessage> messages;
    for (const auto& m : c.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    const bool generation_prompt = c.at("add_generation_prompt");
    if (c.at("error").is_null()) {
      EXPECT_EQ(t->render(messages, generation_prompt), c.at("rendered").get<std::string>()) << family;
    } else {
      EXPECT_ERROR(t->render(messages, generation_prompt), c.at("error").get<std::string>());
    }
    ++checked;
  }
  EXPECT_EQ(checked, 48);
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
  EXPECT_ERROR(parse_chat_format("vicuna"), "unknown chat template 'vicuna': expected one of llama2, llama3, chatml");
}

}  // namespace
}  // namespace genrt
