// Fuzz target: encoding and decoding arbitrary bytes with real tokenizers (GPT-2's,
// and the byte-level and SentencePiece-style test tokenizers). Never crashes; decode
// gives back the (lossily read) input for the tokenizers without a normalizer.
#include "tests/fuzz/fuzz_targets.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/utf8.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/stream_decoder.h"

namespace {
struct Tokenizers {
  genrt::HfTokenizer gpt2 = genrt::HfTokenizer::open(std::string(GENRT_SHARED_DIR) + "/tokenizers/gpt2");
  genrt::HfTokenizer bytelevel = genrt::HfTokenizer::open(std::string(GENRT_TEST_DATA) + "/tokenizers/bytelevel");
  genrt::HfTokenizer sentencepiece = genrt::HfTokenizer::open(std::string(GENRT_TEST_DATA) + "/tokenizers/sentencepiece");
};
const Tokenizers& tokenizers() {
  static const Tokenizers t;
  return t;
}
}  // namespace

void genrt::fuzz::tokenize(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string lossy = genrt::utf8_lossy(text);
  const Tokenizers& t = tokenizers();
  for (const genrt::HfTokenizer* tok : {&t.gpt2, &t.bytelevel, &t.sentencepiece}) {
    const std::vector<int32_t> ids = tok->encode(text, true);
    const std::string decoded = tok->decode(ids, true);
    genrt::StreamDecoder stream(*tok, {});
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.finish();
    if (streamed != genrt::utf8_lossy(decoded)) std::abort();  // streaming must equal whole decoding
  }
  // GPT-2 has neither a normalizer nor a prefix: every input round-trips (specials aside).
  if (lossy.find("<|endoftext|>") == std::string::npos &&
      t.gpt2.decode(t.gpt2.encode(text, false), false) != lossy) {
    std::abort();
  }
}
