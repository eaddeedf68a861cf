#pragma once
// The BPE model of a Hugging Face tokenizer.json ("model": {"type": "BPE", ...}): a
// vocabulary, merges ranked by their order in the file, and what to do with characters
// outside the vocabulary (byte fallback to <0xNN> tokens, or the unknown token). With an
// end_of_word_suffix (CLIP's "</w>"), a word's last character is looked up with the
// suffix appended, so merges can tell word ends from word middles.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

class BpeModel {
 public:
  // Longer tokens are refused: real vocabularies stay far below (GPT-4o's longest is
  // 128 bytes), and an entry of megabytes is an attack on memory, not a token.
  static constexpr size_t kMaxTokenBytes = 4096;

  // Validates as it reads: ids non-negative and unique, every merge names two tokens of
  // the vocabulary whose concatenation is one too, <0x..> tokens have two hex digits,
  // the unknown token exists. Errors name `where` and the entry.
  static BpeModel from_json(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one pre-tokenized word (valid UTF-8).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_id(std::string_view token) const;
  // The token with this id, or nullptr for ids the vocabulary does not use.
  const std::string* token(int32_t id) const;
  int64_t id_bound() const { return static_cast<int64_t>(tokens_.size()); }  // max id + 1

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void merge_symbols(std::vector<int32_t>& symbols) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::optional<std::string>> tokens_;  // id -> token
  std::unordered_map<uint64_t, Merge> merges_;      // (left id, right id) -> merge
  std::array<int32_t, 256> byte_ids_{};             // <0xNN> token of each byte, or -1
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string end_of_word_suffix_;
};

}  // namespace genrt
