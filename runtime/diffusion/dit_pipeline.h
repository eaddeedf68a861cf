#pragma once
// Class-conditional image generation in latent space with a DiT: the denoising loop with
// classifier-free guidance, as diffusers' DiTPipeline runs it (minus the VAE decode).

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/tensor.h"
#include "runtime/diffusion/denoising_loop.h"
#include "runtime/diffusion/noise_scheduler_config.h"
#include "runtime/models/dit/dit_model.h"

namespace genrt {

struct DiffusionRequest {
  std::vector<int32_t> class_labels;  // one per image
  double guidance = 4.0;              // classifier-free guidance scale; <= 1 runs unguided
  int64_t steps = 50;
  uint64_t seed = 0;                  // initial noise (unless init_noise) and step noise
  Tensor init_noise{};                // [batch, channels, size, size] standard normal, or undefined
  std::optional<NoiseSchedulerConfig> scheduler{};  // replaces the pipeline's for this run
};

struct DiffusionResult {
  Tensor latents;  // [batch, channels, size, size]
  int64_t steps_done = 0;
  bool cancelled = false;
  double seconds = 0.0;        // the loop
  double setup_seconds = 0.0;  // scheduler and memory planning before the first step
};

class DitPipeline {
 public:
  // `scheduler_file`: the folder's scheduler_config.json (null when it has none), from
  // which scheduler_config() derives other schedulers' settings.
  DitPipeline(DitModel model, NoiseSchedulerConfig scheduler, nlohmann::json scheduler_file = nullptr);

  // A diffusers DiT pipeline folder (transformer/, scheduler/) or a bare transformer
  // folder. `scheduler` (a genrt scheduler name) replaces the folder's scheduler class,
  // keeping its shared settings; without a scheduler config, DDIM's defaults as DiT uses them.
  static DitPipeline load(const std::filesystem::path& dir,
                          std::optional<std::string> scheduler = std::nullopt, const DiffusionDevice& device = {});

  const DitModel& model() const { return model_; }
  // On the GPU: whether the denoiser's steps replay CUDA graphs (DitModel::set_cuda_graphs).
  void set_cuda_graphs(bool enabled) { model_.set_cuda_graphs(enabled); }
  const NoiseSchedulerConfig& scheduler_config() const { return scheduler_; }
  // The settings of the scheduler called `name` (a genrt scheduler name) for this folder:
  // its scheduler_config.json's shared settings on that scheduler's defaults.
  NoiseSchedulerConfig scheduler_config(std::string_view name) const;

  // Runs the loop. All memory is planned before the first step; a NaN or infinity in the
  // latents stops the run with an error naming the step. The result's latents are on the host.
  DiffusionResult run(const DiffusionRequest& request, const DiffusionCallback& on_step = {}) const;

 private:
  DitModel model_;
  NoiseSchedulerConfig scheduler_;
  nlohmann::json scheduler_file_;
  int64_t max_images_ = 0;  // on the GPU: the batch its memory was planned for
};

}  // namespace genrt
