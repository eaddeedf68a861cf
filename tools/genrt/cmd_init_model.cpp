// genrt init-model: write a model directory with seeded random weights.

#include <cstdio>
#include <string>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/diffusion/sd_init.h"
#include "runtime/models/dit/dit_init.h"
#include "runtime/models/llama/llama_init.h"
#include "tools/genrt/commands.h"

namespace genrt::cli {

namespace {

struct InitModelOptions {
  std::string arch = "llama";
  std::string preset = "tiny";
  uint64_t seed = 0;
  std::string out;
  std::string dtype = "bf16";
  bool force = false;
};

void run_init_model(const InitModelOptions& o) {
  GENRT_CHECK(o.arch == "llama" || o.arch == "dit" || o.arch == "sd", "--arch {}: init-model supports llama, dit and sd",
              o.arch);
  const auto dtype = parse_dtype(o.dtype);
  GENRT_CHECK(dtype && *dtype != DType::i32, "--dtype {}: expected f32, f16 or bf16", o.dtype);
  const std::filesystem::path dir = o.out;
  for (const char* marker : {"config.json", "model_index.json"}) {
    GENRT_CHECK(o.force || !std::filesystem::exists(dir / marker),
                "{} already holds a model ({}); pass --force to overwrite it", dir.string(), marker);
  }
  if (o.arch == "sd") {
    const int64_t parameters = write_random_sd(o.preset, o.seed, *dtype, dir);
    std::printf("wrote %s: Stable Diffusion %s preset, %.1fM parameters, seed %llu -- RANDOM WEIGHTS, images are noise\n",
                dir.string().c_str(), o.preset.c_str(), parameters / 1e6, static_cast<unsigned long long>(o.seed));
    return;
  }
  if (o.arch == "dit") {
    const DitConfig config = dit_preset(o.preset);
    write_random_dit(config, o.seed, *dtype, dir);
    std::printf("wrote %s: DiT %s preset, %.1fM parameters, seed %llu -- RANDOM WEIGHTS, latents are noise\n",
                dir.string().c_str(), o.preset.c_str(), config.parameter_count() / 1e6,
                static_cast<unsigned long long>(o.seed));
    return;
  }
  const LlamaConfig config = llama_preset(o.preset);
  write_random_llama(config, o.seed, *dtype, dir);
  std::printf("wrote %s: %s preset, %.1fM parameters, seed %llu -- RANDOM WEIGHTS, output is gibberish\n",
              dir.string().c_str(), o.preset.c_str(), config.parameter_count() / 1e6,
              static_cast<unsigned long long>(o.seed));
}

}  // namespace

Command add_init_model_command(CLI::App& app) {
  auto o = std::make_shared<InitModelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init-model",
      "Write a model directory with seeded random weights of a real model's shape, for running, chatting, "
      "denoising and benchmarking without a download: llama (config.json, model.safetensors, tokenizer.json, "
      "tokenizer_config.json), dit (a diffusers DiTPipeline folder) or sd (a diffusers StableDiffusionPipeline "
      "folder)");
  cmd->add_option("--arch", o->arch, "Architecture: llama, dit or sd")->capture_default_str();
  cmd->add_option("--preset", o->preset,
                  fmt::format("Shape: llama {}; dit {}; sd {}", fmt::join(llama_preset_names(), ", "),
                              fmt::join(dit_preset_names(), ", "), fmt::join(sd_preset_names(), ", ")))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random weights")->capture_default_str();
  cmd->add_option("--out", o->out, "Output directory (created if missing)")->required();
  cmd->add_option("--dtype", o->dtype, "Weight dtype: bf16, f16 or f32")->capture_default_str();
  cmd->add_flag("--force", o->force, "Overwrite a model already in --out");
  return {cmd, [o] { run_init_model(*o); }};
}

}  // namespace genrt::cli
