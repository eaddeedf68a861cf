#include "runtime/diffusion/sd_init.h"

#include <cmath>
#include <fstream>
#include <map>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/models/random_weights.h"
#include "runtime/models/unet/unet_model.h"
#include "runtime/models/vae/vae_model.h"
#include "runtime/tokenizer/byte_level.h"

namespace genrt {

namespace {

using nlohmann::json;

struct SdPreset {
  json text_encoder, unet, vae;
  bool v_prediction = false;
  std::string pad_token;  // SD 1.x pads prompts with <|endoftext|>, SD 2.x with "!"
  json text_encoder_2 = nullptr;  // SDXL's CLIPTextModelWithProjection (its tokenizer pads with "!")
};

json clip_config(int64_t vocab, int64_t width, int64_t layers, int64_t heads, const char* act) {
  return {{"architectures", {"CLIPTextModel"}}, {"model_type", "clip_text_model"}, {"vocab_size", vocab},
          {"hidden_size", width},                {"intermediate_size", 4 * width},  {"num_hidden_layers", layers},
          {"num_attention_heads", heads},        {"max_position_embeddings", 77},  {"hidden_act", act},
          {"layer_norm_eps", 1e-5},              {"bos_token_id", 0},              {"eos_token_id", 2},
          {"pad_token_id", 1},                   {"projection_dim", width},        {"genrt_random_weights", true}};
}

// SDXL's second encoder: a CLIPTextModelWithProjection, GELU.
json clip_with_projection_config(int64_t vocab, int64_t width, int64_t layers, int64_t heads, int64_t projection) {
  json c = clip_config(vocab, width, layers, heads, "gelu");
  c["architectures"] = {"CLIPTextModelWithProjection"};
  c["projection_dim"] = projection;
  return c;
}

json unet_config(json channels, int64_t layers, json heads, int64_t cross, int64_t groups, int64_t sample,
                 bool linear_projection, json down, json up) {
  return {{"_class_name", "UNet2DConditionModel"},
          {"in_channels", 4},
          {"out_channels", 4},
          {"sample_size", sample},
          {"block_out_channels", std::move(channels)},
          {"layers_per_block", layers},
          {"attention_head_dim", std::move(heads)},
          {"cross_attention_dim", cross},
          {"norm_num_groups", groups},
          {"norm_eps", 1e-5},
          {"use_linear_projection", linear_projection},
          {"down_block_types", std::move(down)},
          {"up_block_types", std::move(up)},
          {"flip_sin_to_cos", true},
          {"freq_shift", 0},
          {"act_fn", "silu"},
          {"genrt_random_weights", true}};
}

// SDXL's UNet additions to unet_config: transformer depths per block and the "text_time"
// added embedding of `pooled` text features and six time ids of `time_dim` features each.
json sdxl_unet_config(json base, json transformer_layers, int64_t time_dim, int64_t pooled) {
  base["transformer_layers_per_block"] = std::move(transformer_layers);
  base["addition_embed_type"] = "text_time";
  base["addition_time_embed_dim"] = time_dim;
  base["projection_class_embeddings_input_dim"] = pooled + 6 * time_dim;
  return base;
}

json vae_config(json channels, int64_t layers, int64_t groups, int64_t sample) {
  const size_t n = channels.size();
  return {{"_class_name", "AutoencoderKL"},
          {"in_channels", 3},
          {"out_channels", 3},
          {"latent_channels", 4},
          {"block_out_channels", std::move(channels)},
          {"layers_per_block", layers},
          {"norm_num_groups", groups},
          {"sample_size", sample},
          {"scaling_factor", 0.18215},
          {"act_fn", "silu"},
          {"down_block_types", std::vector<std::string>(n, "DownEncoderBlock2D")},
          {"up_block_types", std::vector<std::string>(n, "UpDecoderBlock2D")},
          {"genrt_random_weights", true}};
}

const std::map<std::string, SdPreset>& presets() {
  static const std::map<std::string, SdPreset> table = [] {
    const json sd_down = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"};
    const json sd_up = {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};
    std::map<std::string, SdPreset> t;
    t["tiny"] = {.text_encoder = clip_config(1024, 64, 2, 4, "quick_gelu"),
                 .unet = unet_config({32, 64}, 1, 4, 64, 8, 16, false, {"CrossAttnDownBlock2D", "DownBlock2D"},
                                     {"UpBlock2D", "CrossAttnUpBlock2D"}),
                 .vae = vae_config({16, 32, 32}, 1, 8, 64),
                 .pad_token = "<|endoftext|>"};
    t["sd15"] = {.text_encoder = clip_config(49408, 768, 12, 12, "quick_gelu"),
                 .unet = unet_config({320, 640, 1280, 1280}, 2, 8, 768, 32, 64, false, sd_down, sd_up),
                 .vae = vae_config({128, 256, 512, 512}, 2, 32, 512),
                 .pad_token = "<|endoftext|>"};
    t["sd21"] = {.text_encoder = clip_config(49408, 1024, 23, 16, "gelu"),
                 .unet = unet_config({320, 640, 1280, 1280}, 2, {5, 10, 20, 20}, 1024, 32, 96, true, sd_down, sd_up),
                 .vae = vae_config({128, 256, 512, 512}, 2, 32, 768),
                 .v_prediction = true,
                 .pad_token = "!"};
    // SDXL: a DownBlock2D first, and the VAE's scaling factor retrained.
    const json xl_down = {"DownBlock2D", "CrossAttnDownBlock2D"};
    const json xl_up = {"CrossAttnUpBlock2D", "UpBlock2D"};
    t["tiny-xl"] = {.text_encoder = clip_config(1024, 32, 2, 2, "quick_gelu"),
                    .unet = sdxl_unet_config(unet_config({32, 64}, 1, {2, 4}, 64, 8, 16, true, xl_down, xl_up), {1, 2},
                                             8, 32),
                    .vae = vae_config({16, 32, 32}, 1, 8, 64),
                    .pad_token = "<|endoftext|>",
                    .text_encoder_2 = clip_with_projection_config(1024, 32, 2, 2, 32)};
    t["sdxl"] = {.text_encoder = clip_config(49408, 768, 12, 12, "quick_gelu"),
                 .unet = sdxl_unet_config(
                     unet_config({320, 640, 1280}, 2, {5, 10, 20}, 2048, 32, 128, true,
                                 {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"},
                                 {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}),
                     {1, 2, 10}, 256, 1280),
                 .vae = vae_config({128, 256, 512, 512}, 2, 32, 1024),
                 .pad_token = "<|endoftext|>",
                 .text_encoder_2 = clip_with_projection_config(49408, 1280, 32, 20, 1280)};
    for (const char* xl : {"tiny-xl", "sdxl"}) t[xl].vae["scaling_factor"] = 0.13025;
    return t;
  }();
  return table;
}

void write_json(const std::filesystem::path& path, const json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  GENRT_CHECK(out.good(), "cannot write {}", path.string());
}

// The byte-level CLIP vocabulary: each byte's character alone and as a word end, the end-
// of-word merges of every letter before e, s and t, then the special tokens.
void write_tokenizer(const std::filesystem::path& dir, const std::string& pad_token) {
  std::filesystem::create_directories(dir);
  json vocab = json::object();
  auto add = [&](const std::string& token) { vocab.emplace(token, static_cast<int64_t>(vocab.size())); };
  for (int b = 0; b < 256; ++b) add(byte_to_unicode(static_cast<unsigned char>(b)));
  for (int b = 0; b < 256; ++b) add(byte_to_unicode(static_cast<unsigned char>(b)) + "</w>");
  std::string merges = "#version: 0.2\n";
  for (char first = 'a'; first <= 'z'; ++first) {
    for (const char* last : {"e", "s", "t"}) {
      merges += fmt::format("{} {}</w>\n", first, last);
      add(fmt::format("{}{}</w>", first, last));
    }
  }
  add("<|startoftext|>");
  add("<|endoftext|>");
  std::ofstream(dir / "vocab.json") << vocab.dump() << "\n";
  std::ofstream(dir / "merges.txt") << merges;
  write_json(dir / "tokenizer_config.json", {{"tokenizer_class", "CLIPTokenizer"},
                                             {"model_max_length", 77},
                                             {"do_lower_case", true},
                                             {"bos_token", "<|startoftext|>"},
                                             {"eos_token", "<|endoftext|>"},
                                             {"unk_token", "<|endoftext|>"},
                                             {"pad_token", pad_token}});
  write_json(dir / "special_tokens_map.json", {{"bos_token", "<|startoftext|>"},
                                               {"eos_token", "<|endoftext|>"},
                                               {"unk_token", "<|endoftext|>"},
                                               {"pad_token", pad_token}});
}

// Random weights for `weights` in `dtype`: norm scales one, biases and embeddings small,
// other weights ~ 1/sqrt(fan in). Returns the parameter count.
int64_t write_weights(const std::filesystem::path& path, const NamedWeights& weights, uint64_t seed, DType dtype) {
  std::vector<TensorSpec> specs;
  std::vector<float> stddevs;  // 0: ones
  const int64_t parameters = parameter_count(weights);
  for (const NamedWeight& w : weights) {
    specs.push_back({w.name, w.shape, dtype});
    const bool vector = w.shape.size() == 1, norm = w.name.find("norm") != std::string::npos;
    const bool embedding = w.name.find("embedding.weight") != std::string::npos;
    if (vector) {
      stddevs.push_back(norm && w.name.ends_with(".weight") ? 0.0f : 0.02f);
    } else {
      stddevs.push_back(embedding ? 0.02f : 1.0f / std::sqrt(static_cast<float>(shape_numel(w.shape) / w.shape[0])));
    }
  }
  spdlog::info("writing {} random-weight tensors ({:.1f}M parameters, {}) to {}", specs.size(), parameters / 1e6,
               dtype_name(dtype), path.string());
  write_safetensors(path, specs, [&](size_t i, Tensor& out) {
    if (stddevs[i] == 0.0f) {
      fill_ones(out);
    } else {
      fill_uniform(out, seed, i, stddevs[i]);
    }
  });
  return parameters;
}

}  // namespace

std::vector<std::string> sd_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, preset] : presets()) names.push_back(name);
  return names;
}

int64_t write_random_sd(const std::string& name, uint64_t seed, DType dtype, const std::filesystem::path& dir) {
  const auto it = presets().find(name);
  GENRT_CHECK(it != presets().end(), "unknown Stable Diffusion preset '{}': expected one of {}", name,
              fmt::join(sd_preset_names(), ", "));
  GENRT_CHECK(dtype != DType::i32, "init-model: weights must be f32, f16 or bf16");
  const SdPreset& p = it->second;
  const bool sdxl = !p.text_encoder_2.is_null();
  for (const char* part : {"text_encoder", "unet", "vae", "scheduler"}) std::filesystem::create_directories(dir / part);
  write_tokenizer(dir / "tokenizer", p.pad_token);
  if (sdxl) write_tokenizer(dir / "tokenizer_2", "!");

  int64_t parameters = 0;
  const ClipTextConfig text = clip_text_config_from_json(p.text_encoder, "preset " + name);
  ClipTextWeights text_weights;
  parameters += write_weights(dir / "text_encoder" / "model.safetensors", clip_text_named_weights(text, text_weights),
                              seed, dtype);
  write_json(dir / "text_encoder" / "config.json", p.text_encoder);
  if (sdxl) {
    std::filesystem::create_directories(dir / "text_encoder_2");
    const ClipTextConfig text_2 = clip_text_config_from_json(p.text_encoder_2, "preset " + name);
    ClipTextWeights weights_2;
    // transformers names a CLIPTextModelWithProjection's encoder text_model.*, its projection not.
    NamedWeights named = clip_text_named_weights(text_2, weights_2);
    for (NamedWeight& w : named) {
      if (w.name != "text_projection.weight") w.name = "text_model." + w.name;
    }
    parameters += write_weights(dir / "text_encoder_2" / "model.safetensors", named, seed + 3, dtype);
    write_json(dir / "text_encoder_2" / "config.json", p.text_encoder_2);
  }
  const UnetConfig unet = unet_config_from_json(p.unet, "preset " + name);
  UnetWeights unet_weights;
  parameters += write_weights(dir / "unet" / "diffusion_pytorch_model.safetensors",
                              unet_named_weights(unet, unet_weights), seed + 1, dtype);
  write_json(dir / "unet" / "config.json", p.unet);
  const VaeConfig vae = vae_config_from_json(p.vae, "preset " + name);
  VaeDecoderWeights decoder_weights;
  VaeEncoderWeights encoder_weights;
  NamedWeights vae_weights = vae_decoder_named_weights(vae, decoder_weights);
  for (NamedWeight& w : vae_encoder_named_weights(vae, encoder_weights)) vae_weights.push_back(std::move(w));
  parameters += write_weights(dir / "vae" / "diffusion_pytorch_model.safetensors", vae_weights, seed + 2, dtype);
  write_json(dir / "vae" / "config.json", p.vae);
  // SD's betas; SDXL ships an Euler scheduler, SD 1.x and 2.x a DDIM one.
  const char* scheduler = sdxl ? "EulerDiscreteScheduler" : "DDIMScheduler";
  json scheduler_config = {{"_class_name", scheduler}, {"beta_start", 0.00085}, {"beta_end", 0.012},
                           {"beta_schedule", "scaled_linear"}, {"num_train_timesteps", 1000}, {"steps_offset", 1},
                           {"prediction_type", p.v_prediction ? "v_prediction" : "epsilon"}};
  if (sdxl) {
    scheduler_config.update({{"timestep_spacing", "leading"}, {"interpolation_type", "linear"},
                             {"use_karras_sigmas", false}});
  } else {
    scheduler_config.update({{"clip_sample", false}, {"set_alpha_to_one", false}});
  }
  write_json(dir / "scheduler" / "scheduler_config.json", scheduler_config);
  json index = {{"_class_name", sdxl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline"},
                {"text_encoder", {"transformers", "CLIPTextModel"}},
                {"tokenizer", {"transformers", "CLIPTokenizer"}},
                {"unet", {"diffusers", "UNet2DConditionModel"}},
                {"vae", {"diffusers", "AutoencoderKL"}},
                {"scheduler", {"diffusers", scheduler}}};
  if (sdxl) {
    index.update({{"text_encoder_2", {"transformers", "CLIPTextModelWithProjection"}},
                  {"tokenizer_2", {"transformers", "CLIPTokenizer"}},
                  {"force_zeros_for_empty_prompt", true}});
  } else {
    index.update({{"safety_checker", {nullptr, nullptr}},
                  {"feature_extractor", {nullptr, nullptr}},
                  {"requires_safety_checker", false}});
  }
  write_json(dir / "model_index.json", index);
  return parameters;
}

}  // namespace genrt
