// genrt diffuse: class-conditional latents from a DiT, with classifier-free guidance.

#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include <fmt/ranges.h>

#include "runtime/diffusion/dit_pipeline.h"
#include "runtime/diffusion/latent_preview.h"
#include "runtime/io/npy.h"
#include "runtime/io/png_image.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

namespace {

struct DiffuseOptions {
  std::string model;
  std::string class_labels;
  int64_t batch = 0;
  int64_t steps = 50;
  double guidance = 4.0;
  std::optional<std::string> scheduler;
  uint64_t seed = 0;
  std::string init_noise;
  std::string out;
  std::string preview;
  DeviceFlags device;
};

void run_diffuse(const DiffuseOptions& o) {
  std::vector<int32_t> labels = parse_int_list(o.class_labels, "--class-label", "class label");
  if (o.batch > 0) {
    GENRT_CHECK(labels.size() == 1 || static_cast<int64_t>(labels.size()) == o.batch,
                "--batch {} with {} class labels: give one label (used for every image) or {}", o.batch,
                labels.size(), o.batch);
    labels.resize(static_cast<size_t>(o.batch), labels.front());
  }
  const DitPipeline pipeline = DitPipeline::load(o.model, o.scheduler,
                                                 {.device = parse_device(o.device.device),
                                                  .dtype = parse_gpu_dtype(o.device.dtype),
                                                  .gpu_memory = o.device.gpu_memory,
                                                  .max_images = static_cast<int64_t>(labels.size()),
                                                  .cuda_graphs = !o.device.no_cuda_graphs});
  if (pipeline.model().config().random_weights) {
    std::fprintf(stderr, "[genrt] note: %s has RANDOM WEIGHTS (genrt init-model): the latents are noise, not images\n",
                 o.model.c_str());
  }
  DiffusionRequest request{
      .class_labels = labels, .guidance = o.guidance, .steps = o.steps, .seed = o.seed, .init_noise = {},
      .scheduler = std::nullopt};
  if (!o.init_noise.empty()) request.init_noise = read_npy(o.init_noise);

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::fprintf(stderr, "[genrt] %zu image(s) of class %s, %lld %s steps, guidance %.2f%s\n", labels.size(),
               fmt::format("{}", fmt::join(labels, ",")).c_str(), static_cast<long long>(o.steps),
               std::string(scheduler_name(pipeline.scheduler_config().kind)).c_str(), o.guidance,
               o.guidance > 1.0 ? " (conditional and unconditional halves in one batch)" : " (unguided)");
  const DiffusionResult result = pipeline.run(request, [&](const DiffusionProgress& p) {
    print_diffusion_progress(p, tty);
    return true;
  });
  std::fprintf(stderr, "[genrt] %lld steps in %.2f s (%.3f s/step, setup %.3f s) on %s\n",
               static_cast<long long>(result.steps_done), result.seconds,
               result.seconds / static_cast<double>(result.steps_done), result.setup_seconds, o.device.device.c_str());
  if (!o.out.empty()) {
    write_npy(o.out, result.latents);
    std::printf("wrote %s: latents %s\n", o.out.c_str(), shape_string(result.latents.shape()).c_str());
  }
  if (!o.preview.empty()) {
    const RgbImage image = latent_preview(result.latents);
    write_png(o.preview, image);
    std::printf("wrote %s: %lldx%lld preview (linear latent-to-RGB approximation, not a VAE decode)\n",
                o.preview.c_str(), static_cast<long long>(image.width), static_cast<long long>(image.height));
  }
}

}  // namespace

Command add_diffuse_command(CLI::App& app) {
  auto o = std::make_shared<DiffuseOptions>();
  CLI::App* cmd = app.add_subcommand(
      "diffuse",
      "Denoise latents with a class-conditional DiT (diffusers DiTPipeline folder, e.g. facebook/DiT-XL-2-256, "
      "or `genrt init-model --arch dit`), with classifier-free guidance; writes the latents as .npy and a "
      "quick preview PNG");
  cmd->add_option("--model", o->model, "DiT pipeline folder (transformer/, scheduler/) or transformer folder")
      ->required();
  cmd->add_option("--class-label", o->class_labels,
                  "Class id(s), comma-separated: one per image, or one for all --batch images (ImageNet: 207 = "
                  "golden retriever)")
      ->required();
  cmd->add_option("--batch", o->batch, "Images to generate (default: one per class label)");
  cmd->add_option("--steps", o->steps, "Denoising steps")->capture_default_str();
  cmd->add_option("--guidance", o->guidance, "Classifier-free guidance scale; 1 or less runs unguided")
      ->capture_default_str();
  cmd->add_option("--scheduler", o->scheduler,
                  fmt::format("Noise scheduler: {} (default: the folder's scheduler_config.json, else ddim)",
                              fmt::join(scheduler_names(), ", ")));
  cmd->add_option("--seed", o->seed, "Seed of the initial and step noise (Philox)")->capture_default_str();
  cmd->add_option("--init-noise", o->init_noise,
                  "Initial noise as .npy [batch, channels, size, size] instead of the seeded noise, to compare with "
                  "other implementations");
  cmd->add_option("--out", o->out, "Write the final latents here (.npy, float32)");
  cmd->add_option("--preview", o->preview, "Write a preview of the latents here (.png)");
  add_device_options(cmd, o->device);
  add_cuda_graph_option(cmd, o->device);
  return {cmd, [o] { run_diffuse(*o); }};
}

}  // namespace genrt::cli
