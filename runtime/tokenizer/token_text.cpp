#include "runtime/tokenizer/token_text.h"

#include <fmt/format.h>

namespace genrt {

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

bool looks_like_byte_token(std::string_view token) {
  return token.size() >= 4 && token.substr(0, 3) == "<0x" && token.back() == '>';
}

int parse_byte_token(std::string_view token) {
  if (token.size() != 6 || !looks_like_byte_token(token)) return -1;
  const int high = hex_digit(token[3]), low = hex_digit(token[4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

std::string byte_token(unsigned char b) { return fmt::format("<0x{:02X}>", b); }

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; !from.empty() && (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos)).append(to);
  }
  return out.append(text.substr(pos));
}

}  // namespace genrt
