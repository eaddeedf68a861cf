#pragma once
// Text to image with Stable Diffusion (SD 1.x and 2.x in diffusers' StableDiffusionPipeline
// layout, SDXL in StableDiffusionXLPipeline's): the CLIP tokenizer and text encoder (SDXL:
// both encoders, see sdxl_conditioning.h) turn the prompt and the negative prompt into
// the states the UNet cross-attends to, the denoising loop runs with classifier-free
// guidance, and the VAE decodes the final latents into pixels. Image to image
// (StableDiffusionImg2ImgPipeline) starts the loop part way, from the VAE encoder's latents
// of a given image noised to that step's level; SDXL's refiner
// (StableDiffusionXLImg2ImgPipeline, text_encoder_2 alone) runs only so. The three models share one
// device runtime and one memory plan, made at load for the largest run the pipeline takes.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/tensor.h"
#include "runtime/diffusion/denoising_loop.h"
#include "runtime/diffusion/noise_scheduler.h"
#include "runtime/diffusion/noise_scheduler_config.h"
#include "runtime/diffusion/sdxl_conditioning.h"
#include "runtime/io/png_image.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/models/unet/unet_model.h"
#include "runtime/models/vae/vae_model.h"
#include "runtime/tokenizer/clip_tokenizer.h"

namespace genrt {

// The largest image a pipeline on the GPU plans for; 0 takes the UNet's sample_size times
// the VAE's scale factor, as diffusers' default size.
struct ImageSize {
  int64_t width = 0, height = 0;
};

struct TextToImageRequest {
  std::string prompt;
  std::string negative_prompt;  // the unconditional half of guidance (empty by default)
  int64_t steps = 30;
  double guidance = 7.5;  // classifier-free guidance scale; <= 1 runs unguided
  uint64_t seed = 0;      // initial noise (unless init_noise) and step noise
  int64_t width = 0, height = 0;  // 0: the init image's size, else the pipeline's default
  int64_t images = 1;
  int64_t clip_skip = 0;  // stop the text encoder this many layers before its last
  // [images, latent channels, height / f, width / f] standard normal, or undefined: the
  // initial noise, or with an init image the noise added to its latents.
  Tensor init_noise{};
  // Image to image: [1, 3, height, width] f32 in [0, 1] on the host (the size of the images
  // made), or undefined. The encoder's mean latents (diffusers samples the distribution by
  // default; its spread is tiny for trained VAEs) start every image of the run.
  Tensor init_image{};
  // With init_image, how much of it is redrawn: the run takes the last floor(steps *
  // strength) of `steps` steps (diffusers' get_timesteps), from that step's noise level.
  double strength = 0.75;
  std::optional<NoiseSchedulerConfig> scheduler{};  // replaces the pipeline's for this run
  // SDXL folders with requires_aesthetics_score (the refiner): the last time id of the
  // prompt's and of the negative prompt's half (diffusers' defaults); others ignore them.
  double aesthetic_score = 6.0, negative_aesthetic_score = 2.5;
};

struct TextToImageResult {
  Tensor latents;  // [images, channels, h, w] f32 on the host: the loop's output, before the VAE
  Tensor images;   // [images, 3, height, width] f32 on the host, in [0, 1]; undefined when cancelled
  int64_t steps_done = 0;
  bool cancelled = false;
  bool prompt_truncated = false;  // the prompt (or negative prompt) lost tokens past the encoder's length
  double setup_seconds = 0.0;     // tokenizing, the text encoder, buffers and the initial noise
  double seconds = 0.0;           // the denoising loop
  double decode_seconds = 0.0;    // the VAE
};

class SdPipeline {
 public:
  // A diffusers Stable Diffusion folder: model_index.json, text_encoder/, tokenizer/, unet/,
  // vae/, scheduler/; an SDXL folder (model_index.json's _class_name
  // StableDiffusionXLPipeline) also text_encoder_2/ and tokenizer_2/; an SDXL image-to-image
  // folder (StableDiffusionXLImg2ImgPipeline) the same, or as SDXL's refiner ships it
  // without text_encoder/ and tokenizer/ (null in model_index.json), its UNet cross-attending
  // to text_encoder_2's states alone; with requires_aesthetics_score its time ids end in an
  // aesthetic score. `scheduler` (a genrt
  // scheduler name) replaces the folder's scheduler class, keeping its shared settings. On the GPU, memory is planned for device.max_images
  // images of up to `max_size`. A folder whose parts do not fit together (the text
  // encoder's width against the UNet's cross-attention, the UNet's channels against the
  // VAE's latents) is an error naming both.
  static SdPipeline load(const std::filesystem::path& dir, std::optional<std::string> scheduler = std::nullopt,
                         const DiffusionDevice& device = {}, ImageSize max_size = {});

  const NoiseSchedulerConfig& scheduler_config() const { return scheduler_; }
  // The settings of the scheduler called `name` for this folder (see DitPipeline).
  NoiseSchedulerConfig scheduler_config(std::string_view name) const;
  const UnetConfig& unet_config() const { return unet_.config(); }
  // On the GPU: the runtime the pipeline's models share (else null), and whether the UNet's
  // steps replay CUDA graphs (UnetModel::set_cuda_graphs).
  const DeviceRuntime* device_runtime() const { return unet_.device_runtime(); }
  void set_cuda_graphs(bool enabled) { unet_.set_cuda_graphs(enabled); }
  // Whether the folder is an SDXL pipeline (two text encoders, the UNet's added embedding).
  bool is_sdxl() const { return sdxl_.has_value(); }
  // Whether every run needs an init image: a StableDiffusionXLImg2ImgPipeline folder (SDXL's
  // refiner), which diffusers runs from an image only.
  bool needs_init_image() const { return needs_init_image_; }
  const VaeConfig& vae_config() const { return vae_.config(); }
  // diffusers' default image size: the UNet's sample_size times the VAE's scale factor.
  ImageSize default_size() const;
  Device device() const { return unet_.device(); }
  // Of the text encoder(s), the UNet and the VAE decoder.
  int64_t parameter_count() const;
  // On the GPU, the device memory planned at load, which no run exceeds: every buffer is
  // allocated from the plan.
  std::optional<uint64_t> planned_device_bytes() const;

  // Throws genrt::Error naming what is wrong with a request (its size, image count, step
  // count, guidance, clip skip, noise shape), before anything runs; run() checks the same.
  void check(const TextToImageRequest& request) const;
  TextToImageResult run(const TextToImageRequest& request, const DiffusionCallback& on_step = {}) const;
  // The size a request gets: its own, its init image's, or the default.
  ImageSize size_of(const TextToImageRequest& request) const;
  // Whether the pipeline can start from an image: its VAE checkpoint holds the encoder.
  bool can_encode_images() const { return vae_.has_encoder(); }
  // Whether it decodes in tiles (DiffusionDevice::vae_tiling).
  bool vae_tiling() const { return vae_tiling_; }
  // The generation parameters of a request as PNG text chunks: "parameters" in the layout
  // other Stable Diffusion tools write and read, and "Software".
  PngText png_text(const TextToImageRequest& request, std::string_view model) const;

 private:
  SdPipeline(std::optional<ClipTokenizer> tokenizer, std::optional<ClipTextModel> text_encoder,
             std::optional<SdxlTextEncoder2> sdxl, UnetModel unet, VaeModel vae, NoiseSchedulerConfig scheduler,
             nlohmann::json scheduler_file);
  // The tokenizer whose length the prompts take: tokenizer/, or the refiner's tokenizer_2/.
  const ClipTokenizer& prompt_tokenizer() const { return tokenizer_ ? *tokenizer_ : sdxl_->tokenizer; }
  // check(), giving the request's scheduler it built on the way.
  std::unique_ptr<NoiseScheduler> checked_scheduler(const TextToImageRequest& request) const;

  std::optional<ClipTokenizer> tokenizer_;     // none for SDXL's refiner
  std::optional<ClipTextModel> text_encoder_;  // none for SDXL's refiner
  std::optional<SdxlTextEncoder2> sdxl_;
  UnetModel unet_;
  VaeModel vae_;
  NoiseSchedulerConfig scheduler_;
  nlohmann::json scheduler_file_;
  int64_t max_images_ = 0;  // on the GPU: what memory was planned for
  ImageSize max_size_;
  bool vae_tiling_ = false;
  bool needs_init_image_ = false;
};

// pixels [images, 3, h, w] in [0, 1] as 8-bit RGB, rounded like diffusers' numpy_to_pil.
std::vector<uint8_t> to_rgb8(const Tensor& images, int64_t index);
// An 8-bit RGB image as pixels [1, 3, h, w] in [0, 1], as diffusers' image processor reads one.
Tensor from_rgb8(const RgbImage& image);

}  // namespace genrt
