// T5 (original, and v1.1's gated-GELU with an untied head) against transformers
// (tools/golden/t5.py): the Unigram tokenizer's ids, the encoder's output, the decoder's
// logits step by step through the KV cache (the prompt's step, then one token a step, then
// a whole context recomputed as after a preemption), and greedy generation through the
// engine, to the fixed length and to the end token. Hostile configs give clear errors.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/engine/generator.h"
#include "runtime/engine/scheduler.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/io/json_file.h"
#include "runtime/models/load_model.h"
#include "runtime/models/t5/t5_model.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using nlohmann::json;

// fp32 on both sides; measured differences are ~1e-6 (transformers' SDPA against its eager
// attention differ by 9e-5, the golden script notes), so 1e-3 on logits of O(1-10) leaves
// ample room and still catches a wrong bias bucket or a missing scale.
constexpr float kTolerance = 1e-3f;

class T5Golden : public ::testing::TestWithParam<const char*> {
 protected:
  std::filesystem::path dir() const { return test::data_dir() / GetParam(); }
  json golden() const { return read_json_file(dir() / "golden.json"); }
};

TEST_P(T5Golden, TokenizerAndEncoderMatchTransformers) {
  const T5Model model = load_t5(dir());
  const auto tokenizer = open_tokenizer(dir(), model.spec().vocab_size);
  const json cases = golden().at("cases");  // kept alive: the loop walks into it
  for (const json& c : cases) {
    const auto ids = c.at("input_ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer->encode(c.at("input").get<std::string>(), /*add_special=*/true), ids);
    const Tensor encoded = model.encode(ids);
    const auto want = c.at("encoder_hidden").get<std::vector<std::vector<float>>>();
    ASSERT_EQ(encoded.dim(0), static_cast<int64_t>(want.size()));
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LE(test::max_abs_diff(encoded.select(static_cast<int64_t>(t)).data<float>(), want[t].data(), want[t].size()),
                kTolerance)
          << "token " << t;
    }
  }
}

TEST(T5, UnigramTokenizerMatchesTokenizersOnHostileStrings) {
  const auto dir = test::data_dir() / "tiny_t5";
  const auto tokenizer = open_tokenizer(dir, 168);
  const json cases = read_json_file(dir / "golden.json").at("tokenizer_cases");
  ASSERT_GE(cases.size(), 10u);
  for (const json& c : cases) {
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer->encode(c.at("text").get<std::string>(), true), ids) << c.at("text");
    EXPECT_EQ(tokenizer->decode(ids, /*skip_special=*/true), c.at("decoded").get<std::string>()) << c.at("text");
  }
  // The model's ids past the tokenizer's 160 pieces spell nothing, as in tokenizers.
  EXPECT_EQ(tokenizer->decode(std::vector<int32_t>{39, 160, 167, 50}, true), tokenizer->decode(std::vector<int32_t>{39, 50}, true));
}

TEST_P(T5Golden, DecoderLogitsStepByStepAndRecomputed) {
  const T5Model model = load_t5(dir());
  const int64_t vocab = model.spec().vocab_size;
  const json cases = golden().at("cases");  // kept alive: the loop walks into it
  for (const json& c : cases) {
    const auto input = c.at("input_ids").get<std::vector<int32_t>>();
    const auto decoder = c.at("decoder_input_ids").get<std::vector<int32_t>>();
    const auto want = c.at("decoder_logits").get<std::vector<std::vector<float>>>();
    KvCache cache(model.spec().kv_cache_shape(16, 4), Device::cpu);
    BlockTable blocks;
    ASSERT_TRUE(cache.reserve(blocks, static_cast<int64_t>(input.size() + decoder.size()) + 1));
    const auto prompt_tokens = static_cast<int64_t>(input.size()) + 1;
    // The prompt's step: the encoder input and the start token; then one decoder token a step.
    for (size_t step = 0; step < decoder.size(); ++step) {
      const Tensor logits =
          model.forward(test::encoder_decoder_step(input, decoder, step, blocks), cache, LogitsFor::last_token);
      ASSERT_EQ(logits.dim(1), vocab);
      EXPECT_LE(test::max_abs_diff(logits.data<float>(), want[step].data(), want[step].size()), kTolerance)
          << c.at("input") << " decoder position " << step;
    }
    // The whole context at once, as a preempted sequence is recomputed.
    std::vector<int32_t> context = input;
    context.insert(context.end(), decoder.begin(), decoder.end());
    ForwardBatch all{.tokens = context, .sequences = {}, .from_sampled = {}, .sampled = {}};
    all.sequences.push_back({.first_token = 0,
                             .n_tokens = static_cast<int64_t>(context.size()),
                             .start_pos = 0,
                             .blocks = &blocks,
                             .prompt_tokens = prompt_tokens});
    const Tensor last = model.forward(all, cache, LogitsFor::last_token);
    EXPECT_LE(test::max_abs_diff(last.data<float>(), want.back().data(), want.back().size()), kTolerance);
    cache.release(blocks);
  }
}

TEST_P(T5Golden, GreedyGenerationThroughTheEngine) {
  const auto model = load_causal_lm(dir());
  ASSERT_EQ(model->spec().decoder_start_token_id, 0);
  std::vector<GenerationRequest> fixed, until_eos, penalized;
  std::vector<std::vector<int32_t>> want_fixed, want_eos, want_penalized;
  const json cases = golden().at("cases");  // kept alive: the loop walks into it
  for (const json& c : cases) {
    const auto input = c.at("input_ids").get<std::vector<int32_t>>();
    want_fixed.push_back(c.at("greedy_ids").get<std::vector<int32_t>>());
    want_eos.push_back(c.at("greedy_until_eos").get<std::vector<int32_t>>());
    fixed.push_back({.prompt = input, .max_new_tokens = 10, .sampling = {.temperature = 0}, .ignore_eos = true});
    until_eos.push_back({.prompt = input, .max_new_tokens = 10, .sampling = {.temperature = 0}});
    // transformers' repetition penalty reads the decoder's tokens only (the encoder's input
    // would change the output here).
    want_penalized.push_back(c.at("greedy_penalized").get<std::vector<int32_t>>());
    penalized.push_back({.prompt = input, .max_new_tokens = 10, .sampling = {.temperature = 0, .repetition_penalty = 3.0f}});
  }
  // All the prompts in one batch, each written to and read from its own blocks.
  KvCache cache(model->spec().kv_cache_shape(64, 4), Device::cpu);
  Generator generator(*model, cache);
  const auto fixed_results = generator.generate(fixed, [](size_t, int32_t) { return true; });
  const auto eos_results = generator.generate(until_eos, [](size_t, int32_t) { return true; });
  const auto penalized_results = generator.generate(penalized, [](size_t, int32_t) { return true; });
  for (size_t i = 0; i < fixed.size(); ++i) {
    EXPECT_EQ(fixed_results[i].tokens, want_fixed[i]) << i;
    EXPECT_EQ(eos_results[i].tokens, want_eos[i]) << i;
    EXPECT_EQ(penalized_results[i].tokens, want_penalized[i]) << i;
  }
  EXPECT_EQ(cache.free_blocks(), cache.shape().blocks) << "blocks leaked";
}

// Asynchronous scheduling: each step launched before the previous one's tokens are back,
// its decode tokens taken from that step's sampled ids. The second prompt arrives while the
// first sequence decodes, so one step reads a prompt beside a decode whose token is still
// in flight (the general path's sampled ids) and the others decode alone (DecoderDevice's).
// The tokens stay transformers' greedy ones.
TEST_P(T5Golden, AsynchronousSchedulingKeepsTheGreedyTokens) {
  const T5Model model = load_t5(dir());
  ASSERT_TRUE(model.takes_sampled_ids());
  const json cases = golden().at("cases");
  KvCache cache(model.spec().kv_cache_shape(64, 4), Device::cpu);
  BatchScheduler s(model, cache, {.async_scheduling = true});
  std::vector<int32_t> out[2];
  const auto request = [&](int i) {
    return SequenceRequest{.prompt = cases.at(i).at("input_ids").get<std::vector<int32_t>>(),
                           .max_new_tokens = 10,
                           .sampling = {.temperature = 0},
                           .ignore_eos = true,
                           .on_token = [&out, i](const GeneratedToken& t) {
                             out[i].push_back(t.id);
                             return true;
                           }};
  };
  s.submit(request(0));
  for (int step = 0; step < 3; ++step) s.step();
  s.submit(request(1));
  while (!s.idle()) s.step();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(out[i], cases.at(i).at("greedy_ids").get<std::vector<int32_t>>()) << i;
  EXPECT_GT(s.counts().overlapped_steps, 0);
  EXPECT_EQ(cache.free_blocks(), cache.shape().blocks) << "blocks leaked";
}

// A decode step padded to a CUDA graph's batch size (pad_decode_batch: rows without a
// prompt, in the padding block, whose encoder output is one position there) leaves the
// real rows' logits as the step alone gives them.
TEST_P(T5Golden, ADecodeStepPaddedToABucketKeepsItsLogits) {
  const T5Model model = load_t5(dir());
  const json cases = golden().at("cases");
  const auto input = cases.at(0).at("input_ids").get<std::vector<int32_t>>();
  const auto decoder = cases.at(0).at("decoder_input_ids").get<std::vector<int32_t>>();
  ASSERT_GE(decoder.size(), 2u);
  KvCache cache(model.spec().kv_cache_shape(16, 4), Device::cpu);
  cache.set_aside_padding_block();
  BlockTable blocks;
  ASSERT_TRUE(cache.reserve(blocks, static_cast<int64_t>(input.size() + decoder.size()) + 1));
  model.forward(test::encoder_decoder_step(input, decoder, 0, blocks), cache, LogitsFor::last_token);
  const ForwardBatch step = test::encoder_decoder_step(input, decoder, 1, blocks);
  const Tensor alone = model.forward(step, cache, LogitsFor::last_token);
  const Tensor padded = model.forward(pad_decode_batch(step, 4, cache.padding_table()), cache, LogitsFor::last_token);
  ASSERT_EQ(padded.dim(0), 4);
  EXPECT_EQ(test::max_abs_diff(padded.data<float>(), alone.data<float>(), static_cast<size_t>(alone.numel())), 0.0f);
  // The step's logits still follow transformers.
  const auto want = cases.at(0).at("decoder_logits").get<std::vector<std::vector<float>>>();
  EXPECT_LE(test::max_abs_diff(alone.data<float>(), want[1].data(), want[1].size()), kTolerance);
  cache.release(blocks);
}

INSTANTIATE_TEST_SUITE_P(Models, T5Golden, ::testing::Values("tiny_t5", "tiny_t5_v11"));

TEST(T5, HostileConfigsAreClearErrors) {
  const json base = read_json_file(test::data_dir() / "tiny_t5" / "config.json");
  const std::pair<std::pair<const char*, json>, const char*> cases[] = {
      {{"relative_attention_num_buckets", 0}, "relative_attention_num_buckets = 0 must be at least 4"},
      {{"relative_attention_max_distance", 3}, "relative_attention_max_distance = 3 must be over half"},
      {{"feed_forward_proj", "gated-silu"}, "feed_forward_proj 'gated-silu' is not supported"},
      {{"num_heads", 0}, "num_heads = 0 must be positive"},
      {{"decoder_start_token_id", 9999}, "decoder_start_token_id = 9999 is outside the vocabulary [0, 168)"},
  };
  for (const auto& [field, message] : cases) {
    json config = base;
    config[field.first] = field.second;
    EXPECT_ERROR(t5_config_from_hf(config, "config.json"), message);
  }
  // Refused before any device is touched: fp16 overflows in T5's activations.
  EXPECT_ERROR(load_t5(test::data_dir() / "tiny_t5", {.device = Device::cuda, .dtype = DType::f16}),
               "T5 on the GPU runs in bf16: its activations overflow fp16 (transformers clamps them); use --dtype bf16");
}

// A one-token step whose sequence claims no encoder input is refused, not decoded at made-up
// positions: without a prompt (and outside the padding table), and with a prompt of the
// start token alone.
TEST(T5, ADecodeWithoutAnEncoderInputIsRefused) {
  const T5Model model = load_t5(test::data_dir() / "tiny_t5");
  KvCache cache(model.spec().kv_cache_shape(16, 4), Device::cpu);
  cache.set_aside_padding_block();
  BlockTable blocks;
  ASSERT_TRUE(cache.reserve(blocks, 8));
  ForwardBatch step{.tokens = {5}, .sequences = {}, .from_sampled = {}, .sampled = {}};
  step.sequences.push_back({.first_token = 0, .n_tokens = 1, .start_pos = 3, .blocks = &blocks, .prompt_tokens = 0});
  EXPECT_ERROR(model.forward(step, cache, LogitsFor::last_token),
               "T5: a prompt is the encoder's input (at least one token) and the decoder's start");
  step.sequences[0].prompt_tokens = 1;
  EXPECT_ERROR(model.forward(step, cache, LogitsFor::last_token),
               "forward: an encoder-decoder's prompt must hold an encoder input before the decoder's start (this one "
               "has 1 token)");
  cache.release(blocks);
}

TEST(T5, APromptIsReadWholeInOneStep) {
  const T5Model model = load_t5(test::data_dir() / "tiny_t5");
  KvCache cache(model.spec().kv_cache_shape(16, 4), Device::cpu);
  BlockTable blocks;
  ASSERT_TRUE(cache.reserve(blocks, 12));
  ForwardBatch half{.tokens = {5, 6, 7}, .sequences = {}, .from_sampled = {}, .sampled = {}};
  half.sequences.push_back({.first_token = 0, .n_tokens = 3, .start_pos = 0, .blocks = &blocks, .prompt_tokens = 7});
  EXPECT_ERROR(model.forward(half, cache, LogitsFor::last_token),
               "T5: a prompt is read whole in one step (positions [0, 3) of a 6-token encoder input)");
  EXPECT_ERROR(model.forward(half, cache, LogitsFor::all_tokens), "T5: logits of every token are not available");
  cache.release(blocks);
  // The engine never splits one, and refuses one longer than a step.
  const auto engine_model = load_causal_lm(test::data_dir() / "tiny_t5");
  KvCache engine_cache(engine_model->spec().kv_cache_shape(64, 4), Device::cpu);
  Generator generator(*engine_model, engine_cache, {.max_batch_tokens = 8});
  const std::vector<GenerationRequest> long_prompt = {{.prompt = std::vector<int32_t>(8, 5), .max_new_tokens = 2}};
  EXPECT_ERROR(generator.generate(long_prompt, [](size_t, int32_t) { return true; }),
               "the prompt has 9 tokens, but an encoder-decoder reads its prompt in one step of at most 8 tokens");
  const auto tokenizer = open_tokenizer(test::data_dir() / "tiny_t5", 168);
  const auto any_text = grammar::TokenGrammar::from_gbnf(
      "root ::= [a-z]+", std::make_shared<const grammar::TokenVocabulary>(*tokenizer, 168));
  const std::vector<GenerationRequest> constrained = {{.prompt = {5, 1}, .max_new_tokens = 2, .grammar = any_text}};
  EXPECT_ERROR(generator.generate(constrained, [](size_t, int32_t) { return true; }),
               "a grammar (response_format) with an encoder-decoder is not supported yet");
}

}  // namespace
}  // namespace genrt
