#include "runtime/diffusion/dit_pipeline.h"

#include <chrono>
#include <cmath>
#include <optional>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/diffusion/noise_scheduler.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

// Without a scheduler_config.json: DiT-XL-2-256's, DDIM without sample clipping.
nlohmann::json dit_default_scheduler_file() {
  return {{"_class_name", "DDIMScheduler"}, {"clip_sample", false}};
}

Shape latent_shape(const DitConfig& c, int64_t images) { return {images, c.in_channels, c.sample_size, c.sample_size}; }

}  // namespace

DitPipeline::DitPipeline(DitModel model, NoiseSchedulerConfig scheduler, nlohmann::json scheduler_file)
    : model_(std::move(model)), scheduler_(std::move(scheduler)), scheduler_file_(std::move(scheduler_file)) {}

NoiseSchedulerConfig DitPipeline::scheduler_config(std::string_view name) const {
  return scheduler_config_from_json(scheduler_file_.is_null() ? dit_default_scheduler_file() : scheduler_file_,
                                    "scheduler_config.json", name);
}

DitPipeline DitPipeline::load(const std::filesystem::path& dir, std::optional<std::string> scheduler,
                              const DiffusionDevice& device) {
  DitModel model = load_dit(dir);
  if (device.device == Device::cuda) {
    GENRT_CHECK(device.max_images > 0, "diffusion on the GPU: max images {} must be positive", device.max_images);
    const DitDeviceOptions options{.dtype = device.dtype,
                                   .gpu_memory = device.gpu_memory,
                                   .max_batch = 2 * device.max_images,
                                   .cuda_graphs = device.cuda_graphs};
    const MemoryRequest requests[] = {model.memory_request(options),
                                      loop_memory_request(latent_shape(model.config(), device.max_images),
                                                          model.config().out_channels)};
    model.place_on(std::make_shared<DeviceRuntime>(requests, device.gpu_memory), options);
  }
  const auto config_path = dir / "scheduler" / "scheduler_config.json";
  const bool has_file = std::filesystem::exists(config_path);
  const nlohmann::json file = has_file ? read_json_file(config_path) : dit_default_scheduler_file();
  const auto where = has_file ? config_path.string() : "DiT's default scheduler";
  const NoiseSchedulerConfig config =
      scheduler ? scheduler_config_from_json(file, where, *scheduler) : scheduler_config_from_json(file, where);
  spdlog::info("scheduler: {} ({})", scheduler_name(config.kind), where);
  DitPipeline pipeline(std::move(model), config, file);
  pipeline.max_images_ = device.device == Device::cuda ? device.max_images : 0;
  return pipeline;
}

DiffusionResult DitPipeline::run(const DiffusionRequest& request, const DiffusionCallback& on_step) const {
  const auto setup_start = LoopClock::now();
  const DitConfig& c = model_.config();
  const auto batch = static_cast<int64_t>(request.class_labels.size());
  GENRT_CHECK(batch > 0, "diffusion: no class labels: give one per image");
  GENRT_CHECK(std::isfinite(request.guidance), "diffusion: guidance {} is not a finite number",
              request.guidance);
  const bool guided = request.guidance > 1.0;
  GENRT_CHECK(!guided || model_.has_null_class(),
              "guidance {} needs a model with a null class for the unconditional half, but this "
              "model's class table has no extra row; use --guidance 1",
              request.guidance);
  for (int32_t label : request.class_labels) {
    GENRT_CHECK(label >= 0 && label < c.num_classes,
                "class label {} is outside the model's {} classes (0..{})", label, c.num_classes,
                c.num_classes - 1);
  }
  DeviceRuntime* runtime = model_.device_runtime();
  GENRT_CHECK(runtime == nullptr || batch <= max_images_,
              "diffusion: {} images, but the GPU memory was planned for at most {} per run", batch, max_images_);
  const std::unique_ptr<NoiseScheduler> scheduler =
      make_scheduler(request.scheduler.value_or(scheduler_), request.steps);

  // Every buffer of the loop, planned up front: the loop below allocates nothing. On the
  // GPU they are persistent buffers of the model's runtime, sized at load.
  const int64_t model_batch = guided ? 2 * batch : batch;
  std::optional<DeviceRuntime::PersistentScope> run_buffers;  // freed however the run ends
  if (runtime != nullptr) run_buffers.emplace(*runtime);
  DitWorkspace workspace = model_.make_workspace(model_batch);
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime != nullptr ? runtime->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  LoopBuffers b =
      allocate_loop_buffers(latent_shape(c, batch), c.out_channels, guided, scheduler->uses_x0_history(), allocate);
  std::vector<int32_t> labels = request.class_labels;
  if (guided) labels.insert(labels.end(), static_cast<size_t>(batch), static_cast<int32_t>(model_.null_class()));
  std::vector<float> timesteps(static_cast<size_t>(model_batch));
  const LoopSettings settings{
      .scheduler = *scheduler, .guidance = request.guidance, .guided = guided, .seed = request.seed, .runtime = runtime};
  start_latents(settings, request.init_noise, b);

  DiffusionResult result;
  result.setup_seconds = seconds_since(setup_start);
  const LoopResult loop = denoise(
      settings,
      [&](const Tensor& model_input, float t, Tensor& model_output) {
        std::fill(timesteps.begin(), timesteps.end(), t);
        model_.forward(model_input, timesteps, labels, workspace, model_output);
      },
      b, on_step);
  result.steps_done = loop.steps_done;
  result.cancelled = loop.cancelled;
  result.seconds = loop.seconds;
  result.latents = runtime != nullptr ? runtime->download_f32(b.latents) : std::move(b.latents);
  return result;
}

}  // namespace genrt
