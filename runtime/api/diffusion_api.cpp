// The public C++ diffusion API (include/genrt/diffusion.hpp) over the DiT pipeline.

#include <new>

#include "genrt/diffusion.hpp"
#include "runtime/api/translate_errors.h"
#include "runtime/diffusion/dit_pipeline.h"

namespace genrt::api {

struct DiffusionModel::Impl {
  DitPipeline pipeline;
};

DiffusionModel::DiffusionModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DiffusionModel::~DiffusionModel() = default;
DiffusionModel::DiffusionModel(DiffusionModel&&) noexcept = default;
DiffusionModel& DiffusionModel::operator=(DiffusionModel&&) noexcept = default;

DiffusionModel DiffusionModel::load(const std::string& path, const LoadOptions& options) {
  if (options.device == Device::cuda) {
    throw Error(Error::Kind::unsupported, "device cuda: the DiT runs on the CPU reference backend in this version");
  }
  return translate(Error::Kind::model, [&] {
    return DiffusionModel(std::make_unique<Impl>(Impl{DitPipeline::load(path)}));
  });
}

DiffusionModelInfo DiffusionModel::info() const {
  const DitModel& m = impl_->pipeline.model();
  const DitConfig& c = m.config();
  return {"DiTTransformer2DModel", c.parameter_count(), c.num_classes, c.in_channels, c.sample_size,
          m.has_null_class(), c.random_weights,
          std::string(scheduler_name(impl_->pipeline.scheduler_config().kind))};
}

MemoryUsage DiffusionModel::memory() const {
  // The CPU backend keeps the weights in fp32.
  return {static_cast<uint64_t>(impl_->pipeline.model().config().parameter_count()) * 4, 0};
}

DiffusionResult DiffusionModel::generate(const DiffusionOptions& options, const DiffusionCallback& on_step) const {
  return translate(Error::Kind::invalid_argument, [&] {
    const DitConfig& c = impl_->pipeline.model().config();
    DiffusionRequest request{.class_labels = options.class_labels,
                             .guidance = options.guidance,
                             .steps = options.steps,
                             .seed = options.seed,
                             .init_noise = {},
                             .scheduler = std::nullopt};
    if (!options.scheduler.empty()) request.scheduler = impl_->pipeline.scheduler_config(options.scheduler);
    if (!options.init_noise.empty()) {
      const auto images = static_cast<int64_t>(options.class_labels.size());
      const int64_t expected = images * c.in_channels * c.sample_size * c.sample_size;
      GENRT_CHECK(static_cast<int64_t>(options.init_noise.size()) == expected,
                  "init_noise holds {} values; {} images of {}x{}x{} latents need {}", options.init_noise.size(),
                  images, c.in_channels, c.sample_size, c.sample_size, expected);
      request.init_noise = Tensor::zeros({images, c.in_channels, c.sample_size, c.sample_size}, genrt::DType::f32);
      std::copy(options.init_noise.begin(), options.init_noise.end(), request.init_noise.data<float>());
    }
    const genrt::DiffusionResult r = impl_->pipeline.run(request, [&](const genrt::DiffusionProgress& p) {
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

}  // namespace genrt::api
