// Decoder embeddings (--embedding-pooling last) against transformers: the final hidden
// state of each input's last token, from tools/golden/decoder_embeddings.py, for Llama,
// Qwen2, Mistral (its sliding window shorter than the inputs), GPT-2 and OPT (with and
// without project_out); the forwards' batching; and the errors of what cannot embed.

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/models/embedder.h"
#include "runtime/models/load_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

const Pooling kLast{.mode = PoolingMode::last, .normalize = false};

nlohmann::json golden() { return read_json_file(test::data_dir() / "decoder_embeddings_golden.json"); }

std::vector<std::vector<int32_t>> golden_inputs() { return golden().at("inputs").get<std::vector<std::vector<int32_t>>>(); }

std::unique_ptr<Embedder> embedder_of(const std::string& model, Pooling pooling = kLast) {
  return decoder_embedder(load_causal_lm(test::data_dir() / model), pooling, {});
}

// The checkpoints hold bf16, fp16 or fp32 weights, which both sides compute with in fp32:
// what differs is summation order.
constexpr double kRelativeTolerance = 2e-4;

class DecoderEmbeddingGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderEmbeddingGolden, LastTokenStatesMatchTransformersInOneForward) {
  const auto want = golden().at("models").at(GetParam()).get<std::vector<std::vector<float>>>();
  const auto got = embedder_of(GetParam())->embed(golden_inputs());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << "input " << i;
    EXPECT_LE(test::relative_l2(got[i].data(), want[i].data(), want[i].size()), kRelativeTolerance) << "input " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, DecoderEmbeddingGolden,
                         ::testing::Values("tiny_llama", "tiny_qwen2", "tiny_mistral", "tiny_gpt2", "tiny_opt",
                                           "tiny_opt_proj"));

TEST(DecoderEmbedding, InputsBeyondOneForwardAreSplitAcrossForwardsInOrder) {
  // 70 inputs: more sequences than a CPU forward takes (32), so three forwards.
  const auto inputs = golden_inputs();
  const auto want = golden().at("models").at("tiny_llama").get<std::vector<std::vector<float>>>();
  std::vector<std::vector<int32_t>> many;
  for (size_t i = 0; i < 70; ++i) many.push_back(inputs[i % inputs.size()]);
  const auto got = embedder_of("tiny_llama")->embed(many);
  ASSERT_EQ(got.size(), many.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const auto& w = want[i % want.size()];
    EXPECT_LE(test::relative_l2(got[i].data(), w.data(), w.size()), kRelativeTolerance) << "input " << i;
  }
}

TEST(DecoderEmbedding, NormalizedEmbeddingsHaveUnitLengthAndTheSameDirection) {
  const auto inputs = golden_inputs();
  const auto raw = embedder_of("tiny_qwen2")->embed(inputs);
  const auto unit = embedder_of("tiny_qwen2", {.mode = PoolingMode::last, .normalize = true})->embed(inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    double norm = 0;
    for (float v : raw[i]) norm += double(v) * v;
    norm = std::sqrt(norm);
    double unit_norm = 0;
    for (size_t d = 0; d < raw[i].size(); ++d) {
      EXPECT_NEAR(unit[i][d], raw[i][d] / norm, 1e-6) << "input " << i << " dim " << d;
      unit_norm += double(unit[i][d]) * unit[i][d];
    }
    EXPECT_NEAR(unit_norm, 1.0, 1e-5);
  }
}

TEST(DecoderEmbedding, TellsWhatItIs) {
  const auto e = embedder_of("tiny_opt_proj");
  EXPECT_EQ(e->architecture(), "OPTForCausalLM");
  EXPECT_EQ(e->dimensions(), 32);  // word_embed_proj_dim: the state after project_out
  EXPECT_EQ(e->context_length(), 64);
  EXPECT_EQ(e->vocab_size(), 128);
  EXPECT_EQ(e->pooling().mode, PoolingMode::last);
}

TEST(DecoderEmbedding, WhatCannotEmbedSaysWhy) {
  EXPECT_ERROR(embedder_of("tiny_llama", {.mode = PoolingMode::mean}),
               "LlamaForCausalLM is a decoder: its embeddings pool the last token (--embedding-pooling last)");
  EXPECT_ERROR(embedder_of("tiny_t5"), "T5ForConditionalGeneration is an encoder-decoder");
  const auto e = embedder_of("tiny_llama");
  EXPECT_ERROR(e->embed(std::vector<std::vector<int32_t>>{{1, 2}, {}}), "an input to embed has no tokens");
  EXPECT_ERROR(e->embed(std::vector<std::vector<int32_t>>{std::vector<int32_t>(129, 1)}),
               "an input of 129 tokens is longer than a forward step's 128 tokens");
  EXPECT_ERROR(e->embed(std::vector<std::vector<int32_t>>{{1, 256}}), "token id 256 is outside the vocabulary [0, 256)");
}

TEST(LogitsFor, T5RefusesHiddenStates) {
  const auto model = load_causal_lm(test::data_dir() / "tiny_t5");
  KvCache cache = model->make_kv_cache(4, 16);
  BlockTable blocks;
  ASSERT_TRUE(cache.reserve(blocks, 5));
  const ForwardBatch batch{.tokens = {5, 6, 7, 1, 0},
                           .sequences = {{.first_token = 0, .n_tokens = 5, .start_pos = 0, .blocks = &blocks,
                                          .prompt_tokens = 4}}};
  EXPECT_ERROR(model->forward(batch, cache, LogitsFor::last_token_hidden),
               "T5: the decoder's hidden states are not available");
}

}  // namespace
}  // namespace genrt
