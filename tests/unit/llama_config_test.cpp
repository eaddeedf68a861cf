// HF config.json parsing for the Llama family, and the errors for configs that cannot work.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/models/llama/llama_config.h"
#include "runtime/models/llama/rope_frequencies.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

nlohmann::json base_config() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"hidden_size", 64},
          {"intermediate_size", 128},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"vocab_size", 100},
          {"max_position_embeddings", 256},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 500000.0},
          {"eos_token_id", {2, 7}}};
}

TEST(LlamaConfig, ParsesLlama) {
  const LlamaConfig c = llama_config_from_hf(base_config(), "config.json");
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{2, 7}));
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(LlamaConfig, Qwen2HasQkvBiasAndTransformers5RopeParameters) {
  nlohmann::json j = base_config();
  j["architectures"] = {"Qwen2ForCausalLM"};
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 1e6}, {"rope_type", "default"}};
  j["sliding_window"] = 32;  // ignored: use_sliding_window is false
  const LlamaConfig c = llama_config_from_hf(j, "config.json");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.max_position_embeddings, 256);
}

TEST(LlamaConfig, MistralWindowsEveryLayerAndKeepsItsContext) {
  nlohmann::json j = base_config();
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = 128;
  j["layer_types"] = {"full_attention", "full_attention"};  // transformers' Mistral ignores them
  LlamaConfig c = llama_config_from_hf(j, "config.json");
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_EQ(c.layer_windows, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(c.spec().attention_window, 128);
  j.erase("sliding_window");  // MistralConfig's default
  EXPECT_EQ(llama_config_from_hf(j, "config.json").layer_windows, (std::vector<int64_t>{4096, 4096}));
  j["sliding_window"] = nullptr;  // no window
  c = llama_config_from_hf(j, "config.json");
  EXPECT_EQ(c.layer_windows, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(c.spec().attention_window, 0);
}

TEST(LlamaConfig, Qwen2WindowsTheLayersTransformersDoes) {
  nlohmann::json j = base_config();
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["num_hidden_layers"] = 3;
  j["sliding_window"] = 32;
  j["max_window_layers"] = 1;
  EXPECT_EQ(llama_config_from_hf(j, "config.json").layer_windows, (std::vector<int64_t>{0, 0, 0}))
      << "use_sliding_window is false";
  j["use_sliding_window"] = true;
  const LlamaConfig c = llama_config_from_hf(j, "config.json");
  EXPECT_EQ(c.layer_windows, (std::vector<int64_t>{0, 32, 32}));  // layers from max_window_layers on
  EXPECT_EQ(c.layer_window(1), 32);
  EXPECT_EQ(c.spec().attention_window, 0);  // layer 0 reads the whole context
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention"};  // overrides max_window_layers
  EXPECT_EQ(llama_config_from_hf(j, "config.json").layer_windows, (std::vector<int64_t>{32, 0, 32}));
  j["layer_types"] = {"sliding_attention", "sliding_attention", "sliding_attention"};
  EXPECT_EQ(llama_config_from_hf(j, "config.json").spec().attention_window, 32);
  j.erase("layer_types");
  j.erase("max_window_layers");  // Qwen2Config's default 28: no layer of 3
  EXPECT_EQ(llama_config_from_hf(j, "config.json").layer_windows, (std::vector<int64_t>{0, 0, 0}));
}

TEST(LlamaConfig, ValidateChecksLayerWindows) {
  LlamaConfig c = llama_config_from_hf(base_config(), "config.json");
  EXPECT_EQ(c.layer_windows, (std::vector<int64_t>{0, 0}));  // Llama has no window
  c.layer_windows = {16, -1};
  EXPECT_ERROR(c.validate("model"), "model: sliding window -1 must be >= 0 (0: full attention)");
  c.layer_windows = {16};
  EXPECT_ERROR(c.validate("model"), "model: 1 layer windows for 2 layers");
}

TEST(LlamaConfig, Llama3RopeScalingMatchesTransformers) {
  nlohmann::json j = base_config();
  j["hidden_size"] = 512;  // head_dim 128
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  const LlamaConfig c = llama_config_from_hf(j, "config.json");
  const std::vector<float> f = rope_inv_frequencies(c);
  ASSERT_EQ(f.size(), 64u);
  // transformers _compute_llama3_parameters for theta 5e5, head_dim 128: the highest
  // frequency is kept, the lowest divided by 8, and index 32 (wavelength ~4.5k) sits in
  // the smoothed band between 2048 and 8192.
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_NEAR(f[63], 1.0f / std::pow(500000.0f, 126.0f / 128) / 8, 1e-12);
  const float raw32 = 1.0f / std::pow(500000.0f, 64.0f / 128);
  EXPECT_LT(f[32], raw32);
  EXPECT_GT(f[32], raw32 / 8);
}

struct BadConfig {
  const char* name;
  nlohmann::json patch;  // merged into the base config; null values erase the field
  const char* error;
};

class HostileConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(HostileConfig, IsRejectedWithAClearError) {
  nlohmann::json j = base_config();
  for (const auto& [key, value] : GetParam().patch.items()) {
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
  }
  EXPECT_ERROR(llama_config_from_hf(j, "dir/config.json"), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostileConfig,
    ::testing::Values(
        BadConfig{"MissingHiddenSize", {{"hidden_size", nullptr}}, "dir/config.json: missing required field 'hidden_size'"},
        BadConfig{"MissingVocab", {{"vocab_size", nullptr}}, "missing required field 'vocab_size'"},
        BadConfig{"HeadDimNotDividingHidden", {{"num_attention_heads", 5}, {"num_key_value_heads", 5}},
                  "hidden_size 64 is not divisible by num_attention_heads 5"},
        BadConfig{"KvHeadsNotDividingHeads", {{"num_key_value_heads", 3}},
                  "num_key_value_heads 3 does not divide num_attention_heads 4"},
        BadConfig{"ZeroLayers", {{"num_hidden_layers", 0}}, "num_hidden_layers = 0 must be positive"},
        BadConfig{"WrongType", {{"hidden_size", "64"}}, "field 'hidden_size' has the wrong type"},
        BadConfig{"HugeValue", {{"vocab_size", 1e30}}, "field 'vocab_size' has the wrong type"},
        BadConfig{"UnknownArchitecture", {{"architectures", {"GPTNeoXForCausalLM"}}},
                  "architecture 'GPTNeoXForCausalLM' is not supported"},
        BadConfig{"UnknownRopeScaling", {{"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}}},
                  "rope type 'yarn' is not supported"},
        BadConfig{"BadActivation", {{"hidden_act", "gelu"}}, "hidden_act 'gelu' is not supported"},
        BadConfig{"BadEos", {{"eos_token_id", "two"}}, "eos_token_id must be a token id"},
        BadConfig{"NegativeWindow", {{"architectures", {"MistralForCausalLM"}}, {"sliding_window", -8}},
                  "dir/config.json: sliding_window = -8 must be positive (null: no window)"},
        BadConfig{"ZeroWindow", {{"architectures", {"MistralForCausalLM"}}, {"sliding_window", 0}},
                  "sliding_window = 0 must be positive"},
        BadConfig{"TextWindow", {{"architectures", {"MistralForCausalLM"}}, {"sliding_window", "8"}},
                  "field 'sliding_window' has the wrong type"},
        BadConfig{"ShortLayerTypes",
                  {{"architectures", {"Qwen2ForCausalLM"}}, {"use_sliding_window", true},
                   {"layer_types", {"sliding_attention"}}},
                  "layer_types must list the type of each of the 2 layers"},
        BadConfig{"UnknownLayerType",
                  {{"architectures", {"Qwen2ForCausalLM"}}, {"use_sliding_window", true},
                   {"layer_types", {"sliding_attention", "chunked_attention"}}},
                  "layer_types[1] = \"chunked_attention\" is not supported"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace genrt
