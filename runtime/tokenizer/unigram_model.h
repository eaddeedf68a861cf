#pragma once
// The Unigram model of a Hugging Face tokenizer.json ("model": {"type": "Unigram"}),
// SentencePiece's as T5, XLM-RoBERTa and ALBERT use it: each pre-tokenized word becomes
// its most likely segmentation into vocabulary pieces (Viterbi over the pieces' log
// probabilities). A character no piece covers is the unknown token, scored 10 below the
// least likely piece; consecutive unknown characters fuse into one unknown token, or with
// byte_fallback become <0xNN> tokens. Ties go to the path found first (shorter pieces
// earlier), as in the `tokenizers` library.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

class UnigramModel {
 public:
  // Validates as it reads: the vocabulary a list of [piece, score] with finite scores and
  // unique pieces within BpeModel::kMaxTokenBytes, unk_id one of its ids (Unigram cannot
  // encode an uncovered character without it), byte-fallback tokens present when asked
  // for. Errors name `where` and the entry.
  static UnigramModel from_json(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one pre-tokenized word (valid UTF-8).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<int32_t> token_id(std::string_view token) const;
  const std::string* token(int32_t id) const;
  int64_t id_bound() const { return static_cast<int64_t>(pieces_.size()); }

 private:
  // Appends the id of one piece of the best path: its own, else its bytes' <0xNN> tokens
  // (with byte fallback), else the unknown token.
  void append_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> pieces_;  // id -> piece
  std::vector<double> scores_;       // id -> log probability
  size_t max_piece_bytes_ = 0;
  int32_t unk_id_ = 0;
  double unk_score_ = 0;  // the least likely piece's score less 10
  bool byte_fallback_ = false;
};

}  // namespace genrt
