#pragma once
// Streaming detokenization: the text each new token adds, never half a character.
//
// Decoders are not always per-token (a SentencePiece decoder drops the first space of
// the text, byte-fallback tokens carry one byte each), so the decoder of a window of
// recent tokens is diffed: the text of window + new token minus the text of the window.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8_stream.h"

namespace genrt {

class StreamDecoder {
 public:
  // `context`: the tokens before the first one pushed (the end of the prompt), so that
  // the first generated token decodes as continuing text. Special tokens spell nothing,
  // but for `text_specials`, which are decoded as their text (a chat format's tool-call
  // marker).
  StreamDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context, std::vector<int32_t> text_specials = {});

  // Text made complete by `token`.
  std::string push(int32_t token);
  // What is still held back (an unfinished character becomes U+FFFD).
  std::string finish();

 private:
  // The text ids_[read_:] add after ids_[prefix_:read_]; nullopt while it is not a pure
  // extension.
  std::optional<std::string> new_text() const;

  // Whether `token` spells nothing: special, and not one of text_specials_.
  bool skipped(int32_t token) const;

  const Tokenizer& tokenizer_;
  std::vector<int32_t> text_specials_;
  std::vector<int32_t> ids_;
  size_t prefix_ = 0;  // start of the window decoded for context
  size_t read_ = 0;    // tokens up to here have been emitted
  Utf8Stream utf8_;
};

}  // namespace genrt
