// The Unigram model's segmentation on a hand-made vocabulary: the most likely path, unknown
// characters fused or spelled in bytes, ties to the shorter first piece, and the errors of
// vocabularies it cannot work with. Its ids on real strings are checked against `tokenizers`
// in hf_tokenizer_test.cpp (HfTokenizerGolden/unigram).

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/unigram_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using Pieces = std::vector<std::pair<std::string, double>>;

// A list of [piece, score] (nlohmann would read the braced pairs as an object).
nlohmann::json vocab_list(const Pieces& pieces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [piece, score] : pieces) list.push_back(nlohmann::json::array({piece, score}));
  return list;
}

nlohmann::json vocab_model(const Pieces& pieces, bool byte_fallback = false) {
  return {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab_list(pieces)}, {"byte_fallback", byte_fallback}};
}

std::vector<int32_t> encode(const UnigramModel& m, std::string_view word) {
  std::vector<int32_t> ids = {99};  // the model appends: what is there stays
  m.encode_word(word, ids);
  ids.erase(ids.begin());
  return ids;
}

TEST(Unigram, TheMostLikelySegmentationWins) {
  // "ab" alone (-1) beats "a" + "b" (-2 - 2), and "abc" (-6) loses to "ab" + "c" (-1 - 2).
  const UnigramModel m = UnigramModel::from_json(
      vocab_model({{"<unk>", 0.0}, {"a", -2.0}, {"b", -2.0}, {"c", -2.0}, {"ab", -1.0}, {"abc", -6.0}}), "t.json");
  EXPECT_EQ(encode(m, "ab"), (std::vector<int32_t>{4}));
  EXPECT_EQ(encode(m, "abc"), (std::vector<int32_t>{4, 3}));
  EXPECT_EQ(encode(m, "ba"), (std::vector<int32_t>{2, 1}));
}

TEST(Unigram, EqualScoresGoToThePathFoundFirst) {
  // "a" + "bc" and "ab" + "c" both score -2: tokenizers keeps the first, a short first piece.
  const UnigramModel m = UnigramModel::from_json(
      vocab_model({{"<unk>", 0.0}, {"a", -1.0}, {"bc", -1.0}, {"ab", -1.0}, {"c", -1.0}}), "t.json");
  EXPECT_EQ(encode(m, "abc"), (std::vector<int32_t>{1, 2}));
}

TEST(Unigram, UnknownCharactersFuseOrFallBackToBytes) {
  const Pieces vocab = {{"<unk>", 0.0}, {"a", -1.0}};
  const UnigramModel fused = UnigramModel::from_json(vocab_model(vocab), "t.json");
  EXPECT_EQ(encode(fused, "a\u00e9\u00e9a\u00e9"), (std::vector<int32_t>{1, 0, 1, 0})) << "one unknown per run";
  Pieces with_bytes = vocab;
  for (int b = 0; b < 256; ++b) with_bytes.emplace_back(fmt::format("<0x{:02X}>", b), -5.0);
  const UnigramModel bytes = UnigramModel::from_json(vocab_model(with_bytes, true), "t.json");
  EXPECT_EQ(encode(bytes, "\u00e9a"), (std::vector<int32_t>{2 + 0xC3, 2 + 0xA9, 1}));
}

TEST(Unigram, VocabulariesItCannotUseAreRefused) {
  auto model = vocab_model({{"<unk>", 0.0}, {"a", -1.0}});
  model.erase("unk_id");
  EXPECT_ERROR(UnigramModel::from_json(model, "t.json"),
               "t.json: model: unk_id (missing) is not an id of the vocabulary");
  model["unk_id"] = 2;
  EXPECT_ERROR(UnigramModel::from_json(model, "t.json"), "unk_id 2 is not an id of the vocabulary");
  EXPECT_ERROR(UnigramModel::from_json(vocab_model({{"<unk>", 0.0}, {"a", -1.0}, {"a", -2.0}}), "t.json"),
               "piece 'a' is listed twice");
  model = vocab_model({{"<unk>", 0.0}});
  model["vocab"].push_back(nlohmann::json::array({"a"}));
  EXPECT_ERROR(UnigramModel::from_json(model, "t.json"), "vocab entry [\"a\"] is not [piece, score]");
  EXPECT_ERROR(UnigramModel::from_json(vocab_model({{"<unk>", 0.0}}, true), "t.json"),
               "byte_fallback is set but the vocabulary has no <0x00> token");
}

}  // namespace
}  // namespace genrt
