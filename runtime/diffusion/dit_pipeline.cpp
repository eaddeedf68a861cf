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

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Philox stream of the initial noise; step i draws its noise from stream i + 1.
constexpr uint64_t kInitNoiseStream = 0;

// Without a scheduler_config.json: DiT-XL-2-256's, DDIM without sample clipping.
nlohmann::json dit_default_scheduler_file() {
  return {{"_class_name", "DDIMScheduler"}, {"clip_sample", false}};
}

// The loop's buffers besides the model's workspace: latents, noise, eps and the x0 history
// [images, ...]; the model's input and output [samples, ...]; the NaN counter.
struct LoopBuffers {
  Tensor latents, noise, eps, x0_history, model_input, model_output, nonfinite_counter;
};

template <class Alloc>
LoopBuffers allocate_loop_buffers(const DitConfig& c, int64_t images, int64_t samples, bool x0_history,
                                  Alloc& alloc) {
  const Shape latent_shape = {images, c.in_channels, c.sample_size, c.sample_size};
  LoopBuffers b;
  b.latents = alloc(latent_shape, DType::f32);
  b.noise = alloc(latent_shape, DType::f32);
  b.eps = alloc(latent_shape, DType::f32);
  if (x0_history) b.x0_history = alloc(latent_shape, DType::f32);
  b.model_input = alloc({samples, c.in_channels, c.sample_size, c.sample_size}, DType::f32);
  b.model_output = alloc({samples, c.out_channels, c.sample_size, c.sample_size}, DType::f32);
  b.nonfinite_counter = alloc({1}, DType::i32);
  return b;
}

// The loop's own share of the device, next to the model's.
MemoryRequest loop_memory_request(const DitConfig& c, int64_t images) {
  ArenaFootprint footprint;
  allocate_loop_buffers(c, images, 2 * images, true, footprint);
  return {.name = "denoising loop", .persistent_bytes = footprint.bytes};
}

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
    const DitDeviceOptions options{
        .dtype = device.dtype, .gpu_memory = device.gpu_memory, .max_batch = 2 * device.max_images};
    const MemoryRequest requests[] = {model.memory_request(options),
                                      loop_memory_request(model.config(), device.max_images)};
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
  const auto setup_start = Clock::now();
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
  LoopBuffers b = allocate_loop_buffers(c, batch, model_batch, scheduler->uses_x0_history(), allocate);
  std::vector<int32_t> labels = request.class_labels;
  if (guided) labels.insert(labels.end(), static_cast<size_t>(batch), static_cast<int32_t>(model_.null_class()));
  std::vector<float> timesteps(static_cast<size_t>(model_batch));
  // The initial noise: seeded on the loop's device, or the caller's (on the GPU copied
  // into the noise buffer).
  Tensor initial_noise = b.noise;
  if (request.init_noise.defined()) {
    GENRT_CHECK(request.init_noise.shape() == b.latents.shape(),
                "initial noise {} does not match the latents {} of {} images", shape_string(request.init_noise.shape()),
                shape_string(b.latents.shape()), batch);
    if (runtime != nullptr) {
      runtime->copy_in(request.init_noise, b.noise);
    } else {
      initial_noise = request.init_noise.to_f32();
    }
  }
  {
    // On the GPU every group of ops runs inside a step of the model's runtime (its stream
    // and GEMM handle).
    std::optional<DeviceRuntime::Step> step;
    if (runtime != nullptr) step.emplace(*runtime);
    if (!request.init_noise.defined()) ops::gaussian_noise(request.seed, kInitNoiseStream, b.noise);
    ops::guidance_input(initial_noise, static_cast<float>(scheduler->init_noise_sigma()), b.latents);
  }

  DiffusionResult result;
  result.setup_seconds = seconds_since(setup_start);
  const auto loop_start = Clock::now();
  for (int64_t i = 0; i < scheduler->steps(); ++i) {
    const auto step_start = Clock::now();
    const double t = scheduler->timesteps()[i];
    int64_t bad = 0;
    {
      std::optional<DeviceRuntime::Step> step;
      if (runtime != nullptr) step.emplace(*runtime);
      ops::guidance_input(b.latents, static_cast<float>(scheduler->input_scale(i)), b.model_input);
      std::fill(timesteps.begin(), timesteps.end(), static_cast<float>(t));
      model_.forward(b.model_input, timesteps, labels, workspace, b.model_output);
      ops::guidance_combine(b.model_output, guided, static_cast<float>(request.guidance), b.eps);
      const ref::StepCoefficients coefficients = scheduler->step(i);
      if (coefficients.next_from_noise != 0.0f) {
        ops::gaussian_noise(request.seed, static_cast<uint64_t>(i) + 1, b.noise);
      }
      ops::scheduler_step(coefficients, b.eps, b.latents, b.x0_history, b.noise);
      bad = ops::count_nonfinite(b.latents, b.nonfinite_counter);
    }
    GENRT_CHECK(bad == 0, "diffusion diverged: {} NaN or infinite latent values after step {} of {} (timestep {})",
                bad, i + 1, scheduler->steps(), t);
    result.steps_done = i + 1;
    const DiffusionProgress progress{.step = i + 1,
                                     .steps = scheduler->steps(),
                                     .timestep = t,
                                     .step_seconds = seconds_since(step_start),
                                     .elapsed_seconds = seconds_since(loop_start)};
    if (on_step && !on_step(progress)) {
      result.cancelled = true;
      break;
    }
  }
  result.seconds = seconds_since(loop_start);
  result.latents = runtime != nullptr ? runtime->download_f32(b.latents) : std::move(b.latents);
  return result;
}

}  // namespace genrt
