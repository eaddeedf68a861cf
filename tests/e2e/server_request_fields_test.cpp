// The request fields that shape sampling and the prompt, through the server: logit_bias,
// presence/frequency penalties, echo, several prompts in one completion request, and the
// logprobs of a token that is not UTF-8 by itself; every bad value a 400 saying why.

#include <gtest/gtest.h>

#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"
#include "tests/e2e/test_server.h"

namespace genrt {
namespace {

using nlohmann::json;
using test::completion;
using test::Server;

std::string text_of(const json& response, size_t choice = 0) { return response["choices"][choice]["text"]; }

// A token of the tiny model's byte-level vocabulary whose bytes are part of a character.
int32_t partial_character_token(const Tokenizer& tokenizer) {
  for (int32_t id : tokenizer.encode("\xF0\x9F\x98\x80\xE2\x82\xAC", false)) {  // an emoji and a euro sign
    if (!is_valid_utf8(tokenizer.decode(std::vector<int32_t>{id}, false))) return id;
  }
  ADD_FAILURE() << "every token of the emoji and the euro sign is whole characters";
  return 0;
}

TEST_F(Server, ALogitBiasOfAHundredMakesItsTokenTheGreedyOutput) {
  const Tokenizer& tokenizer = server_->engine().tokenizer();
  const int32_t token = tokenizer.encode(" zebra", false).front();
  json request = completion("Once upon a time", 6);
  request["logit_bias"] = {{std::to_string(token), 100}};
  request["logprobs"] = 1;
  const json r = post("/v1/completions", request);
  const std::string piece = tokenizer.decode(std::vector<int32_t>{token}, false);
  std::string expected;
  for (int i = 0; i < 6; ++i) expected += piece;
  EXPECT_EQ(text_of(r), expected);
  // -100 removes the greedy choice.
  const std::string greedy = text_of(post("/v1/completions", completion("Once upon a time", 1)));
  json banned = completion("Once upon a time", 1);
  banned["logit_bias"] = {{std::to_string(tokenizer.encode(greedy, false).front()), -100}};
  EXPECT_NE(text_of(post("/v1/completions", banned)), greedy);
}

// Penalties change what greedy decoding repeats; their arithmetic is checked against a
// direct computation in tests/unit/step_sampler_test.cpp.
TEST_F(Server, PresenceAndFrequencyPenaltiesChangeTheOutput) {
  json request = completion("The robot", 40);
  const std::string plain = text_of(post("/v1/completions", request));
  request["frequency_penalty"] = 2;
  const std::string frequency = text_of(post("/v1/completions", request));
  request["frequency_penalty"] = 0;
  request["presence_penalty"] = 2;
  const std::string presence = text_of(post("/v1/completions", request));
  EXPECT_NE(frequency, plain);
  EXPECT_NE(presence, plain);
}

TEST_F(Server, EchoPutsThePromptBeforeTheCompletion) {
  json request = completion("Once upon a time", 8);
  const std::string plain = text_of(post("/v1/completions", request));
  request["echo"] = true;
  const json echoed = post("/v1/completions", request);
  EXPECT_EQ(text_of(echoed), "Once upon a time" + plain);
  EXPECT_EQ(echoed["usage"]["completion_tokens"], 8);
  EXPECT_EQ(stream("/v1/completions", request).text, "Once upon a time" + plain);
  request["prompt"] = server_->engine().tokenizer().encode("Once upon a time", true);  // ids echo as their text
  EXPECT_EQ(text_of(post("/v1/completions", request)), "Once upon a time" + plain);
}

TEST_F(Server, SeveralPromptsInOneRequestEachGetNChoicesInOrder) {
  const std::vector<std::string> prompts = {"Once upon a time", "The robot", "A"};
  std::vector<std::string> alone;
  int64_t prompt_tokens = 0;
  for (const auto& p : prompts) {
    const json r = post("/v1/completions", completion(p, 6));
    alone.push_back(text_of(r));
    prompt_tokens += r["usage"]["prompt_tokens"].get<int64_t>();
  }
  json request = completion("", 6);
  request["prompt"] = prompts;
  request["n"] = 2;
  const json r = post("/v1/completions", request);
  ASSERT_EQ(r["choices"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(r["choices"][i]["index"], i);
    EXPECT_EQ(text_of(r, i), alone[i / 2]) << "choice " << i;  // greedy: both choices of a prompt agree
  }
  EXPECT_EQ(r["usage"]["prompt_tokens"], prompt_tokens);
  EXPECT_EQ(r["usage"]["completion_tokens"], 36);
  // Lists of token ids, streamed.
  json ids = completion("", 6);
  ids["prompt"] = {server_->engine().tokenizer().encode(prompts[0], true), server_->engine().tokenizer().encode(prompts[1], true)};
  const Streamed s = stream("/v1/completions", ids);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.text.size(), alone[0].size() + alone[1].size());
}

// A token that is part of a character: chat gives its raw byte, completions `bytes:\xNN`.
TEST_F(Server, LogprobsOfAPartialCharacterTokenGiveItsBytes) {
  const Tokenizer& tokenizer = server_->engine().tokenizer();
  const int32_t token = partial_character_token(tokenizer);
  const std::string bytes = tokenizer.decode(std::vector<int32_t>{token}, false);
  const json bias = {{std::to_string(token), 100}};
  const json chat = post("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                                                  {"max_tokens", 1}, {"temperature", 0}, {"logprobs", true},
                                                  {"top_logprobs", 3}, {"logit_bias", bias}});
  const json& first = chat["choices"][0]["logprobs"]["content"][0];
  json expected_bytes = json::array();
  for (unsigned char b : bytes) expected_bytes.push_back(b);
  EXPECT_EQ(first["bytes"], expected_bytes);
  EXPECT_EQ(first["token"], utf8_lossy(bytes));
  EXPECT_EQ(first["top_logprobs"].size(), 3u);

  json request = completion("Hi", 1);
  request["logit_bias"] = bias;
  request["logprobs"] = 3;
  const json r = post("/v1/completions", request);
  std::string written = "bytes:";
  for (unsigned char b : bytes) written += fmt::format("\\x{:02x}", b);
  EXPECT_EQ(r["choices"][0]["logprobs"]["tokens"][0], written);
  EXPECT_EQ(r["choices"][0]["logprobs"]["top_logprobs"][0].size(), 3u);
}

TEST_F(Server, BadSamplingAndPromptFieldsAre400sSayingWhy) {
  json too_many = json::object();
  for (int i = 0; i < 301; ++i) too_many[std::to_string(i)] = 1;
  const std::vector<std::tuple<std::string, json, std::string>> cases = {
      {"presence_penalty", 2.5, "'presence_penalty' must be in [-2, 2]"},
      {"frequency_penalty", -3, "'frequency_penalty' must be in [-2, 2]"},
      {"frequency_penalty", "high", "'frequency_penalty' has the wrong type: \"high\""},
      {"logit_bias", json::array({1, 2}), "'logit_bias' must be an object from token ids to biases"},
      {"logit_bias", {{"abc", 1}}, "'logit_bias' key 'abc' is not a token id"},
      {"logit_bias", {{"-4", 1}}, "'logit_bias' key '-4' is not a token id"},
      {"logit_bias", {{"99999", 1}}, "'logit_bias' token id 99999 is outside the vocabulary [0, 512)"},
      {"logit_bias", {{"5", 150}}, "'logit_bias' of token 5 is 150; a bias is a number in [-100, 100]"},
      {"logit_bias", {{"5", "up"}}, "'logit_bias' of token 5 is \"up\"; a bias is a number in [-100, 100]"},
      {"logit_bias", {{"5", 1}, {"05", 2}}, "'logit_bias' names token 5 twice"},
      {"logit_bias", too_many, "'logit_bias' has 301 entries; at most 300"},
      {"echo", "yes", "'echo' has the wrong type: \"yes\""},
  };
  for (const auto& [field, value, message] : cases) {
    json request = completion("x", 1);
    request[field] = value;
    const json refused = post("/v1/completions", request, 400);
    EXPECT_EQ(refused["error"]["message"], message) << field << " = " << value.dump();
    EXPECT_EQ(refused["error"]["param"], field);
  }
  json echo_logprobs = completion("x", 1);
  echo_logprobs["echo"] = true;
  echo_logprobs["logprobs"] = 1;
  EXPECT_EQ(post("/v1/completions", echo_logprobs, 400)["error"]["message"],
            "'echo' with 'logprobs' is not supported by genrt yet (it would need the prompt tokens' logprobs)");

  const std::string shapes =
      "'prompt' must be a string, a list of strings, a list of token ids or a list of lists of token ids";
  const std::vector<std::pair<json, std::string>> prompts = {
      {json::array(), shapes},
      {json::array({"a", 5}), shapes + "; prompt[1] is not a string"},
      {json::array({json::array({1, 2}), json::array()}), shapes + "; prompt[1] is not a list of token ids"},
      {json::array({1, -2}), shapes + " (token ids are non-negative 32-bit integers)"},
      {json::array({json::array({1, 2}), std::vector<int>(600, 5)}),
       "prompt[1] has 600 tokens, but this model's context is 512 tokens (at most 511 prompt tokens)"},
  };
  for (const auto& [prompt, message] : prompts) {
    json request = completion("x", 1);
    request["prompt"] = prompt;
    const json refused = post("/v1/completions", request, 400);
    EXPECT_EQ(refused["error"]["message"], message) << prompt.dump().substr(0, 80);
    EXPECT_EQ(refused["error"]["param"], "prompt");
  }
}

}  // namespace
}  // namespace genrt
