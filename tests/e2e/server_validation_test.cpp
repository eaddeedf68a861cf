// Every part of a request checked: bytes that are not UTF-8, roles and content parts,
// fields OpenAI does not define. Each refusal is a 400 that says what is wrong and where.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/e2e/test_server.h"

namespace genrt {
namespace {

using nlohmann::json;
using test::Server;

const json kUser = {{"role", "user"}, {"content", "Hi"}};

// A list, also of one message: brace-initializing a json from {m} copies m under clang
// (CWG 2137) where gcc makes an array.
json chat(std::initializer_list<json> messages) {
  return {{"messages", json(std::vector<json>(messages))}, {"max_tokens", 1}};
}

json with(json request, const std::string& field, json value) {
  request[field] = std::move(value);
  return request;
}

// Invalid UTF-8 in any string (values and names alike) is refused before the JSON is
// read, naming its byte offset; it never reaches an error message that could not be
// serialized (which was a 500).
TEST_F(Server, InvalidUtf8InAnyStringIsA400NamingItsOffset) {
  const std::string bad = "@@";  // where the invalid bytes go
  const std::vector<std::pair<std::string, json>> requests = {
      {"/v1/completions", {{"prompt", "a " + bad}}},
      {"/v1/completions", {{"prompt", "a"}, {"model", bad}}},
      {"/v1/completions", {{"prompt", "a"}, {"stop", bad}}},
      {"/v1/completions", {{"prompt", "a"}, {"stop", {"x", bad}}}},
      {"/v1/completions", {{"prompt", "a"}, {"suffix", bad}}},
      {"/v1/completions", {{"prompt", "a"}, {"user", bad}}},
      {"/v1/completions", {{"prompt", "a"}, {bad, 1}}},
      {"/v1/chat/completions", chat({{{"role", "user"}, {"content", bad}}})},
      {"/v1/chat/completions", chat({{{"role", bad}, {"content", "Hi"}}})},
      {"/v1/chat/completions", chat({{{"role", "user"}, {"content", {{{"type", "text"}, {"text", bad}}}}}})},
      {"/v1/chat/completions", chat({{{"role", "user"}, {"content", {{{"type", bad}}}}}})},
      {"/v1/chat/completions", chat({{{"role", "user"}, {"content", "Hi"}, {"name", bad}}})},
      {"/v1/chat/completions", with(chat({kUser}), "model", bad)},
      {"/v1/chat/completions", with(chat({kUser}), "stop", {bad})},
      {"/v1/chat/completions", with(chat({kUser}), "user", bad)},
      {"/v1/chat/completions", with(chat({kUser}), "metadata", {{"k", bad}})},
      {"/v1/chat/completions", with(chat({kUser}), "service_tier", bad)},
      {"/v1/chat/completions", with(chat({kUser}), "stream_options", {{bad, true}})},
  };
  for (const auto& [path, request] : requests) {
    std::string bytes = request.dump();
    const size_t offset = bytes.find(bad);
    bytes.replace(offset, bad.size(), "\xFF\xFE");
    const auto res = server_->client().Post(path, bytes, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << request.dump();
    EXPECT_EQ(json::parse(res->body)["error"]["message"],
              "the request body is not valid UTF-8: byte 0xFF at offset " + std::to_string(offset))
        << request.dump();
  }
}

TEST_F(Server, ClientBytesEchoedInAnErrorStillMakeJson) {
  test::RawClient c(server_->port());
  c.send("GET /caf%E9 HTTP/1.1\r\nHost: genrt\r\nConnection: close\r\n\r\n");  // /caf\xE9 once decoded
  const std::string reply = c.read_until_closed();
  EXPECT_EQ(test::status_of(reply), 404) << reply;
  EXPECT_EQ(test::body_of(reply)["error"]["message"], "no route for GET /caf\xEF\xBF\xBD");
}

TEST_F(Server, ChatRolesAreOpenAisFive) {
  const json wizard = post("/v1/chat/completions", chat({kUser, {{"role", "wizard"}, {"content", "Hi"}}}), 400);
  EXPECT_EQ(wizard["error"]["message"], "messages[1].role is 'wizard'; a role is system, user, assistant, tool or developer");
  EXPECT_EQ(wizard["error"]["param"], "messages");
  // A developer message is OpenAI's newer system message, and reads as one.
  const json as_system = post("/v1/chat/completions", chat({{{"role", "system"}, {"content", "Be brief."}}, kUser}));
  const json as_developer = post("/v1/chat/completions", chat({{{"role", "developer"}, {"content", "Be brief."}}, kUser}));
  EXPECT_EQ(as_developer["usage"]["prompt_tokens"], as_system["usage"]["prompt_tokens"]);
  post("/v1/chat/completions",
       chat({kUser, {{"role", "assistant"}, {"content", "f()"}}, {{"role", "tool"}, {"content", "42"}, {"tool_call_id", "c1"}}}));
}

TEST_F(Server, ContentPartsTextIsJoinedAndMediaIsRefused) {
  const json whole = post("/v1/chat/completions", chat({{{"role", "user"}, {"content", "Hello there"}}}));
  const json parts = post("/v1/chat/completions",
                          chat({{{"role", "user"},
                                 {"content", {{{"type", "text"}, {"text", "Hello"}}, {{"type", "text"}, {"text", " there"}}}}}}));
  EXPECT_EQ(parts["usage"]["prompt_tokens"], whole["usage"]["prompt_tokens"]);

  const json image = post("/v1/chat/completions",
                          chat({{{"role", "user"},
                                 {"content", {{{"type", "text"}, {"text", "What is this?"}},
                                              {{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}}}}}}}}),
                          400);
  EXPECT_EQ(image["error"]["message"], "messages[0].content[1] is an image (image_url), but this model reads only text");
  const json odd = post("/v1/chat/completions", chat({{{"role", "user"}, {"content", {{{"type", "video"}}}}}}), 400);
  EXPECT_EQ(odd["error"]["message"], "messages[0].content[0] has type 'video'; a part is text, image_url, input_audio or file");
  const json no_text = post("/v1/chat/completions", chat({{{"role", "user"}, {"content", {{{"type", "text"}, {"text", 3}}}}}}), 400);
  EXPECT_EQ(no_text["error"]["message"], "messages[0].content[0].text must be a string");
}

TEST_F(Server, FieldsOpenAiDoesNotDefineAreRefusedByName) {
  const json unknown = post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"temprature", 0.5}}, 400);
  EXPECT_EQ(unknown["error"]["message"], "'temprature' is not a field of /v1/completions (neither OpenAI's nor a genrt extension)");
  EXPECT_EQ(unknown["error"]["param"], "temprature");
  const json elsewhere = post("/v1/completions", {{"prompt", "x"}, {"messages", json::array()}}, 400);
  EXPECT_EQ(elsewhere["error"]["message"], "'messages' is a field of /v1/chat/completions, not of /v1/completions");
  const json options = post("/v1/completions", {{"prompt", "x"}, {"stream_options", {{"include_usage", true}, {"x", 1}}}}, 400);
  EXPECT_EQ(options["error"]["message"], "'stream_options.x' is not a field of OpenAI's stream options");
  const json message_field = post("/v1/chat/completions", chat({{{"role", "user"}, {"content", "Hi"}, {"mood", "ok"}}}), 400);
  EXPECT_EQ(message_field["error"]["message"], "messages[0] has a field 'mood' OpenAI does not define");
  const json name = post("/v1/chat/completions", chat({{{"role", "user"}, {"content", "Hi"}, {"name", "ann"}}}), 400);
  EXPECT_EQ(name["error"]["message"], "messages[0].name is not supported by genrt yet");

  // OpenAI's fields that change nothing genrt computes, and genrt's (vLLM's) extensions.
  post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"user", "u1"}, {"top_k", 5}, {"min_p", 0.1},
                           {"repetition_penalty", 1.1}, {"ignore_eos", true}});
  json chat_request = chat({kUser});
  chat_request.update({{"user", "u1"}, {"metadata", {{"k", "v"}}}, {"store", false}, {"service_tier", "auto"},
                       {"max_completion_tokens", 1}, {"stream_options", {{"include_usage", true}}}});
  chat_request.erase("max_tokens");
  post("/v1/chat/completions", chat_request);
}

}  // namespace
}  // namespace genrt
