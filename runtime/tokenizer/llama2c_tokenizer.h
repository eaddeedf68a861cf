#pragma once
// llama2.c's tokenizer.bin: SentencePiece-style BPE exported as
//   int32 max_token_length, then per token: float32 score, int32 length, bytes.
// Pieces use ' ' where SentencePiece uses U+2581; byte-fallback tokens are "<0xNN>".
// Encoding follows SentencePiece BPE: a dummy-prefix space, one token per character
// (bytes for characters outside the vocabulary), then repeatedly merge the adjacent pair
// whose concatenation is the highest-scoring piece.

#include <array>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

class Llama2cTokenizer final : public Tokenizer {
 public:
  // The vocabulary size is not stored in the file; it comes from the model. Throws when
  // the file is shorter than vocab_size entries, an entry is malformed, or bytes remain.
  static Llama2cTokenizer open(const std::filesystem::path& path, int64_t vocab_size);
  static Llama2cTokenizer from_pieces(std::vector<std::string> pieces, std::vector<float> scores);

  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  std::optional<int32_t> bos_id() const override { return 1; }
  std::optional<int32_t> eos_id() const override { return 2; }
  // add_special adds BOS.
  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  // "<0xNN>" decodes to its byte; the space that starts the first word after BOS (or at
  // the start) is dropped, as SentencePiece does.
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;
  std::string token_text(int32_t id) const override;
  bool is_special(int32_t id) const override;  // <s> and </s>

 private:
  Llama2cTokenizer(std::vector<std::string> pieces, std::vector<float> scores);

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> ids_;  // piece -> first id with that text
  std::array<int32_t, 256> byte_ids_{};           // "<0xNN>" token of each byte, or -1
};

}  // namespace genrt
