#include "runtime/grammar/token_grammar.h"

#include <algorithm>
#include <limits>

#include "runtime/core/error.h"
#include "runtime/grammar/gbnf.h"

namespace genrt::grammar {

namespace {

constexpr int64_t kNoBudget = std::numeric_limits<int64_t>::max();

void set_bit(std::vector<uint32_t>& bits, int32_t token) {
  bits[static_cast<size_t>(token) / 32] |= uint32_t{1} << (token % 32);
}

void clear_bit(std::vector<uint32_t>& bits, int32_t token) {
  bits[static_cast<size_t>(token) / 32] &= ~(uint32_t{1} << (token % 32));
}

}  // namespace

TokenGrammar::TokenGrammar(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocabulary> vocabulary)
    : states_(std::move(grammar)), vocabulary_(std::move(vocabulary)) {
  prefix_states_.resize(vocabulary_->longest_token() + 1);
}

std::shared_ptr<TokenGrammar> TokenGrammar::from_gbnf(std::string_view gbnf,
                                                      std::shared_ptr<const TokenVocabulary> vocabulary) {
  return std::make_shared<TokenGrammar>(std::make_shared<const Grammar>(parse_gbnf(gbnf)), std::move(vocabulary));
}

int64_t TokenGrammar::walk_vocabulary(StateId state, int64_t bytes_left, std::vector<uint32_t>& bits) {
  bits.assign(static_cast<size_t>(mask_words()), 0);
  const std::span<const int32_t> sorted = vocabulary_->sorted();
  const std::span<const int32_t> shared = vocabulary_->shared_prefix();
  int64_t most_bytes_after = 0;
  prefix_states_[0] = state;
  size_t known = 0;  // prefix_states_[0..known] are the current token's first bytes' states
  for (size_t k = 0; k < sorted.size(); ++k) {
    const std::string& token = vocabulary_->bytes(sorted[k]);
    size_t depth = std::min(static_cast<size_t>(shared[k]), known);
    for (; depth < token.size(); ++depth) {
      const StateId next = states_.advance(prefix_states_[depth], static_cast<uint8_t>(token[depth]));
      if (next == kDeadState) break;
      prefix_states_[depth + 1] = next;
    }
    known = depth;
    if (depth < token.size()) {
      // Its first depth + 1 bytes are dead, and so is every following token that shares them.
      while (k + 1 < sorted.size() && static_cast<size_t>(shared[k + 1]) > depth) ++k;
      continue;
    }
    const int64_t after = states_.min_bytes_to_accept(prefix_states_[depth]);
    if (after > bytes_left) continue;
    set_bit(bits, sorted[k]);
    most_bytes_after = std::max(most_bytes_after, after);
  }
  return most_bytes_after;
}

size_t TokenGrammar::state_count() {
  std::lock_guard lock(mutex_);
  return states_.state_count();
}

const TokenGrammar::Mask& TokenGrammar::cached_mask(StateId state) {
  if (const auto it = masks_.find(state); it != masks_.end()) return it->second;
  const size_t bytes = static_cast<size_t>(mask_words()) * sizeof(uint32_t);
  if (mask_bytes_ + bytes > kMaxMaskCacheBytes) {
    masks_.clear();
    mask_bytes_ = 0;
  }
  Mask mask;
  mask.most_bytes_after = walk_vocabulary(state, kNoBudget, mask.bits);
  mask_bytes_ += bytes;
  return masks_.emplace(state, std::move(mask)).first->second;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<TokenGrammar> grammar, std::vector<int32_t> end_tokens)
    : grammar_(std::move(grammar)), end_tokens_(std::move(end_tokens)), state_(grammar_->states_.start()) {
  for (const int32_t t : end_tokens_) {
    GENRT_CHECK(t >= 0 && t < grammar_->vocabulary().size(), "grammar: end token {} is outside the vocabulary [0, {})",
                t, grammar_->vocabulary().size());
  }
}

std::span<const uint32_t> GrammarMatcher::allowed_tokens(int64_t tokens_left) {
  GENRT_CHECK(tokens_left > 0, "grammar: no tokens are left to allow");
  std::lock_guard lock(grammar_->mutex_);
  const TokenGrammar::Mask& mask = grammar_->cached_mask(state_);
  const auto none = [&] { return std::none_of(allowed_.begin(), allowed_.end(), [](uint32_t w) { return w != 0; }); };
  // After this token, tokens_left - 1 tokens, so as many bytes at one a token.
  const int64_t bytes_left = tokens_left - 1;
  if (mask.most_bytes_after <= bytes_left) {
    allowed_ = mask.bits;
  } else {
    grammar_->walk_vocabulary(state_, bytes_left, allowed_);
    // Without a single-byte token for what the grammar needs the budget cannot be kept:
    // the text then follows the grammar as far as the tokens go.
    if (none() && !grammar_->states_.accepts(state_)) allowed_ = mask.bits;
  }
  // An end token ends the sequence whatever it spells: allowed where the text is complete.
  const bool complete = grammar_->states_.accepts(state_);
  for (const int32_t t : end_tokens_) complete ? set_bit(allowed_, t) : clear_bit(allowed_, t);
  if (none()) {  // the vocabulary cannot spell what the grammar takes here
    if (end_tokens_.empty()) {
      allowed_.assign(allowed_.size(), ~uint32_t{0});
    } else {
      for (const int32_t t : end_tokens_) set_bit(allowed_, t);
    }
  }
  return allowed_;
}

void GrammarMatcher::accept(int32_t token) {
  if (std::find(end_tokens_.begin(), end_tokens_.end(), token) != end_tokens_.end()) return;
  std::lock_guard lock(grammar_->mutex_);
  const TokenVocabulary& vocabulary = grammar_->vocabulary();
  GENRT_CHECK(token >= 0 && token < vocabulary.size(), "grammar: token {} is outside the vocabulary [0, {})", token,
              vocabulary.size());
  const StateId next = vocabulary.bytes(token).empty() ? kDeadState : grammar_->states_.advance(state_, vocabulary.bytes(token));
  GENRT_CHECK(next != kDeadState, "grammar: token {} does not continue the text the grammar allows", token);
  state_ = next;
}

bool GrammarMatcher::complete() const {
  std::lock_guard lock(grammar_->mutex_);
  return grammar_->states_.accepts(state_);
}

bool GrammarMatcher::finished() const {
  std::lock_guard lock(grammar_->mutex_);
  return grammar_->states_.accepts(state_) && !grammar_->states_.can_continue(state_);
}

}  // namespace genrt::grammar
