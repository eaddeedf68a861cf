// genrt C++ API for diffusion: load a class-conditional DiT pipeline and denoise latents, or
// a Stable Diffusion pipeline and make images from text, with classifier-free guidance and
// a per-step progress callback that can cancel.
//
// Self-contained like genrt.hpp (which it includes for Error, LoadOptions, MemoryUsage).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrt/genrt.hpp"

namespace genrt::api {

struct DiffusionOptions {
  std::vector<int32_t> class_labels;  // one per image
  double guidance = 4.0;              // classifier-free guidance scale; <= 1: unguided
  int64_t steps = 50;
  uint64_t seed = 0;                  // initial and step noise (Philox)
  std::string scheduler;              // ddpm, ddim, euler, dpm++2m, dpm++2m-karras, flow-euler;
                                      // empty: the pipeline's scheduler_config.json
  std::vector<float> init_noise;      // empty: seeded; else [images, channels, size, size]
};

struct DiffusionProgress {
  int64_t step = 0;  // steps done, 1-based
  int64_t steps = 0;
  double timestep = 0;
  double step_seconds = 0;
};

// Called after every step; return false to stop (the result says cancelled).
using DiffusionCallback = std::function<bool(const DiffusionProgress&)>;

struct DiffusionResult {
  std::vector<float> latents;       // [images, channels, size, size], row-major
  std::array<int64_t, 4> shape{};
  int64_t steps_done = 0;
  bool cancelled = false;
  double seconds = 0;  // the denoising loop
};

// Text to image with a Stable Diffusion pipeline (txt2img below).
struct TextToImageOptions {
  std::string prompt;
  std::string negative_prompt;  // the unconditional half of guidance
  int64_t steps = 30;
  double guidance = 7.5;        // <= 1: unguided
  uint64_t seed = 0;            // initial and step noise (Philox)
  int64_t width = 0, height = 0;  // 0: the pipeline's default (sample_size x the VAE's factor)
  int64_t images = 1;
  int64_t clip_skip = 0;
  std::string scheduler;        // as DiffusionOptions::scheduler, plus euler-a
  std::vector<float> init_noise;  // empty: seeded; else [images, 4, height / 8, width / 8]
  // Image to image: init_image_height x init_image_width 8-bit RGB, row-major (the images
  // made take its size), or empty; strength: how much of it to redraw, in (0, 1] (the run
  // takes the last floor(steps x strength) steps).
  std::vector<uint8_t> init_image;
  int64_t init_image_width = 0, init_image_height = 0;
  double strength = 0.75;
};

struct ImageResult {
  std::vector<uint8_t> rgb;  // [images, height, width, 3], 8-bit RGB
  int64_t images = 0, width = 0, height = 0;
  int64_t steps_done = 0;
  bool cancelled = false;   // then rgb is empty
  double seconds = 0;       // the whole run: text encoder, loop and VAE
};

struct DiffusionModelInfo {
  std::string architecture;  // "DiTTransformer2DModel" or "StableDiffusionPipeline"
  int64_t parameters = 0;
  int64_t num_classes = 0;       // 0 for a text-to-image pipeline
  int64_t latent_channels = 0;
  int64_t latent_size = 0;       // the denoiser's sample_size
  int64_t image_size = 0;        // a text-to-image pipeline's default image side; else 0
  bool has_null_class = false;  // classifier-free guidance possible
  bool random_weights = false;  // made by `genrt init-model`
  std::string scheduler;        // the pipeline's default scheduler
};

class GENRT_API DiffusionModel {
 public:
  // A diffusers DiT pipeline folder (transformer/, scheduler/) or its transformer folder, or
  // a Stable Diffusion folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/,
  // scheduler/).
  static DiffusionModel load(const std::string& path, const LoadOptions& options = {});
  ~DiffusionModel();
  DiffusionModel(DiffusionModel&&) noexcept;
  DiffusionModel& operator=(DiffusionModel&&) noexcept;

  DiffusionModelInfo info() const;
  MemoryUsage memory() const;  // weights; kv_cache_bytes_per_token is 0
  // Class-conditional latents (a DiT pipeline).
  DiffusionResult generate(const DiffusionOptions& options, const DiffusionCallback& on_step = {}) const;
  // Images from text (a Stable Diffusion pipeline).
  ImageResult txt2img(const TextToImageOptions& options, const DiffusionCallback& on_step = {}) const;

 private:
  struct Impl;
  explicit DiffusionModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genrt::api
