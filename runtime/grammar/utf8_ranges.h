#pragma once
// Ranges of Unicode code points as sequences of byte ranges: what a character class
// becomes when it is matched byte by byte. For example U+0080..U+07FF is the one sequence
// [C2-DF][80-BF], and U+0800..U+FFFF (without the surrogates, which UTF-8 cannot encode)
// is [E0][A0-BF][80-BF] | [E1-EC][80-BF][80-BF] | [ED][80-9F][80-BF] | [EE-EF][80-BF][80-BF].

#include <cstdint>
#include <utility>
#include <vector>

namespace genrt::grammar {

struct ByteRange {
  uint8_t lo = 0, hi = 0;
  bool operator==(const ByteRange&) const = default;
};
using ByteRangeSequence = std::vector<ByteRange>;

// The byte sequences that spell exactly the UTF-8 encodings of the code points in
// [lo, hi] (surrogates U+D800..U+DFFF left out), shortest encodings first; each
// sequence's byte ranges match the bytes of one length. Requires lo <= hi <= U+10FFFF.
std::vector<ByteRangeSequence> utf8_byte_ranges(char32_t lo, char32_t hi);

}  // namespace genrt::grammar
