// Stable Diffusion's models against diffusers (tools/golden/sd.py): the UNet's prediction
// for fixed latents, timesteps and text states, and the VAE's decoding, in an SD 1.x
// pipeline folder (1x1-convolution projections, fp16 weights, one head count for every
// block) and an SD 2.x one (linear projections, head counts per block, v-prediction).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "runtime/core/max_rel_diff.h"
#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/unet/unet_model.h"
#include "runtime/models/vae/vae_model.h"
#include "runtime/models/vae/vae_tiling.h"
#include "tests/test_util.h"
#include "tests/unit/sd_golden_util.h"

namespace genrt {
namespace {

using test::expect_run_matches;
using test::golden_img2img_request;
using test::max_rel_diff;
using test::sd_golden_npy;

const nlohmann::json& golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "tiny_sd" / "golden.json");
  return j;
}

class SdGolden : public ::testing::TestWithParam<const char*> {};

// A copy of the sd1 folder to break.
std::filesystem::path copy_of_sd1(const test::TempDir& tmp) {
  const auto dir = tmp / "sd";
  std::filesystem::copy(test::data_dir() / "tiny_sd" / "sd1", dir, std::filesystem::copy_options::recursive);
  return dir;
}

TEST_P(SdGolden, UnetMatchesDiffusers) {
  const auto& g = golden().at(GetParam()).at("unet");
  const UnetModel unet = load_unet(test::data_dir() / "tiny_sd" / GetParam());
  const Tensor sample = sd_golden_npy(g.at("sample")), text = sd_golden_npy(g.at("encoder_hidden_states"));
  const Tensor want = sd_golden_npy(g.at("output"));
  const auto timesteps = g.at("timesteps").get<std::vector<float>>();
  // A workspace larger than the input in every dimension: views of it must still line up.
  UnetWorkspace ws = unet.make_workspace({.batch = sample.dim(0) + 1,
                                          .height = sample.dim(2) * 2,
                                          .width = sample.dim(3) + unet.config().downscale(),
                                          .text_tokens = text.dim(1) + 3});
  Tensor out = Tensor::zeros(want.shape(), DType::f32);
  unet.forward(sample, timesteps, text, ws, out);
  const double err = max_rel_diff(out, want);
  EXPECT_LE(err, test::kSdForwardTolerance);
  RecordProperty("unet_max_rel_diff", std::to_string(err));
}

TEST_P(SdGolden, VaeDecoderMatchesDiffusers) {
  const auto& g = golden().at(GetParam()).at("vae");
  const VaeModel vae = load_vae(test::data_dir() / "tiny_sd" / GetParam());
  EXPECT_EQ(vae.config().scale_factor(), 2);
  const Tensor latents = sd_golden_npy(g.at("latents")), want = sd_golden_npy(g.at("decoded"));
  VaeWorkspace ws = vae.make_workspace({.batch = 2, .height = latents.dim(2) + 2, .width = latents.dim(3)});
  Tensor image = Tensor::zeros(want.shape(), DType::f32);
  vae.decode(latents, ws, image);
  const double err = max_rel_diff(image, want);
  EXPECT_LE(err, test::kSdForwardTolerance);
  RecordProperty("vae_max_rel_diff", std::to_string(err));
}

TEST_P(SdGolden, VaeEncoderMatchesDiffusers) {
  const auto& g = golden().at(GetParam()).at("vae");
  const VaeModel vae = load_vae(test::data_dir() / "tiny_sd" / GetParam());
  ASSERT_TRUE(vae.has_encoder());
  const Tensor image = sd_golden_npy(g.at("image")), mean = sd_golden_npy(g.at("mean"));
  const Tensor logvar = sd_golden_npy(g.at("logvar"));  // clamped to [-30, 20] by diffusers
  const int64_t f = vae.config().scale_factor(), channels = vae.config().latent_channels;
  VaeWorkspace ws = vae.make_workspace({.batch = 2, .height = image.dim(2) / f + 1, .width = image.dim(3) / f + 3});
  Tensor moments = Tensor::zeros({1, 2 * channels, image.dim(2) / f, image.dim(3) / f}, DType::f32);
  vae.encode(image, ws, moments);
  const Tensor halves = moments.reshape({2, channels, moments.dim(2), moments.dim(3)});
  for (float& v : halves.slice(1, 2).span<float>()) v = std::clamp(v, -30.0f, 20.0f);
  const double mean_err = max_rel_diff(halves.slice(0, 1).reshape(mean.shape()), mean);
  const double logvar_err = max_rel_diff(halves.slice(1, 2).reshape(logvar.shape()), logvar);
  EXPECT_LE(mean_err, test::kSdForwardTolerance);
  EXPECT_LE(logvar_err, test::kSdForwardTolerance);
  RecordProperty("vae_encoder_max_rel_diff", std::to_string(std::max(mean_err, logvar_err)));
}

// diffusers' tiled_decode over 14x20 latents in tiles of 8 (3x4 tiles, the last row and
// column 2 latents wide), through a workspace of one tile.
TEST_P(SdGolden, TiledVaeDecodeMatchesDiffusers) {
  const auto& g = golden().at(GetParam()).at("vae_tiling");
  const VaeModel vae = load_vae(test::data_dir() / "tiny_sd" / GetParam());
  const VaeTiling tiling = VaeTiling::of(vae.config());
  EXPECT_EQ(tiling.tile_latents, g.at("tile_latent_min_size").get<int64_t>());
  const Tensor latents = sd_golden_npy(g.at("latents")), want = sd_golden_npy(g.at("decoded"));
  VaeWorkspace ws = vae.make_workspace({.batch = 1, .height = tiling.tile_latents, .width = tiling.tile_latents});
  Tensor image = Tensor::zeros(want.shape(), DType::f32);
  vae.decode_tiled(latents, ws, Tensor(), Tensor(), image);
  const double err = max_rel_diff(image, want);
  EXPECT_LE(err, test::kSdForwardTolerance);
  RecordProperty("vae_tiled_max_rel_diff", std::to_string(err));
  // Latents of one tile decode whole, as diffusers does: the untiled golden.
  const Tensor small = sd_golden_npy(golden().at(GetParam()).at("vae").at("latents"));
  const Tensor whole = sd_golden_npy(golden().at(GetParam()).at("vae").at("decoded"));
  Tensor one_tile = Tensor::zeros(whole.shape(), DType::f32);
  vae.decode_tiled(small, ws, Tensor(), Tensor(), one_tile);
  EXPECT_LE(max_rel_diff(one_tile, whole), test::kSdForwardTolerance);
}

constexpr std::pair<const char*, const char*> kGoldenSchedulers[] = {
    {"ddim", "ddim"}, {"euler", "euler"}, {"dpmpp2m", "dpm++2m"}};

TEST_P(SdGolden, PipelineMatchesDiffusersUnderEachScheduler) {
  const auto& g = golden().at(GetParam()).at("pipeline");
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / GetParam());
  EXPECT_EQ(pipeline.default_size().width, 16);
  for (const auto& [name, scheduler] : kGoldenSchedulers) {
    SCOPED_TRACE(name);
    const TextToImageResult result = pipeline.run({.prompt = g.at("prompt").get<std::string>(),
                                                   .negative_prompt = g.at("negative_prompt").get<std::string>(),
                                                   .steps = g.at("num_inference_steps").get<int64_t>(),
                                                   .guidance = g.at("guidance_scale").get<double>(),
                                                   .width = g.at("width").get<int64_t>(),
                                                   .height = g.at("height").get<int64_t>(),
                                                   .init_noise = sd_golden_npy(g.at("init_noise")),
                                                   .scheduler = pipeline.scheduler_config(scheduler)});
    ASSERT_EQ(result.steps_done, g.at("num_inference_steps").get<int64_t>());
    expect_run_matches(result, g.at("schedulers").at(name), name);
  }
}

// diffusers' StableDiffusionImg2ImgPipeline from an 8-bit PNG at strength 0.75 of 4 steps:
// the encoder's mean latents, noised to the second step's level with saved noise, then the
// last 3 steps (DPM++ 2M's first of them at first order).
TEST_P(SdGolden, ImageToImageMatchesDiffusersUnderEachScheduler) {
  const auto& g = golden().at(GetParam()).at("img2img");
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / GetParam());
  ASSERT_TRUE(pipeline.can_encode_images());
  for (const auto& [name, scheduler] : kGoldenSchedulers) {
    SCOPED_TRACE(name);
    const TextToImageResult result = pipeline.run(golden_img2img_request(g, pipeline.scheduler_config(scheduler)));
    EXPECT_EQ(result.steps_done, 3);
    expect_run_matches(result, g.at("schedulers").at(name), std::string("img2img_") + name);
  }
}

INSTANTIATE_TEST_SUITE_P(Pipelines, SdGolden, ::testing::Values("sd1", "sd2"));

void edit_json(const std::filesystem::path& path, const char* field, const nlohmann::json& value) {
  nlohmann::json j = read_json_file(path);
  j[field] = value;
  test::write_file(path, j.dump());
}

TEST(SdPipelineFiles, HostileFoldersAreClearErrors) {
  {
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    std::filesystem::remove_all(dir / "unet");
    EXPECT_ERROR(SdPipeline::load(dir), "no unet/ folder: not a Stable Diffusion pipeline folder");
  }
  {
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    edit_json(dir / "unet" / "config.json", "cross_attention_dim", 48);
    EXPECT_ERROR(SdPipeline::load(dir), "the text encoder's width 32 is not the UNet's cross_attention_dim 48");
  }
  {
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    edit_json(dir / "vae" / "config.json", "latent_channels", 8);
    EXPECT_ERROR(SdPipeline::load(dir), "the UNet's 4 input and 4 output channels are not the VAE's 8 latent channels");
  }
  {
    // A vocabulary without CLIP's end-of-word merges (a GPT-2 style one).
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    test::write_file(dir / "tokenizer" / "merges.txt", "#version: 0.2\na b\n");
    EXPECT_ERROR(SdPipeline::load(dir), "no merge makes a word end ('</w>'): not a CLIP vocabulary");
  }
  {
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    // SDXL's added embedding without its widths.
    edit_json(dir / "unet" / "config.json", "addition_embed_type", "text_time");
    EXPECT_ERROR(SdPipeline::load(dir), "unet/config.json: missing required field 'addition_time_embed_dim'");
  }
  {
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    edit_json(dir / "unet" / "config.json", "attention_head_dim", nlohmann::json::array({8, 8, 8}));
    EXPECT_ERROR(SdPipeline::load(dir), "attention_head_dim must be a number or a list of 2 (one per block)");
  }
  {
    // diffusers' StableDiffusionPipeline ignores a VAE's latent statistics, which its SDXL
    // pipelines apply: genrt refuses them here rather than guess.
    test::TempDir tmp;
    const auto dir = copy_of_sd1(tmp);
    const nlohmann::json stats = nlohmann::json::array({0.5, 1.0, 1.5, 2.0});
    edit_json(dir / "vae" / "config.json", "latents_mean", stats);
    edit_json(dir / "vae" / "config.json", "latents_std", stats);
    EXPECT_ERROR(SdPipeline::load(dir),
                 "sd/vae/config.json: latents_mean and latents_std are not supported in a Stable Diffusion 1.x or 2.x "
                 "folder: diffusers reads them in its SDXL pipelines only");
  }
}

TEST(SdPipeline, BadRequestsAreClearErrors) {
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / "sd1");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .width = 18}),
               "image size 18x16: width and height must be positive multiples of 4");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .images = 0}), "0 images: ask for at least one");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .guidance = NAN}), "guidance nan is not a finite number");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 0}), "0 steps");
  // SD's schedulers offset leading timesteps by one: 1000 steps would start past the table.
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 1000}),
               "1000 steps of leading spacing with steps_offset 1 start at timestep 1000, past the 1000 training");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .clip_skip = 3}), "clip skip 3 must leave at least one");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .images = 2,
                             .init_noise = Tensor::zeros({1, 4, 8, 8}, DType::f32)}),
               "initial noise [1, 4, 8, 8] does not match the latents [2, 4, 8, 8] of 2 images");
}

TEST(SdPipeline, BadImageToImageRequestsAreClearErrors) {
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / "sd1");
  const Tensor image = Tensor::zeros({1, 3, 16, 12}, DType::f32);
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 4, .init_image = image, .strength = 0.0}),
               "strength 0 must be in (0, 1]");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 4, .init_image = image, .strength = 1.5}),
               "strength 1.5 must be in (0, 1]");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 4, .init_image = image, .strength = 0.2}),
               "strength 0.2 of 4 steps runs no step");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 4, .width = 16, .init_image = image}),
               "the init image [1, 3, 16, 12] must be [1, 3, 16, 16]: images are made at its size");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 4, .init_image = Tensor::zeros({1, 3, 14, 12}, DType::f32)}),
               "image size 12x14: width and height must be positive multiples of 4");
  // Without a width, the image's size is the output's.
  EXPECT_EQ(pipeline.size_of({.init_image = image}).width, 12);

  // A VAE checkpoint of the decoder alone still makes images from text, not from images.
  test::TempDir tmp;
  const auto dir = copy_of_sd1(tmp);
  const auto weights = dir / "vae" / "diffusion_pytorch_model.safetensors";
  std::vector<NamedTensor> decoder;
  {
    const WeightStore store = WeightStore::open_dir(dir / "vae");
    for (const std::string& name : store.names()) {
      if (!name.starts_with("encoder.") && name != "quant_conv.weight" && name != "quant_conv.bias") {
        decoder.push_back({name, store.get(name)});
      }
    }
  }
  // The tensors map the old file: write beside it, then replace it.
  write_safetensors(tmp / "decoder.safetensors", decoder);
  decoder.clear();
  std::filesystem::rename(tmp / "decoder.safetensors", weights);
  const SdPipeline decoder_only = SdPipeline::load(dir);
  EXPECT_FALSE(decoder_only.can_encode_images());
  EXPECT_EQ(decoder_only.run({.prompt = "a cat", .steps = 1}).steps_done, 1);
  EXPECT_ERROR(decoder_only.run({.prompt = "a cat", .steps = 4, .init_image = Tensor::zeros({1, 3, 16, 16}, DType::f32)}),
               "the pipeline's VAE checkpoint holds no encoder weights (encoder.*), which it needs");
}

TEST(VaeTiling, SdTilesAreDiffusersTiles) {
  const VaeConfig sd{.block_out_channels = {128, 256, 512, 512}, .sample_size = 512};
  const VaeTiling t = VaeTiling::of(sd);
  EXPECT_EQ(t.tile_latents, 64);
  EXPECT_EQ(t.stride, 48);
  EXPECT_EQ(t.blend, 128);
  EXPECT_EQ(t.keep, 384);
  // 1024x768 pixels: 128x96 latents, tiles from 0, 48 and 96 down and 0 and 48 across.
  const auto rows = latent_tiles(t, 96, 128);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 3u);
  EXPECT_EQ(rows[1][2].y, 48);
  EXPECT_EQ(rows[1][2].x, 96);
  EXPECT_EQ(rows[1][2].height, 48);
  EXPECT_EQ(rows[1][2].width, 32);
}

TEST(SdPipeline, VaeTilingDecodesImagesLargerThanATile) {
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / "sd2", std::nullopt, {.vae_tiling = true});
  EXPECT_TRUE(pipeline.vae_tiling());
  // 20x12 latents: 3x2 tiles of 8.
  const TextToImageResult result = pipeline.run({.prompt = "a cat", .steps = 2, .seed = 3, .width = 40, .height = 24});
  ASSERT_EQ(result.images.shape(), Shape({1, 3, 24, 40}));
  for (float v : result.images.span<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;  // fails on NaN
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .init_image = Tensor::zeros({1, 3, 24, 24}, DType::f32)}),
               "the encoder runs untiled, and VAE tiling plans for tiles of 8x8 latents: an init image of 12x12");
}

TEST(SdPipeline, SeededRunsRepeatUnguidedRunsDifferAndTheCallbackCancels) {
  const SdPipeline pipeline = SdPipeline::load(test::data_dir() / "tiny_sd" / "sd2", "euler-a");
  const TextToImageRequest request{.prompt = "a cat", .steps = 3, .seed = 7, .width = 8, .height = 8, .images = 2};
  const TextToImageResult a = pipeline.run(request), b = pipeline.run(request);
  EXPECT_EQ(test::max_abs_diff(a.images.data<float>(), b.images.data<float>(), a.images.numel()), 0.0f);
  // The two images of a batch start from different noise.
  EXPECT_GT(test::max_abs_diff(a.latents.data<float>(), a.latents.data<float>() + a.latents.numel() / 2,
                               a.latents.numel() / 2),
            0.0f);
  TextToImageRequest unguided = request;
  unguided.guidance = 1.0;
  const TextToImageResult c = pipeline.run(unguided);
  EXPECT_GT(test::max_abs_diff(a.latents.data<float>(), c.latents.data<float>(), a.latents.numel()), 0.0f);
  int calls = 0;
  const TextToImageResult cancelled = pipeline.run(request, [&](const DiffusionProgress&) { return ++calls < 2; });
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_EQ(cancelled.steps_done, 2);
  EXPECT_FALSE(cancelled.images.defined());
}

}  // namespace
}  // namespace genrt
