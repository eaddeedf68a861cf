// Continuous batching: chunked prefill, admission, preemption and cancellation on the
// real stories260K model, checked against each sequence generated alone (greedy).

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "runtime/engine/scheduler.h"
#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/models/llama/llama_loader.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

class Scheduler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new LlamaModel(load_llama2c(test::shared_dir() / "models" / "stories260K.bin"));
  }
  static void TearDownTestSuite() { delete model_; }

  struct Outcome {
    std::vector<int32_t> tokens;
    std::optional<FinishReason> reason;
  };

  SequenceRequest sampled(std::vector<int32_t> prompt, int64_t n, Outcome& out, const SamplingParams& sampling) {
    return {.prompt = std::move(prompt),
            .max_new_tokens = n,
            .sampling = sampling,
            .ignore_eos = true,
            .on_token = [&out](const GeneratedToken& t) { out.tokens.push_back(t.id); return true; },
            .on_finish = [&out](FinishReason r) { out.reason = r; }};
  }
  SequenceRequest greedy(std::vector<int32_t> prompt, int64_t n, Outcome& out) {
    return sampled(std::move(prompt), n, out, {.temperature = 0});
  }

  // The continuation of `prompt` generated alone, with room to spare.
  std::vector<int32_t> alone(const std::vector<int32_t>& prompt, int64_t n,
                             const SamplingParams& sampling = {.temperature = 0}) {
    KvCache cache(model_->spec().kv_cache_shape(64, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {});
    Outcome out;
    s.submit(sampled(prompt, n, out, sampling));
    while (!s.idle()) s.step();
    return out.tokens;
  }

  static std::vector<int32_t> prompt_of(int length, int salt) {
    std::vector<int32_t> p = {1};
    for (int i = 1; i < length; ++i) p.push_back(3 + (i * 37 + salt * 11) % 500);
    return p;
  }

  // A prompt of `length` tokens whose first `prefix` are the same for every salt.
  static std::vector<int32_t> with_prefix(int prefix, int length, int salt) {
    std::vector<int32_t> p = prompt_of(prefix, 0);
    const std::vector<int32_t> tail = prompt_of(length - prefix + 1, salt);
    p.insert(p.end(), tail.begin() + 1, tail.end());
    return p;
  }

  static LlamaModel* model_;
};
LlamaModel* Scheduler::model_ = nullptr;

TEST_F(Scheduler, ChunkedPrefillNeverStallsRunningDecodes) {
  // Asynchronously a step's tokens are delivered by the next step() call: one step behind.
  for (const bool async : {false, true}) {
    SCOPED_TRACE(async ? "asynchronous scheduling" : "synchronous scheduling");
    const size_t lag = async ? 1 : 0;
    KvCache cache(model_->spec().kv_cache_shape(64, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {.max_batch_tokens = 8, .async_scheduling = async});
    Outcome short_out, long_out;
    s.submit(greedy(prompt_of(3, 1), 40, short_out));
    s.step();  // reads the short prompt, samples its first token
    ASSERT_EQ(short_out.tokens.size(), 1u - lag);
    s.submit(greedy(prompt_of(100, 2), 10, long_out));
    // While the 100-token prompt is read 7 tokens at a time, the short sequence still gets
    // a token every step.
    for (int step = 0; step < 10; ++step) {
      s.step();
      EXPECT_EQ(short_out.tokens.size(), static_cast<size_t>(step + 2) - lag);
    }
    EXPECT_TRUE(long_out.tokens.empty());
    while (!s.idle()) s.step();
    EXPECT_EQ(short_out.tokens, alone(prompt_of(3, 1), 40));
    EXPECT_EQ(long_out.tokens, alone(prompt_of(100, 2), 10));
    EXPECT_EQ(cache.free_blocks(), 64);
  }
}

TEST_F(Scheduler, PreemptionRecomputesAndKeepsGreedyOutputs) {
  // 6 blocks of 16 = 96 slots; three sequences of 20 + 40 tokens need 12 blocks together,
  // so the newest ones are preempted and recomputed as the others grow.
  KvCache cache(model_->spec().kv_cache_shape(6, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  Outcome outs[3];
  for (int i = 0; i < 3; ++i) s.submit(greedy(prompt_of(20, i), 40, outs[i]));
  int steps = 0;
  while (!s.idle()) {
    s.step();
    ASSERT_LT(++steps, 2000);
  }
  EXPECT_GT(s.counts().preemptions, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(outs[i].reason, FinishReason::length);
    EXPECT_EQ(outs[i].tokens, alone(prompt_of(20, i), 40)) << "sequence " << i;
  }
  EXPECT_EQ(cache.free_blocks(), 6);
}

// Each sequence draws from its own seed's stream, one draw per token: neither its batch
// neighbours nor a preemption and recompute change its tokens.
TEST_F(Scheduler, SeededSamplingIsTheSameInABatchAndAfterPreemption) {
  KvCache cache(model_->spec().kv_cache_shape(6, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  const auto params = [](int i) {
    return SamplingParams{.temperature = 0.9f, .top_p = 0.95f, .repetition_penalty = 1.1f, .seed = 100u + i};
  };
  Outcome outs[3];
  for (int i = 0; i < 3; ++i) s.submit(sampled(prompt_of(20, i), 40, outs[i], params(i)));
  while (!s.idle()) s.step();
  EXPECT_GT(s.counts().preemptions, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(outs[i].tokens, alone(prompt_of(20, i), 40, params(i))) << "sequence " << i;
  EXPECT_NE(outs[0].tokens, alone(prompt_of(20, 0), 40)) << "sampled like greedy";
}

// Asynchronous scheduling launches each step before the previous step's tokens are back:
// under preemption, with sampled and penalized sequences (the penalties make a step wait for
// its tokens), logprobs, a stop token and a cancel, every sequence gets the tokens, logprobs
// and finish of synchronous scheduling, and the pool is whole again afterwards.
TEST_F(Scheduler, AsynchronousSchedulingGivesTheSynchronousTokens) {
  struct Run {
    std::vector<Outcome> outs;
    std::vector<std::vector<float>> logprobs;
  };
  const int32_t stop_token = alone(prompt_of(12, 4), 30)[6];
  const auto run = [&](bool async) {
    KvCache cache(model_->spec().kv_cache_shape(7, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {.max_batch_tokens = 24, .async_scheduling = async});
    Run r{.outs = std::vector<Outcome>(6), .logprobs = std::vector<std::vector<float>>(6)};
    const SamplingParams params[6] = {{.temperature = 0},
                                      {.temperature = 0.8f, .top_p = 0.9f, .seed = 7},
                                      {.temperature = 0.7f, .repetition_penalty = 1.3f, .seed = 8},
                                      {.temperature = 0},
                                      {.temperature = 0},
                                      {.temperature = 1.0f, .top_k = 20, .seed = 9}};
    for (int i = 0; i < 6; ++i) {
      SequenceRequest req = sampled(prompt_of(12 + 3 * i, i), 30, r.outs[i], params[i]);
      if (i == 1) {
        req.top_logprobs = 3;
        req.on_token = [&r](const GeneratedToken& t) {
          r.outs[1].tokens.push_back(t.id);
          r.logprobs[1].push_back(t.logprobs->logprob);
          return true;
        };
      }
      if (i == 3) {  // the same prompt as the stop token's run: it ends at that token
        req.prompt = prompt_of(12, 4);
        req.ignore_eos = false;
        req.stop_token_ids = {stop_token};
      }
      if (i == 4) {
        req.on_token = [&r](const GeneratedToken& t) {
          r.outs[4].tokens.push_back(t.id);
          return r.outs[4].tokens.size() < 7;  // cancelled at its 7th token
        };
      }
      s.submit(std::move(req));
    }
    int steps = 0;
    while (!s.idle()) {
      s.step();
      EXPECT_LT(++steps, 2000);
      if (steps >= 2000) break;
    }
    EXPECT_GT(s.counts().preemptions, 0);
    // Steps overlap only asynchronously, and only while no penalized token is in flight.
    if (async) {
      EXPECT_GT(s.counts().overlapped_steps, 0);
    } else {
      EXPECT_EQ(s.counts().overlapped_steps, 0);
    }
    EXPECT_EQ(cache.free_blocks(), 7);
    return r;
  };
  const Run sync = run(false), async = run(true);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(async.outs[i].tokens, sync.outs[i].tokens) << "sequence " << i;
    EXPECT_EQ(async.outs[i].reason, sync.outs[i].reason) << "sequence " << i;
  }
  EXPECT_EQ(async.logprobs[1], sync.logprobs[1]);
  EXPECT_EQ(sync.outs[3].reason, FinishReason::stop);
  EXPECT_EQ(sync.outs[3].tokens.size(), 7u);
  EXPECT_EQ(sync.outs[4].reason, FinishReason::cancelled);
  EXPECT_EQ(sync.outs[4].tokens.size(), 7u);
  EXPECT_EQ(sync.outs[0].reason, FinishReason::length);
}

// A sequence cancelled from another thread while a chunk of its prompt is in a launched
// step: it is finished at once but kept until that step is collected (its row refers to
// it), and the pool is whole again afterwards; its neighbour is unaffected.
TEST_F(Scheduler, CancellingWhileAPromptChunkIsInFlightKeepsTheSequenceUntilItsStepIsBack) {
  KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {.max_batch_tokens = 8});
  Outcome long_out, short_out;
  SequenceRequest long_request = greedy(prompt_of(40, 3), 10, long_out);
  long_request.cancelled = std::make_shared<std::atomic<bool>>(false);
  const auto flag = long_request.cancelled;
  s.submit(greedy(prompt_of(3, 1), 12, short_out));
  s.submit(std::move(long_request));
  s.step();  // launches the short prompt and the long prompt's first chunk
  *flag = true;
  for (int step = 0; step < 200 && !s.idle(); ++step) s.step();
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(long_out.reason, FinishReason::cancelled);
  EXPECT_TRUE(long_out.tokens.empty());
  EXPECT_EQ(short_out.tokens, alone(prompt_of(3, 1), 12));
  EXPECT_EQ(cache.free_blocks(), 16);
}

// A sequence that ends with the step that computed its prompt (one new token) still leaves
// its full blocks cached for the next request with that prompt, both ways of scheduling.
TEST_F(Scheduler, ASequenceOfOneTokenLeavesItsPromptCached) {
  for (const bool async : {false, true}) {
    KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {.async_scheduling = async});
    Outcome first, second;
    int64_t cached = -1;
    s.submit(greedy(prompt_of(40, 5), 1, first));
    while (!s.idle()) s.step();
    SequenceRequest again = greedy(prompt_of(40, 5), 1, second);
    again.on_admitted = [&](int64_t tokens) { cached = tokens; };
    s.submit(std::move(again));
    while (!s.idle()) s.step();
    EXPECT_EQ(cached, 32) << (async ? "asynchronous" : "synchronous");  // two full blocks of 16
    EXPECT_EQ(second.tokens, first.tokens);
  }
}

TEST_F(Scheduler, ArrivalOrderDoesNotChangeGreedyOutputs) {
  std::vector<std::vector<int32_t>> prompts = {prompt_of(5, 1), prompt_of(17, 2), prompt_of(33, 3), prompt_of(1, 4)};
  for (const auto& order : {std::vector<int>{0, 1, 2, 3}, std::vector<int>{3, 1, 0, 2}}) {
    KvCache cache(model_->spec().kv_cache_shape(32, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {.max_batch_tokens = 16});
    Outcome outs[4];
    for (int i : order) s.submit(greedy(prompts[i], 24, outs[i]));
    while (!s.idle()) s.step();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(outs[i].tokens, alone(prompts[i], 24)) << "prompt " << i;
  }
}

TEST_F(Scheduler, CancellationFreesBlocksWithinOneStep) {
  KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  Outcome kept, dropped, queued;
  auto flag = std::make_shared<std::atomic<bool>>(false);
  SequenceRequest r = greedy(prompt_of(10, 1), 50, dropped);
  r.cancelled = flag;
  s.submit(std::move(r));
  s.submit(greedy(prompt_of(10, 2), 50, kept));
  SequenceRequest q = greedy(prompt_of(10, 3), 50, queued);
  q.cancelled = flag;
  s.submit(std::move(q));
  s.step();
  s.step();
  *flag = true;
  s.step();
  EXPECT_EQ(dropped.reason, FinishReason::cancelled);
  EXPECT_EQ(queued.reason, FinishReason::cancelled);
  EXPECT_EQ(s.counts().running, 1);
  EXPECT_EQ(cache.free_blocks(), 16 - cache.blocks_for(10 + 3));
  while (!s.idle()) s.step();
  EXPECT_EQ(kept.reason, FinishReason::length);
  EXPECT_EQ(kept.tokens.size(), 50u);
  EXPECT_EQ(cache.free_blocks(), 16);
}

TEST_F(Scheduler, CallbackReturningFalseStopsTheSequence) {
  KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  Outcome out;
  SequenceRequest r = greedy(prompt_of(4, 1), 50, out);
  r.on_token = [&out](const GeneratedToken& t) {
    out.tokens.push_back(t.id);
    return out.tokens.size() < 3;
  };
  s.submit(std::move(r));
  while (!s.idle()) s.step();
  EXPECT_EQ(out.tokens.size(), 3u);
  EXPECT_EQ(out.reason, FinishReason::cancelled);
  EXPECT_EQ(cache.free_blocks(), 16);
}

TEST_F(Scheduler, LogprobsOfTheChosenTokenAndTheTopK) {
  KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  std::vector<TokenLogprobs> seen;
  std::vector<int32_t> ids;
  SequenceRequest r{.prompt = {1}, .max_new_tokens = 5, .sampling = {.temperature = 0}, .top_logprobs = 3};
  r.on_token = [&](const GeneratedToken& t) {
    ids.push_back(t.id);
    seen.push_back(*t.logprobs);
    return true;
  };
  s.submit(std::move(r));
  while (!s.idle()) s.step();
  ASSERT_EQ(seen.size(), 5u);
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].top.size(), 3u);
    EXPECT_EQ(seen[i].top[0].first, ids[i]);  // greedy picks the most likely
    EXPECT_EQ(seen[i].logprob, seen[i].top[0].second);
    EXPECT_GE(seen[i].top[0].second, seen[i].top[1].second);
    EXPECT_LE(seen[i].top[0].second, 0.0f);
  }
}

// Eight prompts of 70 tokens share their first 50 (three full blocks), submitted at once:
// the first computes the prefix, the others wait a step for it (rather than take the rest
// of its step's token budget) and share it, and every output is what the sequence gives
// alone and without the cache.
TEST_F(Scheduler, ASharedPrefixIsComputedOnceAndChangesNoOutput) {
  constexpr int kSequences = 8;
  std::vector<std::vector<int32_t>> outputs[2];
  for (const bool caching : {false, true}) {
    KvCache cache(model_->spec().kv_cache_shape(64, 16), Device::cpu);
    BatchScheduler s(*model_, cache, {.max_batch_tokens = 128, .prefix_caching = caching});
    Outcome outs[kSequences];
    int64_t cached[kSequences];
    for (int i = 0; i < kSequences; ++i) {
      SequenceRequest r = greedy(with_prefix(50, 70, i + 1), 12, outs[i]);
      r.on_admitted = [&cached, i](int64_t n) { cached[i] = n; };
      s.submit(std::move(r));
    }
    while (!s.idle()) s.step();
    for (int i = 0; i < kSequences; ++i) {
      outputs[caching].push_back(outs[i].tokens);
      EXPECT_EQ(cached[i], caching && i > 0 ? 48 : 0) << "sequence " << i;
    }
    EXPECT_EQ(s.counts().prefix_cache_hits, caching ? 48 * (kSequences - 1) : 0);
    EXPECT_EQ(s.counts().prefix_cache_queries, caching ? 70 * kSequences : 0);
    EXPECT_EQ(s.counts().prefill_tokens, caching ? 70 + (70 - 48) * (kSequences - 1) : 70 * kSequences);
    EXPECT_EQ(cache.free_blocks(), 64);  // every block back; the cached ones kept for later
    EXPECT_EQ(cache.cached_free_blocks() > 0, caching);
  }
  EXPECT_EQ(outputs[1], outputs[0]);
  for (int i = 0; i < kSequences; ++i) EXPECT_EQ(outputs[1][i], alone(with_prefix(50, 70, i + 1), 12)) << i;
}

// A full pool evicts cached blocks, least recently used first, and preempts no one.
TEST_F(Scheduler, CachedBlocksAreEvictedLeastRecentlyUsedFirstBeforeAnyPreemption) {
  KvCache cache(model_->spec().kv_cache_shape(8, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  const auto run = [&](const std::vector<int32_t>& prompt, int64_t n, int64_t& cached) {
    Outcome out;
    SequenceRequest r = greedy(prompt, n, out);
    r.on_admitted = [&cached](int64_t c) { cached = c; };
    s.submit(std::move(r));
    while (!s.idle()) s.step();
    return out.tokens;
  };
  int64_t cached = -1;
  // Three 40-token prompts, each leaving its two full prompt blocks cached: 6 of 8 blocks.
  for (int salt = 1; salt <= 3; ++salt) run(prompt_of(40, salt), 8, cached);
  EXPECT_EQ(cache.cached_free_blocks(), 6);
  // 60 tokens need 4 blocks: the 2 free ones and the 2 of the least recently used prompt.
  EXPECT_EQ(run(prompt_of(60, 4), 4, cached), alone(prompt_of(60, 4), 4));
  EXPECT_EQ(s.counts().preemptions, 0);
  EXPECT_EQ(run(prompt_of(40, 3), 8, cached), alone(prompt_of(40, 3), 8));
  EXPECT_EQ(cached, 32);  // the most recent prompt was kept
  EXPECT_EQ(run(prompt_of(40, 1), 8, cached), alone(prompt_of(40, 1), 8));
  EXPECT_EQ(cached, 0);  // the oldest was evicted
  EXPECT_EQ(cache.free_blocks(), 8);
}

// A cancelled sequence gives back only its references: the blocks it shared keep serving
// the sequence still running and a later one, even while a long prompt takes every block
// the pool can give.
TEST_F(Scheduler, ACancelledSequencesSharedBlocksStayValidForTheOthers) {
  KvCache cache(model_->spec().kv_cache_shape(32, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  Outcome first, second, third, filler;
  auto flag = std::make_shared<std::atomic<bool>>(false);
  SequenceRequest r = greedy(with_prefix(48, 60, 1), 30, first);
  r.cancelled = flag;
  s.submit(std::move(r));
  s.submit(greedy(with_prefix(48, 60, 2), 30, second));
  for (int step = 0; step < 5; ++step) s.step();
  ASSERT_FALSE(second.tokens.empty());
  *flag = true;
  s.step();
  ASSERT_EQ(first.reason, FinishReason::cancelled);
  int64_t cached = -1;
  SequenceRequest later = greedy(with_prefix(48, 60, 3), 30, third);
  later.on_admitted = [&cached](int64_t c) { cached = c; };
  s.submit(std::move(later));
  // Every block the second sequence does not hold: were a shared one free, it would be overwritten.
  s.submit(greedy(prompt_of(static_cast<int>(cache.free_blocks() * 16 - 32), 9), 4, filler));
  while (!s.idle()) s.step();
  EXPECT_EQ(cached, 48);
  EXPECT_EQ(second.tokens, alone(with_prefix(48, 60, 2), 30));
  EXPECT_EQ(third.tokens, alone(with_prefix(48, 60, 3), 30));
  EXPECT_EQ(filler.tokens.size(), 4u);
  EXPECT_EQ(cache.free_blocks(), 32);
}

// stories260K's vocabulary as llama2.c lays it out: ids 0-2 control tokens, 3-258 the
// bytes, the rest (merges this test does not need) spelling nothing.
class ByteTokenizer : public Tokenizer {
 public:
  int64_t vocab_size() const override { return 512; }
  std::optional<int32_t> bos_id() const override { return 1; }
  std::optional<int32_t> eos_id() const override { return 2; }
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (const char c : text) ids.push_back(3 + static_cast<unsigned char>(c));
    return ids;
  }
  std::string decode(std::span<const int32_t> ids, bool) const override {
    std::string text;
    for (const int32_t id : ids) {
      if (id >= 3 && id < 259) text += static_cast<char>(id - 3);
    }
    return text;
  }
  std::string token_text(int32_t id) const override { return decode(std::span(&id, 1), false); }
  bool is_special(int32_t id) const override { return id < 3; }
};

// Whatever the weights prefer, a constrained sequence's text is a document of its schema,
// greedy or sampled, in a batch with unconstrained ones, and however tight max_tokens is
// down to the shortest document: the budget is part of the mask.
TEST_F(Scheduler, AGrammarShapesTheTextAndFinishesItWithinTheBudget) {
  const ByteTokenizer tokenizer;
  auto vocabulary = std::make_shared<const grammar::TokenVocabulary>(tokenizer, model_->spec().vocab_size);
  const auto schema = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"id":{"type":"integer"},"tag":{"enum":["x","yy"]},"note":{"type":"string"}},
          "required":["id","tag"]})");
  auto grammar = std::make_shared<grammar::TokenGrammar>(
      std::make_shared<const grammar::Grammar>(grammar::parse_gbnf(grammar::json_schema_gbnf(schema))), vocabulary);
  KvCache cache(model_->spec().kv_cache_shape(64, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  const int64_t shortest = std::string(R"({"id":0,"tag":"x"})").size();
  std::vector<Outcome> outs(6);
  for (size_t i = 0; i < outs.size(); ++i) {
    const int64_t budget = i == 0 ? shortest : i == 1 ? shortest + 3 : 120;
    SequenceRequest r = sampled(prompt_of(5 + static_cast<int>(i), static_cast<int>(i)), budget, outs[i],
                                {.temperature = i % 2 == 0 ? 0.0f : 1.5f, .seed = i});
    r.ignore_eos = false;
    if (i < 5) r.grammar = grammar;  // the last is free
    s.submit(std::move(r));
  }
  while (!s.idle()) s.step();
  for (size_t i = 0; i < 5; ++i) {
    const std::string text = tokenizer.decode(outs[i].tokens, true);
    SCOPED_TRACE(text);
    ASSERT_NO_THROW({
      const auto doc = nlohmann::json::parse(text);
      EXPECT_TRUE(doc.at("id").is_number());  // an integer, maybe past int64 (JSON's integers are unbounded)
      EXPECT_TRUE(doc.at("tag") == "x" || doc.at("tag") == "yy");
    });
    EXPECT_LE(static_cast<int64_t>(outs[i].tokens.size()), i == 0 ? shortest : i == 1 ? shortest + 3 : 120);
    EXPECT_TRUE(outs[i].reason == FinishReason::stop || outs[i].reason == FinishReason::length);
  }
  EXPECT_TRUE(outs[5].reason == FinishReason::stop || outs[5].tokens.size() == 120u);
  EXPECT_EQ(cache.free_blocks(), 64);
}

TEST_F(Scheduler, AGrammarIsRefusedWithIgnoreEosOrAnotherVocabulary) {
  const ByteTokenizer tokenizer;
  const auto grammar_for = [&](int64_t vocab) {
    return std::make_shared<grammar::TokenGrammar>(
        std::make_shared<const grammar::Grammar>(grammar::parse_gbnf(R"(root ::= "a")")),
        std::make_shared<const grammar::TokenVocabulary>(tokenizer, vocab));
  };
  KvCache cache(model_->spec().kv_cache_shape(16, 16), Device::cpu);
  BatchScheduler s(*model_, cache, {});
  Outcome out;
  SequenceRequest r = greedy({1, 5}, 4, out);
  r.grammar = grammar_for(512);
  EXPECT_ERROR(s.validate(r), "ignore_eos cannot be combined with a grammar");
  r.ignore_eos = false;
  r.grammar = grammar_for(600);
  EXPECT_ERROR(s.validate(r), "the grammar is over a vocabulary of 600 tokens, but the model has 512");
}

}  // namespace
}  // namespace genrt
