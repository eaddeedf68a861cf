#pragma once
// The `prompt` of /v1/completions in each of OpenAI's four forms: a string, a list of
// strings, a list of token ids, or a list of lists of token ids. Each prompt is completed
// on its own (its `n` choices follow one another in the response).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/server/request_json.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;  // what `echo` writes back: the client's string, or the ids decoded
};

// Throws ApiError (400, param "prompt") for any other shape, an empty prompt or an id that
// is not a non-negative 32-bit integer.
std::vector<Prompt> completion_prompts(const RequestJson& prompt, const Tokenizer& tokenizer);

}  // namespace genrt
