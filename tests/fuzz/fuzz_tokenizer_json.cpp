// Fuzz target: tokenizer.json. A file either loads, and then encodes and decodes a
// fixed text without crashing, or is rejected with genrt::Error.
#include "tests/fuzz/fuzz_targets.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/tokenizer/hf_tokenizer.h"

void genrt::fuzz::tokenizer_json(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  try {
    const genrt::HfTokenizer t = genrt::HfTokenizer::from_json(j, nullptr, "tokenizer.json");
    const auto ids = t.encode("Hello  world 123, h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD <s></s> \xF0\x9F\x98\x80\n", true);
    (void)t.decode(ids, false);
    (void)t.decode(ids, true);
  } catch (const genrt::Error&) {
  }
}
