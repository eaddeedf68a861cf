#pragma once
// Constrained decoding: which tokens keep a sequence's text inside a grammar.
//
// A TokenGrammar is a grammar over one vocabulary: its recognizer's states and, per state,
// the mask of the tokens whose bytes some parse takes (walked over the vocabulary's sorted
// tokens, token_vocabulary.h), cached, since a structure's states recur step after step
// (every character inside a JSON string is the same state). It is shared by the sequences
// that use the grammar; each has a GrammarMatcher, its own position.
//
// A sequence's token budget is part of the constraint: a token is allowed only if the
// tokens left after it can still finish a sentence, counting one token per byte (a
// vocabulary has a token for each byte: byte-level BPE and SentencePiece's byte fallback
// do). So a constrained sequence ends complete -- a JSON document that parses -- even when
// max_tokens cuts it short, and whatever its weights would rather say.

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/grammar/grammar_states.h"
#include "runtime/grammar/token_vocabulary.h"

namespace genrt::grammar {

// The most bytes of masks a TokenGrammar keeps; past it the cache starts over.
inline constexpr size_t kMaxMaskCacheBytes = size_t{64} << 20;

class TokenGrammar {
 public:
  TokenGrammar(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocabulary> vocabulary);
  // A GBNF grammar (gbnf.h) over `vocabulary`; throws genrt::Error where it does not parse.
  static std::shared_ptr<TokenGrammar> from_gbnf(std::string_view gbnf,
                                                 std::shared_ptr<const TokenVocabulary> vocabulary);

  const TokenVocabulary& vocabulary() const { return *vocabulary_; }
  // A mask has a bit per token: bit t % 32 of word t / 32.
  int64_t mask_words() const { return (vocabulary_->size() + 31) / 32; }
  // The recognizer states reached so far. They are kept (each sequence's position is one),
  // so a long-lived grammar grows with the variety of texts it has followed.
  size_t state_count();

 private:
  friend class GrammarMatcher;
  struct Mask {
    std::vector<uint32_t> bits;  // the tokens some parse takes from the state (no end tokens)
    // Of those tokens, the most bytes any needs after it to finish a sentence: a budget
    // of at least that many tokens leaves the mask as it is.
    int64_t most_bytes_after = 0;
  };
  // The tokens allowed from `state` whose text can be finished within `bytes_left` more
  // bytes, into `bits` (zeroed first); returns the most bytes any of them needs after it.
  int64_t walk_vocabulary(StateId state, int64_t bytes_left, std::vector<uint32_t>& bits);
  const Mask& cached_mask(StateId state);

  std::mutex mutex_;  // sequences of several requests may share it
  GrammarStates states_;
  std::shared_ptr<const TokenVocabulary> vocabulary_;
  std::unordered_map<StateId, Mask> masks_;
  size_t mask_bytes_ = 0;
  std::vector<StateId> prefix_states_;  // walk_vocabulary's state after each byte of a token
};

// One sequence's place in a grammar.
class GrammarMatcher {
 public:
  // `end_tokens`: the tokens that end the sequence (the model's EOS, a chat turn's end),
  // allowed exactly where the text is a sentence.
  GrammarMatcher(std::shared_ptr<TokenGrammar> grammar, std::vector<int32_t> end_tokens);

  // The tokens allowed next when `tokens_left` tokens (this one included) may still be
  // generated; valid until the next call. Where the vocabulary cannot spell any byte the
  // grammar takes (a grammar asking for a byte no token has), the end tokens, so that the
  // sequence ends there, or without end tokens every token, and accept() then refuses
  // the one drawn.
  std::span<const uint32_t> allowed_tokens(int64_t tokens_left);
  // Moves past a generated token; an end token changes nothing. Throws genrt::Error for a
  // token the grammar does not allow here.
  void accept(int32_t token);
  // The text so far is a sentence.
  bool complete() const;
  // A sentence that no more text extends: nothing is left to generate.
  bool finished() const;

 private:
  std::shared_ptr<TokenGrammar> grammar_;
  std::vector<int32_t> end_tokens_;
  StateId state_;
  std::vector<uint32_t> allowed_;
};

}  // namespace genrt::grammar
