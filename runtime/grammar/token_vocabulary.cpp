#include "runtime/grammar/token_vocabulary.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace genrt::grammar {

namespace {

// The bytes `id` adds after other text. Decoders are not per token (a SentencePiece
// decoder drops the first space of the text, WordPiece joins "##" pieces): the token is
// decoded after an ordinary one and that one's text taken off, as streaming does.
// Special tokens are skipped, as in the text a sequence returns: a control token spells
// nothing there, whatever its vocabulary entry says.
std::string mid_text_bytes(const Tokenizer& tokenizer, int32_t anchor, const std::string& before, int32_t id) {
  const std::string both = tokenizer.decode(std::vector<int32_t>{anchor, id}, /*skip_special=*/true);
  if (both.size() >= before.size() && both.compare(0, before.size(), before) == 0) return both.substr(before.size());
  return tokenizer.decode(std::vector<int32_t>{id}, /*skip_special=*/true);
}

}  // namespace

TokenVocabulary::TokenVocabulary(const Tokenizer& tokenizer, int64_t size) {
  const int64_t vocab = tokenizer.vocab_size();
  GENRT_CHECK(size >= vocab, "grammar: the model's vocabulary of {} is smaller than its tokenizer's {}", size, vocab);
  bytes_.resize(static_cast<size_t>(size));
  const std::vector<int32_t> anchor = tokenizer.encode("a", /*add_special=*/false);
  const std::string anchor_text = anchor.empty() ? "" : tokenizer.decode(std::span(anchor).last(1), true);
  for (int32_t id = 0; id < vocab; ++id) {
    bytes_[static_cast<size_t>(id)] = anchor.empty() ? tokenizer.decode(std::vector<int32_t>{id}, true)
                                                     : mid_text_bytes(tokenizer, anchor.back(), anchor_text, id);
    if (!bytes_[static_cast<size_t>(id)].empty()) sorted_.push_back(id);
  }
  std::sort(sorted_.begin(), sorted_.end(), [&](int32_t a, int32_t b) {
    return bytes_[static_cast<size_t>(a)] < bytes_[static_cast<size_t>(b)];
  });
  shared_prefix_.resize(sorted_.size());
  for (size_t k = 0; k < sorted_.size(); ++k) {
    const std::string& t = bytes_[static_cast<size_t>(sorted_[k])];
    longest_ = std::max(longest_, t.size());
    if (k == 0) continue;
    const std::string& prev = bytes_[static_cast<size_t>(sorted_[k - 1])];
    const auto [a, b] = std::mismatch(t.begin(), t.end(), prev.begin(), prev.end());
    shared_prefix_[k] = static_cast<int32_t>(a - t.begin());
  }
}

}  // namespace genrt::grammar
