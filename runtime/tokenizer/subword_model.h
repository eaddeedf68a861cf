#pragma once
// The "model" of a tokenizer.json, whichever it is (BPE, WordPiece or Unigram), behind the four
// calls the tokenizer makes of it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/tokenizer/bpe_model.h"
#include "runtime/tokenizer/unigram_model.h"
#include "runtime/tokenizer/wordpiece_model.h"

namespace genrt {

class SubwordModel {
 public:
  // By "type": WordPiece, Unigram, else BPE (which names any other type it is given).
  static SubwordModel from_json(const nlohmann::json& model, const std::string& where);

  void encode_word(std::string_view word, std::vector<int32_t>& out) const {
    std::visit([&](const auto& m) { m.encode_word(word, out); }, model_);
  }
  std::optional<int32_t> token_id(std::string_view token) const {
    return std::visit([&](const auto& m) { return m.token_id(token); }, model_);
  }
  const std::string* token(int32_t id) const {
    return std::visit([&](const auto& m) { return m.token(id); }, model_);
  }
  int64_t id_bound() const {
    return std::visit([](const auto& m) { return m.id_bound(); }, model_);
  }

 private:
  std::variant<BpeModel, WordPieceModel, UnigramModel> model_;
};

}  // namespace genrt
