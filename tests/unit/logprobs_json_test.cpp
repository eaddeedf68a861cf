// Logprobs in OpenAI's shapes: chat tokens carry their raw bytes, completion top logprobs
// are dicts of exactly the tokens asked for, most likely first.

#include <gtest/gtest.h>

#include "runtime/server/openai_api.h"

namespace genrt {
namespace {

using nlohmann::ordered_json;

// The chosen token is a lone byte-fallback byte (0xE9, not UTF-8 by itself); the top three
// are a word (whose key sorts last, so key order is not probability order), that byte, and
// another lone byte that reads the same once made lossy.
std::vector<TokenLogprobEntry> entries() {
  return {{.token = {.id = 7, .bytes = "\xE9", .logprob = -0.5f},
           .text_offset = 3,
           .top = {{.id = 9, .bytes = " zebra", .logprob = -0.25f},
                   {.id = 7, .bytes = "\xE9", .logprob = -0.5f},
                   {.id = 8, .bytes = "\xE9", .logprob = -2.0f}}}};
}

TEST(LogprobsJson, ChatBytesAreTheTokensRawBytes) {
  const ordered_json chat = logprobs_json(Endpoint::chat, entries());
  const ordered_json& token = chat["content"][0];
  EXPECT_EQ(token["token"], "\uFFFD");  // the text, made lossy: the bytes say what it is
  EXPECT_EQ(token["bytes"], ordered_json::array({0xE9}));
  ASSERT_EQ(token["top_logprobs"].size(), 3u);
  EXPECT_EQ(token["top_logprobs"][0]["bytes"], ordered_json::array({' ', 'z', 'e', 'b', 'r', 'a'}));
  EXPECT_EQ(token["top_logprobs"][2]["bytes"], ordered_json::array({0xE9}));
  EXPECT_EQ(token["top_logprobs"][0]["logprob"], -0.25);
}

TEST(LogprobsJson, CompletionTopLogprobsAreDictsOfEveryTopTokenMostLikelyFirst) {
  const ordered_json completion = logprobs_json(Endpoint::completions, entries());
  EXPECT_EQ(completion["tokens"], ordered_json::array({"bytes:\\xe9"}));
  EXPECT_EQ(completion["token_logprobs"], ordered_json::array({-0.5}));
  EXPECT_EQ(completion["text_offset"], ordered_json::array({3}));
  // Two tokens with the same bytes cannot share a key: the second is named by its id.
  const ordered_json& top = completion["top_logprobs"][0];
  ASSERT_EQ(top.size(), 3u);
  const std::vector<std::pair<std::string, double>> expected = {
      {" zebra", -0.25}, {"bytes:\\xe9", -0.5}, {"token_id:8", -2.0}};
  size_t i = 0;
  for (const auto& [key, value] : top.items()) {
    EXPECT_EQ(key, expected[i].first);
    EXPECT_EQ(value, expected[i].second);
    ++i;
  }
  // Written in that order, too.
  const std::string text = dump_json(completion);
  EXPECT_LT(text.find("\" zebra\""), text.find("bytes:\\\\xe9\":"));
  EXPECT_LT(text.find("bytes:\\\\xe9\":"), text.find("token_id:8"));
}

}  // namespace
}  // namespace genrt
