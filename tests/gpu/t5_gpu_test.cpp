// T5 on the GPU (bf16) against transformers' fp32 goldens (tools/golden/t5.py): the
// encoder's output, the decoder's logits step by step through the paged KV cache (the
// relative position bias in the warp kernels, cross keys and values written by
// kv_cache_write; the decode steps replaying CUDA graphs), and generation through the
// engine, with graphs and without. Skip, saying why, without a device.

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/backend/device_runtime.h"
#include "runtime/engine/generator.h"
#include "runtime/io/json_file.h"
#include "runtime/models/t5/t5_model.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using nlohmann::json;

const DeviceOptions kGpu{.device = Device::cuda, .dtype = DType::bf16, .gpu_memory = 0.5};

// bf16 weights and activations over 2 encoder and 3 decoder blocks against fp32: values of
// O(1) within 0.05 + 3%, as for the other tiny models; a wrong bucket, a missing cross
// write or an unscaled head is off by far more.
float bf16_tolerance(float want) { return 0.05f + 0.03f * std::abs(want); }

class T5Gpu : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
  std::filesystem::path dir() const { return test::data_dir() / GetParam(); }
};

TEST_P(T5Gpu, EncoderAndStepByStepLogitsFollowTransformersInBf16) {
  const T5Model model = load_t5(dir(), kGpu);
  const json cases = read_json_file(dir() / "golden.json").at("cases");  // kept alive: the loop walks into it
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("input").get<std::string>());
    const auto input = c.at("input_ids").get<std::vector<int32_t>>();
    const Tensor encoded = model.encode(input);
    const auto hidden = c.at("encoder_hidden").get<std::vector<std::vector<float>>>();
    ASSERT_EQ(encoded.dim(0), std::ssize(hidden));
    for (size_t t = 0; t < hidden.size(); ++t) {
      for (size_t d = 0; d < hidden[t].size(); ++d) {
        ASSERT_NEAR(encoded.data<float>()[t * hidden[t].size() + d], hidden[t][d], bf16_tolerance(hidden[t][d]))
            << "encoder token " << t << " feature " << d;
      }
    }

    const auto decoder = c.at("decoder_input_ids").get<std::vector<int32_t>>();
    const auto want = c.at("decoder_logits").get<std::vector<std::vector<float>>>();
    KvCache cache = model.make_kv_cache(8, 16);
    BlockTable blocks;
    ASSERT_TRUE(cache.reserve(blocks, static_cast<int64_t>(input.size() + decoder.size()) + 1));
    for (size_t step = 0; step < decoder.size(); ++step) {
      const Tensor logits = model.device_runtime()->download_f32(
          model.forward(test::encoder_decoder_step(input, decoder, step, blocks), cache, LogitsFor::last_token));
      ASSERT_EQ(logits.dim(1), std::ssize(want[step]));
      for (size_t v = 0; v < want[step].size(); ++v) {
        ASSERT_NEAR(logits.data<float>()[v], want[step][v], bf16_tolerance(want[step][v]))
            << "decoder position " << step << " token " << v;
      }
    }
    cache.release(blocks);
  }
}

// The engine on the GPU: every golden input in one batch (their prompts encoded in one
// step), ten tokens each, and every KV block back in the pool after.
TEST_P(T5Gpu, BatchedGenerationThroughTheEngineRunsToLength) {
  const T5Model model = load_t5(dir(), kGpu);
  const json cases = read_json_file(dir() / "golden.json").at("cases");
  std::vector<GenerationRequest> requests;
  for (const json& c : cases) {
    requests.push_back({.prompt = c.at("input_ids").get<std::vector<int32_t>>(),
                        .max_new_tokens = 10,
                        .sampling = {.temperature = 0},
                        .ignore_eos = true});
  }
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  const auto results = generator.generate(requests, [](size_t, int32_t) { return true; });
  ASSERT_EQ(results.size(), requests.size());
  for (const GenerationResult& r : results) {
    ASSERT_EQ(r.tokens.size(), 10u);
    for (int32_t id : r.tokens) EXPECT_TRUE(id >= 0 && id < model.spec().vocab_size) << id;
  }
  EXPECT_EQ(cache.free_blocks(), cache.usable_blocks()) << "blocks leaked";  // the padding block stays aside
}

// Decode steps replay a CUDA graph per batch size, with the cross-attention's encoder
// lengths among the inputs written before each replay: the same greedy tokens as launching
// every kernel, for batches of one and two (graph buckets, so both runs' GEMMs see the same
// rows; encoder outputs inside one key tile, so no split changes a sum's order).
TEST_P(T5Gpu, GreedyTokensMatchWithoutCudaGraphs) {
  const T5Model with = load_t5(dir(), kGpu);
  DeviceOptions eager = kGpu;
  eager.cuda_graphs = false;
  const T5Model without = load_t5(dir(), eager);
  EXPECT_FALSE(with.graph_batch_sizes().empty());
  EXPECT_TRUE(without.graph_batch_sizes().empty());
  const json cases = read_json_file(dir() / "golden.json").at("cases");
  const auto greedy = [&](const T5Model& model, size_t sequences) {
    std::vector<GenerationRequest> requests;
    for (size_t i = 0; i < sequences; ++i) {
      requests.push_back({.prompt = cases.at(i).at("input_ids").get<std::vector<int32_t>>(),
                          .max_new_tokens = 12,
                          .sampling = {.temperature = 0},
                          .ignore_eos = true});
    }
    KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
    Generator generator(model, cache);
    return generator.generate(requests, [](size_t, int32_t) { return true; });
  };
  for (const size_t sequences : {1u, 2u}) {
    const uint64_t replays = with.device_runtime()->graph_replays();
    const auto a = greedy(with, sequences), b = greedy(without, sequences);
    ASSERT_EQ(a.size(), b.size());
    for (size_t s = 0; s < a.size(); ++s) {
      EXPECT_EQ(a[s].tokens, b[s].tokens) << sequences << " sequences, sequence " << s;
      EXPECT_EQ(a[s].tokens.size(), 12u);
    }
    // One step reads the prompts; the other 11 decode, the first capturing its bucket.
    EXPECT_EQ(with.device_runtime()->graph_replays() - replays, 10u) << sequences << " sequences";
  }
  EXPECT_EQ(with.captured_graphs(), 2);  // batches 1 and 2
  EXPECT_EQ(without.captured_graphs(), 0);
  EXPECT_EQ(without.device_runtime()->graph_replays(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, T5Gpu, ::testing::Values("tiny_t5", "tiny_t5_v11"));

}  // namespace
}  // namespace genrt
