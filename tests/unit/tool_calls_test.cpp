// Tool calls: the JSON text templates write (as Python's json.dumps), reading calls back
// out of replies in each format's syntax, streaming a reply that may hold calls, the
// request's tools checked, and the grammar that makes a model call a tool. The renderings
// themselves are checked against transformers in chat_template_test.cpp; the server's use
// of all this in server_tools_test.cpp.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/grammar_states.h"
#include "runtime/server/chat_tools.h"
#include "runtime/tokenizer/python_json.h"
#include "runtime/tokenizer/tool_call_syntax.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using json = nlohmann::ordered_json;

TEST(PythonJson, WritesWhatJsonDumpsWrites) {
  // The expected texts are Python 3's json.dumps(value, ensure_ascii=False[, indent=4]).
  const json v = json::parse(R"({"b": [1, 2.5, null, true], "a": {"x": "é\"\n"}, "e": {}, "f": []})");
  EXPECT_EQ(python_json(v), R"({"b": [1, 2.5, null, true], "a": {"x": "é\"\n"}, "e": {}, "f": []})");
  EXPECT_EQ(python_json(json::parse(R"({"b": [1, {"c": []}], "a": "x"})"), 4),
            "{\n    \"b\": [\n        1,\n        {\n            \"c\": []\n        }\n    ],\n    \"a\": \"x\"\n}");
  EXPECT_EQ(python_json(json::parse("[1e20, 0.1, -0.0, 1e-7, 123456789012345678]")),
            "[1e+20, 0.1, -0.0, 1e-07, 123456789012345678]");
  EXPECT_EQ(python_json("\x01"), "\"\\u0001\"");
}

TEST(ToolCallSyntax, ChatmlCallsAfterText) {
  const AssistantReply r = parse_tool_calls(ChatFormat::chatml,
                                            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                                            "\"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(r.content, "Let me look.");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_EQ(r.calls[0].arguments, json({{"city", "Paris"}}));
  EXPECT_EQ(r.calls[1].name, "f");
  EXPECT_TRUE(r.calls[1].arguments.empty());
  // A call cut off before its closing tag still counts; text after the calls is kept.
  const AssistantReply cut = parse_tool_calls(ChatFormat::chatml, "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": \"}\"}}");
  ASSERT_EQ(cut.calls.size(), 1u);
  EXPECT_EQ(cut.calls[0].arguments["x"], "}");
  EXPECT_EQ(parse_tool_calls(ChatFormat::chatml, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call> and more").content,
            "and more");
}

TEST(ToolCallSyntax, MalformedCallsStayContent) {
  for (const std::string text : {"<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}\n</tool_call>",  // unclosed object
                                 "<tool_call>{\"arguments\": {}}</tool_call>",                          // no name
                                 "<tool_call>{\"name\": \"f\", \"arguments\": \"{}\"}</tool_call>",     // arguments as text
                                 "<tool_call>[1, 2]</tool_call>", "no call at all"}) {
    const AssistantReply r = parse_tool_calls(ChatFormat::chatml, text);
    EXPECT_TRUE(r.calls.empty()) << text;
    EXPECT_EQ(r.content, text);
  }
  // Formats without tools read every reply as content.
  EXPECT_TRUE(parse_tool_calls(ChatFormat::gemma, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>").calls.empty());
}

TEST(ToolCallSyntax, Llama31JsonReplies) {
  const AssistantReply r = parse_tool_calls(ChatFormat::llama31, " {\"name\": \"f\", \"parameters\": {\"a\": [1]}}");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(r.calls[0].arguments, json({{"a", {1}}}));
  const AssistantReply two = parse_tool_calls(
      ChatFormat::llama31, "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"arguments\": {}}");
  ASSERT_EQ(two.calls.size(), 2u);
  EXPECT_EQ(two.calls[1].name, "g");
  // JSON that is not a call is an answer.
  EXPECT_TRUE(parse_tool_calls(ChatFormat::llama31, "{\"answer\": 42}").calls.empty());
  EXPECT_TRUE(parse_tool_calls(ChatFormat::llama31, "{\"name\": \"f\", \"parameters\": {}} and text").calls.empty());
}

TEST(ToolCallSyntax, MistralCallList) {
  const AssistantReply r = parse_tool_calls(
      ChatFormat::mistral_v3, "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"a\": 1}}, {\"name\": \"g\", \"arguments\": {}, "
                              "\"id\": \"abcdefghi\"}]");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].arguments["a"], 1);
  EXPECT_EQ(r.calls[1].name, "g");
  EXPECT_EQ(parse_tool_calls(ChatFormat::mistral_v3, "[TOOL_CALLS] {\"name\": \"f\", \"arguments\": {}}").calls.size(), 1u);
  EXPECT_TRUE(parse_tool_calls(ChatFormat::mistral_v3, "[TOOL_CALLS] [{\"name\": \"f\"}]").calls.empty());
}

TEST(ToolCallSyntax, StreamedContentStopsWhereACallMayStart) {
  EXPECT_EQ(content_before_tool_calls(ChatFormat::chatml, "Hello <tool"), 6u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::chatml, "Hello <b>"), 9u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::chatml, "a<tool_call>{\"na"), 1u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::mistral_v3, "x [TOOL"), 2u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::llama31, " {\"na"), 0u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::llama31, "<|pyth"), 0u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::llama31, "The answer"), 10u);
  EXPECT_EQ(content_before_tool_calls(ChatFormat::llama3, "{\"name\""), 7u);
}

// The params of a request offering the functions f and g, in `format`.
CompletionParams tool_params(ChatFormat format, std::string reply_prefix = "") {
  CompletionParams p;
  p.tool_format = format;
  p.reply_prefix = std::move(reply_prefix);
  p.tools = *parse_chat_tools(json::parse(R"({"tools": [{"type": "function", "function": {"name": "f"}},
                                                        {"type": "function", "function": {"name": "g"}}]})"));
  return p;
}

// Streams `pieces` and returns what went out as content, and the reply's calls.
std::pair<std::string, std::vector<ToolCall>> streamed(const CompletionParams& p, std::initializer_list<std::string_view> pieces) {
  std::mt19937_64 rng(7);
  ToolCallStream s(p);
  std::string sent;
  for (std::string_view piece : pieces) sent += s.push(piece);
  AssistantReply rest = s.finish(rng);
  return {sent + rest.content, std::move(rest.calls)};
}

TEST(ToolCallStream, SendsContentThenHoldsTheCalls) {
  const CompletionParams chatml = tool_params(ChatFormat::chatml);
  std::mt19937_64 rng(7);
  ToolCallStream s(chatml);
  std::string sent;
  for (const char* piece : {"Sure", ". <to", "ol_call>\n{\"name\": \"f\", ", "\"arguments\": {}}\n</tool_call>"}) sent += s.push(piece);
  EXPECT_EQ(sent, "Sure.");  // the blank before the call waited, and is not content
  const AssistantReply rest = s.finish(rng);
  EXPECT_EQ(rest.content, "");
  ASSERT_EQ(rest.calls.size(), 1u);
  EXPECT_TRUE(rest.calls[0].id.starts_with("call_"));
  EXPECT_EQ(rest.calls[0].id.size(), 29u);

  ToolCallStream text(chatml);
  EXPECT_EQ(text.push("a <tool"), "a");
  EXPECT_EQ(text.push("box>"), " <toolbox>");  // held while "<tool" might have begun a call
  EXPECT_EQ(text.push(" <"), "");
  EXPECT_EQ(text.finish(rng).content, " <");  // the held rest goes out at the end

  // A reply forced to start with Mistral's marker (tool_choice required) sends nothing early...
  const CompletionParams forced = tool_params(ChatFormat::mistral_v3, "[TOOL_CALLS]");
  ToolCallStream mistral(forced);
  EXPECT_EQ(mistral.push(" [{\"name\": \"f\", \"arguments\": {}}]"), "");
  const AssistantReply calls = mistral.finish(rng);
  ASSERT_EQ(calls.calls.size(), 1u);
  EXPECT_EQ(calls.calls[0].id.size(), 9u);
  // ...and a reply cut short is content without the marker, as it is unstreamed.
  EXPECT_EQ(streamed(forced, {" [{\"name\": \"f\", \"argu"}).first, " [{\"name\": \"f\", \"argu");
}

TEST(ToolCallStream, StreamsTheContentTheWholeReplyHas) {
  // Whatever the pieces, the streamed content is the unstreamed reply's.
  const CompletionParams chatml = tool_params(ChatFormat::chatml);
  const std::string call = "<tool_call>\n{\"name\": \"g\", \"arguments\": {\"x\": 1}}\n</tool_call>";
  for (const std::string& reply : std::vector<std::string>{"Sure.\n\n" + call + "\nDone.", "\n Hi \n" + call + call,
                                                           call + " and " + call + " end", "No call here.\n\n", "  "}) {
    ChoiceResult whole{.text = reply, .tool_calls = {}, .logprobs = {}, .finish_reason = "stop", .tokens = 1};
    std::mt19937_64 rng(1);
    read_tool_calls(chatml, whole, rng);
    for (size_t cut = 1; cut < reply.size(); cut += 3) {
      const auto [content, calls] = streamed(chatml, {std::string_view(reply).substr(0, cut), std::string_view(reply).substr(cut)});
      EXPECT_EQ(content, whole.text) << reply << " cut at " << cut;
      EXPECT_EQ(calls.size(), whole.tool_calls.size()) << reply;
    }
  }
}

TEST(ToolCallStream, CallsTheRequestDoesNotAllowAreContent) {
  const std::string unknown = "<tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>";
  EXPECT_TRUE(streamed(tool_params(ChatFormat::chatml), {unknown}).second.empty());
  EXPECT_EQ(streamed(tool_params(ChatFormat::chatml), {unknown}).first, unknown);
  CompletionParams single = tool_params(ChatFormat::chatml);
  single.tools.parallel = false;
  const std::string two = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>";
  EXPECT_TRUE(streamed(single, {two}).second.empty());
  EXPECT_EQ(streamed(tool_params(ChatFormat::chatml), {two}).second.size(), 2u);
}

json tools() {
  return json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
      "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 8},
        "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "now"}}])");
}

bool grammar_accepts(const std::string& gbnf, std::string_view text) {
  grammar::GrammarStates states(std::make_shared<const grammar::Grammar>(grammar::parse_gbnf(gbnf)));
  const grammar::StateId s = states.advance(states.start(), text);
  return s != grammar::kDeadState && states.accepts(s);
}

TEST(ToolCallGrammar, RequiredCallsFollowTheParameterSchemas) {
  const ChatTools t = *parse_chat_tools({{"tools", tools()}, {"tool_choice", "required"}});
  const std::string chatml = tool_call_gbnf(ChatFormat::chatml, t);
  const std::string weather =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>";
  const std::string now = "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>";
  EXPECT_TRUE(grammar_accepts(chatml, weather));
  EXPECT_TRUE(grammar_accepts(chatml, now + "\n" + weather));  // parallel calls
  EXPECT_FALSE(grammar_accepts(chatml, ""));
  EXPECT_FALSE(grammar_accepts(chatml, "Sure! " + weather));
  EXPECT_FALSE(grammar_accepts(chatml, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(chatml, "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"));
  // A reply the grammar accepts reads back as the call.
  EXPECT_EQ(parse_tool_calls(ChatFormat::chatml, weather).calls.at(0).arguments["unit"], "celsius");

  const std::string llama = tool_call_gbnf(ChatFormat::llama31, t);
  EXPECT_TRUE(grammar_accepts(llama, "{\"name\": \"now\", \"parameters\": {}}"));
  EXPECT_FALSE(grammar_accepts(llama, "{\"name\": \"now\", \"parameters\": {}}{\"name\": \"now\", \"parameters\": {}}"));

  const std::string mistral = tool_call_gbnf(ChatFormat::mistral_v3, t);
  EXPECT_TRUE(grammar_accepts(mistral, " [{\"name\": \"now\", \"arguments\": {}}, {\"name\": \"now\", \"arguments\": {}}]"));
  EXPECT_EQ(tool_call_shape(ChatFormat::mistral_v3).prompt_suffix, "[TOOL_CALLS]");
}

TEST(ToolCallGrammar, NamedOrSingleCalls) {
  const ChatTools named =
      *parse_chat_tools({{"tools", tools()}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "now"}}}}}});
  const std::string g = tool_call_gbnf(ChatFormat::chatml, named);
  EXPECT_TRUE(grammar_accepts(g, "<tool_call>\n{\"name\": \"now\", \"arguments\": {\"any\": [1]}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"P\", \"unit\": \"celsius\"}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(g, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": "
                                  "\"now\", \"arguments\": {}}\n</tool_call>"));
  const ChatTools single = *parse_chat_tools({{"tools", tools()}, {"tool_choice", "required"}, {"parallel_tool_calls", false}});
  EXPECT_FALSE(grammar_accepts(tool_call_gbnf(ChatFormat::chatml, single),
                               "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": "
                               "\"now\", \"arguments\": {}}\n</tool_call>"));
}

std::string api_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.param + ": " + e.what();
  }
  return "(no error)";
}

TEST(ChatTools, StrictFunctionsCallsFollowTheirParameters) {
  json strict = tools();
  strict[0]["function"]["strict"] = true;
  CompletionParams p;
  p.tool_format = ChatFormat::chatml;
  p.tools = *parse_chat_tools({{"tools", strict}});
  const auto call = [](const char* arguments) {
    return std::vector<ToolCall>{{.id = "", .name = "get_weather", .arguments = json::parse(arguments)}};
  };
  EXPECT_TRUE(calls_allowed(p.tools, call(R"({"city": "Oslo", "unit": "celsius"})")));
  EXPECT_FALSE(calls_allowed(p.tools, call(R"({"city": "Oslo"})")));
  EXPECT_FALSE(calls_allowed(p.tools, call(R"({"city": "Oslo", "unit": "kelvin"})")));
  // A function that is not strict takes any arguments.
  EXPECT_TRUE(calls_allowed(p.tools, {{.id = "", .name = "now", .arguments = json::parse(R"({"x": [1]})")}}));
}

TEST(ChatTools, BadToolsAre400sSayingWhy) {
  const auto parse = [](json body) { return [body] { parse_chat_tools(body); }; };
  EXPECT_FALSE(parse_chat_tools({{"tools", json::array()}}).has_value());
  EXPECT_EQ(parse_chat_tools({{"tools", tools()}})->choice, ChatTools::Choice::automatic);
  const std::pair<json, std::string> cases[] = {
      {{{"tools", "f"}}, "tools: 'tools' must be a list of tools"},
      {{{"tools", json::object()}}, "tools: 'tools' must be a list of tools"},
      {{{"tools", {{{"type", "code_interpreter"}}}}}, "tools: tools[0] must be {\"type\": \"function\", \"function\": {...}}: genrt calls functions only"},
      {{{"tools", {{{"type", "function"}, {"function", {{"name", "a b"}}}}}}}, "tools: tools[0].function.name must be 1 to 64 letters, digits, '_' or '-'"},
      {{{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", "{}"}}}}}}}, "tools: tools[0].function.parameters must be a JSON schema object"},
      {{{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"returns", 1}}}}}}}, "tools: 'tools[0].function.returns' is not a field OpenAI defines there"},
      {{{"tools", {tools()[1], tools()[1]}}}, "tools: 'tools' names the function 'now' twice"},
      {{{"tools", tools()}, {"tool_choice", "always"}}, "tool_choice: 'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": NAME}}"},
      {{{"tools", tools()}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "later"}}}}}}, "tool_choice: 'tool_choice' names 'later', which is not in 'tools'"},
      {{{"tool_choice", "required"}}, "tool_choice: 'tool_choice' needs 'tools': there is no tool to call"},
      {{{"tools", tools()}, {"parallel_tool_calls", "yes"}}, "parallel_tool_calls: 'parallel_tool_calls' must be a boolean, not \"yes\""},
  };
  for (const auto& [body, message] : cases) EXPECT_EQ(api_error(parse(body)), message) << body.dump();
  json strict = tools();
  strict[0]["function"]["strict"] = true;
  strict[0]["function"]["parameters"]["properties"]["city"]["format"] = "city";
  EXPECT_TRUE(api_error(parse({{"tools", strict}}))
                  .starts_with("tools: tools[0] is strict, but its parameters cannot be enforced: JSON schema at "
                               "#/properties/city: 'format' is not supported"));
  EXPECT_FALSE(parse_chat_tools({{"tool_choice", "none"}}).has_value());

  // A parameter schema outside genrt's subset is refused only when a call is required.
  json bad = tools();
  bad[0]["function"]["parameters"]["properties"]["city"]["pattern"] = "^[A-Z]";
  const ChatTools automatic = *parse_chat_tools({{"tools", bad}});
  EXPECT_EQ(automatic.tools.size(), 2u);
  // A call's arguments are an object: a required call of a function whose parameters
  // describe anything else could not be read back as a call.
  json scalar = tools();
  scalar[1]["function"]["parameters"] = {{"type", "string"}};
  EXPECT_EQ(api_error([&] { tool_call_gbnf(ChatFormat::chatml, *parse_chat_tools({{"tools", scalar}, {"tool_choice", "required"}})); }),
            "tools: tools[1].function.parameters must describe an object (a call's arguments are one): \"type\": \"object\"");
  const ChatTools required = *parse_chat_tools({{"tools", bad}, {"tool_choice", "required"}});
  EXPECT_EQ(api_error([&] { tool_call_gbnf(ChatFormat::chatml, required); }),
            "tools: a function's parameters cannot be enforced (tool_choice asks for a call): tool0-arguments: JSON schema at "
            "#/properties/city: 'pattern' is not supported (supported: type, properties, required, additionalProperties, items, "
            "minItems, maxItems, minLength, maxLength, enum, const, anyOf, allOf, $ref and the annotations title, description, "
            "default, examples, $schema, $id, $comment, deprecated, readOnly, writeOnly, $defs, definitions)");
}

TEST(ChatTools, MessageToolCalls) {
  const json calls = json::parse(R"([{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"b\": 1, \"a\": 2}"}}])");
  const std::vector<ToolCall> read = message_tool_calls(calls, 1);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].id, "call_1");
  EXPECT_EQ(python_json(read[0].arguments), "{\"b\": 1, \"a\": 2}");  // the client's order
  json bad = calls;
  bad[0]["function"]["arguments"] = "[1]";
  EXPECT_EQ(api_error([&] { message_tool_calls(bad, 1); }), "messages: messages[1].tool_calls[0].function.arguments must be a JSON object's text");
  bad[0]["function"]["arguments"] = json::object();
  EXPECT_EQ(api_error([&] { message_tool_calls(bad, 1); }), "messages: messages[1].tool_calls[0].function.arguments must be a string of JSON");
  bad = calls;
  bad[0].erase("id");
  EXPECT_EQ(api_error([&] { message_tool_calls(bad, 1); }),
            "messages: messages[1].tool_calls[0] must be {\"id\": ID, \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
}

}  // namespace
}  // namespace genrt
