// The response side of openai_api.h: logprobs, whole responses and stream chunks in
// OpenAI's shapes.

#include <fmt/format.h>

#include "runtime/core/utf8.h"
#include "runtime/server/chat_tools.h"
#include "runtime/server/openai_api.h"

namespace genrt {

std::string dump_json(const ResponseJson& value) {
  return value.dump(-1, ' ', false, ResponseJson::error_handler_t::replace);
}

namespace {

std::vector<int> byte_values(const std::string& bytes) {
  std::vector<int> out;
  for (unsigned char c : bytes) out.push_back(c);
  return out;
}

// A completion token's text: its bytes when they are UTF-8, else as OpenAI writes such a
// token, "bytes:" and each byte as \xNN.
std::string completion_token_text(const std::string& bytes) {
  if (is_valid_utf8(bytes)) return bytes;
  std::string out = "bytes:";
  for (unsigned char c : bytes) out += fmt::format("\\x{:02x}", c);
  return out;
}

ResponseJson chat_token_json(const LogprobToken& t) {
  return {{"token", utf8_lossy(t.bytes)}, {"logprob", t.logprob}, {"bytes", byte_values(t.bytes)}};
}

}  // namespace

ResponseJson logprobs_json(Endpoint endpoint, const std::vector<TokenLogprobEntry>& entries) {
  if (endpoint == Endpoint::chat) {
    ResponseJson content = ResponseJson::array();
    for (const auto& e : entries) {
      ResponseJson top = ResponseJson::array();
      for (const LogprobToken& t : e.top) top.push_back(chat_token_json(t));
      ResponseJson token = chat_token_json(e.token);
      token["top_logprobs"] = std::move(top);
      content.push_back(std::move(token));
    }
    return {{"content", std::move(content)}};
  }
  ResponseJson out = {{"tokens", ResponseJson::array()},
                      {"token_logprobs", ResponseJson::array()},
                      {"top_logprobs", ResponseJson::array()},
                      {"text_offset", ResponseJson::array()}};
  for (const auto& e : entries) {
    out["tokens"].push_back(completion_token_text(e.token.bytes));
    out["token_logprobs"].push_back(e.token.logprob);
    ResponseJson top = ResponseJson::object();
    for (const LogprobToken& t : e.top) {
      const std::string text = completion_token_text(t.bytes);
      top[top.contains(text) ? fmt::format("token_id:{}", t.id) : text] = t.logprob;
    }
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(e.text_offset);
  }
  return out;
}

namespace {
ResponseJson usage_json(const CompletionParams& p, int64_t completion_tokens, int64_t cached_tokens) {
  int64_t prompt_tokens = 0;
  for (const Prompt& prompt : p.prompts) prompt_tokens += static_cast<int64_t>(prompt.ids.size());
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

ResponseJson no_logprobs() { return ResponseJson(nullptr); }
}  // namespace

ResponseJson response_json(const CompletionParams& p, const ResponseIdentity& identity,
                           const std::vector<ChoiceResult>& choices, int64_t cached_tokens) {
  const bool chat = p.endpoint == Endpoint::chat;
  ResponseJson out = {{"id", identity.id}, {"object", chat ? "chat.completion" : "text_completion"},
                      {"created", identity.created}, {"model", identity.model}, {"choices", ResponseJson::array()}};
  int64_t completion_tokens = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    completion_tokens += c.tokens;
    ResponseJson choice = ResponseJson::object();
    if (chat) {
      choice["index"] = i;
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
      if (!c.tool_calls.empty()) {
        // OpenAI's shape: no text before the calls is null content.
        if (c.text.empty()) choice["message"]["content"] = nullptr;
        choice["message"]["tool_calls"] = tool_calls_json(c.tool_calls, /*with_index=*/false);
      }
    } else {
      choice["text"] = c.text;
      choice["index"] = i;
    }
    choice["logprobs"] = p.top_logprobs >= 0 ? logprobs_json(p.endpoint, c.logprobs) : no_logprobs();
    choice["finish_reason"] = c.finish_reason;
    out["choices"].push_back(std::move(choice));
  }
  out["usage"] = usage_json(p, completion_tokens, cached_tokens);
  return out;
}

namespace {
ResponseJson chunk_envelope(const CompletionParams& p, const ResponseIdentity& identity, ResponseJson choices) {
  return {{"id", identity.id},
          {"object", p.endpoint == Endpoint::chat ? "chat.completion.chunk" : "text_completion"},
          {"created", identity.created},
          {"model", identity.model},
          {"choices", std::move(choices)}};
}
}  // namespace

ResponseJson chunk_json(const CompletionParams& p, const ResponseIdentity& identity, const ChunkChoice& c) {
  ResponseJson choice = ResponseJson::object();
  if (p.endpoint == Endpoint::chat) {
    ResponseJson delta = ResponseJson::object();
    if (c.role) delta["role"] = "assistant";
    if (c.text) delta["content"] = *c.text;
    if (!c.tool_calls.empty()) delta["tool_calls"] = tool_calls_json(c.tool_calls, /*with_index=*/true);
    choice["index"] = c.index;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = c.text.value_or("");
    choice["index"] = c.index;
  }
  choice["logprobs"] = p.top_logprobs >= 0 && !c.logprobs.empty() ? logprobs_json(p.endpoint, c.logprobs) : no_logprobs();
  choice["finish_reason"] = c.finish_reason ? ResponseJson(*c.finish_reason) : ResponseJson(nullptr);
  return chunk_envelope(p, identity, ResponseJson::array({std::move(choice)}));
}

ResponseJson usage_chunk_json(const CompletionParams& p, const ResponseIdentity& identity, int64_t completion_tokens,
                              int64_t cached_tokens) {
  ResponseJson chunk = chunk_envelope(p, identity, ResponseJson::array());
  chunk["usage"] = usage_json(p, completion_tokens, cached_tokens);
  return chunk;
}

}  // namespace genrt
