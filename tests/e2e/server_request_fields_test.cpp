// The request fields that shape sampling and the prompt, through the server: logit_bias,
// presence/frequency penalties, echo, several prompts in one completion request, the
// logprobs of a token that is not UTF-8 by itself, and structured output
// (response_format); every bad value a 400 saying why.

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

json chat_with_format(const json& format, int64_t max_tokens) {
  return {{"messages", {{{"role", "user"}, {"content", "Reply in JSON"}}}},
          {"max_tokens", max_tokens},
          {"temperature", 1.0},
          {"seed", 11},
          {"n", 3},
          {"response_format", format}};
}

// The random-weight model's answers follow the schema, with properties in the schema's
// order (not the alphabetical one a JSON object would sort them into); the Python test
// (structured_output_test.py) validates many more schemas with jsonschema.
TEST_F(Server, ResponseFormatJsonSchemaShapesEveryChoice) {
  const std::string format = R"({"type":"json_schema","json_schema":{"name":"pet","strict":true,"schema":{
      "type":"object","properties":{"name":{"type":"string","maxLength":12},"kind":{"enum":["cat","dog"]},
      "age":{"type":"integer"}},"required":["name","kind","age"],"additionalProperties":false}}})";
  for (const int64_t max_tokens : {200, 40}) {
    // Sent as text: a json object here would sort the schema's properties.
    std::string body = chat_with_format(nullptr, max_tokens).dump();
    body.replace(body.find("null"), 4, format);
    const auto raw = server_->client().Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(raw && raw->status == 200) << (raw ? raw->body : "no response");
    const json r = json::parse(raw->body);
    for (const json& choice : r["choices"]) {
      const std::string content = choice["message"]["content"];
      SCOPED_TRACE(content);
      const json doc = json::parse(content);  // throws (fails the test) unless it parses
      EXPECT_TRUE(doc["name"].is_string() && utf8_lossy(doc["name"].get<std::string>()).size() <= 4 * 12);
      EXPECT_TRUE(doc["kind"] == "cat" || doc["kind"] == "dog");
      EXPECT_TRUE(doc["age"].is_number_integer());
      EXPECT_LT(content.find("\"name\""), content.find("\"kind\""));
      EXPECT_LT(content.find("\"kind\""), content.find("\"age\""));
    }
  }
  const json object = post("/v1/chat/completions", chat_with_format({{"type", "json_object"}}, 60));
  for (const json& choice : object["choices"]) {
    EXPECT_TRUE(json::parse(choice["message"]["content"].get<std::string>()).is_object()) << choice.dump();
  }
  // In completions too, as vLLM takes it: each prompt's choices are documents.
  json completions = completion("Data:", 60);
  completions["prompt"] = {"Data:", "More:"};
  completions["n"] = 2;
  completions["response_format"] = {{"type", "json_object"}};
  completions.erase("ignore_eos");  // the helper's, which a format refuses
  const json completed = post("/v1/completions", completions);
  ASSERT_EQ(completed["choices"].size(), 4u);
  for (const json& choice : completed["choices"]) {
    EXPECT_TRUE(json::parse(choice["text"].get<std::string>()).is_object()) << choice.dump();
  }
  const json text = post("/v1/chat/completions", chat_with_format({{"type", "text"}}, 4));
  EXPECT_EQ(text["usage"]["completion_tokens"], 12);  // no grammar: 3 choices of 4 tokens (or fewer at EOS)
}

TEST_F(Server, BadResponseFormatsAre400sSayingWhy) {
  const json schema = {{"type", "object"}};
  const std::vector<std::pair<json, std::string>> cases = {
      {"json", "'response_format' must be an object with a 'type'"},
      {json::object(), "'response_format.type' is required: text, json_object or json_schema"},
      {{{"type", "yaml"}}, "'response_format.type' is 'yaml', not one of text, json_object, json_schema"},
      {{{"type", "json_object"}, {"schema", schema}}, "'response_format.schema' is not a field of OpenAI's response format"},
      {{{"type", "json_schema"}}, "'response_format.json_schema' must be an object with a 'name' and a 'schema'"},
      {{{"type", "json_schema"}, {"json_schema", {{"schema", schema}}}},
       "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'"},
      {{{"type", "json_schema"}, {"json_schema", {{"name", "a b"}, {"schema", schema}}}},
       "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'"},
      {{{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}, "'response_format.json_schema.schema' is required"},
      {{{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", schema}, {"format", 1}}}},
       "'response_format.json_schema.format' is not a field of OpenAI's JSON schema format"},
      {{{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"strict", "yes"}, {"schema", schema}}}},
       "'response_format.json_schema.strict' must be a boolean, not \"yes\""},
      {{{"type", "json_schema"},
        {"json_schema", {{"name", "x"}, {"schema", {{"type", "string"}, {"format", "date-time"}}}}}},
       "'response_format.json_schema.schema': JSON schema at #: 'format' is not supported"},
      // A definition that is itself, before any text: no document, and a matcher would loop.
      {{{"type", "json_schema"},
        {"json_schema", {{"name", "x"}, {"schema", {{"$defs", {{"A", {{"$ref", "#/$defs/A"}}}}}, {"$ref", "#/$defs/A"}}}}}},
       "'response_format.json_schema.schema': grammar: rule 'root' matches no finite text"},
  };
  for (const auto& [format, message] : cases) {
    const json refused = post("/v1/chat/completions", chat_with_format(format, 4), 400);
    EXPECT_EQ(refused["error"]["message"].get<std::string>().substr(0, message.size()), message) << format.dump();
    EXPECT_EQ(refused["error"]["param"], "response_format") << format.dump();
  }
  json ignoring = chat_with_format({{"type", "json_object"}}, 4);
  ignoring["ignore_eos"] = true;
  EXPECT_EQ(post("/v1/chat/completions", ignoring, 400)["error"]["message"],
            "'ignore_eos' cannot be combined with 'response_format' or a required tool call: the grammar ends the text "
            "where it is complete");
  json completions = completion("x", 1);
  completions["response_format"] = {{"type", "json_object"}, {"schema", json::object()}};
  EXPECT_EQ(post("/v1/completions", completions, 400)["error"]["message"],
            "'response_format.schema' is not a field of OpenAI's response format");
}

}  // namespace
}  // namespace genrt
