#include "runtime/server/chat_tools.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/grammar_states.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/tokenizer/python_json.h"
#include "runtime/tokenizer/tool_chat_formats.h"
#include "runtime/tokenizer/tool_call_syntax.h"

namespace genrt {

namespace {

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

// A function's parameters as the schema of a call's arguments: an object schema (absent or
// {}: any object), else a 400 naming the tool.
const nlohmann::ordered_json& arguments_schema(const nlohmann::ordered_json& tool, size_t i) {
  static const nlohmann::ordered_json any_object = {{"type", "object"}};
  const auto& function = tool["function"];
  const auto parameters = function.find("parameters");
  if (parameters == function.end() || parameters->empty()) return any_object;
  const auto type = parameters->find("type");
  const bool object = type != parameters->end() ? *type == "object"
                                                : parameters->contains("properties") || parameters->contains("additionalProperties");
  if (!object) {
    bad_request("tools", fmt::format("tools[{}].function.parameters must describe an object (a call's arguments are one): "
                                     "\"type\": \"object\"",
                                     i));
  }
  return *parameters;
}

// The grammar of a strict function's arguments; empty when the function is not strict.
std::string strict_arguments_gbnf(const nlohmann::ordered_json& tool, size_t i) {
  if (!tool["function"].value("strict", false)) return {};
  try {
    return grammar::json_schema_gbnf(arguments_schema(tool, i));
  } catch (const Error& e) {
    bad_request("tools", fmt::format("tools[{}] is strict, but its parameters cannot be enforced: {}", i, e.what()));
  }
}

}  // namespace

bool is_function_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::optional<ChatTools> parse_chat_tools(const RequestJson& body) {
  ChatTools t;
  if (const auto parallel = request_field<bool>(body, "parallel_tool_calls", "a boolean")) t.parallel = *parallel;
  const auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null() && !tools->is_array()) bad_request("tools", "'tools' must be a list of tools");
  const bool has_tools = tools != body.end() && !tools->is_null() && !tools->empty();
  if (has_tools) {
    if (tools->size() > 128) bad_request("tools", fmt::format("'tools' has {} tools; at most 128", tools->size()));
    for (size_t i = 0; i < tools->size(); ++i) {
      check_tool((*tools)[i], i);
      const std::string name = (*tools)[i]["function"]["name"];
      for (const auto& earlier : t.tools) {
        if (earlier["function"]["name"] == name) bad_request("tools", fmt::format("'tools' names the function '{}' twice", name));
      }
      t.tools.push_back((*tools)[i]);
      t.strict_arguments.push_back(strict_arguments_gbnf(t.tools.back(), i));
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
  std::vector<grammar::NamedSchema> schemas;
  std::vector<std::string> calls;
  for (size_t i = 0; i < tools.tools.size(); ++i) {
    const std::string name = tools.tools[i]["function"]["name"];
    if (tools.choice == ChatTools::Choice::named && name != tools.function) continue;
    schemas.push_back({fmt::format("tool{}-arguments", i), &arguments_schema(tools.tools[i], i)});
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

bool calls_allowed(const ChatTools& tools, const std::vector<ToolCall>& calls) {
  if (calls.size() > 1 && !tools.parallel) return false;
  for (const ToolCall& call : calls) {
    const auto tool = std::find_if(tools.tools.begin(), tools.tools.end(),
                                   [&](const auto& t) { return t["function"]["name"] == call.name; });
    if (tool == tools.tools.end()) return false;
    const std::string& gbnf = tools.strict_arguments[static_cast<size_t>(tool - tools.tools.begin())];
    if (gbnf.empty()) continue;
    grammar::GrammarStates states(std::make_shared<const grammar::Grammar>(grammar::parse_gbnf(gbnf)));
    const grammar::StateId end = states.advance(states.start(), python_json(call.arguments));
    if (end == grammar::kDeadState || !states.accepts(end)) return false;
  }
  return true;
}

void read_tool_calls(const CompletionParams& params, ChoiceResult& choice, std::mt19937_64& rng) {
  if (!params.tool_format) return;
  AssistantReply reply = parse_tool_calls(*params.tool_format, params.reply_prefix + choice.text);
  if (reply.calls.empty() || !calls_allowed(params.tools, reply.calls)) return;
  for (ToolCall& call : reply.calls) call.id = tool_call_id(*params.tool_format, rng);
  choice.text = std::move(reply.content);
  choice.tool_calls = std::move(reply.calls);
  if (choice.finish_reason == "stop") choice.finish_reason = "tool_calls";
}

std::string ToolCallStream::push(std::string_view text) {
  reply_ += text;
  if (!params_->reply_prefix.empty()) return {};  // the prompt began the call: the reply is one
  // Text before sent_ holds no start of a call, but a llama3.1 call is the whole reply.
  const ChatFormat format = *params_->tool_format;
  const size_t from = format == ChatFormat::llama31 ? 0 : sent_;
  size_t content = from + content_before_tool_calls(format, std::string_view(reply_).substr(from));
  // Blanks wait for what follows them: before a call they are not content.
  while (content > sent_ && std::string_view(" \t\n\r\f\v").find(reply_[content - 1]) != std::string_view::npos) --content;
  if (content <= sent_) return {};
  std::string out = reply_.substr(sent_, content - sent_);
  sent_ = content;
  return out;
}

AssistantReply ToolCallStream::finish(std::mt19937_64& rng) {
  AssistantReply reply = parse_tool_calls(*params_->tool_format, reply_);
  if (reply.calls.empty() || !calls_allowed(params_->tools, reply.calls)) {
    return {.content = reply_.substr(std::min(sent_, reply_.size())), .calls = {}};
  }
  for (ToolCall& call : reply.calls) call.id = tool_call_id(*params_->tool_format, rng);
  // The content less what went out: the stream held back the blanks the parse drops.
  reply.content.erase(0, std::min(reply.content.size(), sent_ - std::min(sent_, params_->reply_prefix.size())));
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
