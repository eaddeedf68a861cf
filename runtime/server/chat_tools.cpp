#include "runtime/server/chat_tools.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/tokenizer/python_json.h"
#include "runtime/tokenizer/tool_call_syntax.h"

namespace genrt {

namespace {

bool is_function_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// Every key of `object` is one of `keys`; else a 400 naming `param` and where the key is.
void check_keys(const RequestJson& object, std::initializer_list<std::string_view> keys, const std::string& where,
                const char* param) {
  for (const auto& item : object.items()) {
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
      bad_request(param, fmt::format("'{}.{}' is not a field OpenAI defines there", where, item.key()));
    }
  }
}

// {"type": "function", "function": {"name": NAME}}: tool_choice naming a function.
std::string named_choice(const RequestJson& choice) {
  const char* param = "tool_choice";
  if (!choice.is_object() || choice.value("type", RequestJson()) != "function" || !choice.contains("function") ||
      !choice["function"].is_object() || !choice["function"].contains("name") || !choice["function"]["name"].is_string()) {
    bad_request(param, "'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": "
                       "{\"name\": NAME}}");
  }
  check_keys(choice, {"type", "function"}, "tool_choice", param);
  check_keys(choice["function"], {"name"}, "tool_choice.function", param);
  return choice["function"]["name"].get<std::string>();
}

void check_tool(const RequestJson& tool, size_t i) {
  const char* param = "tools";
  const std::string where = fmt::format("tools[{}]", i);
  if (!tool.is_object() || tool.value("type", RequestJson()) != "function" || !tool.contains("function") ||
      !tool["function"].is_object()) {
    bad_request(param, where + " must be {\"type\": \"function\", \"function\": {...}}: genrt calls functions only");
  }
  check_keys(tool, {"type", "function"}, where, param);
  const RequestJson& function = tool["function"];
  check_keys(function, {"name", "description", "parameters", "strict"}, where + ".function", param);
  if (!function.contains("name") || !function["name"].is_string() || !is_function_name(function["name"].get<std::string>())) {
    bad_request(param, where + ".function.name must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (function.contains("description") && !function["description"].is_string()) {
    bad_request(param, where + ".function.description must be a string");
  }
  if (function.contains("parameters") && !function["parameters"].is_object()) {
    bad_request(param, where + ".function.parameters must be a JSON schema object");
  }
  if (function.contains("strict") && !function["strict"].is_boolean()) {
    bad_request(param, where + ".function.strict must be a boolean");
  }
}

}  // namespace

std::optional<ChatTools> parse_chat_tools(const RequestJson& body) {
  ChatTools t;
  if (const auto parallel = request_field<bool>(body, "parallel_tool_calls", "a boolean")) t.parallel = *parallel;
  const auto tools = body.find("tools");
  const bool has_tools = tools != body.end() && !tools->is_null() && !tools->empty();
  if (has_tools) {
    if (!tools->is_array()) bad_request("tools", "'tools' must be a list of tools");
    if (tools->size() > 128) bad_request("tools", fmt::format("'tools' has {} tools; at most 128", tools->size()));
    for (size_t i = 0; i < tools->size(); ++i) {
      check_tool((*tools)[i], i);
      const std::string name = (*tools)[i]["function"]["name"];
      for (const auto& earlier : t.tools) {
        if (earlier["function"]["name"] == name) bad_request("tools", fmt::format("'tools' names the function '{}' twice", name));
      }
      t.tools.push_back((*tools)[i]);
    }
  }
  const auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    if (*choice == "none") {
      t.choice = ChatTools::Choice::none;
    } else if (*choice == "auto") {
      t.choice = ChatTools::Choice::automatic;
    } else if (*choice == "required") {
      t.choice = ChatTools::Choice::required;
    } else {
      t.choice = ChatTools::Choice::named;
      t.function = named_choice(*choice);
      const bool known = std::any_of(t.tools.begin(), t.tools.end(), [&](const auto& tool) { return tool["function"]["name"] == t.function; });
      if (has_tools && !known) bad_request("tool_choice", fmt::format("'tool_choice' names '{}', which is not in 'tools'", t.function));
    }
    if (!has_tools && t.choice != ChatTools::Choice::none) {
      bad_request("tool_choice", "'tool_choice' needs 'tools': there is no tool to call");
    }
  }
  if (!has_tools) return std::nullopt;
  return t;
}

std::vector<ToolCall> message_tool_calls(const RequestJson& calls, size_t index) {
  const char* param = "messages";
  if (!calls.is_array()) bad_request(param, fmt::format("messages[{}].tool_calls must be a list", index));
  std::vector<ToolCall> out;
  for (size_t j = 0; j < calls.size(); ++j) {
    const RequestJson& call = calls[j];
    const std::string where = fmt::format("messages[{}].tool_calls[{}]", index, j);
    if (!call.is_object() || !call.contains("id") || !call["id"].is_string() || call.value("type", RequestJson()) != "function" ||
        !call.contains("function") || !call["function"].is_object()) {
      bad_request(param, where + " must be {\"id\": ID, \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
    }
    check_keys(call, {"id", "type", "function"}, where, param);
    const RequestJson& function = call["function"];
    check_keys(function, {"name", "arguments"}, where + ".function", param);
    if (!function.contains("name") || !function["name"].is_string()) bad_request(param, where + ".function.name must be a string");
    if (!function.contains("arguments") || !function["arguments"].is_string()) {
      bad_request(param, where + ".function.arguments must be a string of JSON");
    }
    auto arguments = nlohmann::ordered_json::parse(function["arguments"].get<std::string>(), nullptr, false);
    if (!arguments.is_object()) bad_request(param, where + ".function.arguments must be a JSON object's text");
    out.push_back({call["id"].get<std::string>(), function["name"].get<std::string>(), std::move(arguments)});
  }
  return out;
}

std::string tool_call_gbnf(ChatFormat format, const ChatTools& tools) {
  const ToolCallShape shape = tool_call_shape(format);
  const nlohmann::ordered_json any_object = {{"type", "object"}};
  std::vector<grammar::NamedSchema> schemas;
  std::vector<std::string> calls;
  for (size_t i = 0; i < tools.tools.size(); ++i) {
    const auto& function = tools.tools[i]["function"];
    const std::string name = function["name"];
    if (tools.choice == ChatTools::Choice::named && name != tools.function) continue;
    // A function without parameters takes an object all the same (OpenAI sends "{}").
    const auto parameters = function.find("parameters");
    schemas.push_back({fmt::format("tool{}-arguments", i), parameters != function.end() ? &*parameters : &any_object});
    calls.push_back(fmt::format("{} {}", grammar::gbnf_literal(std::string(shape.call_open) + name + std::string(shape.arguments_key)),
                                schemas.back().rule));
  }
  const auto literal = [](std::string_view s) { return s.empty() ? std::string() : grammar::gbnf_literal(s); };
  const std::string call = fmt::format("({}) {}", fmt::join(calls, " | "), literal(shape.call_close));
  const bool several = tools.parallel && tools.choice == ChatTools::Choice::required && !shape.separator.empty();
  const std::string root = fmt::format("{} {} {} {}", literal(shape.open), call,
                                       several ? fmt::format("({} {})*", literal(shape.separator), call) : "",
                                       literal(shape.close));
  try {
    std::string gbnf = grammar::json_schemas_gbnf(root, schemas);
    grammar::parse_gbnf(gbnf);  // its checks: a $ref that reaches itself before any text is left recursion
    return gbnf;
  } catch (const Error& e) {
    bad_request("tools", fmt::format("a function's parameters cannot be enforced (tool_choice asks for a call): {}", e.what()));
  }
}

std::string tool_call_id(ChatFormat format, std::mt19937_64& rng) {
  constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string id = format == ChatFormat::mistral_v3 ? "" : "call_";
  for (size_t i = 0, n = format == ChatFormat::mistral_v3 ? 9 : 24; i < n; ++i) id += kAlphabet[pick(rng)];
  return id;
}

void read_tool_calls(const CompletionParams& params, ChoiceResult& choice, std::mt19937_64& rng) {
  if (!params.tool_format) return;
  AssistantReply reply = parse_tool_calls(*params.tool_format, params.reply_prefix + choice.text);
  if (reply.calls.empty()) return;
  for (ToolCall& call : reply.calls) call.id = tool_call_id(*params.tool_format, rng);
  choice.text = std::move(reply.content);
  choice.tool_calls = std::move(reply.calls);
  if (choice.finish_reason == "stop") choice.finish_reason = "tool_calls";
}

std::string ToolCallStream::push(std::string_view text) {
  reply_ += text;
  const size_t content = content_before_tool_calls(format_, reply_);
  if (content <= sent_) return {};
  std::string out = reply_.substr(sent_, content - sent_);
  sent_ = content;
  return out;
}

AssistantReply ToolCallStream::finish(std::mt19937_64& rng) {
  AssistantReply reply = parse_tool_calls(format_, reply_);
  if (reply.calls.empty()) return {.content = reply_.substr(sent_), .calls = {}};
  for (ToolCall& call : reply.calls) call.id = tool_call_id(format_, rng);
  // The parsed content starts where the reply's leading blanks end; part of it went out.
  const size_t blanks = std::min(reply_.find_first_not_of(" \t\n\r"), reply_.size());
  reply.content.erase(0, std::min(reply.content.size(), sent_ > blanks ? sent_ - blanks : 0));
  return reply;
}

ResponseJson tool_calls_json(const std::vector<ToolCall>& calls, bool with_index) {
  ResponseJson out = ResponseJson::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    ResponseJson call = ResponseJson::object();
    if (with_index) call["index"] = i;
    call["id"] = calls[i].id;
    call["type"] = "function";
    call["function"] = {{"name", calls[i].name}, {"arguments", python_json(calls[i].arguments)}};
    out.push_back(std::move(call));
  }
  return out;
}

}  // namespace genrt
