// The C API's diffusion entries: the golden run through genrt_diffuse, a cancelling
// progress callback, and every misuse a status with a message.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "genrt/genrt.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
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

namespace {

std::string tiny_sd1() { return (genrt::test::data_dir() / "tiny_sd" / "sd1").string(); }

// diffusers' pixels of the golden run (float [1, h, w, 3] in [0, 1]) against the C API's
// bytes: the pipeline matches them within 3e-6 before rounding to 8 bits, so a byte may
// differ by one where a value sits on a rounding boundary.
TEST(CApiTxt2img, ReproducesTheDiffusersPipelineGoldenAsRgbBytes) {
  genrt_diffusion_model* model = nullptr;
  ASSERT_EQ(genrt_diffusion_model_load(tiny_sd1().c_str(), nullptr, &model), GENRT_OK) << last_error();
  const nlohmann::json golden =
      genrt::read_json_file(genrt::test::data_dir() / "tiny_sd" / "golden.json").at("sd1").at("pipeline");
  const genrt::Tensor noise = genrt::read_npy(genrt::test::data_dir() / "tiny_sd" / "sd1" / "init_noise.npy");
  const genrt::Tensor want = genrt::read_npy(genrt::test::data_dir() / "tiny_sd" / "sd1" / "pipe_euler_image.npy");
  genrt_txt2img_options options;
  genrt_txt2img_options_init(&options);
  const std::string prompt = golden.at("prompt"), negative = golden.at("negative_prompt");
  options.prompt = prompt.c_str();
  options.negative_prompt = negative.c_str();
  options.steps = 4;
  options.scheduler = "euler";
  options.init_noise = noise.data<float>();
  options.init_noise_count = static_cast<size_t>(noise.numel());
  size_t bytes = 0;
  ASSERT_EQ(genrt_txt2img_image_bytes(model, &options, &bytes), GENRT_OK) << last_error();
  ASSERT_EQ(bytes, 16u * 16 * 3);  // the pipeline's default size
  std::vector<uint8_t> rgb(bytes);
  genrt_image_result result{sizeof(genrt_image_result)};
  int64_t calls = 0;
  auto on_step = [](void* user, int64_t, int64_t, double, double) {
    ++*static_cast<int64_t*>(user);
    return 0;
  };
  ASSERT_EQ(genrt_txt2img(model, &options, on_step, &calls, rgb.data(), rgb.size(), &result), GENRT_OK)
      << last_error();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(result.n_images, 1);
  EXPECT_EQ(result.width, 16);
  EXPECT_EQ(result.height, 16);
  EXPECT_EQ(result.cancelled, 0);
  for (size_t i = 0; i < rgb.size(); ++i) {
    ASSERT_NEAR(rgb[i], std::lround(want.data<float>()[i] * 255.0f), 1) << i;
  }

  // Image to image from the golden's PNG (StableDiffusionImg2ImgPipeline, strength 0.75),
  // its size taken for the images.
  const auto dir = genrt::test::data_dir() / "tiny_sd" / "sd1";
  const genrt::RgbImage init = genrt::read_png(dir / "img2img_image.png");
  const genrt::Tensor image_noise = genrt::read_npy(dir / "img2img_noise.npy");
  const genrt::Tensor image_want = genrt::read_npy(dir / "img2img_euler_image.npy");
  options.init_noise = image_noise.data<float>();
  options.init_image = init.pixels.data();
  options.init_image_width = init.width;
  options.init_image_height = init.height;
  ASSERT_EQ(genrt_txt2img_image_bytes(model, &options, &bytes), GENRT_OK) << last_error();
  ASSERT_EQ(bytes, rgb.size());
  ASSERT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), &result), GENRT_OK)
      << last_error();
  EXPECT_EQ(result.steps_done, 3);  // the last 3 of 4 steps
  for (size_t i = 0; i < rgb.size(); ++i) {
    ASSERT_NEAR(rgb[i], std::lround(image_want.data<float>()[i] * 255.0f), 1) << i;
  }
  options.strength = 0.1f;
  EXPECT_NE(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), nullptr), GENRT_OK);
  EXPECT_NE(last_error().find("runs no step"), std::string::npos) << last_error();
  options.init_image_width = 0;
  EXPECT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("init_image of 0x16 pixels"), std::string::npos) << last_error();
  // A caller built before image to image: its struct ends at init_noise_count, and the
  // fields after it are not read.
  options.struct_size = offsetof(genrt_txt2img_options, init_image);
  options.init_noise = noise.data<float>();
  ASSERT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), &result), GENRT_OK)
      << last_error();
  EXPECT_EQ(result.steps_done, 4);
  options.struct_size = offsetof(genrt_txt2img_options, init_noise_count);
  EXPECT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("struct_size is too small"), std::string::npos) << last_error();
  genrt_txt2img_options_init(&options);
  options.prompt = prompt.c_str();
  options.steps = 4;

  // Misuse: a DiT entry on this model, a small buffer, bad options; each a status with a message.
  std::vector<float> latents(4 * 8 * 8);
  genrt_diffusion_options dit;
  genrt_diffusion_options_init(&dit);
  const int32_t label = 1;
  dit.class_labels = &label;
  dit.n_images = 1;
  EXPECT_NE(genrt_diffuse(model, &dit, nullptr, nullptr, latents.data(), latents.size(), nullptr), GENRT_OK);
  EXPECT_NE(last_error().find("a Stable Diffusion text-to-image pipeline: use txt2img"), std::string::npos)
      << last_error();
  EXPECT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size() - 1, nullptr),
            GENRT_ERROR_BUFFER_TOO_SMALL);
  EXPECT_NE(last_error().find("needed"), std::string::npos);
  options.init_noise = nullptr;
  options.init_noise_count = 0;
  options.width = 18;
  EXPECT_NE(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size() * 2, nullptr), GENRT_OK);
  EXPECT_NE(last_error().find("image size 18x16"), std::string::npos) << last_error();
  options.width = 0;
  options.prompt = nullptr;
  EXPECT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), nullptr),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("prompt is NULL"), std::string::npos);
  EXPECT_EQ(genrt_diffusion_model_free(model), GENRT_OK);

  genrt_diffusion_model* dit_model = nullptr;
  ASSERT_EQ(genrt_diffusion_model_load(tiny_dit().c_str(), nullptr, &dit_model), GENRT_OK);
  options.prompt = "a cat";
  EXPECT_NE(genrt_txt2img_image_bytes(dit_model, &options, &bytes), GENRT_OK);
  EXPECT_NE(last_error().find("not a text-to-image pipeline"), std::string::npos) << last_error();
  EXPECT_EQ(genrt_diffusion_model_free(dit_model), GENRT_OK);
}

// An SDXL folder through the same entry points: diffusers' StableDiffusionXLPipeline golden
// (tools/golden/sdxl.py, Euler, guidance 5), within a byte as above.
TEST(CApiTxt2img, ReproducesTheSdxlGoldenAsRgbBytes) {
  const auto dir = genrt::test::data_dir() / "tiny_sd" / "sdxl";
  genrt_diffusion_model* model = nullptr;
  ASSERT_EQ(genrt_diffusion_model_load(dir.string().c_str(), nullptr, &model), GENRT_OK) << last_error();
  const nlohmann::json golden =
      genrt::read_json_file(genrt::test::data_dir() / "tiny_sd" / "sdxl_golden.json").at("pipeline");
  const genrt::Tensor noise = genrt::read_npy(dir / "init_noise.npy");
  const genrt::Tensor want = genrt::read_npy(dir / "pipe_euler_image.npy");
  genrt_txt2img_options options;
  genrt_txt2img_options_init(&options);
  const std::string prompt = golden.at("prompt"), negative = golden.at("negative_prompt");
  options.prompt = prompt.c_str();
  options.negative_prompt = negative.c_str();
  options.steps = 4;
  options.guidance = golden.at("guidance_scale").get<float>();
  options.scheduler = "euler";
  options.init_noise = noise.data<float>();
  options.init_noise_count = static_cast<size_t>(noise.numel());
  std::vector<uint8_t> rgb(16 * 16 * 3);
  genrt_image_result result{sizeof(genrt_image_result)};
  ASSERT_EQ(genrt_txt2img(model, &options, nullptr, nullptr, rgb.data(), rgb.size(), &result), GENRT_OK)
      << last_error();
  EXPECT_EQ(result.width, 16);
  EXPECT_EQ(result.height, 16);
  for (size_t i = 0; i < rgb.size(); ++i) {
    ASSERT_NEAR(rgb[i], std::lround(want.data<float>()[i] * 255.0f), 1) << i;
  }
  EXPECT_EQ(genrt_diffusion_model_free(model), GENRT_OK);
}

}  // namespace
