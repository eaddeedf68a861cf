#pragma once
// SentencePiece's precompiled normalization (the "Precompiled" normalizer of XLM-R's and
// T5's tokenizer.json, e.g. its nmt_nfkc rules): a double-array trie (Darts-clone) from
// byte sequences to replacement strings, applied as Hugging Face tokenizers applies it.
// Each extended grapheme cluster under 6 bytes is replaced whole when a prefix of it is a
// key (the shortest such prefix's replacement stands for the whole cluster); any other
// cluster is replaced character by character, a character without a key kept as it is.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace genrt {

class PrecompiledCharsmap {
 public:
  // `blob`: the charsmap's bytes (a little-endian u32 trie size in bytes, the trie's u32
  // units, then the NUL-separated replacement strings). Throws genrt::Error naming `where`
  // for a blob that does not hold its trie.
  PrecompiledCharsmap(std::string_view blob, const std::string& where);

  std::string normalize(std::string_view text) const;

 private:
  // The replacement of the shortest prefix of `key` that is a key of the trie.
  std::optional<std::string_view> transform(std::string_view key) const;

  std::vector<uint32_t> units_;
  std::string pool_;
};

}  // namespace genrt
