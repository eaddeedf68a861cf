#include "runtime/core/base64.h"

#include <algorithm>
#include <cstdint>

#include "runtime/core/error.h"

namespace genrt {

namespace {
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t j = 0; j < 3; ++j) chunk = (chunk << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (size_t j = 0; j < 4; ++j) out.push_back(j <= n ? kAlphabet[(chunk >> (18 - 6 * j)) & 63] : '=');
  }
  return out;
}

std::string base64_decode(std::string_view text, std::string_view what) {
  GENRT_CHECK(text.size() % 4 == 0, "{}: base64 of {} characters (not a multiple of 4)", what, text.size());
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t chunk = 0;
    size_t padding = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++padding;
        chunk <<= 6;
        continue;
      }
      const size_t value = kAlphabet.find(c);
      GENRT_CHECK(value != std::string_view::npos && padding == 0, "{}: '{}' at {} is not base64", what, c, i + j);
      chunk = (chunk << 6) | static_cast<uint32_t>(value);
    }
    for (size_t j = 0; j < 3 - padding; ++j) out.push_back(static_cast<char>((chunk >> (16 - 8 * j)) & 0xFF));
  }
  return out;
}

}  // namespace genrt
