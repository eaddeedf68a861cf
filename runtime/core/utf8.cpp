#include "runtime/core/utf8.h"

namespace genrt {

namespace {
// Bytes of the sequence a lead byte starts, or 0 if it cannot start one (a continuation
// byte, the always-overlong C0/C1, or F5..FF).
size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}
}  // namespace

Utf8Sequence utf8_next(std::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t length = sequence_length(lead);
  if (length == 0) return {Utf8Sequence::invalid, 1};
  if (length == 1) return {Utf8Sequence::valid, 1, lead};
  char32_t code_point = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if (i >= s.size()) return {Utf8Sequence::incomplete, s.size()};
    const auto c = static_cast<unsigned char>(s[i]);
    // The second byte's range rules out overlongs, surrogates and code points > U+10FFFF.
    const unsigned char low = i == 1 && lead == 0xE0 ? 0xA0 : i == 1 && lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = i == 1 && lead == 0xED ? 0x9F : i == 1 && lead == 0xF4 ? 0x8F : 0xBF;
    if (c < low || c > high) return {Utf8Sequence::invalid, i};
    code_point = (code_point << 6) | (c & 0x3F);
  }
  return {Utf8Sequence::valid, length, code_point};
}

size_t valid_utf8_prefix(std::string_view s) {
  size_t offset = 0;
  while (offset < s.size()) {
    const Utf8Sequence seq = utf8_next(s.substr(offset));
    if (seq.kind != Utf8Sequence::valid) break;
    offset += seq.length;
  }
  return offset;
}

bool is_valid_utf8(std::string_view s) { return valid_utf8_prefix(s) == s.size(); }

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const Utf8Sequence seq = utf8_next(s);
    if (seq.kind == Utf8Sequence::valid) {
      out.append(s.substr(0, seq.length));
    } else {
      out.append(kReplacementCharacter);
    }
    s.remove_prefix(seq.length);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace genrt
