// The C API's diffusion entries: the golden run through genrt_diffuse, a cancelling
// progress callback, and every misuse a status with a message.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "genrt/genrt.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "tests/test_util.h"

namespace {

std::string tiny_dit() { return (genrt::test::data_dir() / "tiny_dit").string(); }

std::string last_error() { return genrt_last_error(); }

class CApiDiffusion : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(genrt_diffusion_model_load(tiny_dit().c_str(), nullptr, &model_), GENRT_OK) << last_error(); }
  void TearDown() override { EXPECT_EQ(genrt_diffusion_model_free(model_), GENRT_OK); }
  genrt_diffusion_model* model_ = nullptr;
};

TEST_F(CApiDiffusion, ReproducesTheDiffusersPipelineGolden) {
  const nlohmann::json golden = genrt::read_json_file(genrt::test::data_dir() / "dit_golden.json").at("pipeline");
  const auto labels = golden.at("class_labels").get<std::vector<int32_t>>();
  const genrt::Tensor noise = genrt::read_npy(genrt::test::data_dir() / "dit_init_noise.npy");
  size_t count = 0;
  ASSERT_EQ(genrt_diffusion_latent_count(model_, labels.size(), &count), GENRT_OK);
  ASSERT_EQ(count, 2u * 4 * 8 * 8);

  genrt_diffusion_options options;
  genrt_diffusion_options_init(&options);
  options.class_labels = labels.data();
  options.n_images = labels.size();
  options.guidance = 4.0f;
  options.steps = 10;
  options.scheduler = "ddim";
  options.init_noise = noise.data<float>();
  std::vector<float> latents(count);
  genrt_diffusion_result result{sizeof(genrt_diffusion_result)};
  int64_t calls = 0;
  auto on_step = [](void* user, int64_t step, int64_t steps, double, double) {
    ++*static_cast<int64_t*>(user);
    (void)step, (void)steps;
    return 0;
  };
  ASSERT_EQ(genrt_diffuse(model_, &options, on_step, &calls, latents.data(), latents.size(), &result), GENRT_OK)
      << last_error();
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(result.steps_done, 10);
  EXPECT_EQ(result.cancelled, 0);
  EXPECT_EQ(result.shape[0], 2);
  EXPECT_EQ(result.shape[3], 8);
  const auto want = golden.at("latents").get<std::vector<float>>();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(latents[i], want[i], 5e-3 * (1 + std::abs(want[i]))) << i;  // as DitGolden
  }
}

TEST_F(CApiDiffusion, CallbackCancelsAndTheModelStaysUsable) {
  const int32_t label = 7;
  genrt_diffusion_options options;
  genrt_diffusion_options_init(&options);
  options.class_labels = &label;
  options.n_images = 1;
  options.steps = 6;
  std::vector<float> latents(4 * 8 * 8);
  genrt_diffusion_result result{sizeof(genrt_diffusion_result)};
  auto stop_at_3 = [](void*, int64_t step, int64_t, double, double) { return step >= 3 ? 1 : 0; };
  ASSERT_EQ(genrt_diffuse(model_, &options, stop_at_3, nullptr, latents.data(), latents.size(), &result), GENRT_OK);
  EXPECT_EQ(result.steps_done, 3);
  EXPECT_EQ(result.cancelled, 1);
  ASSERT_EQ(genrt_diffuse(model_, &options, nullptr, nullptr, latents.data(), latents.size(), &result), GENRT_OK);
  EXPECT_EQ(result.steps_done, 6);
  genrt_memory_usage usage{sizeof(genrt_memory_usage)};
  ASSERT_EQ(genrt_diffusion_model_memory(model_, &usage), GENRT_OK);
  EXPECT_GT(usage.weights_bytes, 0u);
}

TEST_F(CApiDiffusion, MisuseIsAStatusWithAMessage) {
  const int32_t labels[2] = {1, 1000};
  genrt_diffusion_options options;
  genrt_diffusion_options_init(&options);
  options.class_labels = labels;
  options.n_images = 1;
  options.steps = 2;
  std::vector<float> latents(2 * 4 * 8 * 8);
  EXPECT_EQ(genrt_diffuse(nullptr, &options, nullptr, nullptr, latents.data(), latents.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("genrt_diffuse: genrt_diffusion_model is NULL"), std::string::npos) << last_error();
  EXPECT_EQ(genrt_diffuse(model_, nullptr, nullptr, nullptr, latents.data(), latents.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_diffuse(model_, &options, nullptr, nullptr, latents.data(), 10, nullptr), GENRT_ERROR_BUFFER_TOO_SMALL);
  EXPECT_NE(last_error().find("latents buffer holds 10 floats, 256 needed"), std::string::npos) << last_error();
  options.n_images = 2;
  EXPECT_EQ(genrt_diffuse(model_, &options, nullptr, nullptr, latents.data(), latents.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("class label 1000 is outside"), std::string::npos) << last_error();
  options.n_images = 1;
  options.scheduler = "plms";
  EXPECT_EQ(genrt_diffuse(model_, &options, nullptr, nullptr, latents.data(), latents.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("unknown scheduler 'plms'"), std::string::npos) << last_error();
  options.scheduler = nullptr;
  options.struct_size = 8;
  EXPECT_EQ(genrt_diffuse(model_, &options, nullptr, nullptr, latents.data(), latents.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("call genrt_diffusion_options_init first"), std::string::npos);
}

TEST(CApiDiffusionLoad, ErrorsAndDoubleFree) {
  genrt_diffusion_model* model = reinterpret_cast<genrt_diffusion_model*>(0x1);
  EXPECT_EQ(genrt_diffusion_model_load("/nonexistent", nullptr, &model), GENRT_ERROR_MODEL);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(last_error().find("/nonexistent"), std::string::npos) << last_error();
  const std::string llama = (genrt::test::data_dir() / "tiny_llama").string();
  EXPECT_EQ(genrt_diffusion_model_load(llama.c_str(), nullptr, &model), GENRT_ERROR_MODEL);
  EXPECT_NE(last_error().find("not a DiT"), std::string::npos) << last_error();
  genrt_load_options options;
  genrt_load_options_init(&options);
  options.device = GENRT_DEVICE_CUDA;
  EXPECT_EQ(genrt_diffusion_model_load(tiny_dit().c_str(), &options, &model), GENRT_ERROR_UNSUPPORTED);
  ASSERT_EQ(genrt_diffusion_model_load(tiny_dit().c_str(), nullptr, &model), GENRT_OK);
  EXPECT_EQ(genrt_diffusion_model_free(model), GENRT_OK);
  EXPECT_EQ(genrt_diffusion_model_free(model), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("not a live genrt_diffusion_model"), std::string::npos);
  size_t count = 0;
  EXPECT_EQ(genrt_diffusion_latent_count(model, 1, &count), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_diffusion_model_free(nullptr), GENRT_OK);
}

}  // namespace
