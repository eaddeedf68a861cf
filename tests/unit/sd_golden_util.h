#pragma once
// What the Stable Diffusion golden tests (SD and SDXL) share: reading tests/data/tiny_sd's
// .npy goldens, their tolerances, and comparing a whole run with diffusers'.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/max_rel_diff.h"
#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "tests/test_util.h"

namespace genrt::test {

inline Tensor sd_golden_npy(const nlohmann::json& name) {
  return read_npy(data_dir() / "tiny_sd" / name.get<std::string>());
}

inline double max_rel_diff(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  return genrt::max_rel_diff(got.data<float>(), want.data<float>(), static_cast<size_t>(want.numel()));
}

// One forward pass in fp32 on both sides, outputs O(1), summed in different orders.
// Measured worst: 1e-6 (UNet), 2e-6 (VAE), so 1e-5 leaves 5x headroom.
inline constexpr double kSdForwardTolerance = 1e-5;
// Four guided steps from saved noise, each step amplifying the differences of the last
// (guidance 7.5 scales the model's difference by 7.5; SD 1.x's latents reach 16).
// Measured worst: 2.5e-5 relative on the latents, 3e-6 on the pixels.
inline constexpr double kSdPipelineTolerance = 1e-3;
inline constexpr double kSdPixelTolerance = 2.0 / 255;

// A run's final latents and decoded image against diffusers' (`s`: one run's files);
// records the differences as properties prefixed with `name`.
inline void expect_run_matches(const TextToImageResult& result, const nlohmann::json& s, const std::string& name) {
  const double err = max_rel_diff(result.latents, sd_golden_npy(s.at("latents")));
  EXPECT_LE(err, kSdPipelineTolerance);
  // diffusers' images are [1, h, w, 3]; genrt's [1, 3, h, w].
  const Tensor want = sd_golden_npy(s.at("image"));
  const int64_t h = want.dim(1), w = want.dim(2);
  ASSERT_EQ(result.images.shape(), Shape({1, 3, h, w}));
  double worst = 0;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t p = 0; p < h * w; ++p) {
      const double got = result.images.data<float>()[c * h * w + p], expected = want.data<float>()[p * 3 + c];
      ASSERT_NEAR(got, expected, kSdPixelTolerance) << "channel " << c << " pixel " << p;
      worst = std::max(worst, std::abs(got - expected));
    }
  }
  ::testing::Test::RecordProperty(name + "_latents_max_rel_diff", std::to_string(err));
  ::testing::Test::RecordProperty(name + "_pixels_max_abs_diff", std::to_string(worst));
}

// An image-to-image golden's run (`g`: its prompts, steps, guidance, saved noise, 8-bit
// init PNG and strength) under `scheduler`.
inline TextToImageRequest golden_img2img_request(const nlohmann::json& g, const NoiseSchedulerConfig& scheduler) {
  return {.prompt = g.at("prompt").get<std::string>(),
          .negative_prompt = g.at("negative_prompt").get<std::string>(),
          .steps = g.at("num_inference_steps").get<int64_t>(),
          .guidance = g.at("guidance_scale").get<double>(),
          .init_noise = sd_golden_npy(g.at("noise")),
          .init_image = from_rgb8(read_png(data_dir() / "tiny_sd" / g.at("image").get<std::string>())),
          .strength = g.at("strength").get<double>(),
          .scheduler = scheduler};
}

}  // namespace genrt::test
