#include "runtime/grammar/grammar_states.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace genrt::grammar {

namespace {

uint64_t frame_key(int32_t pos, int32_t below) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(pos)) << 32) | static_cast<uint32_t>(below);
}

}  // namespace

size_t GrammarStates::TopsHash::operator()(const std::vector<int32_t>& tops) const {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the ids
  for (const int32_t t : tops) {
    h ^= static_cast<uint32_t>(t);
    h *= 0x100000001b3ull;
  }
  return static_cast<size_t>(h);
}

GrammarStates::GrammarStates(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {
  std::vector<int32_t> tops;
  std::unordered_set<uint64_t> visited;
  for (const int32_t first : grammar_->alternatives(grammar_->root())) continue_at(first, kNoFrame, tops, visited);
  start_ = intern(std::move(tops));
}

int32_t GrammarStates::frame(int32_t pos, int32_t below) {
  const auto [it, added] = frame_ids_.try_emplace(frame_key(pos, below), static_cast<int32_t>(frames_.size()));
  if (added) {
    const int64_t rest = below == kNoFrame ? 0 : frames_[static_cast<size_t>(below)].min_bytes;
    frames_.push_back({pos, below, grammar_->min_bytes_from(pos) + rest});
  }
  return it->second;
}

void GrammarStates::continue_at(int32_t pos, int32_t below, std::vector<int32_t>& tops,
                                std::unordered_set<uint64_t>& visited) {
  // The same (position, frame below) reached along two paths continues the same way.
  if (!visited.insert(frame_key(pos, below)).second) return;
  const std::vector<Symbol>& symbols = grammar_->symbols();
  const Symbol s = symbols[static_cast<size_t>(pos)];
  if (s == kEnd) {  // the alternative is done: return to the frame below
    if (below == kNoFrame) {
      tops.push_back(kEmptyStack);
    } else {
      const Frame& f = frames_[static_cast<size_t>(below)];
      continue_at(f.pos, f.below, tops, visited);
    }
  } else if (is_terminal(s)) {
    tops.push_back(frame(pos, below));
  } else {
    // A call: the caller continues after it, unless the call ends its alternative.
    const int32_t caller = symbols[static_cast<size_t>(pos) + 1] == kEnd ? below : frame(pos + 1, below);
    for (const int32_t first : grammar_->alternatives(s)) continue_at(first, caller, tops, visited);
  }
}

StateId GrammarStates::intern(std::vector<int32_t> tops) {
  if (tops.empty()) return kDeadState;
  std::sort(tops.begin(), tops.end());
  tops.erase(std::unique(tops.begin(), tops.end()), tops.end());
  const auto [it, added] = state_ids_.try_emplace(tops, static_cast<StateId>(states_.size()));
  if (added) {
    State state{.tops = std::move(tops), .accepts = false, .can_continue = false, .min_bytes = 0, .next = nullptr};
    state.min_bytes = std::numeric_limits<int64_t>::max();
    for (const int32_t top : state.tops) {
      if (top == kEmptyStack) {
        state.accepts = true;
        state.min_bytes = 0;
      } else {
        state.can_continue = true;
        state.min_bytes = std::min(state.min_bytes, frames_[static_cast<size_t>(top)].min_bytes);
      }
    }
    states_.push_back(std::move(state));
  }
  return it->second;
}

StateId GrammarStates::advance(StateId state, uint8_t byte) {
  if (state == kDeadState) return kDeadState;
  {
    const State& s = states_[static_cast<size_t>(state)];
    if (s.next && (*s.next)[byte] != kUnknown) return (*s.next)[byte];
  }
  std::vector<int32_t> tops;
  std::unordered_set<uint64_t> visited;
  // By index: interning frames may grow frames_, and states_ does not grow until intern().
  for (const int32_t top : states_[static_cast<size_t>(state)].tops) {
    if (top == kEmptyStack) continue;
    const Frame f = frames_[static_cast<size_t>(top)];
    if (grammar_->terminal(grammar_->symbols()[static_cast<size_t>(f.pos)]).contains(byte)) {
      continue_at(f.pos + 1, f.below, tops, visited);
    }
  }
  const StateId next = intern(std::move(tops));
  State& s = states_[static_cast<size_t>(state)];  // after intern(), which may move states_
  if (!s.next) {
    s.next = std::make_unique<std::array<StateId, 256>>();
    s.next->fill(kUnknown);
  }
  (*s.next)[byte] = next;
  return next;
}

StateId GrammarStates::advance(StateId state, std::string_view bytes) {
  for (const char b : bytes) state = advance(state, static_cast<uint8_t>(b));
  return state;
}

}  // namespace genrt::grammar
