#include "runtime/server/openai_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <string_view>

#include "runtime/core/utf8.h"
#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/server/chat_tools.h"
#include "runtime/tokenizer/tool_call_syntax.h"

namespace genrt {

void bad_request(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", nullptr}}}};
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}


namespace {

// How deep a request body may nest: far more than any real request, few enough that code
// walking a value recursively (nlohmann's copies and dumps, the chat templates' JSON)
// cannot run out of stack.
constexpr int kMaxRequestDepth = 128;

// The nesting depth of the JSON text `body` (its brackets outside strings).
int json_depth(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

RequestJson parse_request_body(std::string_view body) {
  if (const size_t valid = valid_utf8_prefix(body); valid < body.size()) {
    throw ApiError(400, fmt::format("the request body is not valid UTF-8: byte 0x{:02X} at offset {}",
                                    static_cast<unsigned char>(body[valid]), valid));
  }
  if (json_depth(body) > kMaxRequestDepth) {
    throw ApiError(400, fmt::format("the request body nests deeper than {} levels", kMaxRequestDepth));
  }
  try {
    return RequestJson::parse(body);
  } catch (const RequestJson::exception& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
}

namespace {


const char* endpoint_path(Endpoint endpoint) {
  return endpoint == Endpoint::chat ? "/v1/chat/completions" : "/v1/completions";
}

// What a content part that is not text holds, for the message that refuses it.
constexpr std::pair<std::string_view, std::string_view> kMediaParts[] = {
    {"image_url", "an image"}, {"input_audio", "audio"}, {"file", "a file"}};

// The text of a message's content: a string, or a list of parts whose text parts are
// joined. genrt serves text models, so any other part is refused, saying what it is.
std::string message_text(const RequestJson& content, size_t index) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad_request("messages", fmt::format("messages[{}].content must be a string or a list of parts", index));
  std::string text;
  for (size_t j = 0; j < content.size(); ++j) {
    const RequestJson& part = content[j];
    const std::string where = fmt::format("messages[{}].content[{}]", index, j);
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      bad_request("messages", where + " must be an object with a string 'type'");
    }
    const std::string type = part["type"].get<std::string>();
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) bad_request("messages", where + ".text must be a string");
      text += part["text"].get<std::string>();
      continue;
    }
    for (const auto& [media, what] : kMediaParts) {
      if (type == media) bad_request("messages", fmt::format("{} is {} ({}), but this model reads only text", where, what, type));
    }
    bad_request("messages", fmt::format("{} has type '{}'; a part is text, image_url, input_audio or file", where, type));
  }
  return text;
}

// OpenAI's roles. A developer message is OpenAI's newer name for a system message, and
// is rendered as one.
constexpr std::string_view kRoles[] = {"system", "user", "assistant", "tool", "developer"};

ChatMessage chat_message(const RequestJson& m, size_t index) {
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
    bad_request("messages", fmt::format("messages[{}] needs a string 'role'", index));
  }
  const std::string role = m["role"].get<std::string>();
  if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
    bad_request("messages", fmt::format("messages[{}].role is '{}'; a role is system, user, assistant, tool or developer", index, role));
  }
  ChatMessage message{.role = role == "developer" ? "system" : role, .content = {}, .tool_calls = {}, .tool_call_id = {}};
  for (const auto& item : m.items()) {
    const std::string& key = item.key();
    const RequestJson& value = item.value();
    if (key == "role" || key == "content") continue;
    if (key == "tool_calls" && role == "assistant") {
      if (!value.is_null()) message.tool_calls = message_tool_calls(value, index);
    } else if (key == "tool_call_id" && role == "tool") {
      if (!value.is_string()) bad_request("messages", fmt::format("messages[{}].tool_call_id must be a string", index));
      message.tool_call_id = value.get<std::string>();
    } else if (key == "name" || key == "tool_calls" || key == "tool_call_id") {
      if (!value.is_null() && value != RequestJson::array()) {
        bad_request("messages", fmt::format("messages[{}].{} is not supported by genrt{}", index, key,
                                            key == "name" ? " yet" : " on a " + role + " message"));
      }
    } else {
      bad_request("messages", fmt::format("messages[{}] has a field '{}' OpenAI does not define", index, key));
    }
  }
  if (role == "tool" && !m.contains("tool_call_id")) {
    bad_request("messages", fmt::format("messages[{}] is a tool result without its 'tool_call_id'", index));
  }
  // An assistant message that calls tools may have no content.
  const auto content = m.find("content");
  if (content != m.end() && !content->is_null()) {
    message.content = message_text(*content, index);
  } else if (message.tool_calls.empty()) {
    bad_request("messages", fmt::format("messages[{}] needs a 'content'", index));
  }
  return message;
}

}  // namespace

namespace {
CompletionParams parse_request(const RequestJson& body, Endpoint endpoint, const ApiContext& ctx);
}

CompletionParams parse_completion_request(const RequestJson& body, Endpoint endpoint, const ApiContext& ctx) {
  try {
    return parse_request(body, endpoint, ctx);
  } catch (const RequestJson::exception& e) {
    throw ApiError(400, std::string("malformed request: ") + e.what());
  }
}

namespace {

// Every top-level field a request may carry, and what genrt does with it.
enum class Use {
  implemented,
  ignored,        // OpenAI's, and changes nothing genrt computes
  unimplemented,  // OpenAI's, and would change the output: refused unless its value asks for nothing
};
enum Endpoints : unsigned { kCompletions = 1, kChat = 2, kBoth = 3 };

struct FieldRule {
  std::string_view name;
  unsigned endpoints;
  Use use;
  bool (*asks_for_nothing)(const RequestJson&) = nullptr;  // unimplemented: the values accepted
};

bool is_empty(const RequestJson& v) { return (v.is_object() || v.is_array()) && v.empty(); }
bool is_none_or_auto(const RequestJson& v) { return v == "none" || v == "auto"; }

constexpr FieldRule kFields[] = {
    {"model", kBoth, Use::implemented},
    {"prompt", kCompletions, Use::implemented},
    {"messages", kChat, Use::implemented},
    {"max_tokens", kBoth, Use::implemented},
    {"max_completion_tokens", kChat, Use::implemented},
    {"temperature", kBoth, Use::implemented},
    {"top_p", kBoth, Use::implemented},
    {"seed", kBoth, Use::implemented},
    {"stop", kBoth, Use::implemented},
    {"n", kBoth, Use::implemented},
    {"stream", kBoth, Use::implemented},
    {"stream_options", kBoth, Use::implemented},
    {"logprobs", kBoth, Use::implemented},
    {"top_logprobs", kChat, Use::implemented},
    {"presence_penalty", kBoth, Use::implemented},
    {"frequency_penalty", kBoth, Use::implemented},
    {"logit_bias", kBoth, Use::implemented},
    {"echo", kCompletions, Use::implemented},
    // genrt's extensions, named as vLLM names them.
    {"top_k", kBoth, Use::implemented},
    {"min_p", kBoth, Use::implemented},
    {"repetition_penalty", kBoth, Use::implemented},
    {"ignore_eos", kBoth, Use::implemented},
    {"response_format", kBoth, Use::implemented},  // OpenAI's in chat; vLLM's in completions too
    {"user", kBoth, Use::ignored},
    {"metadata", kChat, Use::ignored},
    {"store", kChat, Use::ignored},
    {"service_tier", kChat, Use::ignored},
    {"prompt_cache_key", kChat, Use::ignored},
    {"safety_identifier", kChat, Use::ignored},
    {"tools", kChat, Use::implemented},
    {"tool_choice", kChat, Use::implemented},
    {"parallel_tool_calls", kChat, Use::implemented},
    {"prediction", kChat, Use::ignored},           // a latency hint; the output is the same
    {"best_of", kCompletions, Use::unimplemented, [](const RequestJson& v) { return v == 1; }},
    {"suffix", kCompletions, Use::unimplemented, [](const RequestJson& v) { return v == ""; }},
    // OpenAI's deprecated names for tools and tool_choice.
    {"functions", kChat, Use::unimplemented, is_empty},
    {"function_call", kChat, Use::unimplemented, is_none_or_auto},
    {"modalities", kChat, Use::unimplemented, [](const RequestJson& v) { return v == RequestJson::array({"text"}); }},
    {"verbosity", kChat, Use::unimplemented, [](const RequestJson& v) { return v == "medium"; }},
    {"audio", kChat, Use::unimplemented},
    {"reasoning_effort", kChat, Use::unimplemented},
    {"web_search_options", kChat, Use::unimplemented},
};

// A field OpenAI's endpoint does not have (and no genrt extension) is refused, naming it,
// as is one genrt does not implement, unless its value asks for nothing: a client can
// never be answered as if it had not asked.
void check_fields(const RequestJson& body, Endpoint endpoint) {
  const unsigned here = endpoint == Endpoint::chat ? kChat : kCompletions;
  for (const auto& item : body.items()) {
    // A named copy: clang (the sanitizer build) refuses lambdas capturing a structured binding.
    const std::string& name = item.key();
    const RequestJson& value = item.value();
    const auto* rule = std::find_if(std::begin(kFields), std::end(kFields), [&](const FieldRule& r) { return r.name == name; });
    if (rule == std::end(kFields)) {
      bad_request(name, fmt::format("'{}' is not a field of {} (neither OpenAI's nor a genrt extension)", name, endpoint_path(endpoint)));
    }
    if ((rule->endpoints & here) == 0) {
      bad_request(name, fmt::format("'{}' is a field of {}, not of {}", name,
                            endpoint_path(endpoint == Endpoint::chat ? Endpoint::completions : Endpoint::chat),
                            endpoint_path(endpoint)));
    }
    if (rule->use == Use::unimplemented && !value.is_null() &&
        (rule->asks_for_nothing == nullptr || !rule->asks_for_nothing(value))) {
      bad_request(name, fmt::format("'{}' is not supported by genrt yet", name));
    }
  }
}

// presence_penalty or frequency_penalty: OpenAI's range, 0 when absent.
float openai_penalty(const RequestJson& body, const char* name) {
  const auto penalty = request_field<double>(body, name).value_or(0.0);
  if (!(penalty >= -2 && penalty <= 2)) bad_request(name, fmt::format("'{}' must be in [-2, 2]", name));
  return static_cast<float>(penalty);
}

// OpenAI's logit_bias: an object from token ids (as strings) to biases in [-100, 100].
std::vector<std::pair<int32_t, float>> logit_bias(const RequestJson& body, int64_t vocab) {
  const auto it = body.find("logit_bias");
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_object()) bad_request("logit_bias", "'logit_bias' must be an object from token ids to biases");
  if (static_cast<int64_t>(it->size()) > kMaxLogitBias) {
    bad_request("logit_bias", fmt::format("'logit_bias' has {} entries; at most {}", it->size(), kMaxLogitBias));
  }
  std::vector<std::pair<int32_t, float>> biases;
  for (const auto& [key, value] : it->items()) {
    int64_t id = -1;
    const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (error != std::errc() || end != key.data() + key.size() || id < 0) {
      bad_request("logit_bias", fmt::format("'logit_bias' key '{}' is not a token id", key));
    }
    if (id >= vocab) {
      bad_request("logit_bias", fmt::format("'logit_bias' token id {} is outside the vocabulary [0, {})", id, vocab));
    }
    if (std::any_of(biases.begin(), biases.end(), [&](const auto& b) { return b.first == id; })) {
      bad_request("logit_bias", fmt::format("'logit_bias' names token {} twice", id));
    }
    if (!value.is_number() || !(value.get<double>() >= -100 && value.get<double>() <= 100)) {
      bad_request("logit_bias", fmt::format("'logit_bias' of token {} is {}; a bias is a number in [-100, 100]", id, value.dump()));
    }
    biases.emplace_back(static_cast<int32_t>(id), value.get<float>());
  }
  return biases;
}

// OpenAI's response_format as a grammar: none for "text", any JSON object for
// "json_object", the schema's documents for "json_schema" (runtime/grammar/
// json_schema_grammar.h states the subset of JSON Schema; what is outside it is refused).
std::string response_format_grammar(const RequestJson& body) {
  const char* param = "response_format";
  const auto format = body.find(param);
  if (format == body.end() || format->is_null()) return {};
  if (!format->is_object()) bad_request(param, "'response_format' must be an object with a 'type'");
  for (const auto& item : format->items()) {
    if (item.key() != "type" && item.key() != "json_schema") {
      bad_request(param, fmt::format("'response_format.{}' is not a field of OpenAI's response format", item.key()));
    }
  }
  // A nested field of the wrong kind is the response format's fault.
  const auto nested = [&](const RequestJson& object, const char* key, const char* path, bool (RequestJson::*is_kind)() const,
                          const char* kind) {
    const auto it = object.find(key);
    if (it == object.end()) return false;
    if (!((*it).*is_kind)()) bad_request(param, fmt::format("'{}' must be {}, not {}", path, kind, it->dump()));
    return true;
  };
  if (!nested(*format, "type", "response_format.type", &RequestJson::is_string, "a string")) {
    bad_request(param, "'response_format.type' is required: text, json_object or json_schema");
  }
  const std::string type = format->at("type").get<std::string>();
  if (type == "text") return {};
  if (type == "json_object") return grammar::json_object_gbnf();
  if (type != "json_schema") {
    bad_request(param, fmt::format("'response_format.type' is '{}', not one of text, json_object, json_schema", type));
  }
  const auto spec = format->find("json_schema");
  if (spec == format->end() || !spec->is_object()) {
    bad_request(param, "'response_format.json_schema' must be an object with a 'name' and a 'schema'");
  }
  for (const auto& item : spec->items()) {
    const std::string& key = item.key();
    if (key != "name" && key != "schema" && key != "strict" && key != "description") {
      bad_request(param, fmt::format("'response_format.json_schema.{}' is not a field of OpenAI's JSON schema format", key));
    }
  }
  const bool named = nested(*spec, "name", "response_format.json_schema.name", &RequestJson::is_string, "a string");
  const std::string name = named ? spec->at("name").get<std::string>() : "";
  if (!is_function_name(name)) {
    bad_request(param, "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'");
  }
  nested(*spec, "description", "response_format.json_schema.description", &RequestJson::is_string, "a string");
  // strict false asks for less than genrt does: the schema is always enforced.
  nested(*spec, "strict", "response_format.json_schema.strict", &RequestJson::is_boolean, "a boolean");
  const auto schema = spec->find("schema");
  if (schema == spec->end()) bad_request(param, "'response_format.json_schema.schema' is required");
  try {
    std::string gbnf = grammar::json_schema_gbnf(*schema);
    grammar::parse_gbnf(gbnf);  // its checks: a $ref that reaches itself before any text is left recursion
    return gbnf;
  } catch (const Error& e) {
    bad_request(param, fmt::format("'response_format.json_schema.schema': {}", e.what()));
  }
}

// OpenAI's limit on stop sequences.
constexpr size_t kMaxStopStrings = 4;

CompletionParams parse_request(const RequestJson& body, Endpoint endpoint, const ApiContext& ctx) {
  if (!body.is_object()) bad_request("", "the request body must be a JSON object");
  check_fields(body, endpoint);
  CompletionParams p;
  p.endpoint = endpoint;
  if (const auto model = request_field<std::string>(body, "model"); model && *model != ctx.model_name) {
    throw ApiError(404, fmt::format("model '{}' does not exist; this server serves '{}'", *model, ctx.model_name),
                   "invalid_request_error", "model");
  }

  const char* prompt_param = endpoint == Endpoint::chat ? "messages" : "prompt";
  if (endpoint == Endpoint::chat) {
    if (ctx.chat_template == nullptr) {
      bad_request("messages", "this model has no chat template genrt knows; restart the server with --chat-template NAME");
    }
    const auto messages = body.find("messages");
    if (messages == body.end() || !messages->is_array() || messages->empty()) bad_request("messages", "'messages' must be a non-empty list");
    std::vector<ChatMessage> chat;
    for (size_t i = 0; i < messages->size(); ++i) chat.push_back(chat_message((*messages)[i], i));
    const ChatTemplate& chat_template = *ctx.chat_template;
    const std::optional<ChatTools> tools = parse_chat_tools(body);
    if (tools && !chat_template.tools) {
      bad_request("tools", fmt::format("this model's chat template ({}) defines no tools; tools work with llama3.1, chatml "
                                       "(a template with <tool_call>) and mistral-v3 templates",
                                       chat_format_name(chat_template.format)));
    }
    if (tools && tools->choice != ChatTools::Choice::none) {
      p.tool_format = chat_template.format;
      p.tools = *tools;
      if (tools->choice != ChatTools::Choice::automatic) {
        p.grammar = tool_call_gbnf(chat_template.format, *tools);
        p.reply_prefix = tool_call_shape(chat_template.format).prompt_suffix;
      }
      // The call markers of llama3.1 (<|python_tag|>) and mistral-v3 ([TOOL_CALLS]) are
      // special tokens, to be read as text.
      for (const std::string_view marker : tool_call_markers(chat_template.format)) {
        if (const auto ids = ctx.tokenizer->encode(marker, false); ids.size() == 1 && ctx.tokenizer->is_special(ids[0])) {
          p.text_specials.push_back(ids[0]);
        }
      }
    }
    std::string prompt;
    try {
      prompt = chat_template.render(chat, true, tools ? std::span(tools->tools) : std::span<const nlohmann::ordered_json>());
    } catch (const ApiError&) {
      throw;
    } catch (const Error& e) {  // the template refuses the conversation (roles, tool call ids)
      bad_request("messages", e.what());
    }
    p.prompts = {{ctx.tokenizer->encode(prompt + p.reply_prefix, /*add_special=*/false), ""}};
    for (const std::string& end_of_turn : chat_template.ends_of_turn()) {
      if (const auto end = ctx.tokenizer->encode(end_of_turn, false); end.size() == 1) p.stop_token_ids.push_back(end[0]);
    }
  } else {
    const auto prompt = body.find("prompt");
    if (prompt == body.end() || prompt->is_null()) bad_request("prompt", "'prompt' is required");
    p.prompts = completion_prompts(*prompt, *ctx.tokenizer);
  }
  int64_t prompt_tokens = 0;  // the longest prompt's, which bounds max_tokens
  for (size_t i = 0; i < p.prompts.size(); ++i) {
    const auto tokens = static_cast<int64_t>(p.prompts[i].ids.size());
    const std::string which = p.prompts.size() > 1 ? fmt::format("prompt[{}]", i) : "the prompt";
    if (tokens == 0) bad_request(prompt_param, which + " is empty");
    if (tokens >= ctx.context_length) {
      bad_request(prompt_param, fmt::format("{} has {} tokens, but this model's context is {} tokens (at most {} prompt tokens)",
                                    which, tokens, ctx.context_length, ctx.context_length - 1));
    }
    prompt_tokens = std::max(prompt_tokens, tokens);
  }

  const int64_t room = ctx.context_length - prompt_tokens;
  const char* max_name = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const std::optional<int64_t> max_tokens = request_field<int64_t>(body, max_name);
  if (max_tokens && *max_tokens < 0) bad_request(max_name, fmt::format("'{}' must be >= 0", max_name));
  // A limit the context cannot honour is refused, as OpenAI and vLLM do; the defaults
  // (OpenAI's: 16 for completions, what the context leaves for chat) fit themselves to it.
  if (max_tokens && *max_tokens > room) {
    bad_request(max_name, fmt::format("'{}' is {}, but {} {} tokens leave room for {} more in this model's context of {} tokens",
                              max_name, *max_tokens, p.prompts.size() > 1 ? "the longest prompt's" : "the prompt's",
                              prompt_tokens, room, ctx.context_length));
  }
  p.max_tokens = max_tokens.value_or(endpoint == Endpoint::chat ? room : std::min<int64_t>(16, room));

  p.sampling.temperature = static_cast<float>(request_field<double>(body, "temperature").value_or(1.0));
  if (p.sampling.temperature < 0 || p.sampling.temperature > 2) bad_request("temperature", "'temperature' must be in [0, 2]");
  p.sampling.top_p = static_cast<float>(request_field<double>(body, "top_p").value_or(1.0));
  if (!(p.sampling.top_p > 0 && p.sampling.top_p <= 1)) bad_request("top_p", "'top_p' must be in (0, 1]");
  const int64_t top_k = request_field<int64_t>(body, "top_k").value_or(0);
  if (top_k < -1) bad_request("top_k", "'top_k' must be -1, 0 (both: disabled) or positive");
  p.sampling.top_k = std::max<int64_t>(top_k, 0);
  p.sampling.min_p = static_cast<float>(request_field<double>(body, "min_p").value_or(0.0));
  if (p.sampling.min_p < 0 || p.sampling.min_p > 1) bad_request("min_p", "'min_p' must be in [0, 1]");
  p.sampling.repetition_penalty = static_cast<float>(request_field<double>(body, "repetition_penalty").value_or(1.0));
  if (!(p.sampling.repetition_penalty > 0)) bad_request("repetition_penalty", "'repetition_penalty' must be > 0");
  p.sampling.presence_penalty = openai_penalty(body, "presence_penalty");
  p.sampling.frequency_penalty = openai_penalty(body, "frequency_penalty");
  p.sampling.logit_bias = logit_bias(body, ctx.vocab_size);
  if (const auto seed = request_field<int64_t>(body, "seed")) p.seed = static_cast<uint64_t>(*seed);

  if (const auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
    if (stop->is_string()) {
      p.stop = {stop->get<std::string>()};
    } else if (stop->is_array() && std::all_of(stop->begin(), stop->end(), [](const auto& s) { return s.is_string(); })) {
      p.stop = stop->get<std::vector<std::string>>();
    } else {
      bad_request("stop", "'stop' must be a string or a list of strings");
    }
    if (p.stop.size() > kMaxStopStrings) {
      bad_request("stop", fmt::format("at most {} stop strings, got {}", kMaxStopStrings, p.stop.size()));
    }
  }
  p.n = request_field<int64_t>(body, "n").value_or(1);
  if (p.n < 1 || p.n > 16) bad_request("n", "'n' must be between 1 and 16");
  p.stream = request_field<bool>(body, "stream").value_or(false);
  p.ignore_eos = request_field<bool>(body, "ignore_eos").value_or(false);
  if (const auto options = body.find("stream_options"); options != body.end() && !options->is_null()) {
    if (!options->is_object()) bad_request("stream_options", "'stream_options' must be an object");
    for (const auto& [key, value] : options->items()) {
      // include_obfuscation pads chunks against a network observer; genrt's have no padding to leave out.
      if (key != "include_usage" && key != "include_obfuscation") {
        bad_request("stream_options", fmt::format("'stream_options.{}' is not a field of OpenAI's stream options", key));
      }
    }
    p.include_usage = request_field<bool>(*options, "include_usage").value_or(false);
  }

  if (endpoint == Endpoint::chat) {
    if (request_field<bool>(body, "logprobs").value_or(false)) p.top_logprobs = request_field<int64_t>(body, "top_logprobs").value_or(0);
  } else if (const auto logprobs = request_field<int64_t>(body, "logprobs")) {
    p.top_logprobs = *logprobs;
  }
  if (p.top_logprobs > 20) bad_request("top_logprobs", "at most 20 top logprobs can be requested");
  if (p.top_logprobs < -1) bad_request("logprobs", "'logprobs' must be >= 0");
  if (std::string format = response_format_grammar(body); !format.empty()) {
    if (p.tool_format) {
      bad_request("response_format", "'response_format' with 'tools' is not supported by genrt yet (unless tool_choice "
                                     "is \"none\"): the format would keep the model from calling them");
    }
    p.grammar = std::move(format);
  }
  if (!p.grammar.empty() && p.ignore_eos) {
    bad_request("ignore_eos", "'ignore_eos' cannot be combined with 'response_format' or a required tool call: the "
                              "grammar ends the text where it is complete");
  }
  p.echo = request_field<bool>(body, "echo").value_or(false);
  if (p.echo && p.top_logprobs >= 0) {
    bad_request("echo", "'echo' with 'logprobs' is not supported by genrt yet (it would need the prompt tokens' logprobs)");
  }
  return p;
}
}  // namespace

}  // namespace genrt
