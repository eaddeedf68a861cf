#include "runtime/tokenizer/wordpiece_model.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/tokenizer/bpe_model.h"

namespace genrt {

WordPieceModel WordPieceModel::from_json(const nlohmann::json& model, const std::string& where_file) {
  const std::string where = where_file + ": model";
  GENRT_CHECK(model.is_object() && model.value("type", "") == "WordPiece", "{} is not a WordPiece model", where);
  WordPieceModel wp;
  wp.continuing_subword_prefix_ = model.value("continuing_subword_prefix", std::string("##"));
  const int64_t max_chars = model.value("max_input_chars_per_word", int64_t{100});
  GENRT_CHECK(max_chars > 0, "{}: max_input_chars_per_word = {} must be positive", where, max_chars);
  wp.max_input_chars_per_word_ = static_cast<size_t>(max_chars);

  const auto vocab = model.find("vocab");
  GENRT_CHECK(vocab != model.end() && vocab->is_object(), "{}: missing 'vocab' object", where);
  for (const auto& [token, id_json] : vocab->items()) {
    GENRT_CHECK(token.size() <= BpeModel::kMaxTokenBytes,
                "{}: a vocab entry of {} bytes is longer than the {}-byte limit", where, token.size(),
                BpeModel::kMaxTokenBytes);
    GENRT_CHECK(id_json.is_number_integer() && id_json.get<int64_t>() >= 0 &&
                    id_json.get<int64_t>() < std::numeric_limits<int32_t>::max(),
                "{}: vocab entry '{}' has id {}", where, token, id_json.dump());
    const auto id = static_cast<int32_t>(id_json.get<int64_t>());
    if (static_cast<size_t>(id) >= wp.tokens_.size()) wp.tokens_.resize(static_cast<size_t>(id) + 1);
    GENRT_CHECK(!wp.tokens_[id], "{}: id {} is given to both '{}' and '{}'", where, id, *wp.tokens_[id], token);
    wp.tokens_[id] = token;
    wp.vocab_.emplace(token, id);
  }
  const std::string unk = model.value("unk_token", std::string("[UNK]"));
  const auto unk_it = wp.vocab_.find(unk);
  GENRT_CHECK(unk_it != wp.vocab_.end(),
              "{}: the unknown token '{}' is not in the vocabulary (WordPiece needs it for words it cannot split)",
              where, unk);
  wp.unk_id_ = unk_it->second;
  return wp;
}

void WordPieceModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  // Character boundaries, as byte offsets: pieces are cut only there.
  std::vector<size_t> bounds = {0};
  for (size_t pos = 0; pos < word.size();) {
    pos += utf8_next(word.substr(pos)).length;
    bounds.push_back(pos);
  }
  if (bounds.size() - 1 > max_input_chars_per_word_) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first_piece = out.size();
  std::string candidate;
  for (size_t start = 0; start + 1 < bounds.size();) {
    size_t end = bounds.size() - 1;
    for (; end > start; --end) {
      candidate = start == 0 ? std::string() : continuing_subword_prefix_;
      candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
      if (const auto it = vocab_.find(candidate); it != vocab_.end()) {
        out.push_back(it->second);
        break;
      }
    }
    if (end == start) {  // no piece starts here: the whole word is unknown
      out.resize(first_piece);
      out.push_back(unk_id_);
      return;
    }
    start = end;
  }
}

std::optional<int32_t> WordPieceModel::token_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

const std::string* WordPieceModel::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !tokens_[id]) return nullptr;
  return &*tokens_[id];
}

}  // namespace genrt
