// Llama models on the GPU against the CPU reference and the transformers goldens. Skip,
// saying why, without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine/generator.h"
#include "runtime/engine/scheduler.h"
#include "runtime/io/json_file.h"
#include "runtime/models/llama/llama_loader.h"
#include "runtime/models/load_model.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

const DeviceOptions kGpu{.device = Device::cuda, .dtype = DType::bf16, .gpu_memory = 0.5};

std::vector<GenerationResult> greedy(const CausalLM& model, const std::vector<std::vector<int32_t>>& prompts,
                                     int64_t n) {
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) {
    requests.push_back({.prompt = p, .max_new_tokens = n, .sampling = {.temperature = 0}, .ignore_eos = true});
  }
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  auto results = generator.generate(requests, [](size_t, int32_t) { return true; });
  EXPECT_EQ(cache.free_blocks(), cache.usable_blocks()) << "blocks leaked";  // the padding block stays aside
  return results;
}

// Bf16 weights and activations with fp32 accumulation against transformers' fp32: 0.1 + 2%
// for the 2-layer tiny Llama, whose logits are not near-chaotic in rounding.
float bf16_logit_tolerance(float logit) { return 0.1f + 0.02f * std::abs(logit); }

std::filesystem::path stories() { return test::shared_dir() / "models" / "stories260K.bin"; }

class LlamaGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// Greedy ids cannot be compared with the fp32 CPU: stories260K's first token is a near-tie
// (9.489 for 461 against 9.381 for 306) that bf16 flips, and its logits drift by up to 1.2
// from fp32 over 30 positions. tools/golden/stories260k_bf16.py emulates the GPU's bf16
// rounding points in numpy (its fp32 mode is the CPU model, checked by
// Stories260K.NumpyEmulationInFp32IsThisModel); on the H200 the GPU matched it to 4 digits
// over 19 positions and within 0.114 over all 32 (fp32 accumulation order differs), so
// 0.2 + 2% is tight where the fp32 drift is not. The argmax must agree wherever the
// emulation's top-2 margin exceeds twice that.
TEST_F(LlamaGpu, Stories260KMatchesItsBf16Emulation) {
  const nlohmann::json g = read_json_file(test::data_dir() / "stories260K_bf16_golden.json");
  const auto want = g.at("logits_bf16").get<std::vector<std::vector<float>>>();
  const Tensor got = test::prefill_logits(*load_causal_lm(stories(), kGpu), g.at("path").get<std::vector<int32_t>>());
  ASSERT_EQ(got.dim(0), static_cast<int64_t>(want.size()));
  const int64_t vocab = got.dim(1);
  const auto tolerance = [](float logit) { return 0.2f + 0.02f * std::abs(logit); };
  for (size_t p = 0; p < want.size(); ++p) {
    const float* row = got.data<float>() + static_cast<int64_t>(p) * vocab;
    float worst = 0.0f;
    size_t worst_token = 0;
    for (size_t v = 0; v < want[p].size(); ++v) {
      const float excess = std::abs(row[v] - want[p][v]) - tolerance(want[p][v]);
      if (!(excess <= worst)) worst = excess, worst_token = v;  // NaN lands here too
    }
    EXPECT_LE(worst, 0.0f) << "position " << p << " token " << worst_token << ": gpu " << row[worst_token]
                           << " emulated " << want[p][worst_token];
    std::vector<float> top = want[p];
    std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
    const auto wanted = std::max_element(want[p].begin(), want[p].end()) - want[p].begin();
    if (top[0] - top[1] > 2 * tolerance(top[0])) EXPECT_EQ(std::max_element(row, row + vocab) - row, wanted) << "position " << p;
  }
}

TEST_F(LlamaGpu, MixedBatchEqualsEachSequenceAlone) {
  const auto gpu = load_causal_lm(stories(), kGpu);
  const std::vector<std::vector<int32_t>> prompts = {{1}, {1, 300, 301, 5}, std::vector<int32_t>(21, 7)};
  const auto batched = greedy(*gpu, prompts, 40);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i].tokens, greedy(*gpu, {prompts[i]}, 40)[0].tokens) << "prompt " << i;
  }
}

TEST_F(LlamaGpu, DecodeAllocatesNoDeviceMemory) {
  const auto gpu = load_causal_lm(stories(), kGpu);
  GenerationRequest request{.prompt = {1}, .max_new_tokens = 24, .sampling = {.temperature = 0}, .ignore_eos = true};
  KvCache cache = gpu->make_kv_cache(4, 16);
  Generator generator(*gpu, cache);
  uint64_t at_first_token = 0;
  generator.generate({&request, 1}, [&](size_t, int32_t) {
    if (at_first_token == 0) at_first_token = device_allocation_count(Device::cuda);
    EXPECT_EQ(device_allocation_count(Device::cuda), at_first_token);
    return true;
  });
}

// Sampling on the device (penalties, draws, logprobs) takes its scratch from the step's
// workspace too; and a seeded run repeats.
TEST_F(LlamaGpu, SampledDecodeWithLogprobsAllocatesNothingAndRepeats) {
  const auto gpu = load_causal_lm(stories(), kGpu);
  const auto run = [&] {
    KvCache cache = gpu->make_kv_cache(8, 16);
    BatchScheduler scheduler(*gpu, cache, {});
    std::vector<std::vector<int32_t>> tokens(2);
    uint64_t at_first_token = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      scheduler.submit({.prompt = {1, 300 + static_cast<int32_t>(i)},
                        .max_new_tokens = 24,
                        .sampling = {.temperature = 0.9f, .top_p = 0.95f, .repetition_penalty = 1.2f, .seed = 5 + i},
                        .ignore_eos = true,
                        .top_logprobs = 20,
                        .on_token = [&, i](const GeneratedToken& t) {
                          if (at_first_token == 0) at_first_token = device_allocation_count(Device::cuda);
                          EXPECT_EQ(device_allocation_count(Device::cuda), at_first_token);
                          EXPECT_TRUE(t.logprobs != nullptr && t.logprobs->top.size() == 20u);
                          tokens[i].push_back(t.id);
                          return true;
                        }});
    }
    while (!scheduler.idle()) scheduler.step();
    return tokens;
  };
  EXPECT_EQ(run(), run());
}

// transformers' fp32 logits for the tiny GQA Llama (bf16 weights): the GPU computes in
// bf16 activations with fp32 accumulation, within bf16_logit_tolerance (passed on the H200,
// 2026-11-30).
TEST_F(LlamaGpu, TinyLlamaLogitsWithinBf16OfTransformers) {
  const auto dir = test::data_dir() / "tiny_llama";
  const nlohmann::json golden = read_json_file(dir / "golden.json");
  const auto prompt = golden.at("prompt").get<std::vector<int32_t>>();
  const auto want = golden.at("logits").get<std::vector<std::vector<float>>>();
  const auto gpu = load_causal_lm(dir, kGpu);
  const Tensor got = test::prefill_logits(*gpu, prompt);
  ASSERT_EQ(got.dim(0), static_cast<int64_t>(want.size()));
  for (size_t pos = 0; pos < want.size(); ++pos) {
    for (size_t v = 0; v < want[pos].size(); ++v) {
      ASSERT_NEAR(got.data<float>()[pos * want[pos].size() + v], want[pos][v], bf16_logit_tolerance(want[pos][v]))
          << "position " << pos << " token " << v;
    }
  }
}

TEST_F(LlamaGpu, ModelTooLargeForTheBudgetIsAClearError) {
  DeviceOptions tiny_budget = kGpu;
  tiny_budget.gpu_memory = 1e-6;
  try {
    (void)load_causal_lm(stories(), tiny_budget);
    FAIL() << "a model loaded into a 1e-6 share of the device";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model does not fit: it needs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace genrt
