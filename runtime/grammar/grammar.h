#pragma once
// A context-free grammar over bytes: what constrained decoding runs on.
//
// Grammars are written in GBNF (runtime/grammar/gbnf.h), whose character classes are over
// Unicode code points; the parser compiles each class into byte sequences (UTF-8 is
// prefix-free, so matching the bytes of a class's characters is matching the class). The
// matcher (grammar_matcher.h) then needs no notion of characters: a token's bytes are fed
// one at a time, and a token may end in the middle of a character, as byte-level BPE
// tokens do.
//
// Form: rules of alternatives, each a sequence of symbols (a set of bytes, or a rule).
// The alternatives are stored flat, each run of symbols ending with kEnd, so that a
// position in the grammar is one integer: an index into symbols().

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace genrt::grammar {

// One terminal: the bytes it matches.
struct ByteSet {
  std::array<uint64_t, 4> bits{};

  bool contains(uint8_t b) const { return (bits[b >> 6] >> (b & 63)) & 1; }
  void add(uint8_t b) { bits[b >> 6] |= uint64_t{1} << (b & 63); }
  void add_range(uint8_t lo, uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
  }
  bool empty() const { return (bits[0] | bits[1] | bits[2] | bits[3]) == 0; }
  bool operator==(const ByteSet&) const = default;
};

// A symbol of an alternative: a rule (>= 0), a terminal (<= -2), or the end of the
// alternative (kEnd).
using Symbol = int32_t;
inline constexpr Symbol kEnd = -1;
inline constexpr Symbol terminal_symbol(int32_t terminal) { return -2 - terminal; }
inline constexpr bool is_terminal(Symbol s) { return s <= -2; }
inline constexpr int32_t terminal_index(Symbol s) { return -2 - s; }

// The most symbols a grammar may have (repetitions spelled out included): a bound on what
// a request's schema may make the server build.
inline constexpr int64_t kMaxGrammarSymbols = int64_t{1} << 20;

// A grammar as its rules are written, before it is checked and flattened.
struct GrammarRules {
  struct Rule {
    std::string name;
    std::vector<std::vector<Symbol>> alternatives;  // an empty one matches nothing (epsilon)
    bool defined = false;                           // referenced before being defined, or never
  };
  std::vector<Rule> rules;
  std::vector<ByteSet> terminals;

  // The id of the rule named `name`, declared now if it is new.
  int32_t rule(std::string_view name);
  // A new rule for a piece of another (a group, a repetition): `base` with a fresh suffix.
  int32_t helper_rule(std::string_view base);
  Symbol terminal(const ByteSet& set);
  // Throws genrt::Error once the grammar would have more than kMaxGrammarSymbols.
  void add_alternative(int32_t rule, std::vector<Symbol> symbols);

  int64_t symbol_count = 0;
};

class Grammar {
 public:
  // Checks and flattens `rules` with `root` as the start rule. Throws genrt::Error naming
  // the rule at fault: the root undefined, a rule referenced but never defined, a rule that
  // matches no finite byte string, or left recursion (a rule that can reach itself without
  // consuming a byte, which a top-down matcher would expand forever).
  Grammar(GrammarRules rules, std::string_view root);

  const std::vector<Symbol>& symbols() const { return symbols_; }
  const ByteSet& terminal(Symbol s) const { return terminals_[static_cast<size_t>(terminal_index(s))]; }
  // The first positions of rule r's alternatives.
  const std::vector<int32_t>& alternatives(int32_t rule) const { return alternatives_[static_cast<size_t>(rule)]; }
  int32_t root() const { return root_; }
  const std::string& rule_name(int32_t rule) const { return names_[static_cast<size_t>(rule)]; }
  // The fewest bytes that finish the alternative from position `pos` (its symbols from
  // there to its end): what closing a structure early costs.
  int64_t min_bytes_from(int32_t pos) const { return min_bytes_from_[static_cast<size_t>(pos)]; }

 private:
  std::vector<Symbol> symbols_;
  std::vector<ByteSet> terminals_;
  std::vector<std::vector<int32_t>> alternatives_;
  std::vector<std::string> names_;
  std::vector<int64_t> min_bytes_from_;
  int32_t root_ = 0;
};

}  // namespace genrt::grammar
