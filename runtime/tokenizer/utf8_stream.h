#pragma once
// Incremental UTF-8 assembly for streaming: tokens can end in the middle of a character
// (byte-fallback tokens carry one byte each), so bytes are held back until the character
// is complete. Invalid bytes come out as U+FFFD; nothing half-formed is ever emitted.

#include <string>
#include <string_view>

namespace genrt {

class Utf8Stream {
 public:
  // Appends bytes and returns the text that is now complete and safe to print.
  std::string push(std::string_view bytes);
  // Ends the stream: returns what is still held (an unfinished character becomes U+FFFD).
  std::string finish();

 private:
  std::string pending_;
};

}  // namespace genrt
