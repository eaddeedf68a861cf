#include "runtime/diffusion/dit_pipeline.h"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

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

}  // namespace

DitPipeline::DitPipeline(DitModel model, NoiseSchedulerConfig scheduler, nlohmann::json scheduler_file)
    : model_(std::move(model)), scheduler_(std::move(scheduler)), scheduler_file_(std::move(scheduler_file)) {}

NoiseSchedulerConfig DitPipeline::scheduler_config(std::string_view name) const {
  return scheduler_config_from_json(scheduler_file_.is_null() ? dit_default_scheduler_file() : scheduler_file_,
                                    "scheduler_config.json", name);
}

DitPipeline DitPipeline::load(const std::filesystem::path& dir, std::optional<std::string> scheduler) {
  DitModel model = load_dit(dir);
  const auto config_path = dir / "scheduler" / "scheduler_config.json";
  const bool has_file = std::filesystem::exists(config_path);
  const nlohmann::json file = has_file ? read_json_file(config_path) : dit_default_scheduler_file();
  const auto where = has_file ? config_path.string() : "DiT's default scheduler";
  const NoiseSchedulerConfig config =
      scheduler ? scheduler_config_from_json(file, where, *scheduler) : scheduler_config_from_json(file, where);
  spdlog::info("scheduler: {} ({})", scheduler_name(config.kind), where);
  return DitPipeline(std::move(model), config, file);
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
  const std::unique_ptr<NoiseScheduler> scheduler =
      make_scheduler(request.scheduler.value_or(scheduler_), request.steps);

  // Every buffer of the loop, planned up front: the loop below allocates nothing.
  const int64_t model_batch = guided ? 2 * batch : batch;
  const Shape latent_shape = {batch, c.in_channels, c.sample_size, c.sample_size};
  DitWorkspace workspace = model_.make_workspace(model_batch);
  Tensor latents = Tensor::zeros(latent_shape, DType::f32);
  Tensor noise = Tensor::zeros(latent_shape, DType::f32);
  Tensor eps = Tensor::zeros(latent_shape, DType::f32);
  Tensor x0_history = scheduler->uses_x0_history() ? Tensor::zeros(latent_shape, DType::f32) : Tensor();
  Tensor model_input = Tensor::zeros({model_batch, c.in_channels, c.sample_size, c.sample_size}, DType::f32);
  Tensor model_output = Tensor::zeros({model_batch, c.out_channels, c.sample_size, c.sample_size}, DType::f32);
  std::vector<int32_t> labels = request.class_labels;
  if (guided) labels.insert(labels.end(), static_cast<size_t>(batch), static_cast<int32_t>(model_.null_class()));
  std::vector<float> timesteps(static_cast<size_t>(model_batch));

  if (request.init_noise.defined()) {
    GENRT_CHECK(request.init_noise.shape() == latent_shape,
                "initial noise {} does not match the latents {} of {} images", shape_string(request.init_noise.shape()),
                shape_string(latent_shape), batch);
    ops::guidance_input(request.init_noise.to_f32(), static_cast<float>(scheduler->init_noise_sigma()), latents);
  } else {
    ops::gaussian_noise(request.seed, kInitNoiseStream, noise);
    ops::guidance_input(noise, static_cast<float>(scheduler->init_noise_sigma()), latents);
  }

  DiffusionResult result;
  result.setup_seconds = seconds_since(setup_start);
  const auto loop_start = Clock::now();
  for (int64_t i = 0; i < scheduler->steps(); ++i) {
    const auto step_start = Clock::now();
    const double t = scheduler->timesteps()[i];
    ops::guidance_input(latents, static_cast<float>(scheduler->input_scale(i)), model_input);
    std::fill(timesteps.begin(), timesteps.end(), static_cast<float>(t));
    model_.forward(model_input, timesteps, labels, workspace, model_output);
    ops::guidance_combine(model_output, guided, static_cast<float>(request.guidance), eps);
    const ref::StepCoefficients coefficients = scheduler->step(i);
    if (coefficients.next_from_noise != 0.0f) {
      ops::gaussian_noise(request.seed, static_cast<uint64_t>(i) + 1, noise);
    }
    ops::scheduler_step(coefficients, eps, latents, x0_history, noise);
    const int64_t bad = ops::count_nonfinite(latents);
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
  result.latents = std::move(latents);
  return result;
}

}  // namespace genrt
