// Decoder embeddings (--embedding-pooling last) on the GPU against transformers' fp32
// last-token states: the planned KV pool, a forward of several inputs and the download of
// bf16 hidden rows. Skip, saying why, without a device.

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/models/embedder.h"
#include "runtime/models/load_model.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

const DeviceOptions kGpu{.device = Device::cuda, .dtype = DType::bf16, .gpu_memory = 0.5};

class DecoderEmbeddingGpu : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// bf16 weights and activations over two layers against fp32: a cosine of 0.999 is about
// a 4% error in norm, well above bf16's drift here and far below a wrong row or layer.
TEST_P(DecoderEmbeddingGpu, LastTokenStatesFollowTransformersInBf16) {
  const nlohmann::json golden = read_json_file(test::data_dir() / "decoder_embeddings_golden.json");
  const auto inputs = golden.at("inputs").get<std::vector<std::vector<int32_t>>>();
  const auto want = golden.at("models").at(GetParam()).get<std::vector<std::vector<float>>>();
  const auto embedder = decoder_embedder(load_causal_lm(test::data_dir() / GetParam(), kGpu),
                                         {.mode = PoolingMode::last}, kGpu);
  const auto got = embedder->embed(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size());
    EXPECT_GE(test::cosine_similarity(got[i], want[i]), 0.999) << "input " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, DecoderEmbeddingGpu, ::testing::Values("tiny_llama", "tiny_qwen2", "tiny_opt_proj"));

}  // namespace
}  // namespace genrt
