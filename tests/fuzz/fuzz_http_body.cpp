// Fuzz target: OpenAI request bodies as the server parses them. Every input is
// either accepted or refused with ApiError (which the server turns into a 4xx).
#include "tests/fuzz/fuzz_targets.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/grammar/gbnf.h"
#include "runtime/server/openai_api.h"
#include "runtime/tokenizer/hf_tokenizer.h"

namespace {
const genrt::HfTokenizer& tokenizer() {
  static const genrt::HfTokenizer t = genrt::HfTokenizer::open(std::string(GENRT_TEST_DATA) + "/tokenizers/bytelevel");
  return t;
}
}  // namespace

void genrt::fuzz::http_body(const uint8_t* data, size_t size) {
  const genrt::RequestJson body = genrt::RequestJson::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return;
  // A template without tools, and one with them (whose prompts are longer: a longer context).
  static const genrt::ChatTemplate llama3{.format = genrt::ChatFormat::llama3, .bos_token = "<|begin_of_text|>",
                                          .eos_token = "<|end_of_text|>", .default_system = {}};
  static const genrt::ChatTemplate chatml{.format = genrt::ChatFormat::chatml, .bos_token = "", .eos_token = "<|im_end|>",
                                          .default_system = "You are a helpful assistant.", .tools = true};
  for (const auto& [chat, context] : {std::pair{&llama3, 512}, std::pair{&chatml, 8192}}) {
    const genrt::ApiContext ctx{&tokenizer(), chat, "tiny", context, 512};
    for (auto endpoint : {genrt::Endpoint::completions, genrt::Endpoint::chat}) {
      try {
        const genrt::CompletionParams p = genrt::parse_completion_request(body, endpoint, ctx);
        const bool empty_prompt =
            p.prompts.empty() || std::any_of(p.prompts.begin(), p.prompts.end(), [](const auto& q) { return q.ids.empty(); });
        if (empty_prompt || p.max_tokens < 0 || p.n < 1) std::abort();  // accepted means usable
        p.sampling.validate();
        if (!p.grammar.empty()) genrt::grammar::parse_gbnf(p.grammar);  // an accepted format or tool choice compiles
      } catch (const genrt::ApiError& e) {
        if (e.status < 400 || e.status > 499) std::abort();
      }
    }
  }
}
