// Randomized round trips through every tokenizer genrt reads, for a bounded time with a
// fixed seed (reproducible): random bytes never crash and decode to their lossy UTF-8
// reading; random valid text survives encode + decode unchanged.

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/token_text.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

constexpr auto kBudgetPerTokenizer = std::chrono::seconds(3);

// Characters from the scripts and classes that stress pre-tokenizers and byte fallback.
std::string random_text(std::mt19937& rng, const std::vector<std::string>& specials) {
  static const char32_t pool[] = {U'a', U'Z', U'0', U'7', U' ', U' ', U'\n', U'\t', U'\'', U'.', U'!', U'_',
                                  U'é', U'ß', U'Ω', U'Ж', U'你', U'好', U'語', U'한', U'\u0301', U'\u200d',
                                  U'\U0001F600', U'\U0001F44D', U'\U0001F3FD', U'\uFFFD', U'\u00A0'};
  // (No U+2581: SentencePiece-style tokenizers decode their meta space as ' ' by design.)
  std::string s;
  const int length = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < length; ++i) {
    if (!specials.empty() && rng() % 25 == 0) {
      s += specials[rng() % specials.size()];
    } else {
      append_utf8(s, pool[rng() % std::size(pool)]);
    }
  }
  return s;
}

std::string random_bytes(std::mt19937& rng) {
  std::string s(std::uniform_int_distribution<size_t>(0, 32)(rng), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct FuzzCase {
  const char* name;
  std::filesystem::path path;
  bool nfc;       // the normalizer composes: round trips hold for NFC text
  bool specials;  // special tokens inside text round-trip (not with a Prepend normalizer,
                  // which starts each text run after a special token with a space, as
                  // `tokenizers` does too)
};

class TokenizerFuzz : public ::testing::TestWithParam<FuzzCase> {};

TEST_P(TokenizerFuzz, RoundTripsForABoundedTime) {
  const HfTokenizer tok = HfTokenizer::open(GetParam().path);
  const Normalizer nfc = make_normalizer(nlohmann::json{{"type", "NFC"}}, "test");
  std::vector<std::string> specials;
  for (int32_t id = 0; GetParam().specials && id < tok.vocab_size(); ++id) {
    // Special tokens spelled in the text must come back as themselves; byte-fallback
    // tokens written out ("<0x41>") legitimately decode to their byte instead.
    const std::vector<int32_t> one = {id};
    if (tok.decode(one, true).empty() && !tok.decode(one, false).empty() && !looks_like_byte_token(tok.token_text(id))) {
      specials.push_back(tok.token_text(id));
    }
  }
  std::mt19937 rng(1234);
  const auto deadline = std::chrono::steady_clock::now() + kBudgetPerTokenizer;
  int iterations = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string bytes = random_bytes(rng);
    const std::string lossy = utf8_lossy(bytes);
    ASSERT_EQ(utf8_lossy(tok.decode(tok.encode(bytes, false), false)), GetParam().nfc ? nfc(lossy) : lossy)
        << testing::PrintToString(bytes);
    const std::string text = random_text(rng, specials);
    const std::string expected = GetParam().nfc ? nfc(text) : text;
    ASSERT_EQ(tok.decode(tok.encode(text, false), false), expected) << text;
    ++iterations;
  }
  EXPECT_GT(iterations, 100);
  RecordProperty("iterations", iterations);
}

INSTANTIATE_TEST_SUITE_P(
    Tokenizers, TokenizerFuzz,
    ::testing::Values(FuzzCase{"gpt2", test::shared_dir() / "tokenizers" / "gpt2", false, true},
                      FuzzCase{"bytelevel", test::data_dir() / "tokenizers" / "bytelevel", true, true},
                      FuzzCase{"sentencepiece", test::data_dir() / "tokenizers" / "sentencepiece", false, false}),
    [](const auto& info) { return std::string(info.param.name); });

// WordPiece and Unigram drop what their vocabularies lack (into unknown tokens, and BERT
// lower-cases), so no round trip holds for them: random bytes and text must still encode
// to ids inside the vocabulary that decode without error.
struct LossyCase {
  const char* name;
  std::filesystem::path path;
};

class LossyTokenizerFuzz : public ::testing::TestWithParam<LossyCase> {};

TEST_P(LossyTokenizerFuzz, EncodesInsideTheVocabularyForABoundedTime) {
  const HfTokenizer tok = HfTokenizer::open(GetParam().path);
  std::mt19937 rng(4321);
  const auto deadline = std::chrono::steady_clock::now() + kBudgetPerTokenizer;
  int iterations = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& input : {random_bytes(rng), random_text(rng, {})}) {
      const std::vector<int32_t> ids = tok.encode(input, true);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.vocab_size()) << testing::PrintToString(input);
      EXPECT_NO_THROW(tok.decode(ids, false)) << testing::PrintToString(input);
    }
    ++iterations;
  }
  EXPECT_GT(iterations, 100);
  RecordProperty("iterations", iterations);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, LossyTokenizerFuzz,
                         ::testing::Values(LossyCase{"wordpiece", test::data_dir() / "tiny_bert"},
                                           LossyCase{"unigram", test::data_dir() / "tokenizers" / "unigram"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace genrt
