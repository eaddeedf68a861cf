// Sliding-window attention end to end on a tiny MistralForCausalLM (sliding_window 8)
// against transformers (tools/golden/mistral.py): prefill and decode logits and greedy tokens
// over the full context (64 positions, the window passed 7 times over), and KV blocks going
// back to the pool as they fall out of the window, under preemption too.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/engine/generator.h"
#include "runtime/io/json_file.h"
#include "runtime/models/load_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

// fp32 on both sides, as for the other transformers goldens (model_golden_test.cpp): a few
// ulps per op through two layers. Measured: at most 2.4e-6 here; 2e-4 still catches a window
// off by one (the golden script checks that the window moves logits by more than 0.1).
constexpr float kLogitTolerance = 2e-4f;
constexpr int64_t kWindow = 8;

class SlidingWindow : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = test::data_dir() / "tiny_mistral";
    model_ = load_causal_lm(dir).release();
    const nlohmann::json g = read_json_file(dir / "golden.json");
    prompt_ = g.at("prompt").get<std::vector<int32_t>>();
    greedy_ = g.at("greedy").get<std::vector<int32_t>>();
    logits_ = g.at("logits").get<std::vector<std::vector<float>>>();
  }
  static void TearDownTestSuite() { delete model_; }

  static std::vector<int32_t> context() {
    std::vector<int32_t> ids = prompt_;
    ids.insert(ids.end(), greedy_.begin(), greedy_.end());
    return ids;
  }
  static void expect_row(const float* got, size_t pos) {
    EXPECT_LE(test::max_abs_diff(got, logits_[pos].data(), logits_[pos].size()), kLogitTolerance)
        << "position " << pos;
  }

  static SequenceRequest greedy_request(std::vector<int32_t> prompt, int64_t n, std::vector<int32_t>& out) {
    return {.prompt = std::move(prompt),
            .max_new_tokens = n,
            .sampling = {.temperature = 0},
            .ignore_eos = true,
            .on_token = [&out](const GeneratedToken& t) { out.push_back(t.id); return true; }};
  }

  static CausalLM* model_;
  static std::vector<int32_t> prompt_, greedy_;
  static std::vector<std::vector<float>> logits_;  // [positions, vocab]
};
CausalLM* SlidingWindow::model_ = nullptr;
std::vector<int32_t> SlidingWindow::prompt_, SlidingWindow::greedy_;
std::vector<std::vector<float>> SlidingWindow::logits_;

TEST_F(SlidingWindow, ConfigWindowsEveryLayerWithoutCappingTheContext) {
  EXPECT_EQ(model_->spec().attention_window, kWindow);
  EXPECT_EQ(model_->spec().context_length, 64);
}

TEST_F(SlidingWindow, PrefillLogitsMatchTransformers) {
  const std::vector<int32_t> ids = context();
  const Tensor logits = test::prefill_logits(*model_, ids);
  ASSERT_EQ(logits.dim(0), static_cast<int64_t>(logits_.size()));
  for (size_t pos = 0; pos < ids.size(); ++pos) expect_row(logits.select(static_cast<int64_t>(pos)).data<float>(), pos);
}

TEST_F(SlidingWindow, DecodeLogitsMatchTransformersWithOldBlocksReleased) {
  // One token a step over blocks of 4, each step giving back the blocks the window left
  // behind, as the scheduler does: their table entries become kReleasedBlock, which the
  // CPU op entries refuse to read, so any read past the window fails loudly.
  const std::vector<int32_t> ids = context();
  KvCache cache = model_->make_kv_cache(16, 4);
  BlockTable blocks;
  for (size_t pos = 0; pos < ids.size(); ++pos) {
    ASSERT_TRUE(cache.reserve(blocks, static_cast<int64_t>(pos) + 1));
    const ForwardBatch batch{.tokens = {ids[pos]},
                             .sequences = {{.first_token = 0, .n_tokens = 1, .start_pos = static_cast<int64_t>(pos),
                                            .blocks = &blocks}}};
    expect_row(model_->forward(batch, cache, LogitsFor::last_token).data<float>(), pos);
    cache.release_before(blocks, static_cast<int64_t>(pos) + 2 - kWindow);
    EXPECT_LE(blocks.used - blocks.released, 3) << "position " << pos;  // ceil(8 / 4) + 1
  }
  EXPECT_EQ(blocks.released, 14);  // positions 0..55 of 64: a next query (64) would read from 57
  cache.release(blocks);
  EXPECT_EQ(cache.free_blocks(), 16);
}

TEST_F(SlidingWindow, GeneratesToTheFullContextLikeTransformers) {
  // The example: before sliding windows, this model's context was capped at its
  // window, so a 4-token prompt stopped after 4 new tokens. Now it runs to
  // max_position_embeddings, and every token is transformers' greedy one.
  const std::vector<GenerationRequest> requests = {
      {.prompt = prompt_, .max_new_tokens = 1000, .sampling = {.temperature = 0}, .ignore_eos = true}};
  KvCache cache = model_->make_kv_cache(16, 4);
  Generator generator(*model_, cache);
  const auto results = generator.generate(requests, [](size_t, int32_t) { return true; });
  EXPECT_EQ(results[0].finish_reason, FinishReason::length);
  ASSERT_EQ(results[0].tokens.size(), 60u);  // 64 positions - 4 prompt tokens
  EXPECT_EQ(results[0].tokens, greedy_);
  EXPECT_EQ(cache.free_blocks(), 16);
}

TEST_F(SlidingWindow, LongGenerationHoldsABoundedNumberOfBlocks) {
  // 60 tokens over blocks of 4 would hold 16 blocks without a window; with window 8 a
  // sequence holds the blocks of its last 8 positions plus the next one's: at most 3.
  KvCache cache = model_->make_kv_cache(16, 4);
  BatchScheduler scheduler(*model_, cache, {});
  std::vector<int32_t> tokens;
  scheduler.submit(greedy_request(prompt_, 60, tokens));
  int64_t peak = 0;
  while (!scheduler.idle()) {
    scheduler.step();
    peak = std::max(peak, 16 - cache.free_blocks());
  }
  EXPECT_EQ(tokens.size(), 60u);
  EXPECT_EQ(tokens, greedy_);
  EXPECT_EQ(peak, 3);
  EXPECT_EQ(cache.free_blocks(), 16);
}

TEST_F(SlidingWindow, PreemptionWithReleasedBlocksKeepsGreedyOutputs) {
  // Five prompts of 4 + 40 tokens in 12 blocks of 4: admitted at 2 blocks each, they need
  // up to 3 each to decode (15 in all), so newer ones are preempted, freeing only their
  // live blocks (not those already given back), and recomputed later. Each must generate
  // what it generates alone with room to spare.
  std::vector<std::vector<int32_t>> prompts = {prompt_};
  for (int32_t salt = 1; salt < 5; ++salt) prompts.push_back({1, 10 + salt, 20 + 3 * salt, 100 - salt});
  auto generate = [&](const std::vector<std::vector<int32_t>>& batch, int64_t blocks, int64_t* preemptions) {
    KvCache cache = model_->make_kv_cache(blocks, 4);
    BatchScheduler scheduler(*model_, cache, {.max_batch_tokens = 6});
    std::vector<std::vector<int32_t>> tokens(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) scheduler.submit(greedy_request(batch[i], 40, tokens[i]));
    while (!scheduler.idle()) scheduler.step();
    EXPECT_EQ(cache.free_blocks(), blocks) << "blocks leaked";
    if (preemptions) *preemptions = scheduler.counts().preemptions;
    return tokens;
  };
  int64_t preemptions = 0;
  const auto batched = generate(prompts, 12, &preemptions);
  EXPECT_GT(preemptions, 0);
  EXPECT_EQ(batched[0], std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 40));
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i], generate({prompts[i]}, 16, nullptr)[0]) << "prompt " << i;
  }
}

}  // namespace
}  // namespace genrt
