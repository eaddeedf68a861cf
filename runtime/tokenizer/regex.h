#pragma once
// Unicode regular expressions for tokenizer pre-splitting, through PCRE2 (UTF mode with
// Unicode properties: \p{L}, \p{N}, case-insensitive groups, lookahead), compiled once.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace genrt {

class Regex {
 public:
  // Throws genrt::Error naming `where` and PCRE2's message if the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Byte ranges [begin, end) of the successive non-overlapping matches in valid UTF-8
  // `text`; empty matches are skipped.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace genrt
