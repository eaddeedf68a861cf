#pragma once
// What the engine and the CLI need from a tokenizer, whatever its file format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace genrt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;

  // Token ids for `text`, with BOS first when add_bos is set (and the vocabulary has one).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // The bytes `token` adds to the text when it follows `previous` (-1 at the start).
  // May be part of a UTF-8 character: feed it through Utf8Stream for display.
  virtual std::string decode_token(int32_t previous, int32_t token) const = 0;

  std::string decode(const std::vector<int32_t>& tokens) const;
};

}  // namespace genrt
