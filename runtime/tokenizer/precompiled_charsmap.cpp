#include "runtime/tokenizer/precompiled_charsmap.h"

#include <utf8proc.h>

#include <cstring>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"

namespace genrt {

namespace {

// A Darts-clone unit: bit 8 says a leaf hangs below; a leaf's low 31 bits are its value;
// an inner unit's label is its low byte (bit 31 kept, so a leaf never matches a byte) and
// its children lie at an offset of bits 10..31, shifted 8 more when bit 9 is set.
bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) != 0; }
uint32_t value(uint32_t unit) { return unit & 0x7FFFFFFFu; }
uint32_t label(uint32_t unit) { return unit & 0x800000FFu; }
uint32_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

// Graphemes under this many bytes are looked up whole (tokenizers' rule).
constexpr size_t kWholeGraphemeBytes = 6;

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob, const std::string& where) {
  GENRT_CHECK(blob.size() >= 4, "{}: precompiled charsmap of {} bytes has no trie size", where, blob.size());
  uint32_t trie_bytes = 0;
  for (int i = 3; i >= 0; --i) trie_bytes = (trie_bytes << 8) | static_cast<unsigned char>(blob[static_cast<size_t>(i)]);
  GENRT_CHECK(trie_bytes % 4 == 0 && trie_bytes > 0 && trie_bytes <= blob.size() - 4,
              "{}: precompiled charsmap says its trie has {} bytes, but it holds {}", where, trie_bytes, blob.size() - 4);
  units_.resize(trie_bytes / 4);
  for (size_t i = 0; i < units_.size(); ++i) {
    const auto* b = reinterpret_cast<const unsigned char*>(blob.data() + 4 + 4 * i);
    units_[i] = b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
  }
  pool_ = std::string(blob.substr(4 + trie_bytes));
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view key) const {
  size_t pos = offset(units_[0]);
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    pos ^= c;
    if (pos >= units_.size()) return std::nullopt;  // a hostile trie points outside itself
    const uint32_t unit = units_[pos];
    if (label(unit) != c) return std::nullopt;
    pos ^= offset(unit);
    if (pos >= units_.size()) return std::nullopt;
    if (has_leaf(unit)) {
      const uint32_t start = value(units_[pos]);
      if (start >= pool_.size()) return std::nullopt;
      const std::string_view rest = std::string_view(pool_).substr(start);
      return rest.substr(0, rest.find('\0'));
    }
  }
  return std::nullopt;
}

std::string PrecompiledCharsmap::normalize(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  // Each character of one grapheme: replaced, or kept.
  const auto by_character = [&](std::string_view grapheme) {
    while (!grapheme.empty()) {
      const size_t n = utf8_next(grapheme).length;
      const std::string_view c = grapheme.substr(0, n);
      const auto replacement = transform(c);
      out += replacement ? *replacement : c;
      grapheme.remove_prefix(n);
    }
  };
  const auto emit = [&](std::string_view grapheme) {
    if (grapheme.size() < kWholeGraphemeBytes) {
      if (const auto replacement = transform(grapheme)) {
        out += *replacement;
        return;
      }
    }
    by_character(grapheme);
  };
  // Extended grapheme clusters (UAX #29) by utf8proc; bytes that are not UTF-8 stand alone.
  size_t begin = 0;
  utf8proc_int32_t previous = -1, state = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const Utf8Sequence seq = utf8_next(rest);
    const size_t at = text.size() - rest.size();
    if (seq.kind != Utf8Sequence::valid) {
      emit(text.substr(begin, at - begin));
      out.append(rest.substr(0, seq.length));
      begin = at + seq.length;
      previous = -1;
      state = 0;
    } else {
      const auto cp = static_cast<utf8proc_int32_t>(seq.code_point);
      if (previous >= 0 && utf8proc_grapheme_break_stateful(previous, cp, &state)) {
        emit(text.substr(begin, at - begin));
        begin = at;
      }
      previous = cp;
    }
    rest.remove_prefix(seq.length);
  }
  if (begin < text.size()) emit(text.substr(begin));
  return out;
}

}  // namespace genrt
