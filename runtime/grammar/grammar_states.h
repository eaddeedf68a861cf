#pragma once
// The states of a grammar's recognizer over bytes, reached and numbered on demand.
//
// The recognizer is top-down, with a set of stacks for the parses still alive (the scheme
// of llama.cpp's grammar sampler). A stack is a chain of frames, each a position in the
// grammar: the top frame's position is the terminal the next byte must match, the frames
// below it are where their rules continue once the one above returns. A byte advances
// every stack whose terminal takes it; rules after it are expanded until each stack's top
// is a terminal again, and a stack that returns from the start rule is the empty stack:
// the text so far is a sentence. A rule called as the last symbol of an alternative
// replaces its caller's frame (a tail call), so right-recursive repetitions (x* in GBNF)
// keep stacks flat.
//
// Frames are interned (position, frame below) -> id, so stacks share their tails, and a
// state -- the sorted set of its stacks' top frames -- is interned too. A state's
// transitions are cached per byte: walking a vocabulary's tokens through the same states
// step after step costs a table lookup per byte.
//
// Not thread-safe: one thread at a time (TokenGrammar holds the lock).

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/grammar/grammar.h"

namespace genrt::grammar {

using StateId = int32_t;
inline constexpr StateId kDeadState = -1;  // no parse takes the text

class GrammarStates {
 public:
  explicit GrammarStates(std::shared_ptr<const Grammar> grammar);

  // Before any byte.
  StateId start() const { return start_; }
  // After `byte` from `state`; kDeadState when no parse takes it (and from kDeadState).
  StateId advance(StateId state, uint8_t byte);
  StateId advance(StateId state, std::string_view bytes);

  // The text so far is a sentence of the grammar.
  bool accepts(StateId state) const { return states_[static_cast<size_t>(state)].accepts; }
  // Some longer text is a sentence or the start of one.
  bool can_continue(StateId state) const { return states_[static_cast<size_t>(state)].can_continue; }
  // The fewest bytes that make the text so far a sentence (0 when it is one).
  int64_t min_bytes_to_accept(StateId state) const { return states_[static_cast<size_t>(state)].min_bytes; }

  size_t state_count() const { return states_.size(); }
  const Grammar& grammar() const { return *grammar_; }

 private:
  static constexpr int32_t kNoFrame = -1;   // below the bottom frame
  static constexpr int32_t kEmptyStack = -1;  // in a state's tops: a parse that is complete

  struct Frame {
    int32_t pos;    // the terminal to match (top) or where the rule below continues
    int32_t below;  // kNoFrame at the bottom
    int64_t min_bytes;  // the fewest bytes that empty the stack from this frame down
  };
  struct State {
    std::vector<int32_t> tops;  // sorted, each once; kEmptyStack first when present
    bool accepts = false;
    bool can_continue = false;
    int64_t min_bytes = 0;
    std::unique_ptr<std::array<StateId, 256>> next;  // kUnknown until computed
  };
  struct TopsHash {
    size_t operator()(const std::vector<int32_t>& tops) const;
  };
  static constexpr StateId kUnknown = -2;

  int32_t frame(int32_t pos, int32_t below);
  // Continues a stack at `pos` over frame `below`: returns from finished alternatives and
  // expands rules until every resulting stack's top is a terminal; adds their tops.
  void continue_at(int32_t pos, int32_t below, std::vector<int32_t>& tops,
                   std::unordered_set<uint64_t>& visited);
  StateId intern(std::vector<int32_t> tops);

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Frame> frames_;
  std::unordered_map<uint64_t, int32_t> frame_ids_;
  std::vector<State> states_;
  std::unordered_map<std::vector<int32_t>, StateId, TopsHash> state_ids_;
  StateId start_ = kDeadState;
};

}  // namespace genrt::grammar
