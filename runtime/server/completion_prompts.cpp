#include "runtime/server/completion_prompts.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "runtime/core/utf8.h"
#include "runtime/server/openai_api.h"

namespace genrt {

namespace {

constexpr const char* kShapes =
    "'prompt' must be a string, a list of strings, a list of token ids or a list of lists of token ids";

[[noreturn]] void bad(const std::string& message) { throw ApiError(400, message, "invalid_request_error", "prompt"); }

bool is_token_id(const RequestJson& v) {
  return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= std::numeric_limits<int32_t>::max();
}

bool is_id_list(const RequestJson& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), is_token_id);
}

Prompt of_text(const std::string& text, const Tokenizer& tokenizer) {
  return {tokenizer.encode(text, /*add_special=*/true), text};
}

Prompt of_ids(const RequestJson& ids, const Tokenizer& tokenizer) {
  Prompt p{ids.get<std::vector<int32_t>>(), ""};
  const auto vocab = tokenizer.vocab_size();
  // An id past the tokenizer's (the model's vocabulary may be larger) has no text to echo;
  // the engine says whether the model has it.
  if (std::all_of(p.ids.begin(), p.ids.end(), [&](int32_t id) { return id < vocab; })) {
    p.text = utf8_lossy(tokenizer.decode(p.ids, /*skip_special=*/true));
  }
  return p;
}

}  // namespace

std::vector<Prompt> completion_prompts(const RequestJson& prompt, const Tokenizer& tokenizer) {
  if (prompt.is_string()) return {of_text(prompt.get<std::string>(), tokenizer)};
  if (!prompt.is_array() || prompt.empty()) bad(kShapes);
  if (prompt[0].is_number()) {
    if (!is_id_list(prompt)) bad(std::string(kShapes) + " (token ids are non-negative 32-bit integers)");
    return {of_ids(prompt, tokenizer)};
  }
  std::vector<Prompt> prompts;
  const bool strings = prompt[0].is_string();
  for (size_t i = 0; i < prompt.size(); ++i) {
    const RequestJson& item = prompt[i];
    if (strings && item.is_string()) {
      prompts.push_back(of_text(item.get<std::string>(), tokenizer));
    } else if (!strings && is_id_list(item)) {
      prompts.push_back(of_ids(item, tokenizer));
    } else {
      bad(fmt::format("{}; prompt[{}] is not {}", kShapes, i, strings ? "a string" : "a list of token ids"));
    }
  }
  return prompts;
}

}  // namespace genrt
