#include "runtime/diffusion/denoising_loop.h"

#include <chrono>
#include <optional>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"

namespace genrt {

namespace {

// Philox stream of the initial noise; step i draws its noise from stream i + 1.
constexpr uint64_t kInitNoiseStream = 0;

}  // namespace

double seconds_since(LoopClock::time_point start) {
  return std::chrono::duration<double>(LoopClock::now() - start).count();
}

MemoryRequest loop_memory_request(const Shape& latent_shape, int64_t out_channels) {
  ArenaFootprint footprint;
  allocate_loop_buffers(latent_shape, out_channels, true, true, footprint);
  return {.name = "denoising loop", .persistent_bytes = footprint.bytes};
}

namespace {

// Calls start(noise) inside a step of the loop's device with the run's initial noise:
// `init_noise` on the latents' device, or the seeded Philox noise in b.noise.
template <class Start>
void with_initial_noise(const LoopSettings& s, const Tensor& init_noise, LoopBuffers& b, Start&& start) {
  Tensor noise = b.noise;
  if (init_noise.defined()) {
    GENRT_CHECK(init_noise.shape() == b.latents.shape(), "initial noise {} does not match the latents {} of {} images",
                shape_string(init_noise.shape()), shape_string(b.latents.shape()), b.latents.dim(0));
    if (s.runtime != nullptr) {
      s.runtime->copy_in(init_noise, b.noise);
    } else {
      noise = init_noise.to_f32();
    }
  }
  // On the GPU every group of ops runs inside a step of the runtime (its stream and GEMM handle).
  const auto step = step_on(s.runtime);
  if (!init_noise.defined()) ops::gaussian_noise(s.seed, kInitNoiseStream, b.noise);
  start(noise);
}

}  // namespace

void start_latents(const LoopSettings& s, const Tensor& init_noise, LoopBuffers& b) {
  with_initial_noise(s, init_noise, b, [&](const Tensor& noise) {
    ops::guidance_input(noise, static_cast<float>(s.scheduler.init_noise_sigma()), b.latents);
  });
}

void noise_clean_latents(const LoopSettings& s, const Tensor& init_noise, LoopBuffers& b) {
  const NoiseLevel level = s.scheduler.noise_level(s.scheduler.first_step());
  with_initial_noise(s, init_noise, b, [&](const Tensor& noise) {
    // x = signal * x0 + noise * eps as a scheduler step of the clean latents; its model
    // output, which a zero coefficient leaves unused, is the latents too.
    Tensor no_history;
    ops::scheduler_step({.next_from_sample = static_cast<float>(level.signal),
                         .next_from_noise = static_cast<float>(level.noise)},
                        b.latents, b.latents, no_history, noise);
  });
}

LoopResult denoise(const LoopSettings& s, const DenoiserCall& denoiser, LoopBuffers& b,
                   const DiffusionCallback& on_step) {
  LoopResult result;
  const auto loop_start = LoopClock::now();
  const int64_t first = s.scheduler.first_step(), steps = s.scheduler.steps() - first;
  for (int64_t i = first; i < s.scheduler.steps(); ++i) {
    const auto step_start = LoopClock::now();
    const double t = s.scheduler.timesteps()[i];
    int64_t bad = 0;
    {
      const auto step = step_on(s.runtime);
      ops::guidance_input(b.latents, static_cast<float>(s.scheduler.input_scale(i)), b.model_input);
      denoiser(b.model_input, static_cast<float>(t), b.model_output);
      ops::guidance_combine(b.model_output, s.guided, static_cast<float>(s.guidance), b.eps);
      const ref::StepCoefficients coefficients = s.scheduler.step(i);
      if (coefficients.next_from_noise != 0.0f) ops::gaussian_noise(s.seed, static_cast<uint64_t>(i) + 1, b.noise);
      ops::scheduler_step(coefficients, b.eps, b.latents, b.x0_history, b.noise);
      bad = ops::count_nonfinite(b.latents, b.nonfinite_counter);
    }
    GENRT_CHECK(bad == 0, "diffusion diverged: {} NaN or infinite latent values after step {} of {} (timestep {})",
                bad, i - first + 1, steps, t);
    result.steps_done = i - first + 1;
    const DiffusionProgress progress{.step = result.steps_done,
                                     .steps = steps,
                                     .timestep = t,
                                     .step_seconds = seconds_since(step_start),
                                     .elapsed_seconds = seconds_since(loop_start)};
    if (on_step && !on_step(progress)) {
      result.cancelled = true;
      break;
    }
  }
  result.seconds = seconds_since(loop_start);
  return result;
}

}  // namespace genrt
