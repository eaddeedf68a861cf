#pragma once
// The lowercase of one character as the tokenizers library's Lowercase normalizer and
// BertNormalizer have it (Rust's char::to_lowercase): per character, not case folding, so
// "ß" stays and "ς" does not become "σ"; U+0130 (İ) is the one character whose lowercase
// is two, "i" and a combining dot above.

#include <utf8proc.h>

namespace genrt {

// Calls append(l) for each character l of c's lowercase.
template <class Append>
void append_lowercase(char32_t c, Append&& append) {
  if (c == U'\u0130') {
    append(U'i');
    append(U'\u0307');
  } else {
    append(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
}

}  // namespace genrt
