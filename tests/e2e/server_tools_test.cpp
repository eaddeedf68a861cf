// Tool calls through the server, with the random-weight tiny model: a required or named
// call always comes back as message.tool_calls (streamed as delta.tool_calls) whose
// arguments validate against the function's parameters, in each format that has tools;
// a conversation carrying calls and results back is rendered; bad tools and messages
// are 400s saying why. Rendering and parsing themselves: tests/unit/tool_calls_test.cpp,
// chat_template_test.cpp; the real `openai` client: tests/e2e/structured_output_test.py.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/models/llama/llama_init.h"
#include "tests/e2e/test_server.h"

namespace genrt {
namespace {

using nlohmann::json;

// A server of its own: tool prompts are long, and the tiny model's byte-level vocabulary
// spends a token on almost every byte, so its context is longer than the shared server's.
class ToolServer : public test::Server {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    LlamaConfig config = llama_preset("tiny");
    config.max_position_embeddings = 4096;
    write_random_llama(config, 7, DType::bf16, dir_->path());
    server_ = new test::TestServer(dir_->path(), {.scheduler = {.max_batch_tokens = 1024, .max_running = 16}, .kv_cache_tokens = 16384});
  }

  static void use(ChatFormat format) {
    server_->set_chat_template(ChatTemplate{
        .format = format, .bos_token = "<s>", .eos_token = "</s>", .default_system = {}, .tools = true});
  }
  void TearDown() override {
    server_->set_chat_template(ChatTemplate{.format = ChatFormat::llama3,
                                            .bos_token = "<|begin_of_text|>",
                                            .eos_token = "<|end_of_text|>",
                                            .default_system = {}});
  }
};

json weather_tools() {
  return json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10},
        "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}},
        "required": ["city", "unit"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
      "properties": {"zone": {"type": "string", "maxLength": 6}}, "required": ["zone"], "additionalProperties": false}}}])");
}

json tool_request(const json& tool_choice) {
  return {{"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}},
          {"tools", weather_tools()},
          {"tool_choice", tool_choice},
          {"max_tokens", 120},
          {"temperature", 1.0},
          {"seed", 5},
          {"n", 3}};
}

// One call as the response names it, checked against its function's parameters.
void expect_valid_call(const json& call, ChatFormat format) {
  SCOPED_TRACE(call.dump());
  EXPECT_EQ(call["type"], "function");
  const std::string id = call["id"];
  EXPECT_EQ(id.size(), format == ChatFormat::mistral_v3 ? 9u : 29u);
  const json arguments = json::parse(call["function"]["arguments"].get<std::string>());
  if (call["function"]["name"] == "get_weather") {
    EXPECT_TRUE(arguments["city"].is_string() && arguments["city"].get<std::string>().size() <= 4 * 10);
    EXPECT_TRUE(arguments["unit"] == "celsius" || arguments["unit"] == "fahrenheit");
    EXPECT_TRUE(!arguments.contains("days") || arguments["days"].is_number_integer());
    for (const auto& [key, value] : arguments.items()) EXPECT_TRUE(key == "city" || key == "unit" || key == "days") << key;
  } else {
    ASSERT_EQ(call["function"]["name"], "get_time");
    EXPECT_EQ(arguments.size(), 1u);
    EXPECT_TRUE(arguments["zone"].is_string());
  }
}

TEST_F(ToolServer, RequiredCallsValidateInEveryFormat) {
  for (const ChatFormat format : {ChatFormat::chatml, ChatFormat::llama31, ChatFormat::mistral_v3}) {
    SCOPED_TRACE(std::string(chat_format_name(format)));
    use(format);
    const json r = post("/v1/chat/completions", tool_request("required"));
    ASSERT_EQ(r["choices"].size(), 3u);
    for (const json& choice : r["choices"]) {
      EXPECT_EQ(choice["finish_reason"], "tool_calls") << choice.dump();
      EXPECT_TRUE(choice["message"]["content"].is_null()) << choice.dump();
      ASSERT_FALSE(choice["message"]["tool_calls"].empty()) << choice.dump();
      if (format == ChatFormat::llama31) EXPECT_EQ(choice["message"]["tool_calls"].size(), 1u);  // one call a turn
      for (const json& call : choice["message"]["tool_calls"]) expect_valid_call(call, format);
    }
  }
}

TEST_F(ToolServer, ANamedFunctionIsTheOneCalledAndOnlyOnce) {
  use(ChatFormat::chatml);
  const json r = post("/v1/chat/completions",
                      tool_request({{"type", "function"}, {"function", {{"name", "get_time"}}}}));
  for (const json& choice : r["choices"]) {
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << choice.dump();
    EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["name"], "get_time");
    expect_valid_call(choice["message"]["tool_calls"][0], ChatFormat::chatml);
  }
  json single = tool_request("required");
  single["parallel_tool_calls"] = false;
  const json one = post("/v1/chat/completions", single);  // kept alive: the loop walks into it
  for (const json& choice : one["choices"]) {
    EXPECT_EQ(choice["message"]["tool_calls"].size(), 1u) << choice.dump();
  }
}

TEST_F(ToolServer, StreamedCallsArriveAsOneDeltaBeforeTheFinish) {
  use(ChatFormat::chatml);
  const Streamed s = stream("/v1/chat/completions", tool_request("required"));
  ASSERT_TRUE(s.done);
  EXPECT_EQ(s.text, "");  // no <tool_call> text leaks as content
  std::vector<json> calls(3);
  std::vector<std::string> finish(3);
  for (const json& chunk : s.chunks) {
    for (const json& choice : chunk["choices"]) {
      const size_t index = choice["index"];
      if (choice["delta"].contains("tool_calls")) {
        EXPECT_TRUE(finish[index].empty()) << "calls after the finish";
        calls[index] = choice["delta"]["tool_calls"];
      }
      if (!choice["finish_reason"].is_null()) finish[index] = choice["finish_reason"];
    }
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(finish[i], "tool_calls");
    ASSERT_FALSE(calls[i].empty());
    for (size_t j = 0; j < calls[i].size(); ++j) {
      EXPECT_EQ(calls[i][j]["index"], j);
      expect_valid_call(calls[i][j], ChatFormat::chatml);
    }
  }
}

TEST_F(ToolServer, AutoAndNoneLeaveTheReplyToTheModel) {
  use(ChatFormat::chatml);
  for (const char* choice : {"auto", "none"}) {
    json request = tool_request(choice);
    request["max_tokens"] = 8;
    const json r = post("/v1/chat/completions", request);
    for (const json& c : r["choices"]) {
      // The random model writes no call: its text is the content, as without tools.
      EXPECT_TRUE(c["message"]["content"].is_string()) << c.dump();
      EXPECT_FALSE(c["message"].contains("tool_calls")) << c.dump();
      EXPECT_NE(c["finish_reason"], "tool_calls");
    }
  }
}

TEST_F(ToolServer, ACallAndItsResultGoBackIntoTheConversation) {
  for (const ChatFormat format : {ChatFormat::chatml, ChatFormat::llama31, ChatFormat::mistral_v3}) {
    SCOPED_TRACE(std::string(chat_format_name(format)));
    use(format);
    json request = tool_request("auto");
    request["messages"] = json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "abc123XYZ", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}]},
      {"role": "tool", "tool_call_id": "abc123XYZ", "content": "21 degrees"}])");
    request["max_tokens"] = 4;
    request["n"] = 1;
    const json r = post("/v1/chat/completions", request);
    EXPECT_GT(r["usage"]["prompt_tokens"], 60) << "the tools, the call and its result are in the prompt";
  }
}

TEST_F(ToolServer, BadToolRequestsAre400sSayingWhy) {
  // The default template of this server (llama3) has no tools.
  const json no_tools = post("/v1/chat/completions", tool_request("auto"), 400);
  EXPECT_EQ(no_tools["error"]["message"], "this model's chat template (llama3) defines no tools; tools work with llama3.1, chatml "
                                          "(a template with <tool_call>) and mistral-v3 templates");
  EXPECT_EQ(no_tools["error"]["param"], "tools");

  // Nesting that could exhaust a recursive walk is refused before any.
  std::string deep = tool_request("auto").dump();
  deep.insert(deep.size() - 1, ",\"x\":" + std::string(200, '[') + std::string(200, ']'));
  const auto nested = server_->client().Post("/v1/chat/completions", deep, "application/json");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 400);
  EXPECT_EQ(json::parse(nested->body)["error"]["message"], "the request body nests deeper than 128 levels");

  use(ChatFormat::mistral_v3);
  json request = tool_request("required");
  request["response_format"] = {{"type", "json_object"}};
  EXPECT_EQ(post("/v1/chat/completions", request, 400)["error"]["message"],
            "'response_format' with 'tools' is not supported by genrt yet (unless tool_choice is \"none\"): the format would "
            "keep the model from calling them");
  request = tool_request("required");
  request["ignore_eos"] = true;
  EXPECT_EQ(post("/v1/chat/completions", request, 400)["error"]["param"], "ignore_eos");

  const std::pair<json, std::string> messages[] = {
      {json::parse(R"([{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}])"),
       "messages[1] is a tool result without its 'tool_call_id'"},
      {json::parse(R"([{"role": "user", "content": "x", "tool_calls": [{"id": "a"}]}])"),
       "messages[0].tool_calls is not supported by genrt on a user message"},
      {json::parse(R"([{"role": "user", "content": "x"}, {"role": "assistant", "content": null}])"),
       "messages[1] needs a 'content'"},
      // Mistral's template checks its ids.
      {json::parse(R"([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "c1",
        "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}])"),
       "Tool call IDs should be alphanumeric strings with length 9!"},
  };
  for (const auto& [conversation, message] : messages) {
    request = tool_request("auto");
    request["messages"] = conversation;
    const json refused = post("/v1/chat/completions", request, 400);
    EXPECT_EQ(refused["error"]["message"], message) << conversation.dump();
    EXPECT_EQ(refused["error"]["param"], "messages");
  }
}

}  // namespace
}  // namespace genrt
