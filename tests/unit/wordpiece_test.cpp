// BERT's WordPiece tokenizer.json against the Hugging Face `tokenizers` library
// (tools/golden/bert.py): ids and decoded text of hostile strings, the pieces of the
// longest-match split, and the errors of vocabularies WordPiece cannot work with.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/wordpiece_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path bert_dir() { return test::data_dir() / "tiny_bert"; }

TEST(WordPiece, HostileStringsMatchTheTokenizersLibrary) {
  const HfTokenizer tok = HfTokenizer::open(bert_dir());
  const auto golden = read_json_file(bert_dir() / "golden.json");
  ASSERT_GE(golden.at("wordpiece").size(), 10u);
  for (const auto& c : golden.at("wordpiece")) {
    const std::string text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text, true), ids) << "text: " << text;
    EXPECT_EQ(tok.decode(ids, true), c.at("decoded").get<std::string>()) << "text: " << text;
  }
}

nlohmann::json tiny_vocab_model() {
  return {{"type", "WordPiece"},
          {"unk_token", "[UNK]"},
          {"continuing_subword_prefix", "##"},
          {"max_input_chars_per_word", 8},
          {"vocab", {{"[UNK]", 0}, {"un", 1}, {"##aff", 2}, {"##able", 3}, {"unaff", 4}, {"é", 5}, {"##é", 6}}}};
}

std::vector<int32_t> pieces(const WordPieceModel& m, std::string_view word) {
  std::vector<int32_t> ids = {99};  // the model appends: what is there stays
  m.encode_word(word, ids);
  ids.erase(ids.begin());
  return ids;
}

TEST(WordPiece, LongestPrefixFirstAndAWordWithoutASplitIsUnknown) {
  const WordPieceModel m = WordPieceModel::from_json(tiny_vocab_model(), "t.json");
  EXPECT_EQ(pieces(m, "unaffable"), (std::vector<int32_t>{0})) << "9 characters, over max_input_chars_per_word";
  EXPECT_EQ(pieces(m, "unaff"), (std::vector<int32_t>{4}));
  EXPECT_EQ(pieces(m, "unable"), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(pieces(m, "ééé"), (std::vector<int32_t>{5, 6, 6})) << "cut at characters, not bytes";
  EXPECT_EQ(pieces(m, "unx"), (std::vector<int32_t>{0})) << "one unknown for the word, no partial pieces";
}

TEST(WordPiece, VocabularyWithoutItsUnknownTokenIsRefused) {
  auto model = tiny_vocab_model();
  model["vocab"].erase("[UNK]");
  EXPECT_ERROR(WordPieceModel::from_json(model, "t.json"),
               "t.json: model: the unknown token '[UNK]' is not in the vocabulary");
  auto tokenizer = read_json_file(bert_dir() / "tokenizer.json");
  tokenizer["model"]["unk_token"] = "<unk>";
  EXPECT_ERROR(HfTokenizer::from_json(tokenizer, nullptr, "tokenizer.json"), "the unknown token '<unk>'");
  model = tiny_vocab_model();
  model["vocab"]["##able"] = 1;
  EXPECT_ERROR(WordPieceModel::from_json(model, "t.json"), "id 1 is given to both");
  model = tiny_vocab_model();
  model["max_input_chars_per_word"] = 0;
  EXPECT_ERROR(WordPieceModel::from_json(model, "t.json"), "max_input_chars_per_word = 0 must be positive");
}

}  // namespace
}  // namespace genrt
