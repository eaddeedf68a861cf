#include "runtime/core/utf8.h"

namespace genrt {

size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte, or 0xC0/0xC1 (always overlong)
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

size_t utf8_valid_prefix(std::string_view s) {
  if (s.empty()) return 0;
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t length = utf8_sequence_length(lead);
  if (length <= 1) return length;
  for (size_t i = 1; i < length; ++i) {
    if (i >= s.size()) return std::string_view::npos;  // valid so far, more bytes needed
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) return 0;
    if (i == 1) {
      // The second byte's range rules out overlongs, surrogates and code points > U+10FFFF.
      if ((lead == 0xE0 && c < 0xA0) || (lead == 0xED && c > 0x9F) ||
          (lead == 0xF0 && c < 0x90) || (lead == 0xF4 && c > 0x8F)) {
        return 0;
      }
    }
  }
  return length;
}

bool is_valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const size_t n = utf8_valid_prefix(s);
    if (n == 0 || n == std::string_view::npos) return false;
    s.remove_prefix(n);
  }
  return true;
}

}  // namespace genrt
