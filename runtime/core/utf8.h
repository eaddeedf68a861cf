#pragma once
// Minimal UTF-8 helpers shared by the file parsers and the streaming detokenizer.

#include <cstddef>
#include <string_view>

namespace genrt {

// Length in bytes of the sequence that starts with `lead`, or 0 if `lead` cannot start
// one (a continuation byte, or 0xF8..0xFF).
size_t utf8_sequence_length(unsigned char lead);

// Length of the valid sequence at the start of `s`: 0 if `s` is empty or starts with an
// invalid sequence (bad lead, bad continuation, overlong, surrogate, > U+10FFFF); and
// npos if `s` holds only a valid but incomplete prefix of one.
size_t utf8_valid_prefix(std::string_view s);

bool is_valid_utf8(std::string_view s);

}  // namespace genrt
