#include "runtime/tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

#include "runtime/core/utf8.h"

namespace genrt {

namespace {

struct ByteMap {
  std::array<char32_t, 256> code_point{};
  std::array<std::string, 256> spelling;
  std::unordered_map<char32_t, unsigned char> byte_of;

  ByteMap() {
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      code_point[b] = printable(b) ? static_cast<char32_t>(b) : next++;
      append_utf8(spelling[b], code_point[b]);
      byte_of[code_point[b]] = static_cast<unsigned char>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::string& byte_to_unicode(unsigned char b) { return byte_map().spelling[b]; }

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(static_cast<unsigned char>(c));
  return out;
}

std::optional<unsigned char> unicode_to_byte(char32_t code_point) {
  const auto& map = byte_map().byte_of;
  const auto it = map.find(code_point);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace genrt
