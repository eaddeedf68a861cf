// The public C++ diffusion API (include/genrt/diffusion.hpp) over the DiT and Stable
// Diffusion pipelines.

#include <chrono>
#include <filesystem>
#include <new>
#include <variant>

#include "genrt/diffusion.hpp"
#include "runtime/api/translate_errors.h"
#include "runtime/diffusion/dit_pipeline.h"
#include "runtime/diffusion/sd_pipeline.h"

namespace genrt::api {

struct DiffusionModel::Impl {
  std::variant<DitPipeline, SdPipeline> pipeline;
};

namespace {

// The pipeline of the kind an entry needs, else an error naming what the model is.
template <class Pipeline>
const Pipeline& pipeline_for(const std::variant<DitPipeline, SdPipeline>& pipeline, const char* entry) {
  if (const Pipeline* p = std::get_if<Pipeline>(&pipeline)) return *p;
  throw Error(Error::Kind::invalid_argument,
              std::string(entry) + ": this model is " +
                  (std::holds_alternative<DitPipeline>(pipeline)
                       ? "a class-conditional DiT pipeline: use generate"
                       : "a Stable Diffusion text-to-image pipeline: use txt2img"));
}

// A caller's flat noise as the latents' host tensor; its size must be theirs.
Tensor noise_tensor(const std::vector<float>& values, const Shape& shape) {
  const int64_t expected = shape_numel(shape);
  GENRT_CHECK(static_cast<int64_t>(values.size()) == expected, "init_noise holds {} values; latents {} need {}",
              values.size(), shape_string(shape), expected);
  Tensor noise = Tensor::zeros(shape, genrt::DType::f32);
  std::copy(values.begin(), values.end(), noise.data<float>());
  return noise;
}

}  // namespace

DiffusionModel::DiffusionModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DiffusionModel::~DiffusionModel() = default;
DiffusionModel::DiffusionModel(DiffusionModel&&) noexcept = default;
DiffusionModel& DiffusionModel::operator=(DiffusionModel&&) noexcept = default;

DiffusionModel DiffusionModel::load(const std::string& path, const LoadOptions& options) {
  if (options.device == Device::cuda) {
    throw Error(Error::Kind::unsupported,
                "device cuda: diffusion pipelines run on the CPU reference backend in this version of the API");
  }
  return translate(Error::Kind::model, [&] {
    if (std::filesystem::is_directory(std::filesystem::path(path) / "unet")) {
      return DiffusionModel(std::make_unique<Impl>(Impl{SdPipeline::load(path)}));
    }
    return DiffusionModel(std::make_unique<Impl>(Impl{DitPipeline::load(path)}));
  });
}

DiffusionModelInfo DiffusionModel::info() const {
  if (const auto* sd = std::get_if<SdPipeline>(&impl_->pipeline)) {
    const UnetConfig& u = sd->unet_config();
    return {.architecture = "StableDiffusionPipeline",
            .parameters = sd->parameter_count(),
            .num_classes = 0,
            .latent_channels = u.in_channels,
            .latent_size = u.sample_size,
            .image_size = sd->default_size().width,
            .has_null_class = false,
            .random_weights = u.random_weights,
            .scheduler = std::string(scheduler_name(sd->scheduler_config().kind))};
  }
  const DitPipeline& dit = std::get<DitPipeline>(impl_->pipeline);
  const DitModel& m = dit.model();
  const DitConfig& c = m.config();
  return {.architecture = "DiTTransformer2DModel",
          .parameters = c.parameter_count(),
          .num_classes = c.num_classes,
          .latent_channels = c.in_channels,
          .latent_size = c.sample_size,
          .image_size = 0,
          .has_null_class = m.has_null_class(),
          .random_weights = c.random_weights,
          .scheduler = std::string(scheduler_name(dit.scheduler_config().kind))};
}

MemoryUsage DiffusionModel::memory() const {
  // The CPU backend keeps the weights in fp32.
  return {static_cast<uint64_t>(info().parameters) * 4, 0};
}

DiffusionResult DiffusionModel::generate(const DiffusionOptions& options, const DiffusionCallback& on_step) const {
  const DitPipeline& pipeline = pipeline_for<DitPipeline>(impl_->pipeline, "generate");
  return translate(Error::Kind::invalid_argument, [&] {
    const DitConfig& c = pipeline.model().config();
    DiffusionRequest request{.class_labels = options.class_labels,
                             .guidance = options.guidance,
                             .steps = options.steps,
                             .seed = options.seed,
                             .init_noise = {},
                             .scheduler = std::nullopt};
    if (!options.scheduler.empty()) request.scheduler = pipeline.scheduler_config(options.scheduler);
    if (!options.init_noise.empty()) {
      request.init_noise = noise_tensor(
          options.init_noise,
          {static_cast<int64_t>(options.class_labels.size()), c.in_channels, c.sample_size, c.sample_size});
    }
    const genrt::DiffusionResult r = pipeline.run(request, [&](const genrt::DiffusionProgress& p) {
      return !on_step || on_step({p.step, p.steps, p.timestep, p.step_seconds});
    });
    DiffusionResult out;
    const auto values = r.latents.span<float>();
    out.latents.assign(values.begin(), values.end());
    for (int i = 0; i < 4; ++i) out.shape[i] = r.latents.dim(i);
    out.steps_done = r.steps_done;
    out.cancelled = r.cancelled;
    out.seconds = r.seconds;
    return out;
  });
}

ImageResult DiffusionModel::txt2img(const TextToImageOptions& options, const DiffusionCallback& on_step) const {
  const SdPipeline& pipeline = pipeline_for<SdPipeline>(impl_->pipeline, "txt2img");
  return translate(Error::Kind::invalid_argument, [&] {
    TextToImageRequest request{.prompt = options.prompt,
                               .negative_prompt = options.negative_prompt,
                               .steps = options.steps,
                               .guidance = options.guidance,
                               .seed = options.seed,
                               .width = options.width,
                               .height = options.height,
                               .images = options.images,
                               .clip_skip = options.clip_skip,
                               .strength = options.strength};
    if (!options.scheduler.empty()) request.scheduler = pipeline.scheduler_config(options.scheduler);
    if (!options.init_image.empty()) {
      request.init_image = from_rgb8(
          {.width = options.init_image_width, .height = options.init_image_height, .pixels = options.init_image});
    }
    const ImageSize size = pipeline.size_of(request);
    if (!options.init_noise.empty()) {
      const int64_t factor = pipeline.vae_config().scale_factor();
      request.init_noise = noise_tensor(options.init_noise, {options.images, pipeline.vae_config().latent_channels,
                                                             size.height / factor, size.width / factor});
    }
    const TextToImageResult r = pipeline.run(request, [&](const genrt::DiffusionProgress& p) {
      return !on_step || on_step({p.step, p.steps, p.timestep, p.step_seconds});
    });
    ImageResult out{.images = options.images,
                    .width = size.width,
                    .height = size.height,
                    .steps_done = r.steps_done,
                    .cancelled = r.cancelled,
                    .seconds = r.setup_seconds + r.seconds + r.decode_seconds};
    if (!r.cancelled) {
      for (int64_t i = 0; i < options.images; ++i) {
        const std::vector<uint8_t> rgb = to_rgb8(r.images, i);
        out.rgb.insert(out.rgb.end(), rgb.begin(), rgb.end());
      }
    }
    return out;
  });
}

}  // namespace genrt::api
