#include "runtime/models/dit/dit_init.h"

#include <fstream>
#include <map>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/models/random_weights.h"

namespace genrt {

namespace {

DitConfig make_preset(int64_t heads, int64_t head_dim, int64_t layers, int64_t sample_size) {
  return {.num_attention_heads = heads,
          .attention_head_dim = head_dim,
          .in_channels = 4,
          .out_channels = 8,
          .num_layers = layers,
          .sample_size = sample_size,
          .patch_size = 2,
          .num_classes = 1000,
          .random_weights = true};
}

const std::map<std::string, DitConfig>& presets() {
  static const std::map<std::string, DitConfig> table = {
      {"tiny", make_preset(4, 32, 4, 32)},
      {"dit-xl-2-256", make_preset(16, 72, 28, 32)},
  };
  return table;
}

void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  GENRT_CHECK(out.good(), "cannot write {}", path.string());
}

}  // namespace

std::vector<std::string> dit_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, config] : presets()) names.push_back(name);
  return names;
}

DitConfig dit_preset(const std::string& name) {
  const auto it = presets().find(name);
  GENRT_CHECK(it != presets().end(), "unknown DiT preset '{}': expected one of {}", name,
              fmt::join(dit_preset_names(), ", "));
  return it->second;
}

void write_random_dit(const DitConfig& c, uint64_t seed, DType dtype, const std::filesystem::path& dir) {
  GENRT_CHECK(dtype != DType::i32, "init-model: weights must be f32, f16 or bf16");
  const auto transformer = dir / "transformer", scheduler = dir / "scheduler";
  std::filesystem::create_directories(transformer);
  std::filesystem::create_directories(scheduler);
  const int64_t d = c.inner_dim(), f = c.ff_dim(), p = c.patch_size;

  std::vector<TensorSpec> specs;
  std::vector<float> stddevs;  // per tensor: weights ~ 1/sqrt(fan_in), biases small
  auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    specs.push_back({name + ".weight", {out, in}, dtype});
    stddevs.push_back(1.0f / std::sqrt(static_cast<float>(in)));
    specs.push_back({name + ".bias", {out}, dtype});
    stddevs.push_back(0.02f);
  };
  specs.push_back({"pos_embed.proj.weight", {d, c.in_channels, p, p}, dtype});
  stddevs.push_back(1.0f / std::sqrt(static_cast<float>(c.patch_dim())));
  specs.push_back({"pos_embed.proj.bias", {d}, dtype});
  stddevs.push_back(0.02f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string b = "transformer_blocks." + std::to_string(l) + ".";
    linear(b + "norm1.emb.timestep_embedder.linear_1", d, kDitTimestepChannels);
    linear(b + "norm1.emb.timestep_embedder.linear_2", d, d);
    specs.push_back({b + "norm1.emb.class_embedder.embedding_table.weight", {c.num_classes + 1, d}, dtype});
    stddevs.push_back(0.02f);
    linear(b + "norm1.linear", 6 * d, d);
    for (const char* proj : {"to_q", "to_k", "to_v", "to_out.0"}) linear(b + "attn1." + proj, d, d);
    linear(b + "ff.net.0.proj", f, d);
    linear(b + "ff.net.2", d, f);
  }
  linear("proj_out_1", 2 * d, d);
  linear("proj_out_2", c.out_patch_dim(), d);

  const auto weights_path = transformer / "diffusion_pytorch_model.safetensors";
  spdlog::info("writing {} random-weight tensors ({:.1f}M parameters, {}) to {}", specs.size(),
               c.parameter_count() / 1e6, dtype_name(dtype), weights_path.string());
  write_safetensors(weights_path, specs, [&](size_t i, Tensor& out) {
    fill_uniform(out, seed, i, stddevs[i]);
    if ((i + 1) % 100 == 0) spdlog::info("  {}/{} tensors written", i + 1, specs.size());
  });
  nlohmann::json config = c.to_json();
  write_json(transformer / "config.json", config);
  write_json(scheduler / "scheduler_config.json",
             {{"_class_name", "DDIMScheduler"}, {"beta_start", 0.0001}, {"beta_end", 0.02},
              {"beta_schedule", "linear"}, {"clip_sample", false}, {"num_train_timesteps", 1000},
              {"set_alpha_to_one", true}, {"steps_offset", 0}});
  write_json(dir / "model_index.json", {{"_class_name", "DiTPipeline"},
                                        {"scheduler", {"diffusers", "DDIMScheduler"}},
                                        {"transformer", {"diffusers", "DiTTransformer2DModel"}}});
}

}  // namespace genrt
