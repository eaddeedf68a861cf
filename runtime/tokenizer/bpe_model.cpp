#include "runtime/tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <limits>
#include <queue>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/tokenizer/token_text.h"

namespace genrt {

BpeModel BpeModel::from_json(const nlohmann::json& model, const std::string& where_file) {
  const std::string where = where_file + ": model";
  GENRT_CHECK(model.is_object(), "{} must be an object", where);
  const std::string type = model.value("type", "BPE");
  GENRT_CHECK(type == "BPE", "{}: type '{}' is not supported (genrt reads BPE tokenizers)", where, type);
  const auto prefix = model.find("continuing_subword_prefix");
  GENRT_CHECK(prefix == model.end() || prefix->is_null() || (prefix->is_string() && prefix->get<std::string>().empty()),
              "{}: 'continuing_subword_prefix' is not supported", where);
  const auto dropout = model.find("dropout");
  GENRT_CHECK(dropout == model.end() || dropout->is_null(), "{}: BPE dropout is not supported", where);

  BpeModel bpe;
  bpe.byte_fallback_ = model.value("byte_fallback", false);
  const auto suffix = model.find("end_of_word_suffix");
  if (suffix != model.end() && !suffix->is_null()) {
    GENRT_CHECK(suffix->is_string(), "{}: end_of_word_suffix must be a string", where);
    bpe.end_of_word_suffix_ = suffix->get<std::string>();
  }
  GENRT_CHECK(bpe.end_of_word_suffix_.empty() || !bpe.byte_fallback_,
              "{}: end_of_word_suffix with byte_fallback is not supported", where);
  bpe.fuse_unk_ = model.value("fuse_unk", false);
  bpe.ignore_merges_ = model.value("ignore_merges", false);
  bpe.byte_ids_.fill(-1);

  const auto vocab = model.find("vocab");
  GENRT_CHECK(vocab != model.end() && vocab->is_object(), "{}: missing 'vocab' object", where);
  for (const auto& [token, id_json] : vocab->items()) {
    GENRT_CHECK(token.size() <= kMaxTokenBytes, "{}: a vocab entry of {} bytes is longer than the {}-byte limit", where,
                token.size(), kMaxTokenBytes);
    GENRT_CHECK(id_json.is_number_integer() && id_json.get<int64_t>() >= 0 &&
                    id_json.get<int64_t>() < std::numeric_limits<int32_t>::max(),
                "{}: vocab entry '{}' has id {}, not a non-negative 32-bit integer", where, token, id_json.dump());
    const auto id = id_json.get<int32_t>();
    if (static_cast<size_t>(id) >= bpe.tokens_.size()) bpe.tokens_.resize(static_cast<size_t>(id) + 1);
    GENRT_CHECK(!bpe.tokens_[id], "{}: id {} is given to both '{}' and '{}'", where, id, *bpe.tokens_[id], token);
    bpe.tokens_[id] = token;
    bpe.vocab_.emplace(token, id);
    if (bpe.byte_fallback_ && looks_like_byte_token(token)) {
      const int byte = parse_byte_token(token);
      GENRT_CHECK(byte >= 0, "{}: byte-fallback token '{}' must be <0xNN> with two hex digits", where, token);
      bpe.byte_ids_[byte] = id;
    }
  }

  const auto merges = model.find("merges");
  GENRT_CHECK(merges != model.end() && merges->is_array(), "{}: missing 'merges' array", where);
  int32_t rank = 0;
  for (const auto& m : *merges) {
    // Older files write "left right", newer ones ["left", "right"].
    std::string left, right;
    if (m.is_string()) {
      const std::string text = m.get<std::string>();
      const size_t space = text.find(' ');
      GENRT_CHECK(space != std::string::npos && text.find(' ', space + 1) == std::string::npos,
                  "{}: merge {} '{}' is not two tokens separated by one space", where, rank, text);
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else {
      GENRT_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
                  "{}: merge {} must be \"a b\" or [\"a\", \"b\"], got {}", where, rank, m.dump());
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    }
    const auto a = bpe.vocab_.find(left), b = bpe.vocab_.find(right), ab = bpe.vocab_.find(left + right);
    GENRT_CHECK(a != bpe.vocab_.end(), "{}: merge {} names '{}', which is not in the vocabulary", where, rank, left);
    GENRT_CHECK(b != bpe.vocab_.end(), "{}: merge {} names '{}', which is not in the vocabulary", where, rank, right);
    GENRT_CHECK(ab != bpe.vocab_.end(), "{}: merge {} makes '{}', which is not in the vocabulary", where, rank,
                left + right);
    bpe.merges_.try_emplace(pair_key(a->second, b->second), Merge{rank, ab->second});  // first rank wins
    ++rank;
  }

  const auto unk = model.find("unk_token");
  if (unk != model.end() && !unk->is_null()) {
    GENRT_CHECK(unk->is_string(), "{}: unk_token must be a string", where);
    const auto it = bpe.vocab_.find(unk->get<std::string>());
    GENRT_CHECK(it != bpe.vocab_.end(), "{}: unk_token '{}' is not in the vocabulary", where, unk->get<std::string>());
    bpe.unk_id_ = it->second;
  }
  return bpe;
}

std::optional<int32_t> BpeModel::token_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::token(int32_t id) const {
  if (id < 0 || id >= id_bound() || !tokens_[id]) return nullptr;
  return &*tokens_[id];
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const auto id = token_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  std::vector<int32_t> symbols;
  bool last_was_unk = false;
  std::string last_char;  // the word's last character with the end-of-word suffix
  for (size_t i = 0; i < word.size();) {
    const size_t length = utf8_next(word.substr(i)).length;
    std::string_view ch = word.substr(i, length);
    i += length;
    if (i == word.size() && !end_of_word_suffix_.empty()) {
      last_char = std::string(ch) + end_of_word_suffix_;
      ch = last_char;
    }
    if (const auto id = token_id(ch)) {
      symbols.push_back(*id);
      last_was_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        for (char c : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
        last_was_unk = false;
        continue;
      }
    }
    if (unk_id_) {  // without an unknown token the character is dropped, as in tokenizers
      if (!(fuse_unk_ && last_was_unk)) symbols.push_back(*unk_id_);
      last_was_unk = true;
    }
  }
  merge_symbols(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::merge_symbols(std::vector<int32_t>& symbols) const {
  // Symbols form a linked list; a min-heap holds candidate merges by (rank, position), so
  // the lowest-ranked pair merges first and the leftmost wins ties: O(n log n) even for
  // a whole SentencePiece-style prompt, which has no pre-tokenizer to cut it into words.
  const auto n = static_cast<int32_t>(symbols.size());
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, left, left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const auto it = merges_.find(pair_key(symbols[left], symbols[next[left]]));
    if (it != merges_.end()) heap.push({it->second.rank, left, symbols[left], symbols[next[left]]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int32_t right = next[c.left];
    // Skip candidates made stale by an earlier merge of either side.
    if (!alive[c.left] || right < 0 || symbols[c.left] != c.left_id || symbols[right] != c.right_id) continue;
    symbols[c.left] = merges_.at(pair_key(c.left_id, c.right_id)).merged;
    alive[right] = false;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  std::vector<int32_t> merged;
  for (int32_t i = 0; i >= 0; i = next[i]) merged.push_back(symbols[i]);
  symbols = std::move(merged);
}

}  // namespace genrt
