#pragma once
// What the engine, the CLI and the server need from a tokenizer, whatever its file format.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace genrt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // One more than the largest token id.
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;

  // Token ids for `text` (invalid UTF-8 is read as U+FFFD). With add_special, the
  // special tokens the tokenizer puts around text (BOS, ...) are added.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special) const = 0;
  // The bytes of the text the ids spell; with skip_special, control tokens spell nothing.
  // Raw bytes: a cut in the middle of a character stays cut (see StreamDecoder).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special) const = 0;
  // How token `id` is written in the vocabulary, for display.
  virtual std::string token_text(int32_t id) const = 0;
  // Control tokens (BOS, EOS, chat markers): what decode(..., skip_special) leaves out.
  virtual bool is_special(int32_t id) const = 0;
};

}  // namespace genrt
