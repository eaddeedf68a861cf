// Stable Diffusion XL against diffusers (tools/golden/sdxl.py): the UNet with SDXL's added
// text-and-time embedding, a DownBlock2D first and two transformer layers per block; the
// two text encoders' prompt and pooled embeddings; the whole StableDiffusionXLPipeline
// under Euler (SDXL's scheduler) and DDIM, and without a negative prompt (zeroed
// unconditional embeddings); StableDiffusionXLImg2ImgPipeline as for the base model under
// both; SDXL's refiner (StableDiffusionXLImg2ImgPipeline with text_encoder_2 alone and
// aesthetic-score time ids, tools/golden/sdxl.py's sdxl_refiner) under both; the base
// model's folder with a VAE config carrying per-channel latents_mean and latents_std
// (playground-v2.5's fields, tools/golden/sdxl.py's sdxl_latents_mean_std) from text and
// from an image; and the configs genrt refuses.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/max_rel_diff.h"
#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/diffusion/sdxl_conditioning.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/models/unet/unet_config.h"
#include "runtime/models/unet/unet_model.h"
#include "runtime/models/vae/vae_config.h"
#include "tests/test_util.h"
#include "tests/unit/sd_golden_util.h"

namespace genrt {
namespace {

using test::expect_run_matches;
using test::golden_img2img_request;
using test::max_rel_diff;
using test::sd_golden_npy;

std::filesystem::path sdxl_dir() { return test::data_dir() / "tiny_sd" / "sdxl"; }

const nlohmann::json& golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "tiny_sd" / "sdxl_golden.json");
  return j;
}

std::filesystem::path refiner_dir() { return test::data_dir() / "tiny_sd" / "sdxl_refiner"; }

const nlohmann::json& refiner_golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "tiny_sd" / "sdxl_refiner_golden.json");
  return j;
}

const nlohmann::json& statistics_golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "tiny_sd" / "sdxl_latents_mean_std_golden.json");
  return j;
}

TEST(SdxlGolden, UnetWithAddedTextTimeEmbeddingMatchesDiffusers) {
  const auto& g = golden().at("unet");
  const UnetModel unet = load_unet(sdxl_dir());
  ASSERT_TRUE(unet.config().text_time.has_value());
  EXPECT_FALSE(unet.config().levels[0].down_attention);
  EXPECT_EQ(unet.config().levels[1].transformer_layers, 2);
  const Tensor sample = sd_golden_npy(g.at("sample")), text = sd_golden_npy(g.at("encoder_hidden_states"));
  const Tensor text_embeds = sd_golden_npy(g.at("text_embeds")), want = sd_golden_npy(g.at("output"));
  const auto timesteps = g.at("timesteps").get<std::vector<float>>();
  std::vector<float> time_ids;
  for (const auto& row : g.at("time_ids")) {
    for (const auto& v : row) time_ids.push_back(v.get<float>());
  }
  UnetWorkspace ws = unet.make_workspace({.batch = sample.dim(0) + 1,
                                          .height = sample.dim(2),
                                          .width = sample.dim(3) + unet.config().downscale(),
                                          .text_tokens = text.dim(1) + 2});
  Tensor out = Tensor::zeros(want.shape(), DType::f32);
  unet.forward(sample, timesteps, text, ws, out, {.text_embeds = text_embeds, .time_ids = time_ids});
  const double err = max_rel_diff(out, want);
  EXPECT_LE(err, test::kSdForwardTolerance);
  RecordProperty("sdxl_unet_max_rel_diff", std::to_string(err));

  EXPECT_ERROR(unet.forward(sample, timesteps, text, ws, out),
               "its addition_embed_type \"text_time\" (SDXL) needs pooled text embeds [2, 16], got none");
  EXPECT_ERROR(unet.forward(sample, timesteps, text, ws, out,
                            {.text_embeds = text_embeds, .time_ids = std::span(time_ids).first(6)}),
               "needs 6 time ids per sample, got 6 for a batch of 2");
}

TEST(SdxlGolden, PromptAndPooledEmbeddingsMatchDiffusers) {
  const auto& g = golden().at("pipeline");
  const ClipTokenizer tokenizer = ClipTokenizer::open(sdxl_dir() / "tokenizer");
  const ClipTextModel encoder = load_clip_text_model(sdxl_dir() / "text_encoder");
  const SdxlTextEncoder2 second{.tokenizer = ClipTokenizer::open(sdxl_dir() / "tokenizer_2"),
                                .model = load_clip_text_model(sdxl_dir() / "text_encoder_2")};
  ASSERT_TRUE(second.model.config().with_projection());
  EXPECT_EQ(tokenizer.encode(g.at("prompt").get<std::string>()).ids, g.at("prompt_ids").get<std::vector<int32_t>>());
  EXPECT_EQ(second.tokenizer.encode(g.at("prompt").get<std::string>()).ids,
            g.at("prompt_2_ids").get<std::vector<int32_t>>());
  ClipTextWorkspace ws = encoder.make_workspace(2), ws_2 = second.model.make_workspace(3);
  const SdxlConditioning c = sdxl_conditioning(
      {.prompt = g.at("prompt").get<std::string>(), .negative_prompt = g.at("negative_prompt").get<std::string>()},
      &tokenizer, &encoder, second, &ws, ws_2, [](const Shape& s, DType d) { return Tensor::zeros(s, d); }, nullptr);
  // The golden is [negative, prompt]; genrt's batch is [prompt, negative].
  const Tensor embeds = sd_golden_npy(g.at("prompt_embeds")), pooled = sd_golden_npy(g.at("pooled_prompt_embeds"));
  double worst = 0;
  for (int64_t s = 0; s < 2; ++s) {
    const int64_t golden_row = 1 - s;
    worst = std::max(worst, max_rel_diff(c.text.slice(s, s + 1), embeds.slice(golden_row, golden_row + 1)));
    worst = std::max(worst, max_rel_diff(c.pooled.slice(s, s + 1), pooled.slice(golden_row, golden_row + 1)));
  }
  EXPECT_LE(worst, test::kSdForwardTolerance);
  RecordProperty("sdxl_prompt_embeds_max_rel_diff", std::to_string(worst));
}

TEST(SdxlConditioning, PooledTokenPositionFollowsTransformers) {
  // eos_token_id 2 (SDXL's configs): the largest id, first of equals.
  EXPECT_EQ(pooled_token_position(std::vector<int32_t>{722, 5, 723, 33, 33}, 2), 2);
  EXPECT_EQ(pooled_token_position(std::vector<int32_t>{722, 723, 723, 723}, 2), 1);
  // Any other id: its first occurrence, or 0 when there is none.
  EXPECT_EQ(pooled_token_position(std::vector<int32_t>{722, 5, 700, 723, 9}, 700), 2);
  EXPECT_EQ(pooled_token_position(std::vector<int32_t>{722, 5, 9}, 700), 0);
  EXPECT_EQ(sdxl_time_ids(768, 1024, 2), (std::vector<float>{768, 1024, 0, 0, 768, 1024, 768, 1024, 0, 0, 768, 1024}));
  // The refiner's: the prompt's rows end in the aesthetic score, the negative's in its own.
  EXPECT_EQ(sdxl_aesthetic_time_ids(768, 1024, {.images = 1}, 6.0, 2.5),
            (std::vector<float>{768, 1024, 0, 0, 6.0f, 768, 1024, 0, 0, 2.5f}));
  EXPECT_EQ(sdxl_aesthetic_time_ids(8, 16, {.images = 2, .guided = false}, 7.0, 2.5),
            (std::vector<float>{8, 16, 0, 0, 7.0f, 8, 16, 0, 0, 7.0f}));
}

TEST(SdxlGolden, PipelineMatchesDiffusersUnderEulerAndDdimAndWithZeroedNegatives) {
  const auto& g = golden().at("pipeline");
  const SdPipeline pipeline = SdPipeline::load(sdxl_dir());
  ASSERT_TRUE(pipeline.is_sdxl());
  EXPECT_EQ(pipeline.vae_config().scaling_factor, 0.13025);
  EXPECT_EQ(scheduler_name(pipeline.scheduler_config().kind), std::string("euler"));
  const std::pair<const char*, const char*> runs[] = {{"euler", "euler"}, {"ddim", "ddim"}, {"zeros_euler", "euler"}};
  for (const auto& [name, scheduler] : runs) {
    SCOPED_TRACE(name);
    const auto& s = g.at("schedulers").at(name);
    // diffusers' None is genrt's empty negative prompt.
    const std::string negative = s.at("negative_prompt").is_null() ? "" : s.at("negative_prompt").get<std::string>();
    const TextToImageResult result =
        pipeline.run({.prompt = g.at("prompt").get<std::string>(),
                      .negative_prompt = negative,
                      .steps = g.at("num_inference_steps").get<int64_t>(),
                      .guidance = g.at("guidance_scale").get<double>(),
                      .width = g.at("width").get<int64_t>(),
                      .height = g.at("height").get<int64_t>(),
                      .init_noise = sd_golden_npy(g.at("init_noise")),
                      .scheduler = pipeline.scheduler_config(scheduler)});
    ASSERT_EQ(result.steps_done, g.at("num_inference_steps").get<int64_t>());
    expect_run_matches(result, s, std::string("sdxl_") + name);
  }
}

// StableDiffusionXLImg2ImgPipeline with the base model's time ids (requires_aesthetics_score
// False: original size, crop, target size) from an 8-bit PNG 16 high and 24 wide, whose size
// the images and time ids take (a swap of height and width would show), at strength 0.75 of
// 4 steps: the encoder's mean latents (the VAE in f32, force_upcast) times SDXL's scaling
// factor, noised to the second step's level with saved noise, then the last 3 guided steps.
TEST(SdxlGolden, ImageToImageMatchesDiffusersUnderEulerAndDdim) {
  const auto& g = golden().at("img2img");
  const SdPipeline pipeline = SdPipeline::load(sdxl_dir());
  ASSERT_TRUE(pipeline.can_encode_images());
  for (const char* name : {"euler", "ddim"}) {
    SCOPED_TRACE(name);
    const TextToImageResult result = pipeline.run(golden_img2img_request(g, pipeline.scheduler_config(name)));
    EXPECT_EQ(result.steps_done, 3);
    expect_run_matches(result, g.at("schedulers").at(name), std::string("sdxl_img2img_") + name);
  }
}

// A copy of a pipeline folder (sdxl_dir(), refiner_dir()) to break.
std::filesystem::path copy_of(const std::filesystem::path& folder, const test::TempDir& tmp) {
  const auto dir = tmp.path() / folder.filename();
  std::filesystem::copy(folder, dir, std::filesystem::copy_options::recursive);
  return dir;
}

void edit_json(const std::filesystem::path& path, const char* field, const nlohmann::json& value) {
  nlohmann::json j = read_json_file(path);
  j[field] = value;
  test::write_file(path, j.dump());
}

// One way to break a folder, and the message SdPipeline::load gives for it.
struct FolderBreak {
  const char* part;  // a config to edit, or "" to remove text_encoder_2/
  const char* field;
  nlohmann::json value;
  const char* message;
};

// Each break, made on a fresh copy of `folder`, fails the load with its message.
void expect_breaks_refused(const std::filesystem::path& folder, const std::vector<FolderBreak>& breaks) {
  for (const FolderBreak& c : breaks) {
    SCOPED_TRACE(c.message);
    test::TempDir tmp;
    const auto dir = copy_of(folder, tmp);
    if (std::string(c.part).empty()) {
      std::filesystem::remove_all(dir / "text_encoder_2");
    } else {
      edit_json(dir / c.part, c.field, c.value);
    }
    EXPECT_ERROR(SdPipeline::load(dir), c.message);
  }
}

TEST(SdxlPipelineFiles, HostileFoldersAreClearErrors) {
  const std::vector<FolderBreak> cases = {
      {"", "", nullptr, "no text_encoder_2/ folder: not a Stable Diffusion XL pipeline folder"},
      {"model_index.json", "_class_name", "StableDiffusionXLInpaintPipeline",
       "_class_name StableDiffusionXLInpaintPipeline is not supported (of the SDXL pipelines, "
       "StableDiffusionXLPipeline and StableDiffusionXLImg2ImgPipeline run)"},
      {"text_encoder_2/config.json", "architectures", nlohmann::json::array({"CLIPTextModel"}),
       "SDXL's second text encoder must be a CLIPTextModelWithProjection"},
      {"text_encoder_2/config.json", "hidden_size", 40,
       "the text encoders' widths 16 + 40 are not the UNet's cross_attention_dim 48"},
      {"text_encoder_2/config.json", "projection_dim", 24,
       "text_encoder_2/'s projection_dim 24 is not the pooled text width 16 of the UNet's added embedding"},
      {"unet/config.json", "addition_embed_type", nullptr,
       "the UNet has no addition_embed_type \"text_time\": unet/ is not an SDXL UNet"},
  };
  expect_breaks_refused(sdxl_dir(), cases);
  // An SDXL UNet in a folder that model_index.json calls an SD 1.x pipeline.
  test::TempDir tmp;
  const auto dir = copy_of(sdxl_dir(), tmp);
  edit_json(dir / "model_index.json", "_class_name", "StableDiffusionPipeline");
  EXPECT_ERROR(SdPipeline::load(dir),
               "the UNet has SDXL's addition_embed_type \"text_time\", but model_index.json's _class_name is not "
               "StableDiffusionXLPipeline");
}

// model_index.json's force_zeros_for_empty_prompt false: no negative prompt encodes "",
// which the golden run (zeros) must then not match.
TEST(SdxlPipelineFiles, ForceZerosForEmptyPromptComesFromModelIndex) {
  const auto& g = golden().at("pipeline");
  test::TempDir tmp;
  const auto dir = copy_of(sdxl_dir(), tmp);
  edit_json(dir / "model_index.json", "force_zeros_for_empty_prompt", false);
  const SdPipeline pipeline = SdPipeline::load(dir);
  const TextToImageResult result = pipeline.run({.prompt = g.at("prompt").get<std::string>(),
                                                 .steps = g.at("num_inference_steps").get<int64_t>(),
                                                 .guidance = g.at("guidance_scale").get<double>(),
                                                 .width = g.at("width").get<int64_t>(),
                                                 .height = g.at("height").get<int64_t>(),
                                                 .init_noise = sd_golden_npy(g.at("init_noise"))});
  const double err = max_rel_diff(result.latents, sd_golden_npy(g.at("schedulers").at("zeros_euler").at("latents")));
  EXPECT_GT(err, 100 * test::kSdPipelineTolerance);
}

TEST(SdxlUnetConfig, UnsupportedSettingsAreRefusedByName) {
  const nlohmann::json base = read_json_file(sdxl_dir() / "unet" / "config.json");
  const struct {
    const char* field;
    nlohmann::json value;
    const char* message;
  } cases[] = {
      {"addition_embed_type", "text", "addition_embed_type \"text\" is not supported (\"text_time\", SDXL's, or null)"},
      {"addition_embed_type", "image", "addition_embed_type \"image\" is not supported"},
      {"addition_time_embed_dim", nullptr, "addition_time_embed_dim"},
      {"addition_time_embed_dim", 0, "addition_time_embed_dim = 0 must be positive"},
      {"projection_class_embeddings_input_dim", 48,
       "projection_class_embeddings_input_dim = 48 leaves no room for the pooled text embedding beside the 6 time "
       "ids of addition_time_embed_dim 8 (48 features)"},
      {"transformer_layers_per_block",
       nlohmann::json::array({nlohmann::json::array({1}), nlohmann::json::array({2, 2})}),
       "transformer_layers_per_block [[1],[2,2]] gives a depth per layer (a list of lists): not supported"},
      {"transformer_layers_per_block", nlohmann::json::array({1, 2, 3}),
       "transformer_layers_per_block must be a number or a list of 2 (one per block)"},
      {"reverse_transformer_layers_per_block", nlohmann::json::array({nlohmann::json::array({2, 2})}),
       "reverse_transformer_layers_per_block = [[2,2]] is not supported"},
      {"num_class_embeds", 10, "num_class_embeds = 10 is not supported (class embeddings)"},
      {"time_embedding_act_fn", "silu", "time_embedding_act_fn = \"silu\" is not supported"},
      {"encoder_hid_dim_type", "text_proj", "encoder_hid_dim_type = \"text_proj\" is not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    nlohmann::json j = base;
    j[c.field] = c.value;
    EXPECT_ERROR(unet_config_from_json(j, "unet/config.json"), c.message);
  }
  // A single transformer depth for every block, as an int.
  nlohmann::json j = base;
  j["transformer_layers_per_block"] = 3;
  const UnetConfig config = unet_config_from_json(j, "unet/config.json");
  EXPECT_EQ(config.levels[0].transformer_layers, 3);
  EXPECT_EQ(config.levels[1].transformer_layers, 3);
  EXPECT_EQ(config.text_time->text_embeds_dim(), 16);
}

TEST(SdxlClipConfig, TextEncoderWithProjectionNeedsItsWidth) {
  nlohmann::json j = read_json_file(sdxl_dir() / "text_encoder_2" / "config.json");
  const ClipTextConfig config = clip_text_config_from_json(j, "text_encoder_2/config.json");
  EXPECT_EQ(config.projection_dim, 16);
  EXPECT_EQ(config.eos_token_id, 2);
  j.erase("projection_dim");
  EXPECT_ERROR(clip_text_config_from_json(j, "text_encoder_2/config.json"), "projection_dim");
  j["projection_dim"] = 0;
  EXPECT_ERROR(clip_text_config_from_json(j, "text_encoder_2/config.json"), "projection_dim = 0 must be positive");
  j["architectures"] = nlohmann::json::array({"CLIPVisionModelWithProjection"});
  EXPECT_ERROR(clip_text_config_from_json(j, "text_encoder_2/config.json"),
               "architectures [\"CLIPVisionModelWithProjection\"] is not supported (CLIPTextModel or "
               "CLIPTextModelWithProjection)");
}

// SDXL's refiner as stabilityai/stable-diffusion-xl-refiner-1.0 ships it, in small: no
// text_encoder/ nor tokenizer/, the UNet cross-attending to text_encoder_2's 32 features
// alone, 5 time ids (original size, crop, aesthetic score 6.0 for the prompt's half and 2.5
// for the negative's), force_zeros_for_empty_prompt false. From an 8-bit PNG 24 high and
// 16 wide (portrait, where the base's golden is landscape) at strength 0.75 of 4 steps with
// guidance and a negative prompt: the last 3 steps, as for the base model's image to image.
TEST(SdxlRefinerGolden, ImageToImageMatchesDiffusersUnderEulerAndDdim) {
  const auto& g = refiner_golden().at("refiner");
  const SdPipeline pipeline = SdPipeline::load(refiner_dir());
  ASSERT_TRUE(pipeline.is_sdxl());
  EXPECT_TRUE(pipeline.needs_init_image());
  EXPECT_EQ(pipeline.unet_config().cross_attention_dim, 32);
  EXPECT_EQ(pipeline.unet_config().text_time->time_ids, 5);
  for (const char* name : {"euler", "ddim"}) {
    SCOPED_TRACE(name);
    TextToImageRequest request = golden_img2img_request(g, pipeline.scheduler_config(name));
    ASSERT_EQ(request.init_image.shape(), Shape({1, 3, 24, 16}));
    request.aesthetic_score = g.at("aesthetic_score").get<double>();
    request.negative_aesthetic_score = g.at("negative_aesthetic_score").get<double>();
    const TextToImageResult result = pipeline.run(request);
    EXPECT_EQ(result.steps_done, 3);
    expect_run_matches(result, g.at("schedulers").at(name), std::string("sdxl_refiner_") + name);
  }
}

// The aesthetic scores reach the UNet: another score is another image. Unguided, the batch
// is the prompt alone.
TEST(SdxlRefiner, AestheticScoresConditionAndUnguidedRunsWork) {
  const auto& g = refiner_golden().at("refiner");
  const SdPipeline pipeline = SdPipeline::load(refiner_dir());
  const Tensor image = from_rgb8(read_png(test::data_dir() / "tiny_sd" / g.at("image").get<std::string>()));
  TextToImageRequest request{.prompt = "a cat", .steps = 2, .seed = 3, .init_image = image, .strength = 1.0};
  const TextToImageResult base = pipeline.run(request);
  request.aesthetic_score = 2.0;
  EXPECT_GT(max_rel_diff(pipeline.run(request).latents, base.latents), 1e-3);
  request.guidance = 1.0;
  EXPECT_EQ(pipeline.run(request).steps_done, 2);
  request.aesthetic_score = std::nan("");
  EXPECT_ERROR(pipeline.run(request), "aesthetic scores nan and 2.5 must be finite numbers");
  EXPECT_GT(pipeline.parameter_count(), 0);
}

TEST(SdxlRefinerFiles, HostileFoldersAndTextToImageAreClearErrors) {
  const std::vector<FolderBreak> cases = {
      {"", "", nullptr, "no text_encoder_2/ folder: not a Stable Diffusion XL pipeline folder"},
      {"unet/config.json", "cross_attention_dim", 48,
       "sdxl_refiner: text_encoder_2/'s hidden_size 32 is not unet/'s cross_attention_dim 48: without text_encoder/ "
       "(SDXL's refiner) the UNet cross-attends to text_encoder_2's states alone"},
      {"model_index.json", "requires_aesthetics_score", false,
       "sdxl_refiner: text_encoder_2/'s projection_dim 16 is not the pooled text width 8 of the UNet's added "
       "embedding (projection_class_embeddings_input_dim 56 less 6 time ids x addition_time_embed_dim 8) (with "
       "model_index.json's requires_aesthetics_score true, 5 fit)"},
      {"unet/config.json", "projection_class_embeddings_input_dim", 64,
       "text_encoder_2/'s projection_dim 16 is not the pooled text width 24 of the UNet's added embedding "
       "(projection_class_embeddings_input_dim 64 less 5 time ids x addition_time_embed_dim 8) (with "
       "model_index.json's requires_aesthetics_score false, 6 fit)"},
      {"model_index.json", "tokenizer", nlohmann::json::array({"transformers", "CLIPTokenizer"}),
       "model_index.json: text_encoder is [null,null] but tokenizer is [\"transformers\",\"CLIPTokenizer\"]: SDXL's "
       "first text encoder and its tokenizer come together"},
      {"model_index.json", "text_encoder", nlohmann::json::array({"transformers", "CLIPTextModel"}),
       "model_index.json: text_encoder is [\"transformers\",\"CLIPTextModel\"] but tokenizer is [null,null]"},
  };
  expect_breaks_refused(refiner_dir(), cases);
  // Both named in model_index.json, but the refiner ships no text_encoder/.
  {
    test::TempDir tmp;
    const auto dir = copy_of(refiner_dir(), tmp);
    edit_json(dir / "model_index.json", "text_encoder", nlohmann::json::array({"transformers", "CLIPTextModel"}));
    edit_json(dir / "model_index.json", "tokenizer", nlohmann::json::array({"transformers", "CLIPTokenizer"}));
    EXPECT_ERROR(SdPipeline::load(dir), "no tokenizer/ folder: not a Stable Diffusion XL pipeline folder");
  }
  // diffusers' StableDiffusionXLImg2ImgPipeline needs an image: so does genrt's.
  const SdPipeline pipeline = SdPipeline::load(refiner_dir());
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2}),
               "text to image: the pipeline is a StableDiffusionXLImg2ImgPipeline (SDXL's refiner, or image to "
               "image), which runs from an init image only, as diffusers' does: give one (with a strength)");
  EXPECT_ERROR(pipeline.check({.prompt = "a cat", .steps = 2}), "runs from an init image only");
}

// The base model's folder as a StableDiffusionXLImg2ImgPipeline (both encoders,
// requires_aesthetics_score false by diffusers' default) is the base model's image to image:
// it matches that golden, and refuses text to image.
TEST(SdxlPipelineFiles, BaseFolderAsImageToImagePipelineMatchesItsGolden) {
  const auto& g = golden().at("img2img");
  test::TempDir tmp;
  const auto dir = copy_of(sdxl_dir(), tmp);
  edit_json(dir / "model_index.json", "_class_name", "StableDiffusionXLImg2ImgPipeline");
  const SdPipeline pipeline = SdPipeline::load(dir);
  EXPECT_TRUE(pipeline.needs_init_image());
  const TextToImageResult result = pipeline.run(golden_img2img_request(g, pipeline.scheduler_config("euler")));
  expect_run_matches(result, g.at("schedulers").at("euler"), "sdxl_img2img_class_euler");
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2}), "runs from an init image only");
}

// Of two tensors of one shape (infinite otherwise).
double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  return test::max_abs_diff(a.data<float>(), b.data<float>(), static_cast<size_t>(a.numel()));
}

// A copy of `folder` whose vae/config.json holds the golden's latents_mean and latents_std.
std::filesystem::path with_latent_statistics(const std::filesystem::path& folder, const test::TempDir& tmp) {
  const auto dir = copy_of(folder, tmp);
  edit_json(dir / "vae" / "config.json", "latents_mean", statistics_golden().at("latents_mean"));
  edit_json(dir / "vae" / "config.json", "latents_std", statistics_golden().at("latents_std"));
  return dir;
}

// The base model's folder with latent statistics in its VAE config, as diffusers'
// StableDiffusionXLPipeline and StableDiffusionXLImg2ImgPipeline apply them: text to image
// decodes latents * std / scaling_factor + mean (the loop's latents are the plain run's),
// image to image starts from (encoded - mean) * scaling_factor / std. Both under Euler from
// the plain goldens' inputs, and the text-to-image decode again through the tiled path
// (8x8 latents: one tile, scaled on the host).
TEST(SdxlGolden, LatentStatisticsMatchDiffusersFromTextAndFromAnImage) {
  const nlohmann::json& g = statistics_golden();
  test::TempDir tmp;
  const auto dir = with_latent_statistics(sdxl_dir(), tmp);
  const auto& text = g.at("pipeline");
  const auto& text_run = text.at("schedulers").at("euler");
  const TextToImageRequest request{.prompt = text.at("prompt").get<std::string>(),
                                   .negative_prompt = text.at("negative_prompt").get<std::string>(),
                                   .steps = text.at("num_inference_steps").get<int64_t>(),
                                   .guidance = text.at("guidance_scale").get<double>(),
                                   .width = text.at("width").get<int64_t>(),
                                   .height = text.at("height").get<int64_t>(),
                                   .init_noise = sd_golden_npy(text.at("init_noise"))};
  for (const bool tiled : {false, true}) {
    SCOPED_TRACE(tiled ? "tiled" : "whole");
    const SdPipeline pipeline = SdPipeline::load(dir, "euler", {.vae_tiling = tiled});
    ASSERT_TRUE(pipeline.vae_config().has_latent_statistics());
    EXPECT_EQ(pipeline.vae_config().latents_std, g.at("latents_std").get<std::vector<double>>());
    const TextToImageResult result = pipeline.run(request);
    expect_run_matches(result, text_run, std::string("sdxl_latents_mean_std_euler") + (tiled ? "_tiled" : ""));
    if (tiled) continue;
    const auto& image = g.at("img2img");
    const TextToImageResult from_image =
        pipeline.run(golden_img2img_request(image, pipeline.scheduler_config("euler")));
    EXPECT_EQ(from_image.steps_done, 3);
    expect_run_matches(from_image, image.at("schedulers").at("euler"), "sdxl_latents_mean_std_img2img_euler");
  }
  // The statistics matter: the goldens are far from the plain runs' (decoded images, and
  // image to image's latents), the text-to-image latents equal.
  const auto& plain = golden();
  EXPECT_EQ(max_abs_diff(sd_golden_npy(text_run.at("latents")),
                               sd_golden_npy(plain.at("pipeline").at("schedulers").at("euler").at("latents"))),
            0.0);
  EXPECT_GT(max_abs_diff(sd_golden_npy(text_run.at("image")),
                               sd_golden_npy(plain.at("pipeline").at("schedulers").at("euler").at("image"))),
            20 * test::kSdPixelTolerance);
  EXPECT_GT(max_rel_diff(sd_golden_npy(g.at("img2img").at("schedulers").at("euler").at("latents")),
                         sd_golden_npy(plain.at("img2img").at("schedulers").at("euler").at("latents"))),
            20 * test::kSdPipelineTolerance);
}

// diffusers' refiner runs StableDiffusionXLImg2ImgPipeline's code, which applies the
// statistics when encoding and decoding: so does genrt's, whose images then differ.
TEST(SdxlRefiner, LatentStatisticsApplyToTheRefiner) {
  const auto& g = refiner_golden().at("refiner");
  const TextToImageRequest request{
      .prompt = "a cat",
      .steps = 2,
      .seed = 3,
      .init_image = from_rgb8(read_png(test::data_dir() / "tiny_sd" / g.at("image").get<std::string>())),
      .strength = 0.5};
  test::TempDir tmp;
  const SdPipeline pipeline = SdPipeline::load(with_latent_statistics(refiner_dir(), tmp));
  ASSERT_TRUE(pipeline.vae_config().has_latent_statistics());
  const TextToImageResult with = pipeline.run(request), without = SdPipeline::load(refiner_dir()).run(request);
  EXPECT_GT(max_rel_diff(with.latents, without.latents), 20 * test::kSdPipelineTolerance);
  EXPECT_GT(max_abs_diff(with.images, without.images), 20 * test::kSdPixelTolerance);
}

// Each field's error names the file and the field.
TEST(SdxlVaeConfig, LatentStatisticsAreCheckedByName) {
  const nlohmann::json base = read_json_file(sdxl_dir() / "vae" / "config.json");
  const nlohmann::json four = nlohmann::json::array({0.1, -0.2, 0.3, 0.4});
  const double inf = std::numeric_limits<double>::infinity();
  const struct {
    nlohmann::json mean, std;
    const char* message;
  } cases[] = {
      {four, nullptr, "vae/config.json: latents_mean without latents_std: give both"},
      {nullptr, four, "vae/config.json: latents_std without latents_mean: give both"},
      {nlohmann::json::array({0.1, 0.2, 0.3}), four,
       "vae/config.json: latents_mean must list 4 numbers, one per latent channel (latent_channels 4), got "
       "[0.1,0.2,0.3]"},
      {four, 0.5, "vae/config.json: latents_std must list 4 numbers, one per latent channel (latent_channels 4), got "
                  "0.5"},
      {nlohmann::json::array({0.1, 0.2, "a", 0.4}), four, "vae/config.json: latents_mean[2] is \"a\", not a number"},
      {nlohmann::json::array({0.1, inf, 0.3, 0.4}), four, "vae/config.json: latents_mean[1] = inf is not a finite f32"},
      {four, nlohmann::json::array({1e39, 1, 1, 1}), "vae/config.json: latents_std[0] = 1e+39 is not a finite f32"},
      {four, nlohmann::json::array({1, 1, 1, 0}), "vae/config.json: latents_std[3] = 0 must be positive"},
      {four, nlohmann::json::array({1, -2, 1, 1}), "vae/config.json: latents_std[1] = -2 must be positive"},
      {four, nlohmann::json::array({1, 1, 1e-40, 1}),
       "vae/config.json: latents_std[2] = 1e-40 with scaling_factor 0.13025 makes a scale outside f32's normal range"},
      {nlohmann::json::array({0.1, 3e38, 0.3, 0.4}), nlohmann::json::array({1, 0.01, 1, 1}),
       "vae/config.json: latents_mean[1] = 3e+38 over latents_std[1] = 0.01 with scaling_factor 0.13025 makes a shift "
       "outside f32's range"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    nlohmann::json j = base;
    j["latents_mean"] = c.mean;
    j["latents_std"] = c.std;
    EXPECT_ERROR(vae_config_from_json(j, "vae/config.json"), c.message);
  }
  nlohmann::json j = base;
  j["latents_mean"] = nullptr;  // diffusers' None, as AutoencoderKL's config writes it
  j["latents_std"] = nullptr;
  j["shift_factor"] = nullptr;
  EXPECT_FALSE(vae_config_from_json(j, "vae/config.json").has_latent_statistics());
  j["latents_mean"] = four;
  j["latents_std"] = nlohmann::json::array({1, 2, 3, 4});  // integers are numbers too
  const VaeConfig config = vae_config_from_json(j, "vae/config.json");
  EXPECT_EQ(config.latents_mean, four.get<std::vector<double>>());
  EXPECT_EQ(config.latents_std, (std::vector<double>{1, 2, 3, 4}));
  // SD3's and Flux's field stays refused.
  j["shift_factor"] = 0.0609;
  EXPECT_ERROR(vae_config_from_json(j, "vae/config.json"),
               "vae/config.json: shift_factor is not supported (SD3's and Flux's VAEs have one; SD's and SDXL's none)");

  // Through a folder, the file is the folder's own.
  expect_breaks_refused(sdxl_dir(), {{"vae/config.json", "latents_mean", four,
                                      "sdxl/vae/config.json: latents_mean without latents_std"},
                                     {"vae/config.json", "shift_factor", 0.0609,
                                      "sdxl/vae/config.json: shift_factor is not supported"}});
  // More channels than the normalization takes (and than the UNet's: this comes first).
  test::TempDir tmp;
  const auto dir = copy_of(sdxl_dir(), tmp);
  const nlohmann::json seventeen = std::vector<double>(17, 1.0);
  edit_json(dir / "vae" / "config.json", "latent_channels", 17);
  edit_json(dir / "vae" / "config.json", "latents_mean", seventeen);
  edit_json(dir / "vae" / "config.json", "latents_std", seventeen);
  EXPECT_ERROR(SdPipeline::load(dir), "sdxl/vae/config.json: latents_mean and latents_std of 17 latent channels: "
                                      "genrt normalizes latents of at most 16");
}

TEST(SdxlPipeline, SeededRunsRepeatAndOddSizesWork) {
  const SdPipeline pipeline = SdPipeline::load(sdxl_dir());
  const TextToImageRequest request{.prompt = "a cat", .steps = 2, .seed = 5, .width = 24, .height = 8, .images = 2};
  const TextToImageResult a = pipeline.run(request), b = pipeline.run(request);
  ASSERT_EQ(a.images.shape(), Shape({2, 3, 8, 24}));
  EXPECT_EQ(test::max_abs_diff(a.images.data<float>(), b.images.data<float>(), a.images.numel()), 0.0f);
  for (float v : a.images.span<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;  // fails on NaN
  // Unguided, the batch is the prompt alone.
  TextToImageRequest unguided = request;
  unguided.guidance = 1.0;
  EXPECT_EQ(pipeline.run(unguided).steps_done, 2);
  EXPECT_ERROR(pipeline.run({.prompt = "a cat", .steps = 2, .clip_skip = 2}), "clip skip 2 must leave at least one");
  EXPECT_GT(pipeline.parameter_count(), 0);
}

}  // namespace
}  // namespace genrt
