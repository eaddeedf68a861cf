#pragma once
// GPT-2's byte-to-unicode map: byte-level BPE vocabularies spell every byte as a
// printable character, so that merges never see whitespace or control bytes. Printable
// Latin-1 bytes map to themselves; the other 68 map to U+0100 onwards, in byte order.

#include <optional>
#include <string>
#include <string_view>

namespace genrt {

// The UTF-8 spelling of byte b's character.
const std::string& byte_to_unicode(unsigned char b);
// Each byte of `bytes` spelled as its character.
std::string bytes_to_unicode(std::string_view bytes);
// The byte a character of the map stands for; nullopt for any other character.
std::optional<unsigned char> unicode_to_byte(char32_t code_point);

}  // namespace genrt
