// Stable Diffusion's GPU paths that only the pipeline reaches, against the CPU reference:
// image to image (the VAE encoder, its asymmetric-padding downsamplers, the init image's
// upload, the noised start), tiled VAE decoding (tiles through the device one by one),
// SDXL's conditioning, and SDXL's latent statistics (the per-channel affine on the device).
// bf16 and fp16 weights and activations, fp32 latents. Skip without a device.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "runtime/backend/device_runtime.h"
#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path tiny_sd(const char* variant) { return test::data_dir() / "tiny_sd" / variant; }

DiffusionDevice gpu(DType dtype, bool vae_tiling = false) {
  return {.device = Device::cuda, .dtype = dtype, .gpu_memory = 0.5, .max_images = 1, .vae_tiling = vae_tiling};
}

// A few guided 16-bit steps stay within 0.1 relative L2 of the CPU (the bound the GPU
// check's S3 stage holds the tiny pipelines to); a wrong op moves them by O(1).
constexpr double kFollowsTheCpu = 0.1;

double relative_l2(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  return test::relative_l2(got.data<float>(), want.data<float>(), want.numel());
}

class SdGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// diffusers' image-to-image golden request (strength 0.75 of 4 DPM++ 2M steps from the
// saved noise), on both devices.
TEST_P(SdGpu, ImageToImageFollowsTheCpu) {
  const DType dtype = GetParam();
  const auto& g = read_json_file(test::data_dir() / "tiny_sd" / "golden.json").at("sd1").at("img2img");
  const TextToImageRequest request{
      .prompt = g.at("prompt").get<std::string>(),
      .negative_prompt = g.at("negative_prompt").get<std::string>(),
      .steps = g.at("num_inference_steps").get<int64_t>(),
      .guidance = g.at("guidance_scale").get<double>(),
      .init_noise = read_npy(test::data_dir() / "tiny_sd" / g.at("noise").get<std::string>()),
      .init_image = from_rgb8(read_png(test::data_dir() / "tiny_sd" / g.at("image").get<std::string>())),
      .strength = g.at("strength").get<double>()};
  const TextToImageResult cpu = SdPipeline::load(tiny_sd("sd1"), "dpm++2m").run(request);
  const SdPipeline pipeline = SdPipeline::load(tiny_sd("sd1"), "dpm++2m", gpu(dtype));
  ASSERT_TRUE(pipeline.can_encode_images());
  const TextToImageResult on_gpu = pipeline.run(request);
  ASSERT_EQ(on_gpu.steps_done, 3);
  const double latents = relative_l2(on_gpu.latents, cpu.latents), pixels = relative_l2(on_gpu.images, cpu.images);
  EXPECT_LE(latents, kFollowsTheCpu) << dtype_name(dtype);
  EXPECT_LE(pixels, kFollowsTheCpu) << dtype_name(dtype);
  RecordProperty("img2img_latents_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(latents));
  RecordProperty("img2img_pixels_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(pixels));
}

// 20x12 latents in 3x2 tiles of 8, the same seeded run on both devices: the latents before
// the VAE and the blended images.
TEST_P(SdGpu, TiledDecodeFollowsTheCpu) {
  const DType dtype = GetParam();
  const TextToImageRequest request{.prompt = "a photo of a cat", .steps = 2, .seed = 5, .width = 40, .height = 24};
  const TextToImageResult cpu = SdPipeline::load(tiny_sd("sd2"), "euler", {.vae_tiling = true}).run(request);
  const TextToImageResult on_gpu = SdPipeline::load(tiny_sd("sd2"), "euler", gpu(dtype, true)).run(request);
  const double latents = relative_l2(on_gpu.latents, cpu.latents), pixels = relative_l2(on_gpu.images, cpu.images);
  EXPECT_LE(latents, kFollowsTheCpu) << dtype_name(dtype);
  EXPECT_LE(pixels, kFollowsTheCpu) << dtype_name(dtype);
  RecordProperty("tiled_pixels_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(pixels));
}

// SDXL (tools/golden/sdxl.py's folder): both text encoders, the pooled embedding and time
// ids through the UNet's added embedding, and the zeroed unconditional half without a
// negative prompt; at f16 its force_upcast VAE runs in bf16.
TEST_P(SdGpu, SdxlFollowsTheCpu) {
  const DType dtype = GetParam();
  const SdPipeline cpu = SdPipeline::load(tiny_sd("sdxl"));
  const SdPipeline on_gpu = SdPipeline::load(tiny_sd("sdxl"), std::nullopt, gpu(dtype));
  for (const char* negative : {"blurry", ""}) {
    const TextToImageRequest request{
        .prompt = "a photo of a cat", .negative_prompt = negative, .steps = 4, .guidance = 5.0, .seed = 5};
    const TextToImageResult want = cpu.run(request), got = on_gpu.run(request);
    const double latents = relative_l2(got.latents, want.latents), pixels = relative_l2(got.images, want.images);
    EXPECT_LE(latents, kFollowsTheCpu) << dtype_name(dtype) << " negative '" << negative << "'";
    EXPECT_LE(pixels, kFollowsTheCpu) << dtype_name(dtype) << " negative '" << negative << "'";
    RecordProperty("sdxl_pixels_rel_l2_" + std::string(dtype_name(dtype)) + (*negative ? "" : "_zeros"),
                   std::to_string(pixels));
  }
}

// A run's UNet steps replay the CUDA graph its first step captured: the same kernels on the
// same buffers, so latents and pixels are bitwise those of launching every kernel (SD 1.x,
// and SDXL, whose graph reads the pooled text and the time ids' features from fixed
// buffers), under Euler ancestral, whose step noise stays outside the graph. Each run with
// graphs captures once, replays every later step, and synchronizes once more than without
// (the wait before its capture); a capture that failed and fell back to launching would
// give the same bits, so the runtime's graph counts are what tell.
TEST_P(SdGpu, CudaGraphStepsEqualLaunchedStepsBitwise) {
  const DType dtype = GetParam();
  for (const char* variant : {"sd1", "sdxl"}) {
    SdPipeline pipeline = SdPipeline::load(tiny_sd(variant), "euler-a", gpu(dtype));
    const DeviceRuntime& runtime = *pipeline.device_runtime();
    const TextToImageRequest request{
        .prompt = "a photo of a cat", .negative_prompt = "blurry", .steps = 4, .guidance = 5.0, .seed = 5};
    pipeline.set_cuda_graphs(false);
    uint64_t syncs = runtime.host_syncs(), captures = runtime.graph_captures(), replays = runtime.graph_replays();
    const TextToImageResult launched = pipeline.run(request);
    const uint64_t launched_syncs = runtime.host_syncs() - syncs;
    EXPECT_EQ(runtime.graph_captures() - captures + runtime.graph_replays() - replays, 0u) << variant;
    pipeline.set_cuda_graphs(true);
    for (int run = 0; run < 2; ++run) {
      syncs = runtime.host_syncs(), captures = runtime.graph_captures(), replays = runtime.graph_replays();
      const TextToImageResult replayed = pipeline.run(request);
      EXPECT_EQ(runtime.host_syncs() - syncs, launched_syncs + 1) << variant << ", run " << run;
      EXPECT_EQ(runtime.graph_captures() - captures, 1u) << variant << ", run " << run;
      EXPECT_EQ(runtime.graph_replays() - replays, static_cast<uint64_t>(request.steps - 1)) << variant << ", run " << run;
      for (const auto& [got, want] : {std::pair{&replayed.latents, &launched.latents},
                                      std::pair{&replayed.images, &launched.images}}) {
        ASSERT_EQ(got->shape(), want->shape());
        EXPECT_EQ(std::memcmp(got->raw(), want->raw(), want->nbytes()), 0) << variant << ", run " << run;
      }
    }
  }
}

// The SDXL folder with its VAE config's latents_mean and latents_std (tools/golden/sdxl.py's
// sdxl_latents_mean_std): the normalization of the init image's latents and the
// denormalization before the decoder run on the device, from text and from an image.
TEST_P(SdGpu, SdxlLatentStatisticsFollowTheCpu) {
  const DType dtype = GetParam();
  const auto g = read_json_file(test::data_dir() / "tiny_sd" / "sdxl_latents_mean_std_golden.json");
  test::TempDir tmp;
  const auto dir = tmp.path() / "sdxl";
  std::filesystem::copy(tiny_sd("sdxl"), dir, std::filesystem::copy_options::recursive);
  nlohmann::json vae = read_json_file(dir / "vae" / "config.json");
  vae["latents_mean"] = g.at("latents_mean");
  vae["latents_std"] = g.at("latents_std");
  test::write_file(dir / "vae" / "config.json", vae.dump());
  const SdPipeline cpu = SdPipeline::load(dir);
  const SdPipeline on_gpu = SdPipeline::load(dir, std::nullopt, gpu(dtype));
  ASSERT_TRUE(on_gpu.vae_config().has_latent_statistics());
  const auto& image = g.at("img2img");
  TextToImageRequest request{.prompt = "a photo of a cat", .negative_prompt = "blurry", .steps = 4, .guidance = 5.0,
                             .seed = 5};
  for (const bool from_image : {false, true}) {
    if (from_image) {
      request.init_image = from_rgb8(read_png(test::data_dir() / "tiny_sd" / image.at("image").get<std::string>()));
      request.strength = image.at("strength").get<double>();
    }
    const TextToImageResult want = cpu.run(request), got = on_gpu.run(request);
    const double latents = relative_l2(got.latents, want.latents), pixels = relative_l2(got.images, want.images);
    EXPECT_LE(latents, kFollowsTheCpu) << dtype_name(dtype) << (from_image ? " from an image" : " from text");
    EXPECT_LE(pixels, kFollowsTheCpu) << dtype_name(dtype) << (from_image ? " from an image" : " from text");
    RecordProperty("sdxl_latent_statistics_pixels_rel_l2_" + std::string(dtype_name(dtype)) +
                       (from_image ? "_img2img" : ""),
                   std::to_string(pixels));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SdGpu, ::testing::Values(DType::bf16, DType::f16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace genrt
