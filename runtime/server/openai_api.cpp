#include "runtime/server/openai_api.h"

#include "runtime/core/utf8.h"

namespace genrt {

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", nullptr}}}};
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, "invalid_request_error", param); }

// Reads an optional field of a given JSON kind; a present field of the wrong type is a 400.
template <class T>
std::optional<T> field(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  bool ok;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    ok = it->is_number_integer();
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = it->is_number();
  } else {
    ok = it->is_string();
  }
  if (!ok) bad(name, fmt::format("'{}' has the wrong type: {}", name, it->dump()));
  return it->get<T>();
}

std::string message_text(const nlohmann::json& content, size_t index) {
  if (content.is_string()) return content.get<std::string>();
  // [{"type": "text", "text": "..."}, ...]: the text parts, concatenated.
  if (!content.is_array()) bad("messages", fmt::format("messages[{}].content must be a string or a list of parts", index));
  std::string text;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
      bad("messages", fmt::format("messages[{}].content: only text parts are supported", index));
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

namespace {
CompletionParams parse_request(const nlohmann::json& body, Endpoint endpoint, const ApiContext& ctx);
}

CompletionParams parse_completion_request(const nlohmann::json& body, Endpoint endpoint, const ApiContext& ctx) {
  try {
    return parse_request(body, endpoint, ctx);
  } catch (const nlohmann::json::exception& e) {
    throw ApiError(400, std::string("malformed request: ") + e.what());
  }
}

namespace {

// OpenAI fields genrt does not implement yet. A request that uses one (with anything but
// the value that asks for nothing) is refused, naming it, rather than answered as if it
// had not asked.
void refuse_unimplemented(const nlohmann::json& body) {
  const auto asks = [&](const char* name, auto&& asks_for_nothing) {
    const auto it = body.find(name);
    if (it != body.end() && !it->is_null() && !asks_for_nothing(*it)) {
      bad(name, fmt::format("'{}' is not supported by genrt yet", name));
    }
  };
  const auto empty = [](const nlohmann::json& v) { return (v.is_object() || v.is_array()) && v.empty(); };
  asks("logit_bias", empty);
  asks("tools", empty);
  asks("functions", empty);
  asks("tool_choice", [](const nlohmann::json& v) { return v == "none" || v == "auto"; });
  asks("function_call", [](const nlohmann::json& v) { return v == "none" || v == "auto"; });
  asks("response_format", [](const nlohmann::json& v) { return v.is_object() && v.value("type", "") == "text"; });
  asks("echo", [](const nlohmann::json& v) { return v == false; });
  asks("best_of", [](const nlohmann::json& v) { return v == 1; });
  asks("suffix", [](const nlohmann::json& v) { return v == ""; });
  asks("presence_penalty", [](const nlohmann::json& v) { return v.is_number() && v.get<double>() == 0.0; });
  asks("frequency_penalty", [](const nlohmann::json& v) { return v.is_number() && v.get<double>() == 0.0; });
}

// OpenAI's limit on stop sequences.
constexpr size_t kMaxStopStrings = 4;

CompletionParams parse_request(const nlohmann::json& body, Endpoint endpoint, const ApiContext& ctx) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  refuse_unimplemented(body);
  CompletionParams p;
  p.endpoint = endpoint;
  if (const auto model = field<std::string>(body, "model"); model && *model != ctx.model_name) {
    throw ApiError(404, fmt::format("model '{}' does not exist; this server serves '{}'", *model, ctx.model_name),
                   "invalid_request_error", "model");
  }

  if (endpoint == Endpoint::chat) {
    if (ctx.chat_template == nullptr) {
      bad("messages", "this model has no chat template genrt knows; restart the server with --chat-template NAME");
    }
    const auto messages = body.find("messages");
    if (messages == body.end() || !messages->is_array() || messages->empty()) bad("messages", "'messages' must be a non-empty list");
    std::vector<ChatMessage> chat;
    for (size_t i = 0; i < messages->size(); ++i) {
      const auto& m = (*messages)[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content")) {
        bad("messages", fmt::format("messages[{}] needs a string 'role' and a 'content'", i));
      }
      chat.push_back({m["role"].get<std::string>(), message_text(m["content"], i)});
    }
    try {
      p.prompt = ctx.tokenizer->encode(ctx.chat_template->render(chat, true), /*add_special=*/false);
    } catch (const ApiError&) {
      throw;
    } catch (const Error& e) {  // the template refuses the conversation (roles)
      bad("messages", e.what());
    }
    if (const auto end = ctx.tokenizer->encode(ctx.chat_template->end_of_turn(), false); end.size() == 1) {
      p.stop_token_ids.push_back(end[0]);
    }
  } else {
    const auto prompt = body.find("prompt");
    if (prompt == body.end() || prompt->is_null()) bad("prompt", "'prompt' is required");
    if (prompt->is_string()) {
      p.prompt = ctx.tokenizer->encode(prompt->get<std::string>(), /*add_special=*/true);
    } else if (prompt->is_array() && !prompt->empty() && std::all_of(prompt->begin(), prompt->end(), [](const auto& v) {
                 return v.is_number_integer() && v.template get<int64_t>() >= 0 &&
                        v.template get<int64_t>() <= std::numeric_limits<int32_t>::max();
               })) {
      p.prompt = prompt->get<std::vector<int32_t>>();
    } else {
      bad("prompt", "'prompt' must be a string or a list of token ids (non-negative 32-bit integers; one prompt "
                    "per request, use n for several completions)");
    }
  }
  if (p.prompt.empty()) bad(endpoint == Endpoint::chat ? "messages" : "prompt", "the prompt is empty");
  const auto prompt_tokens = static_cast<int64_t>(p.prompt.size());
  if (prompt_tokens >= ctx.context_length) {
    bad(endpoint == Endpoint::chat ? "messages" : "prompt",
        fmt::format("the prompt has {} tokens, but this model's context is {} tokens (at most {} prompt tokens)",
                    prompt_tokens, ctx.context_length, ctx.context_length - 1));
  }

  const int64_t room = ctx.context_length - prompt_tokens;
  const char* max_name = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const std::optional<int64_t> max_tokens = field<int64_t>(body, max_name);
  if (max_tokens && *max_tokens < 0) bad(max_name, fmt::format("'{}' must be >= 0", max_name));
  // A limit the context cannot honour is refused, as OpenAI and vLLM do; the defaults
  // (OpenAI's: 16 for completions, what the context leaves for chat) fit themselves to it.
  if (max_tokens && *max_tokens > room) {
    bad(max_name, fmt::format("'{}' is {}, but the prompt's {} tokens leave room for {} more in this model's context "
                              "of {} tokens",
                              max_name, *max_tokens, prompt_tokens, room, ctx.context_length));
  }
  p.max_tokens = max_tokens.value_or(endpoint == Endpoint::chat ? room : std::min<int64_t>(16, room));

  p.sampling.temperature = static_cast<float>(field<double>(body, "temperature").value_or(1.0));
  if (p.sampling.temperature < 0 || p.sampling.temperature > 2) bad("temperature", "'temperature' must be in [0, 2]");
  p.sampling.top_p = static_cast<float>(field<double>(body, "top_p").value_or(1.0));
  if (!(p.sampling.top_p > 0 && p.sampling.top_p <= 1)) bad("top_p", "'top_p' must be in (0, 1]");
  const int64_t top_k = field<int64_t>(body, "top_k").value_or(0);
  if (top_k < -1) bad("top_k", "'top_k' must be -1, 0 (both: disabled) or positive");
  p.sampling.top_k = std::max<int64_t>(top_k, 0);
  p.sampling.min_p = static_cast<float>(field<double>(body, "min_p").value_or(0.0));
  if (p.sampling.min_p < 0 || p.sampling.min_p > 1) bad("min_p", "'min_p' must be in [0, 1]");
  p.sampling.repetition_penalty = static_cast<float>(field<double>(body, "repetition_penalty").value_or(1.0));
  if (!(p.sampling.repetition_penalty > 0)) bad("repetition_penalty", "'repetition_penalty' must be > 0");
  if (const auto seed = field<int64_t>(body, "seed")) p.seed = static_cast<uint64_t>(*seed);

  if (const auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
    if (stop->is_string()) {
      p.stop = {stop->get<std::string>()};
    } else if (stop->is_array() && std::all_of(stop->begin(), stop->end(), [](const auto& s) { return s.is_string(); })) {
      p.stop = stop->get<std::vector<std::string>>();
    } else {
      bad("stop", "'stop' must be a string or a list of strings");
    }
    if (p.stop.size() > kMaxStopStrings) {
      bad("stop", fmt::format("at most {} stop strings, got {}", kMaxStopStrings, p.stop.size()));
    }
  }
  p.n = field<int64_t>(body, "n").value_or(1);
  if (p.n < 1 || p.n > 16) bad("n", "'n' must be between 1 and 16");
  p.stream = field<bool>(body, "stream").value_or(false);
  p.ignore_eos = field<bool>(body, "ignore_eos").value_or(false);
  if (const auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
    p.include_usage = field<bool>(*options, "include_usage").value_or(false);
  }

  if (endpoint == Endpoint::chat) {
    if (field<bool>(body, "logprobs").value_or(false)) p.top_logprobs = field<int64_t>(body, "top_logprobs").value_or(0);
  } else if (const auto logprobs = field<int64_t>(body, "logprobs")) {
    p.top_logprobs = *logprobs;
  }
  if (p.top_logprobs > 20) bad("top_logprobs", "at most 20 top logprobs can be requested");
  if (p.top_logprobs < -1) bad("logprobs", "'logprobs' must be >= 0");
  return p;
}
}  // namespace

nlohmann::json logprobs_json(Endpoint endpoint, const std::vector<TokenLogprobEntry>& entries) {
  auto bytes = [](const std::string& s) {
    std::vector<int> out;
    for (unsigned char c : s) out.push_back(c);
    return out;
  };
  if (endpoint == Endpoint::chat) {
    nlohmann::json content = nlohmann::json::array();
    for (const auto& e : entries) {
      nlohmann::json top = nlohmann::json::array();
      for (const auto& [text, lp] : e.top) top.push_back({{"token", text}, {"logprob", lp}, {"bytes", bytes(text)}});
      content.push_back({{"token", e.text}, {"logprob", e.logprob}, {"bytes", bytes(e.text)}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  nlohmann::json out = {{"tokens", nlohmann::json::array()},
                        {"token_logprobs", nlohmann::json::array()},
                        {"top_logprobs", nlohmann::json::array()},
                        {"text_offset", nlohmann::json::array()}};
  for (const auto& e : entries) {
    out["tokens"].push_back(e.text);
    out["token_logprobs"].push_back(e.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const auto& [text, lp] : e.top) top[text] = lp;
    out["top_logprobs"].push_back(top);
    out["text_offset"].push_back(e.text_offset);
  }
  return out;
}

namespace {
nlohmann::json usage_json(const CompletionParams& p, int64_t completion_tokens) {
  const auto prompt_tokens = static_cast<int64_t>(p.prompt.size());
  return {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}, {"total_tokens", prompt_tokens + completion_tokens}};
}
}  // namespace

nlohmann::json response_json(const CompletionParams& p, const ResponseIdentity& identity,
                             const std::vector<ChoiceResult>& choices) {
  const bool chat = p.endpoint == Endpoint::chat;
  nlohmann::json out = {{"id", identity.id}, {"object", chat ? "chat.completion" : "text_completion"},
                        {"created", identity.created}, {"model", identity.model}};
  int64_t completion_tokens = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    completion_tokens += c.tokens;
    nlohmann::json choice = {{"index", i}, {"finish_reason", c.finish_reason}};
    choice["logprobs"] = p.top_logprobs >= 0 ? logprobs_json(p.endpoint, c.logprobs) : nlohmann::json(nullptr);
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    } else {
      choice["text"] = c.text;
    }
    out["choices"].push_back(choice);
  }
  out["usage"] = usage_json(p, completion_tokens);
  return out;
}

namespace {
nlohmann::json chunk_envelope(const CompletionParams& p, const ResponseIdentity& identity, nlohmann::json choices) {
  return {{"id", identity.id},
          {"object", p.endpoint == Endpoint::chat ? "chat.completion.chunk" : "text_completion"},
          {"created", identity.created},
          {"model", identity.model},
          {"choices", std::move(choices)}};
}
}  // namespace

nlohmann::json chunk_json(const CompletionParams& p, const ResponseIdentity& identity, const ChunkChoice& c) {
  nlohmann::json choice = {{"index", c.index}};
  choice["finish_reason"] = c.finish_reason ? nlohmann::json(*c.finish_reason) : nlohmann::json(nullptr);
  choice["logprobs"] = p.top_logprobs >= 0 && !c.logprobs.empty() ? logprobs_json(p.endpoint, c.logprobs)
                                                                  : nlohmann::json(nullptr);
  if (p.endpoint == Endpoint::chat) {
    nlohmann::json delta = nlohmann::json::object();
    if (c.role) delta["role"] = "assistant";
    if (c.text) delta["content"] = *c.text;
    choice["delta"] = delta;
  } else {
    choice["text"] = c.text.value_or("");
  }
  return chunk_envelope(p, identity, nlohmann::json::array({choice}));
}

nlohmann::json usage_chunk_json(const CompletionParams& p, const ResponseIdentity& identity, int64_t completion_tokens) {
  nlohmann::json chunk = chunk_envelope(p, identity, nlohmann::json::array());
  chunk["usage"] = usage_json(p, completion_tokens);
  return chunk;
}

}  // namespace genrt
