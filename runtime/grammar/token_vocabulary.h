#pragma once
// A tokenizer's vocabulary as constrained decoding sees it: each token's bytes as they
// appear in the middle of generated text, and the tokens in byte order, each with the
// length of the prefix it shares with the one before. Walking that list is walking a trie
// of the vocabulary: a prefix's parse is computed once for all the tokens that share it,
// and a prefix that no parse takes rules them all out at once.
//
// Built once per tokenizer (a decode per token) and shared by every grammar over it.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/tokenizer/tokenizer.h"

namespace genrt::grammar {

class TokenVocabulary {
 public:
  // `size`: the model's vocabulary, which may pad the tokenizer's (ids past the
  // tokenizer's spell nothing).
  TokenVocabulary(const Tokenizer& tokenizer, int64_t size);

  int64_t size() const { return static_cast<int64_t>(bytes_.size()); }
  // Empty for tokens no grammar allows: those that spell nothing in returned text
  // (control tokens among them).
  const std::string& bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  // The tokens that spell something, in byte order.
  std::span<const int32_t> sorted() const { return sorted_; }
  // Bytes sorted()[k] shares with sorted()[k - 1] (0 for k = 0).
  std::span<const int32_t> shared_prefix() const { return shared_prefix_; }
  size_t longest_token() const { return longest_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<int32_t> sorted_;
  std::vector<int32_t> shared_prefix_;
  size_t longest_ = 0;
};

}  // namespace genrt::grammar
