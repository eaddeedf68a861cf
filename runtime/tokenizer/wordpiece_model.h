#pragma once
// The WordPiece model of a Hugging Face tokenizer.json ("model": {"type": "WordPiece"}),
// BERT's: each pre-tokenized word becomes its longest vocabulary prefix, then the longest
// "##"-prefixed continuations of the rest; a word with no such split, or longer than
// max_input_chars_per_word characters, becomes the one unknown token.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

class WordPieceModel {
 public:
  // Validates as it reads: ids non-negative and unique, tokens within
  // BpeModel::kMaxTokenBytes, the unknown token in the vocabulary (WordPiece cannot encode
  // an unknown word without it). Errors name `where` and the entry.
  static WordPieceModel from_json(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one pre-tokenized word (valid UTF-8).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<int32_t> token_id(std::string_view token) const;
  const std::string* token(int32_t id) const;
  int64_t id_bound() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::optional<std::string>> tokens_;  // id -> token
  int32_t unk_id_ = 0;
  std::string continuing_subword_prefix_ = "##";
  size_t max_input_chars_per_word_ = 100;
};

}  // namespace genrt
