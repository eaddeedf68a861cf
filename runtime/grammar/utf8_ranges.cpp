#include "runtime/grammar/utf8_ranges.h"

#include <algorithm>
#include <array>

#include "runtime/core/error.h"

namespace genrt::grammar {

namespace {

int encoded_length(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

std::array<uint8_t, 4> encode(char32_t c, int length) {
  std::array<uint8_t, 4> b{};
  static constexpr uint8_t kLead[] = {0, 0x00, 0xC0, 0xE0, 0xF0};
  for (int i = length - 1; i > 0; --i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(0x80 | (c & 0x3F));
    c >>= 6;
  }
  b[0] = static_cast<uint8_t>(kLead[length] | c);
  return b;
}

// [lo, hi] is split until every piece encodes to the same length and, byte by byte, to a
// product of ranges: lo and hi then differ only in the trailing bytes that run over their
// whole range (80..BF), which a piece is split at otherwise.
void split(char32_t lo, char32_t hi, std::vector<ByteRangeSequence>& out) {
  static constexpr char32_t kLengthEnds[] = {0x7F, 0x7FF, 0xFFFF};
  for (const char32_t end : kLengthEnds) {
    if (lo <= end && end < hi) {
      split(lo, end, out);
      split(end + 1, hi, out);
      return;
    }
  }
  const int length = encoded_length(lo);
  for (int i = 1; i < length; ++i) {
    const char32_t low_bits = (char32_t{1} << (6 * i)) - 1;  // the last i bytes' payload
    if ((lo & ~low_bits) == (hi & ~low_bits)) continue;
    if ((lo & low_bits) != 0) {
      split(lo, lo | low_bits, out);
      split((lo | low_bits) + 1, hi, out);
      return;
    }
    if ((hi & low_bits) != low_bits) {
      split(lo, (hi & ~low_bits) - 1, out);
      split(hi & ~low_bits, hi, out);
      return;
    }
  }
  const auto a = encode(lo, length), b = encode(hi, length);
  ByteRangeSequence sequence;
  for (int i = 0; i < length; ++i) sequence.push_back({a[static_cast<size_t>(i)], b[static_cast<size_t>(i)]});
  out.push_back(std::move(sequence));
}

}  // namespace

std::vector<ByteRangeSequence> utf8_byte_ranges(char32_t lo, char32_t hi) {
  GENRT_CHECK(lo <= hi && hi <= 0x10FFFF, "utf8_byte_ranges: [U+{:X}, U+{:X}] is not a range of code points",
              static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
  std::vector<ByteRangeSequence> out;
  constexpr char32_t kSurrogatesBegin = 0xD800, kSurrogatesEnd = 0xDFFF;
  if (lo < kSurrogatesBegin) split(lo, std::min<char32_t>(hi, kSurrogatesBegin - 1), out);
  if (hi > kSurrogatesEnd) split(std::max<char32_t>(lo, kSurrogatesEnd + 1), hi, out);
  return out;
}

}  // namespace genrt::grammar
