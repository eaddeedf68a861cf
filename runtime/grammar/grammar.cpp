#include "runtime/grammar/grammar.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "runtime/core/error.h"

namespace genrt::grammar {

namespace {

constexpr int64_t kNoFiniteString = std::numeric_limits<int64_t>::max();

int64_t saturating_add(int64_t a, int64_t b) { return a > kNoFiniteString - b ? kNoFiniteString : a + b; }

// Each rule's fewest bytes, by iterating to the fixed point from "none".
std::vector<int64_t> rule_min_bytes(const GrammarRules& g) {
  std::vector<int64_t> min_bytes(g.rules.size(), kNoFiniteString);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.rules.size(); ++r) {
      for (const auto& alternative : g.rules[r].alternatives) {
        int64_t bytes = 0;
        for (const Symbol s : alternative) {
          bytes = saturating_add(bytes, is_terminal(s) ? 1 : min_bytes[static_cast<size_t>(s)]);
        }
        if (bytes < min_bytes[r]) {
          min_bytes[r] = bytes;
          changed = true;
        }
      }
    }
  }
  return min_bytes;
}

// A rule that can reach itself through the leading symbols of its alternatives (those
// before the first one that must consume a byte), or -1.
int32_t left_recursive_rule(const GrammarRules& g, const std::vector<int64_t>& min_bytes) {
  std::vector<std::vector<int32_t>> leading(g.rules.size());
  for (size_t r = 0; r < g.rules.size(); ++r) {
    for (const auto& alternative : g.rules[r].alternatives) {
      for (const Symbol s : alternative) {
        if (is_terminal(s)) break;
        leading[r].push_back(s);
        if (min_bytes[static_cast<size_t>(s)] > 0) break;  // consumes a byte before what follows
      }
    }
  }
  enum : uint8_t { unvisited, on_path, done };
  std::vector<uint8_t> mark(g.rules.size(), unvisited);
  // Depth-first, iteratively: (rule, next edge to follow).
  for (size_t start = 0; start < g.rules.size(); ++start) {
    if (mark[start] != unvisited) continue;
    std::vector<std::pair<int32_t, size_t>> path{{static_cast<int32_t>(start), 0}};
    mark[start] = on_path;
    while (!path.empty()) {
      auto& [rule, edge] = path.back();
      if (edge == leading[static_cast<size_t>(rule)].size()) {
        mark[static_cast<size_t>(rule)] = done;
        path.pop_back();
        continue;
      }
      const int32_t next = leading[static_cast<size_t>(rule)][edge++];
      if (mark[static_cast<size_t>(next)] == on_path) return next;
      if (mark[static_cast<size_t>(next)] == unvisited) {
        mark[static_cast<size_t>(next)] = on_path;
        path.emplace_back(next, 0);
      }
    }
  }
  return -1;
}

}  // namespace

int32_t GrammarRules::rule(std::string_view name) {
  const auto it = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.name == name; });
  if (it != rules.end()) return static_cast<int32_t>(it - rules.begin());
  rules.push_back({.name = std::string(name), .alternatives = {}, .defined = false});
  return static_cast<int32_t>(rules.size() - 1);
}

int32_t GrammarRules::helper_rule(std::string_view base) {
  // '#' is not in GBNF's rule names, so a helper never takes a name a grammar uses.
  const int32_t id = rule(fmt::format("{}#{}", base, rules.size()));
  rules[static_cast<size_t>(id)].defined = true;
  return id;
}

Symbol GrammarRules::terminal(const ByteSet& set) {
  const auto it = std::find(terminals.begin(), terminals.end(), set);
  if (it != terminals.end()) return terminal_symbol(static_cast<int32_t>(it - terminals.begin()));
  terminals.push_back(set);
  return terminal_symbol(static_cast<int32_t>(terminals.size() - 1));
}

void GrammarRules::add_alternative(int32_t rule, std::vector<Symbol> symbols) {
  symbol_count += static_cast<int64_t>(symbols.size()) + 1;
  GENRT_CHECK(symbol_count <= kMaxGrammarSymbols, "grammar: over {} symbols once its repetitions are spelled out",
              kMaxGrammarSymbols);
  Rule& r = rules[static_cast<size_t>(rule)];
  r.defined = true;
  r.alternatives.push_back(std::move(symbols));
}

Grammar::Grammar(GrammarRules g, std::string_view root) {
  const auto root_it = std::find_if(g.rules.begin(), g.rules.end(), [&](const auto& r) { return r.name == root; });
  GENRT_CHECK(root_it != g.rules.end() && root_it->defined, "grammar: the start rule '{}' is not defined", root);
  root_ = static_cast<int32_t>(root_it - g.rules.begin());
  for (const auto& r : g.rules) {
    GENRT_CHECK(r.defined, "grammar: rule '{}' is used but never defined", r.name);
  }
  const std::vector<int64_t> min_bytes = rule_min_bytes(g);
  for (size_t r = 0; r < g.rules.size(); ++r) {
    GENRT_CHECK(min_bytes[r] != kNoFiniteString,
                "grammar: rule '{}' matches no finite text (each of its alternatives refers back to it)",
                g.rules[r].name);
  }
  if (const int32_t r = left_recursive_rule(g, min_bytes); r >= 0) {
    fail("grammar: rule '{}' is left-recursive (it can reach itself before matching any text); "
         "write the repetition on the right, e.g. list ::= item (\",\" item)*",
         g.rules[static_cast<size_t>(r)].name);
  }
  alternatives_.resize(g.rules.size());
  for (size_t r = 0; r < g.rules.size(); ++r) {
    names_.push_back(g.rules[r].name);
    for (const auto& alternative : g.rules[r].alternatives) {
      const auto first = static_cast<int32_t>(symbols_.size());
      alternatives_[r].push_back(first);
      symbols_.insert(symbols_.end(), alternative.begin(), alternative.end());
      symbols_.push_back(kEnd);
      min_bytes_from_.resize(symbols_.size());
      int64_t bytes = 0;
      for (auto pos = static_cast<int32_t>(symbols_.size()) - 1; pos >= first; --pos) {
        const Symbol s = symbols_[static_cast<size_t>(pos)];
        if (s != kEnd) bytes = saturating_add(bytes, is_terminal(s) ? 1 : min_bytes[static_cast<size_t>(s)]);
        min_bytes_from_[static_cast<size_t>(pos)] = bytes;
      }
    }
  }
  terminals_ = std::move(g.terminals);
}

}  // namespace genrt::grammar
