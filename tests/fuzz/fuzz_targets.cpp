#include "tests/fuzz/fuzz_targets.h"

#include <algorithm>
#include <iterator>

namespace genrt::fuzz {

namespace {
constexpr Target kTargets[] = {
    {"fuzz_safetensors", &safetensors},
    {"fuzz_llama2c", &llama2c},
    {"fuzz_config_json", &config_json},
    {"fuzz_tokenizer_json", &tokenizer_json},
    {"fuzz_tokenize", &tokenize},
    {"fuzz_http_body", &http_body},
    {"fuzz_http_request", &http_request},
};
}  // namespace

const Target* find_target(std::string_view name) {
  const auto it = std::find_if(std::begin(kTargets), std::end(kTargets), [&](const Target& t) { return t.name == name; });
  return it == std::end(kTargets) ? nullptr : it;
}

}  // namespace genrt::fuzz
