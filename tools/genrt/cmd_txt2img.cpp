// genrt txt2img: images from a text prompt with a Stable Diffusion pipeline folder.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "runtime/memory/memory_plan.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

namespace {

struct Txt2ImgOptions {
  std::string model;
  std::string prompt;
  std::string negative_prompt;
  int64_t steps = 30;
  double guidance = 7.5;
  std::optional<std::string> scheduler;
  std::optional<uint64_t> seed;
  int64_t width = 0, height = 0;
  int64_t batch = 1;
  std::string init_noise;
  std::string init_image;
  std::optional<double> strength;
  int64_t clip_skip = 0;
  bool vae_tiling = false;
  std::string out = "image.png";
  std::string out_latents;
  DeviceFlags device;
};

// Image i of a batch: <stem>-i<extension> beside `out` (image.png -> image-0.png).
std::filesystem::path batch_path(const std::filesystem::path& out, int64_t i) {
  return out.parent_path() / fmt::format("{}-{}{}", out.stem().string(), i, out.extension().string());
}

void run_txt2img(const Txt2ImgOptions& o) {
  GENRT_CHECK(!o.strength || !o.init_image.empty(), "--strength: it says how much of --init-image to redraw; give one");
  GENRT_CHECK(o.batch > 0, "--batch {}: generate at least one image", o.batch);
  const Device device = parse_device(o.device.device);
  // Read before loading: on the GPU, memory is planned for the image's size.
  const Tensor init_image = o.init_image.empty() ? Tensor() : from_rgb8(read_png(o.init_image));
  const ImageSize size{.width = o.width > 0 || !init_image.defined() ? o.width : init_image.dim(3),
                       .height = o.height > 0 || !init_image.defined() ? o.height : init_image.dim(2)};
  const SdPipeline pipeline = SdPipeline::load(o.model, o.scheduler,
                                               {.device = device,
                                                .dtype = parse_gpu_dtype(o.device.dtype),
                                                .gpu_memory = o.device.gpu_memory,
                                                .max_images = o.batch,
                                                .vae_tiling = o.vae_tiling,
                                                .cuda_graphs = !o.device.no_cuda_graphs},
                                               size);
  if (pipeline.unet_config().random_weights) {
    std::fprintf(stderr, "[genrt] note: %s has RANDOM WEIGHTS (genrt init-model): the images are noise\n",
                 o.model.c_str());
  }
  const uint64_t seed = o.seed.value_or(std::random_device{}());
  if (!o.seed) spdlog::info("seed {} (pass --seed to repeat this run)", seed);
  TextToImageRequest request{.prompt = o.prompt,
                             .negative_prompt = o.negative_prompt,
                             .steps = o.steps,
                             .guidance = o.guidance,
                             .seed = seed,
                             .width = o.width,
                             .height = o.height,
                             .images = o.batch,
                             .clip_skip = o.clip_skip,
                             .init_image = init_image};
  request.strength = o.strength.value_or(request.strength);
  if (!o.init_noise.empty()) request.init_noise = read_npy(o.init_noise);
  const auto [width, height] = pipeline.size_of(request);

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::string from;
  if (request.init_image.defined()) from = fmt::format(", from {} at strength {}", o.init_image, request.strength);
  std::fprintf(stderr, "[genrt] %lld image(s) of %lldx%lld, %lld %s steps, guidance %.2f%s%s\n",
               static_cast<long long>(o.batch), static_cast<long long>(width), static_cast<long long>(height),
               static_cast<long long>(o.steps), std::string(scheduler_name(pipeline.scheduler_config().kind)).c_str(),
               o.guidance, o.guidance > 1.0 ? " (prompt and negative prompt in one batch)" : " (unguided)",
               from.c_str());
  const TextToImageResult result = pipeline.run(request, [&](const DiffusionProgress& p) {
    print_diffusion_progress(p, tty);
    return true;
  });
  if (result.prompt_truncated) {
    std::fprintf(stderr, "[genrt] warning: the prompt was longer than the text encoder takes; its end was dropped\n");
  }
  std::string memory;
  if (const std::optional<uint64_t> bytes = pipeline.planned_device_bytes()) {
    memory = fmt::format(", peak device memory {} (planned at load)", format_bytes(*bytes));
  }
  std::fprintf(stderr, "[genrt] %lld steps in %.2f s (%.2f it/s), text encoder and setup %.2f s, VAE %.2f s, total %.2f s%s\n",
               static_cast<long long>(result.steps_done), result.seconds,
               static_cast<double>(result.steps_done) / std::max(result.seconds, 1e-9), result.setup_seconds,
               result.decode_seconds, result.setup_seconds + result.seconds + result.decode_seconds, memory.c_str());
  if (!o.out_latents.empty()) {
    write_npy(o.out_latents, result.latents);
    std::printf("wrote %s: latents %s\n", o.out_latents.c_str(), shape_string(result.latents.shape()).c_str());
  }
  const PngText parameters = pipeline.png_text(request, std::filesystem::path(o.model).filename().string());
  for (int64_t i = 0; i < o.batch; ++i) {
    const std::filesystem::path path = o.batch == 1 ? std::filesystem::path(o.out) : batch_path(o.out, i);
    write_png(path, {.width = width, .height = height, .pixels = to_rgb8(result.images, i)}, parameters);
    std::printf("wrote %s: %lldx%lld\n", path.c_str(), static_cast<long long>(width), static_cast<long long>(height));
  }
}

}  // namespace

Command add_txt2img_command(CLI::App& app) {
  auto o = std::make_shared<Txt2ImgOptions>();
  CLI::App* cmd = app.add_subcommand(
      "txt2img",
      "Generate images from a text prompt with a Stable Diffusion pipeline folder (diffusers' layout, SD 1.x or 2.x, "
      "or `genrt init-model --arch sd`): CLIP text encoder, UNet denoising loop with classifier-free guidance, VAE "
      "decode; writes PNGs with the generation parameters in a text chunk");
  cmd->add_option("--model", o->model, "Pipeline folder: model_index.json, text_encoder/, tokenizer/, unet/, vae/, "
                                       "scheduler/")
      ->required();
  cmd->add_option("--prompt", o->prompt, "What to draw")->required();
  cmd->add_option("--negative-prompt", o->negative_prompt,
                  "What to steer away from: the unconditional half of guidance (default: empty)");
  cmd->add_option("--steps", o->steps, "Denoising steps")->capture_default_str();
  cmd->add_option("--guidance", o->guidance, "Classifier-free guidance scale; 1 or less runs unguided")
      ->capture_default_str();
  cmd->add_option("--scheduler", o->scheduler,
                  fmt::format("Noise scheduler: {} (default: the folder's scheduler_config.json), built from the "
                              "folder's scheduler settings as diffusers' from_config does",
                              fmt::join(scheduler_names(), ", ")));
  cmd->add_option("--seed", o->seed, "Seed of the initial and step noise (Philox, the same on CPU and GPU); default "
                                     "random, logged");
  cmd->add_option("--width", o->width, "Image width in pixels (default: --init-image's, else the UNet's sample_size "
                                       "x the VAE's scale factor: 512 for SD 1.5, 768 for SD 2.1)");
  cmd->add_option("--height", o->height, "Image height in pixels (default as --width)");
  cmd->add_option("--batch", o->batch, "Images to generate; written as <out stem>-0<ext> ... beside --out")
      ->capture_default_str();
  cmd->add_option("--init-noise", o->init_noise,
                  "Initial noise as .npy [batch, latent channels, height/f, width/f] (standard normal, scaled by the "
                  "scheduler's initial sigma as diffusers' latents= argument), to compare with other implementations");
  cmd->add_option("--init-image", o->init_image,
                  "Image to image: start from this PNG (its size is the output's; width and height multiples of the "
                  "VAE's scale factor times the UNet's downscale, 64 for SD), encoded by the VAE's encoder");
  cmd->add_option("--strength", o->strength,
                  "With --init-image: how much of it to redraw, in (0, 1]; runs the last floor(steps x strength) "
                  "steps from that step's noise level, as diffusers (default 0.75)");
  cmd->add_option("--clip-skip", o->clip_skip,
                  "Take the text encoder's states this many layers before its last (0: the last, as diffusers)")
      ->capture_default_str();
  cmd->add_flag("--vae-tiling", o->vae_tiling,
                "Decode the VAE in overlapping tiles of its sample_size (diffusers' enable_tiling): device memory for "
                "one tile's activations whatever the image size (blended seams; --init-image only up to a tile)");
  cmd->add_option("--out", o->out, "Output PNG")->capture_default_str();
  cmd->add_option("--out-latents", o->out_latents, "Also write the final latents before the VAE (.npy, float32)");
  add_device_options(cmd, o->device);
  add_cuda_graph_option(cmd, o->device);
  return {cmd, [o] { run_txt2img(*o); }};
}

}  // namespace genrt::cli
