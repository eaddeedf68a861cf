#pragma once
// UTF-8 helpers shared by the file parsers, the tokenizers and streaming output.
// Invalid input is handled the way Python's errors="replace" and Rust's
// from_utf8_lossy do: one U+FFFD per maximal invalid subpart (Unicode 15, section 3.9).

#include <cstddef>
#include <string>
#include <string_view>

namespace genrt {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

struct Utf8Sequence {
  enum Kind { valid, invalid, incomplete } kind;
  size_t length;           // valid: bytes of the character; invalid: bytes of the maximal
                           // invalid subpart (>= 1); incomplete: all of the input
  char32_t code_point = 0;  // valid only
};

// Classifies the sequence at the start of a non-empty `s`. `incomplete` means every byte
// of `s` is a valid start of a longer character (more input may complete it).
Utf8Sequence utf8_next(std::string_view s);

bool is_valid_utf8(std::string_view s);
// Bytes before the first invalid or unfinished sequence: s.size() when `s` is valid.
size_t valid_utf8_prefix(std::string_view s);
// `s` with each invalid subpart (and an unfinished character at the end) as U+FFFD.
std::string utf8_lossy(std::string_view s);
void append_utf8(std::string& out, char32_t code_point);

}  // namespace genrt
