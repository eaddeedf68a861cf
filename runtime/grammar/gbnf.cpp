#include "runtime/grammar/gbnf.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/grammar/utf8_ranges.h"

namespace genrt::grammar {

namespace {

// Deeper parentheses are refused rather than parsed by deeper recursion.
constexpr int kMaxNesting = 64;
constexpr char32_t kMaxCodePoint = 0x10FFFF;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

using CodePointRanges = std::vector<std::pair<char32_t, char32_t>>;

// Sorted, merged, and complemented over all code points when negated.
CodePointRanges normalized(CodePointRanges ranges, bool negated) {
  std::sort(ranges.begin(), ranges.end());
  CodePointRanges merged;
  for (const auto& [lo, hi] : ranges) {
    if (!merged.empty() && lo <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, hi);
    } else {
      merged.emplace_back(lo, hi);
    }
  }
  if (!negated) return merged;
  CodePointRanges complement;
  char32_t next = 0;
  for (const auto& [lo, hi] : merged) {
    if (lo > next) complement.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) complement.emplace_back(next, kMaxCodePoint);
  return complement;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  GrammarRules parse() {
    skip_space(true);
    while (!at_end()) {
      parse_rule();
      skip_space(true);
    }
    return std::move(g_);
  }

 private:
  template <class... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
    const std::string_view before = text_.substr(0, pos_);
    const auto line = std::count(before.begin(), before.end(), '\n') + 1;
    const size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    fail("grammar: line {}, column {}: {}", line, pos_ - line_start + 1,
         fmt::format(format, std::forward<Args>(args)...));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  // Spaces, tabs and comments; line breaks too when `newlines` (inside parentheses, after
  // '|', between rules).
  void skip_space(bool newlines) {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || ((c == '\n' || c == '\r') && newlines)) {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      } else {
        return;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    if (pos_ == start) error("expected a rule name, found '{}'", peek());
    return std::string(text_.substr(start, pos_ - start));
  }

  void parse_rule() {
    const std::string name = parse_name();
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") error("expected '::=' after the rule name '{}'", name);
    pos_ += 3;
    skip_space(true);
    const int32_t rule = g_.rule(name);
    if (g_.rules[static_cast<size_t>(rule)].defined) error("rule '{}' is defined twice", name);
    rule_name_ = name;
    parse_alternatives(rule, 0);
    skip_space(false);
    if (!at_end() && peek() != '\n' && peek() != '\r') error("unexpected '{}' in rule '{}'", peek(), name);
  }

  void parse_alternatives(int32_t rule, int nesting) {
    g_.add_alternative(rule, parse_sequence(nesting));
    while (peek() == '|') {
      ++pos_;
      skip_space(true);
      g_.add_alternative(rule, parse_sequence(nesting));
    }
  }

  std::vector<Symbol> parse_sequence(int nesting) {
    std::vector<Symbol> sequence;
    const bool newlines = nesting > 0;
    while (!at_end()) {
      const size_t item_start = sequence.size();
      const char c = peek();
      if (c == '"') {
        parse_literal(sequence);
      } else if (c == '[') {
        sequence.push_back(parse_class());
      } else if (c == '.') {
        ++pos_;
        sequence.push_back(class_symbol({}, /*negated=*/true));
      } else if (c == '(') {
        if (nesting == kMaxNesting) error("parentheses nest deeper than {}", kMaxNesting);
        ++pos_;
        skip_space(true);
        const int32_t group = g_.helper_rule(rule_name_);
        parse_alternatives(group, nesting + 1);
        skip_space(true);
        if (peek() != ')') error("expected ')' to close a group");
        ++pos_;
        sequence.push_back(group);
      } else if (is_name_char(c)) {
        sequence.push_back(g_.rule(parse_name()));
      } else {
        break;
      }
      skip_space(newlines);
      parse_repetition(sequence, item_start);
      skip_space(newlines);
    }
    return sequence;
  }

  int64_t parse_count() {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), n);
    if (ec != std::errc() || n < 0) error("expected a repetition count");
    pos_ = static_cast<size_t>(end - text_.data());
    if (n > kMaxRepetition) error("repetition count {} is over {}", n, kMaxRepetition);
    return n;
  }

  // A postfix * + ? {m} {m,} {m,n} on the item sequence[item_start:].
  void parse_repetition(std::vector<Symbol>& sequence, size_t item_start) {
    int64_t min = 0, max = -1;  // max -1: unbounded
    switch (peek()) {
      case '*': break;
      case '+': min = 1; break;
      case '?': max = 1; break;
      case '{': {
        ++pos_;
        skip_space(false);
        min = max = parse_count();
        skip_space(false);
        if (peek() == ',') {
          ++pos_;
          skip_space(false);
          max = peek() == '}' ? -1 : parse_count();
          skip_space(false);
        }
        if (peek() != '}') error("expected '}}' to close a repetition");
        if (max >= 0 && max < min) error("repetition {{{},{}}} has its maximum below its minimum", min, max);
        break;
      }
      default: return;
    }
    ++pos_;
    if (item_start == sequence.size()) error("a repetition must follow an item");
    const std::vector<Symbol> item(sequence.begin() + static_cast<std::ptrdiff_t>(item_start), sequence.end());
    sequence.resize(item_start);
    for (int64_t i = 0; i < min; ++i) sequence.insert(sequence.end(), item.begin(), item.end());
    // The optional copies as right recursion, each rule's last symbol the next one's
    // call, so that the matcher's stacks stay flat however many copies it matches.
    if (max < 0) {
      const int32_t more = g_.helper_rule(rule_name_);
      std::vector<Symbol> alternative = item;
      alternative.push_back(more);
      g_.add_alternative(more, std::move(alternative));
      g_.add_alternative(more, {});
      sequence.push_back(more);
      return;
    }
    int32_t tail = -1;
    for (int64_t i = min; i < max; ++i) {
      const int32_t optional = g_.helper_rule(rule_name_);
      std::vector<Symbol> alternative = item;
      if (tail >= 0) alternative.push_back(tail);
      g_.add_alternative(optional, std::move(alternative));
      g_.add_alternative(optional, {});
      tail = optional;
    }
    if (tail >= 0) sequence.push_back(tail);
  }

  char32_t parse_hex(int digits) {
    char32_t c = 0;
    for (int i = 0; i < digits; ++i) {
      const char h = peek();
      const int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (v < 0) error("expected {} hex digits in an escape", digits);
      c = c * 16 + static_cast<char32_t>(v);
      ++pos_;
    }
    if (c > kMaxCodePoint) error("escape U+{:X} is beyond the last code point", static_cast<uint32_t>(c));
    return c;
  }

  // One character of a literal or class, escapes read.
  char32_t parse_char() {
    if (at_end()) error("unexpected end of the grammar");
    if (peek() != '\\') {
      const Utf8Sequence s = utf8_next(text_.substr(pos_));
      if (s.kind != Utf8Sequence::valid) error("the grammar is not valid UTF-8");
      pos_ += s.length;
      return s.code_point;
    }
    ++pos_;
    const char e = peek();
    ++pos_;
    switch (e) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case '\\': case '"': case '\'': case '[': case ']': case '-': case '/': case '^': return static_cast<char32_t>(e);
      case 'x': return parse_hex(2);
      case 'u': return parse_hex(4);
      case 'U': return parse_hex(8);
      default: --pos_; error("unknown escape '\\{}'", e);
    }
  }

  void parse_literal(std::vector<Symbol>& sequence) {
    ++pos_;  // "
    while (peek() != '"') {
      if (at_end() || peek() == '\n' || peek() == '\r') error("unterminated literal");
      std::string bytes;
      append_utf8(bytes, parse_char());
      for (const char b : bytes) {
        ByteSet set;
        set.add(static_cast<uint8_t>(b));
        sequence.push_back(g_.terminal(set));
      }
    }
    ++pos_;
  }

  Symbol parse_class() {
    const size_t start = pos_;
    ++pos_;  // [
    const bool negated = peek() == '^';
    if (negated) ++pos_;
    CodePointRanges ranges;
    while (peek() != ']') {
      if (at_end() || peek() == '\n' || peek() == '\r') error("unterminated character class");
      const char32_t lo = parse_char();
      char32_t hi = lo;
      if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
        ++pos_;
        hi = parse_char();
        if (hi < lo) error("character range U+{:X}-U+{:X} is backwards", static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
      }
      ranges.emplace_back(lo, hi);
    }
    ++pos_;
    const std::string text(text_.substr(start, pos_ - start));
    if (const auto it = classes_.find(text); it != classes_.end()) return it->second;
    return classes_[text] = class_symbol(std::move(ranges), negated);
  }

  // A class as a terminal (all ASCII) or a rule of its characters' byte sequences.
  Symbol class_symbol(CodePointRanges ranges, bool negated) {
    ByteSet ascii;
    std::vector<ByteRangeSequence> longer;
    for (const auto& [lo, hi] : normalized(std::move(ranges), negated)) {
      if (lo < 0x80) ascii.add_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(std::min<char32_t>(hi, 0x7F)));
      if (hi >= 0x80) {
        for (auto& s : utf8_byte_ranges(std::max<char32_t>(lo, 0x80), hi)) longer.push_back(std::move(s));
      }
    }
    if (longer.empty()) {
      if (ascii.empty()) error("the character class matches no character");
      return g_.terminal(ascii);
    }
    const int32_t rule = g_.helper_rule(rule_name_);
    if (!ascii.empty()) g_.add_alternative(rule, {g_.terminal(ascii)});
    for (const ByteRangeSequence& s : longer) {
      std::vector<Symbol> alternative;
      for (const ByteRange& r : s) {
        ByteSet set;
        set.add_range(r.lo, r.hi);
        alternative.push_back(g_.terminal(set));
      }
      g_.add_alternative(rule, std::move(alternative));
    }
    return rule;
  }

  std::string_view text_;
  size_t pos_ = 0;
  GrammarRules g_;
  std::string rule_name_;                 // the rule being read, which names its helpers
  std::map<std::string, Symbol> classes_;  // each class's text, compiled once
};

}  // namespace

Grammar parse_gbnf(std::string_view text, std::string_view root) { return Grammar(Parser(text).parse(), root); }

}  // namespace genrt::grammar
