#pragma once
// String helpers shared by the tokenizers.

#include <string>
#include <string_view>

namespace genrt {

// "<0xNN>" (two hex digits) -> 0..255; -1 for any other token.
int parse_byte_token(std::string_view token);
// True for tokens of the form "<0x...>", well-formed or not.
bool looks_like_byte_token(std::string_view token);
// The byte-fallback token of `b`: "<0xNN>" with upper-case hex digits.
std::string byte_token(unsigned char b);

std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

}  // namespace genrt
